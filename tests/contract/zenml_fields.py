"""Print, as JSON, every environment variable name the installed ZenML server reads (run with its venv's python).

ZenML maps `ZENML_STORE_<FIELD>`, `ZENML_SECRETS_STORE_<FIELD>`, `ZENML_BACKUP_SECRETS_STORE_<FIELD>`,
`ZENML_SERVER_<FIELD>` and `ZENML_SERVER_PRO_<FIELD>` onto pydantic models whose `extra` setting is `allow` or
`ignore`: a misspelt or invented variable is silently dropped. This script lists the real fields from the
installed classes, plus the other variable names ZenML defines as `ENV_*` constants, so a test can require every
rendered name to be one of them.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path


def fields(model) -> list[str]:
    return sorted(model.model_fields)


def _class_fields(package: Path) -> dict[str, tuple[set[str], list[str]]]:
    """class name -> (annotated attribute names, base class names), for every class in the package source."""
    out: dict[str, tuple[set[str], list[str]]] = {}
    for path in package.rglob("*.py"):
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Configuration"):
                names = {
                    s.target.id
                    for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and not s.target.id.startswith("_")
                    and not (isinstance(s.annotation, ast.Subscript) and getattr(s.annotation.value, "id", "") == "ClassVar")
                }
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                out.setdefault(node.name, (names, bases))
    return out


def _resolve(classes: dict[str, tuple[set[str], list[str]]], name: str) -> set[str]:
    if name not in classes:
        return set()
    names, bases = classes[name]
    result = set(names)
    for base in bases:
        result |= _resolve(classes, base)
    return result


def main() -> None:
    import zenml
    from zenml import constants
    from zenml.config.server_config import ServerConfiguration, ServerProConfiguration
    from zenml.zen_stores.sql_zen_store import SqlZenStoreConfiguration

    # The cloud and Vault secrets stores import their SDKs (boto3, google, azure, hvac) at module level, which
    # zenml[server] does not install: their configuration fields are read from the installed source instead.
    classes = _class_fields(Path(zenml.__file__).parent)
    secrets_stores = {
        type_name: sorted(_resolve(classes, cls))
        for type_name, cls in (
            ("sql", "SqlSecretsStoreConfiguration"),
            ("aws", "AWSSecretsStoreConfiguration"),
            ("gcp", "GCPSecretsStoreConfiguration"),
            ("azure", "AzureSecretsStoreConfiguration"),
            ("hashicorp", "HashiCorpVaultSecretsStoreConfiguration"),
            ("custom", "SecretsStoreConfiguration"),
        )
    }

    env_constants = sorted(
        {
            value
            for name, value in vars(constants).items()
            if name.startswith("ENV_") and isinstance(value, str) and value.isupper()
        }
    )
    json.dump(
        {
            "version": zenml.__version__,
            "store": fields(SqlZenStoreConfiguration),
            "secrets_store": secrets_stores,
            "server": fields(ServerConfiguration),
            "server_pro": fields(ServerProConfiguration),
            "required_server_pro": sorted(n for n, f in ServerProConfiguration.model_fields.items() if f.is_required()),
            "env_constants": env_constants,
        },
        sys.stdout,
        indent=1,
    )


def validate_env(out_path: str) -> None:
    """Load the configuration the way the server does, from the current environment; print what it resolved.

    Run with the rendered environment (secrets replaced by test values): a value ZenML rejects (a bad UUID, an
    unknown enum member, a malformed URL) raises here, with ZenML's own message.
    """
    from zenml.config.server_config import ServerConfiguration, ServerProConfiguration
    from zenml.zen_stores.sql_zen_store import SqlZenStoreConfiguration

    server = ServerConfiguration.get_server_config()
    out = {
        "deployment_type": str(server.deployment_type.value),
        "auth_scheme": str(server.auth_scheme.value),
        "server_url": server.server_url,
        "workload_manager": server.workload_manager_implementation_source,
    }
    if server.is_pro_server:
        pro = ServerProConfiguration.get_server_config()
        out["pro"] = {k: str(v) for k, v in pro.model_dump().items() if k != "oauth2_client_secret"}
    prefix, sprefix = "ZENML_STORE_", "ZENML_SECRETS_STORE_"
    store_env = {k[len(prefix):].lower(): v for k, v in os.environ.items() if k.startswith(prefix)}
    secrets_env = {k[len(sprefix):].lower(): v for k, v in os.environ.items() if k.startswith(sprefix)}
    if store_env:
        store = SqlZenStoreConfiguration(**store_env)
        out["store"] = {
            "driver": str(store.driver.value) if store.driver else None,
            "database": store.database,
            "ssl": store.ssl,
            "ssl_verify_server_cert": store.ssl_verify_server_cert,
            "backup_strategy": str(store.backup_strategy.value),
            "backup_database": store.backup_database,
        }
    out["secrets_store_type"] = secrets_env.get("type")
    with open(out_path, "w") as f:  # not stdout: ZenML logs there
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--validate-env"]:
        validate_env(sys.argv[2])
    else:
        main()
