"""ZenML versions the real-node tests deploy and drive with the ZenML client, beyond those the example stacks
name: tests/contract/contract-env.sh reads CLIENT_VERSIONS and installs a client venv for each."""

UPGRADE_FROM = "0.97.0"  # tests/node/test_upgrade.py deploys this, then upgrades to the stacks' version
CLIENT_VERSIONS = (UPGRADE_FROM,)
