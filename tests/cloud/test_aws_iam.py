"""Every IAM trust and permission document of the AWS stacks, parsed and checked statement by statement."""

from __future__ import annotations

import json

import pytest

from tests.cloud.helpers import AWS_STACKS, planned, policy, stack_config, tenant_planned, trust

ALLOWED_ACTIONS = {
    "zenml-secrets-store": {
        "secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret", "secretsmanager:TagResource",
    },
    "artifact-read": {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"},
    "artifact-read-write": {
        "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject",
        "s3:DeleteObject", "s3:AbortMultipartUpload", "kms:Decrypt", "kms:GenerateDataKey",
    },
    "workload-manager": {
        "eks:DescribeCluster", "eks:ListClusters", "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload", "ecr:PutImage", "s3:ListBucket", "s3:GetObject", "s3:PutObject",
    },
    "assume-tenant-role": {"sts:AssumeRole"},
    "read-master-secret": {"secretsmanager:GetSecretValue", "kms:Decrypt"},
}
# Actions that need "*" because AWS has no resource-level permission for them.
STAR_OK = {"eks:ListClusters", "ecr:GetAuthorizationToken"}


def actions(statement) -> set[str]:
    a = statement["Action"]
    return {a} if isinstance(a, str) else set(a)


def resources(statement) -> list[str]:
    r = statement["Resource"]
    return [r] if isinstance(r, str) else list(r)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_trust_policies_name_exactly_one_workspace_identity(stack):
    cfg = stack_config(stack)
    a = cfg.aws
    result = planned(stack, False)
    roles = result.of_type("aws:iam/role:Role")
    assert roles
    expected_subjects = set()
    for ws in cfg.workspaces:
        expected_subjects.add(f"system:serviceaccount:{cfg.namespace_of(ws)}:zenml-server")
        if ws.secret_store.type.value == "aws":
            # The migration Job initialises the secrets store as its own ServiceAccount, in the same namespace.
            expected_subjects.add(f"system:serviceaccount:{cfg.namespace_of(ws)}:zenml-migration")
        if cfg.runner_enabled(ws):
            expected_subjects.add(f"system:serviceaccount:{cfg.runner_namespace_of(ws)}:zenml-runner")
    seen = set()
    for role in roles:
        doc = trust(role)
        assert doc["Version"] == "2012-10-17"
        [st] = doc["Statement"]
        assert st["Effect"] == "Allow" and st["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert st["Principal"] == {"Federated": a.eks.oidc_provider_arn}
        cond = st["Condition"]
        assert set(cond) == {"StringEquals"}, "exact match only (no StringLike wildcards)"
        issuer = a.eks.issuer
        assert cond["StringEquals"][f"{issuer}:aud"] == "sts.amazonaws.com"
        sub = cond["StringEquals"][f"{issuer}:sub"]
        subs = [sub] if isinstance(sub, str) else sub
        assert all(s.startswith("system:serviceaccount:") and "*" not in s for s in subs)
        # Several subjects only for one workspace's server and its migration Job, in one namespace.
        assert len({s.rsplit(":", 1)[0] for s in subs}) == 1
        if len(subs) > 1:
            assert sorted(s.rsplit(":", 1)[1] for s in subs) == ["zenml-migration", "zenml-server"]
        seen.update(subs)
        assert len(role.inputs["name"]) <= 64
    # Every server/runner identity that needs AWS has a role; database bootstrap roles live in the admin namespace.
    assert {s for s in seen if not s.startswith(f"system:serviceaccount:{cfg.kubernetes.namespace_prefix}-db-admin:")} <= expected_subjects
    servers = {s for s in seen if s.endswith(":zenml-server")}
    assert servers == {f"system:serviceaccount:{cfg.namespace_of(ws)}:zenml-server" for ws in cfg.workspaces if _needs_server_role(cfg, ws)}


def _needs_server_role(cfg, ws) -> bool:
    art = ws.artifact_store
    return ws.secret_store.type.value == "aws" or (art is not None and art.mode in ("bucket", "tenant")) or cfg.runner_enabled(ws)


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_permission_policies_are_least_privilege(stack):
    cfg = stack_config(stack)
    a = cfg.aws
    result = planned(stack, False)
    policies = result.of_type("aws:iam/rolePolicy:RolePolicy")
    assert policies
    for reg in policies:
        doc = policy(reg)
        assert doc["Version"] == "2012-10-17"
        allowed = ALLOWED_ACTIONS[reg.inputs["name"]]
        for st in doc["Statement"]:
            assert st["Effect"] == "Allow"
            assert actions(st) <= allowed, (reg.name, actions(st) - allowed)
            assert not any(x.endswith("*") for x in actions(st))
            for res in resources(st):
                if res == "*":
                    assert actions(st) <= STAR_OK, (reg.name, st)
                else:
                    assert res.startswith(f"arn:{a.partition}:") or res == "[unknown]", res


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_secrets_store_policy_is_scoped_to_the_workspace_tag(stack):
    cfg = stack_config(stack)
    a = cfg.aws
    result = planned(stack, False)
    by_role = {r.inputs["role"]: r for r in result.of_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["name"] == "zenml-secrets-store"}
    stores = [ws for ws in cfg.workspaces if ws.secret_store.type.value == "aws"]
    assert len(by_role) == len(stores)
    for ws in stores:
        doc = policy(by_role[f"{a.name_prefix}-{ws.name}-server"])
        server_id = cfg.server_id_of(ws)
        if ws.pro is not None:
            assert server_id == str(ws.pro.workspace_id)
        statements = {st["Sid"]: st for st in doc["Statement"]}
        arn = f"arn:aws:secretsmanager:{a.region}:{a.account_id}:secret:zenml/*"
        create = statements["CreateOwnSecrets"]
        assert actions(create) == {"secretsmanager:CreateSecret"} and create["Resource"] == arn
        assert create["Condition"]["StringEquals"] == {"aws:RequestTag/zenml": server_id}
        assert create["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["zenml", "zenml_secret_id"]}
        use = statements["UseOwnSecrets"]
        assert use["Resource"] == arn
        assert use["Condition"] == {"StringEquals": {"aws:ResourceTag/zenml": server_id}}
        assert "secretsmanager:ListSecrets" not in actions(use)
        retag = statements["RetagOwnSecrets"]
        assert retag["Condition"]["StringEquals"] == {"aws:ResourceTag/zenml": server_id, "aws:RequestTag/zenml": server_id}
        # ZenML creates secrets with the AWS-managed key: no KMS grant is needed, none is given.
        assert set(statements) == {"CreateOwnSecrets", "UseOwnSecrets", "RetagOwnSecrets"}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_server_reads_runners_write_artifacts(stack):
    cfg = stack_config(stack)
    a = cfg.aws
    result = planned(stack, False)
    policies = {(r.inputs["role"], r.inputs["name"]): policy(r) for r in result.of_type("aws:iam/rolePolicy:RolePolicy")}
    buckets = {r.inputs["bucket"] for r in result.of_type("aws:s3/bucket:Bucket")}
    for ws in cfg.workspaces:
        if ws.artifact_store is None or ws.artifact_store.mode != "bucket":
            continue
        bucket = f"{a.name_prefix}-{ws.name}-artifacts-{a.account_id}"
        assert bucket in buckets
        arn = f"arn:aws:s3:::{bucket}"
        read = policies[(f"{a.name_prefix}-{ws.name}-server", "artifact-read")]
        granted = {x for st in read["Statement"] for x in actions(st)}
        assert not {x for x in granted if x.startswith("s3:Put") or x.startswith("s3:Delete")}
        assert {res for st in read["Statement"] for res in resources(st) if res.startswith("arn:aws:s3")} == {arn, f"{arn}/*"}
        if cfg.runner_enabled(ws):
            name = "artifact-read-write" if ws.artifact_store.runner_write else "artifact-read"
            runner = policies[(f"{a.name_prefix}-{ws.name}-runner", name)]
            granted = {x for st in runner["Statement"] for x in actions(st)}
            assert ("s3:PutObject" in granted) is ws.artifact_store.runner_write


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_buckets_are_private_encrypted_versioned_and_tls_only(stack):
    result = planned(stack, False)
    buckets = result.of_type("aws:s3/bucket:Bucket")
    for kind in ("bucketPublicAccessBlock:BucketPublicAccessBlock", "bucketVersioning:BucketVersioning",
                 "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                 "bucketLifecycleConfiguration:BucketLifecycleConfiguration", "bucketPolicy:BucketPolicy"):
        assert len(result.of_type(f"aws:s3/{kind}")) == len(buckets), kind
    for block in result.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    for v in result.of_type("aws:s3/bucketVersioning:BucketVersioning"):
        assert v.inputs["versioningConfiguration"]["status"] == "Enabled"
    for sse in result.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"):
        assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("aws:kms", "AES256")
    for p in result.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        [st] = policy(p)["Statement"]
        assert st["Effect"] == "Deny" and st["Principal"] == "*" and st["Action"] == "s3:*"
        assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert len(st["Resource"]) == 2 and st["Resource"][1] == st["Resource"][0] + "/*"


def test_bootstrap_role_reads_only_its_instance_master_secret():
    result = planned("saas-aws", False)
    docs = [policy(r) for r in result.of_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["name"] == "read-master-secret"]
    assert len(docs) == 2  # the shared instance and tenant-acme's dedicated one
    for doc in docs:
        [read, kms] = doc["Statement"]
        assert actions(read) == {"secretsmanager:GetSecretValue"} and "*" not in read["Resource"]
        assert kms["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.eu-west-1.amazonaws.com"


def test_tenant_role_trusts_only_the_operator_workspace_with_external_id():
    result = tenant_planned("tenant-aws", False)
    [role] = result.of_type("aws:iam/role:Role")
    [st] = trust(role)["Statement"]
    assert st["Principal"] == {"AWS": "arn:aws:iam::444455556666:role/zsaas-tenant-acme-server"}  # runs not enabled
    assert st["Action"] == "sts:AssumeRole"
    assert st["Condition"] == {"StringEquals": {"sts:ExternalId": "zenml-saas-tenant-acme-3f9c1e7a"}}
    [pol] = result.of_type("aws:iam/rolePolicy:RolePolicy")
    assert pol.inputs["name"] == "artifact-read"
    granted = {x for s in json.loads(pol.inputs["policy"])["Statement"] for x in actions(s)}
    assert granted == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion"}
    # The operator side names that role, and only its own workspace may assume it.
    operator = planned("saas-aws", False)
    assume = [r for r in operator.of_type("aws:iam/rolePolicy:RolePolicy") if "777788889999" in r.inputs["policy"]]
    assert {r.inputs["role"] for r in assume} == {"zsaas-tenant-acme-server", "zsaas-tenant-acme-runner"}


def test_tenant_enabling_runs_grants_write_to_the_runner_role():
    from planning.run import run_program
    from tenant.config import load_tenant_file
    from tenant.program import deploy
    from tests.cloud.helpers import ROOT

    cfg = load_tenant_file(ROOT / "tenant" / "Pulumi.tenant-aws.yaml").model_copy(update={"enable_runs": True})
    result = run_program(cfg, "tenant-aws", preview=False, program=deploy)
    [role] = result.of_type("aws:iam/role:Role")
    [st] = trust(role)["Statement"]
    assert st["Principal"]["AWS"] == [
        "arn:aws:iam::444455556666:role/zsaas-tenant-acme-server",
        "arn:aws:iam::444455556666:role/zsaas-tenant-acme-runner",
    ]
    [pol] = result.of_type("aws:iam/rolePolicy:RolePolicy")
    assert pol.inputs["name"] == "artifact-read-write"


def test_oss_workspace_gets_a_stable_server_id_that_its_policy_names():
    """OSS servers have no Pro workspace ID: a stable ID is set through ZENML_SERVER_EXTERNAL_SERVER_ID (written as
    the server ID when the database is created), and the secrets policy is conditioned on exactly that value."""
    from planning.run import run_program
    from tests.cloud.helpers import load, stack_data

    data = stack_data("airgapped-aws")
    ns = "zenml-platform"
    data[f"{ns}:controlPlane"] = {"enabled": False}
    data[f"{ns}:profile"] = "small"
    for ws in data[f"{ns}:workspaces"]:
        ws.pop("pro")
        ws["edition"] = "oss"
        ws["secretStore"] = {"type": "aws"}
        ws.pop("runner", None)
    cfg = load(data)
    result = run_program(cfg, "oss-aws", preview=False)
    ids = {}
    for dep in result.of_type("kubernetes:apps/v1:Deployment"):
        env = {e["name"]: e.get("value") for e in dep.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["ZENML_SECRETS_STORE_TYPE"] == "aws" and env["ZENML_SECRETS_STORE_AUTH_METHOD"] == "implicit"
        assert json.loads(env["ZENML_SECRETS_STORE_AUTH_CONFIG"]) == {"region": "us-east-1"}
        ids[dep.inputs["metadata"]["namespace"]] = env["ZENML_SERVER_EXTERNAL_SERVER_ID"]
    assert len(set(ids.values())) == 2
    for reg in result.of_type("aws:iam/rolePolicy:RolePolicy"):
        if reg.inputs["name"] == "zenml-secrets-store":
            ws = reg.inputs["role"].removeprefix("corp-zenml-").removesuffix("-server")
            create = policy(reg)["Statement"][0]
            assert create["Condition"]["StringEquals"]["aws:RequestTag/zenml"] == ids[f"zenml-{ws}"]


def test_workload_manager_policy_names_the_cluster_repository_and_logs_prefix():
    result = planned("hybrid-aws", False)
    [doc] = [policy(r) for r in result.of_type("aws:iam/rolePolicy:RolePolicy")
             if r.inputs["name"] == "workload-manager" and r.inputs["role"] == "acme-zenml-research-server"]
    st = {s["Sid"]: s for s in doc["Statement"]}
    assert st["DescribeCluster"]["Resource"] == "arn:aws:eks:eu-central-1:111122223333:cluster/ml-platform"
    assert st["RunnerImages"]["Resource"] == [
        "arn:aws:ecr:eu-central-1:111122223333:repository/zenml-runners",
        "arn:aws:ecr:eu-central-1:111122223333:repository/zenml-runners/*",
    ]
    bucket = "arn:aws:s3:::acme-zenml-research-artifacts-111122223333"
    assert st["RunLogs"]["Resource"] == f"{bucket}/runner-logs/*"
    assert st["ListRunLogs"]["Condition"] == {"StringLike": {"s3:prefix": ["runner-logs/*"]}}
    # The server is told the same bucket and prefix, in the documented s3://bucket/prefix form.
    [dep] = [d for d in result.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["namespace"].endswith("-research")]
    env = {e["name"]: e.get("value") for e in dep.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    url = env["ZENML_AWS_KUBERNETES_WORKLOAD_MANAGER_BUCKET"]
    assert url == "s3://acme-zenml-research-artifacts-111122223333/runner-logs"
    assert st["RunLogs"]["Resource"] == "arn:aws:s3:::" + url.removeprefix("s3://") + "/*"
    # forecasting builds no images: no ECR push grant at all.
    [doc] = [policy(r) for r in result.of_type("aws:iam/rolePolicy:RolePolicy")
             if r.inputs["name"] == "workload-manager" and r.inputs["role"] == "acme-zenml-forecasting-server"]
    assert "RunnerImages" not in {s["Sid"] for s in doc["Statement"]}


def test_non_ecr_registry_gets_no_ecr_grant():
    from components.aws.platform import _ecr_repo

    assert _ecr_repo("registry.corp.internal:5000/zenml") is None
    assert _ecr_repo("111122223333.dkr.ecr.eu-central-1.amazonaws.com/zenml-runners") == "zenml-runners"


def _run_bootstrap(tmp_path, ca_file):
    """The bootstrap Job's script with stand-ins for boto3 and pymysql that record how it would connect."""
    import subprocess
    import sys

    from components.aws.db_bootstrap import SCRIPT

    fakes = tmp_path / "fakes"
    fakes.mkdir(exist_ok=True)
    (fakes / "boto3.py").write_text(
        "import json\n"
        "class _C:\n"
        "    def get_secret_value(self, SecretId):\n"
        "        return {'SecretString': json.dumps({'username': 'zenml_admin', 'password': 'master-pw'})}\n"
        "def client(*a, **k):\n    return _C()\n")
    (fakes / "pymysql.py").write_text(
        "import json, os, ssl, sys\n"
        "def connect(**kw):\n"
        "    tls = kw['ssl']\n"
        "    open(os.environ['RECORD'], 'w').write(json.dumps({'verify': tls.verify_mode == ssl.CERT_REQUIRED,\n"
        "        'hostname': tls.check_hostname}))\n"
        "    sys.exit(0)\n")
    record = tmp_path / "record.json"
    env = {"PYTHONPATH": str(fakes), "AWS_REGION": "eu-central-1", "MASTER_SECRET_ARN": "arn", "DB_HOST": "db",
           "DB_PORT": "3306", "DB_NAME": "zenml", "DB_USER": "zenml", "DB_PASSWORD": "pw", "RECORD": str(record)}
    if ca_file:
        env["DB_CA_FILE"] = str(ca_file)
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    return run, (json.loads(record.read_text()) if record.exists() else None)


def test_bootstrap_never_sends_master_credentials_unverified(tmp_path):
    from tests.conftest import EXAMPLE_CA

    run, connected = _run_bootstrap(tmp_path, None)
    assert run.returncode != 0 and connected is None, "connected without a CA (CERT_NONE)"
    assert "DB_CA_FILE" in run.stderr and "master-pw" not in run.stderr
    ca = tmp_path / "ca.crt"
    ca.write_text(EXAMPLE_CA)
    run, connected = _run_bootstrap(tmp_path, ca)
    assert run.returncode == 0, run.stderr
    assert connected == {"verify": True, "hostname": True}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_managed_databases_are_verified(stack):
    result = planned(stack, False)
    for dep in result.of_type("kubernetes:apps/v1:Deployment"):
        env = {e["name"]: e.get("value") for e in dep.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
        if env.get("ZENML_STORE_SSL") == "True":
            assert env["ZENML_STORE_SSL_VERIFY_SERVER_CERT"] == "True" and env["ZENML_STORE_SSL_CA"]
