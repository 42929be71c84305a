"""Run inside the ZenML venv with a workspace's rendered env: ZenML's own control-plane client logs in and
reports the workspace status, and prints the URLs the server derives from its Pro settings (JSON on stdout).

Exit status is non-zero when ZenML cannot talk to the control plane at the rendered API URL.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from zenml.config.server_config import ServerConfiguration
    from zenml.zen_server.cloud_utils import ZenMLCloudConnection

    config = ServerConfiguration.get_server_config()
    connection = ZenMLCloudConnection()
    # requests' urllib3 retries are for the real network; one attempt each against the loopback fake.
    connection.patch("/workspace_status")
    print(json.dumps({
        "external_user_info_url": config.external_user_info_url,
        "external_login_url": config.external_login_url,
    }))


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # the message goes to the test; never a traceback with env values
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
