"""zenml-platform policy pack: `pulumi preview --policy-pack policies [--policy-pack-config policy-config.json]`.

Mandatory rules block a deployment; advisory rules warn. Air-gapped stacks (airGap.enabled) pass the registry mirror as policy
config: {"zenml-images-from-mirror": {"mirror": "<registryMirror.registry>"}}. The rules themselves are plain
functions in zenml_rules.py, tested over every example stack in tests/policies.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pulumi_policy import PolicyPack  # noqa: E402
from zenml_policy_pack import PACK_NAME, build_policies  # noqa: E402

PolicyPack(name=PACK_NAME, policies=build_policies())
