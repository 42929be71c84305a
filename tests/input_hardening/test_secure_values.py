"""Class 5: `secure:` values are checked for the shape of Pulumi's ciphertext; the rest is refused, naming the key
and never echoing what was written under `secure:` (it may be a plain-text secret)."""

from __future__ import annotations

import pytest

from stack_config import ConfigError, load_from_mapping
from stack_config.secrets import ciphertext_problem
from tests.input_hardening.helpers import CIPHERTEXT, base, validate_accepts, validate_refuses

PATH = "registryMirror.pullSecret"


def with_pull_secret(value):
    return base(registryMirror={"registry": "registry.corp.internal:5000", "pullSecret": value})


def test_well_formed_ciphertext_is_accepted(tmp_path):
    validate_accepts(tmp_path, with_pull_secret({"secure": CIPHERTEXT}))


def test_service_backend_ciphertext_is_accepted(tmp_path):
    # Pulumi Cloud's secrets provider writes base64 of its own ciphertext (no v1: prefix).
    validate_accepts(tmp_path, with_pull_secret({"secure": "AAABAHNlcnZpY2UtY2lwaGVydGV4dC1zaGFwZWQ="}))


@pytest.mark.parametrize(
    "value, needle",
    [
        ({"secure": ""}, "`secure:` is empty"),
        ({"secure": None}, "`secure:` holds null"),
        ({"secure": 12345}, "`secure:` holds a number"),
        ({"secure": True}, "`secure:` holds a boolean"),
        ({"secure": ["a", "b"]}, "`secure:` holds a list"),
        ({"secure": {"v": "x"}}, "`secure:` holds a mapping"),
        ({"secure": "hunter2-plain-password"}, "does not hold Pulumi ciphertext"),
        ({"secure": "v1:plain-text-after-prefix"}, "does not hold Pulumi ciphertext"),
        ({"secure": "v1:AAAAAAAAAAAAAAAA:"}, "does not hold Pulumi ciphertext"),
        ({"secure": "v1:AAAA:AAAAAAAAAAAAAAAAAAAAAA=="}, "does not hold Pulumi ciphertext"),
        ({"secure": CIPHERTEXT + "\n"}, "does not hold Pulumi ciphertext"),
        ({"secure": CIPHERTEXT, "note": "hunter2-plain-password"}, "`secure:` stands alone: remove note beside it"),
        ({"secure": CIPHERTEXT, "secretKeyRef": {"name": "a", "key": "b"}}, "remove secretKeyRef beside it"),
    ],
    ids=["empty", "null", "number", "bool", "list", "mapping", "plaintext", "v1-plaintext", "v1-empty-body",
         "short-nonce", "trailing-newline", "extra-key", "extra-ref"],
)
def test_malformed_secure_values_are_refused_at_their_key(tmp_path, value, needle):
    lines = validate_refuses(tmp_path, with_pull_secret(value), f"{PATH}: `secure:`", needle, secrets=["hunter2", "plain-text-after"])
    assert len(lines) == 2, lines


def test_secure_value_in_a_list_item_names_the_index(tmp_path):
    ws = {"name": "alpha", "secretEnv": {"API_TOKEN": {"secure": "my-token-in-clear"}}}
    validate_refuses(tmp_path, base(workspaces=[{"name": "beta"}, ws]), "workspaces[1].secretEnv.API_TOKEN: `secure:`",
                     secrets=["my-token-in-clear"])


def test_message_says_how_to_set_it_with_the_real_path(tmp_path):
    validate_refuses(tmp_path, with_pull_secret({"secure": ""}), f"pulumi config set --secret --path {PATH} VALUE")


def test_other_problems_are_still_reported_beside_a_bad_secret(tmp_path):
    data = with_pull_secret({"secure": ""})
    data["profile"] = "huge"
    lines = validate_refuses(tmp_path, data, f"{PATH}: `secure:` is empty", "profile: ")
    assert len(lines) == 3


def test_library_refuses_the_same_shapes():
    data = {f"zenml-platform:{k}": v for k, v in with_pull_secret({"secure": "not-ciphertext"}).items()}
    with pytest.raises(ConfigError) as info:
        load_from_mapping(data)
    assert [p.path for p in info.value.problems] == [PATH]


def test_ciphertext_problem_never_contains_the_value():
    for value in ("hunter2", "v1:x:y", "", "   "):
        reason = ciphertext_problem(value)
        assert reason and (not value.strip() or value not in reason)


def test_malformed_secure_in_a_plain_setting_is_one_line(tmp_path):
    lines = validate_refuses(tmp_path, base(domain={"secure": "hunter2-plain"}), "domain: `secure:`", secrets=["hunter2"])
    assert len(lines) == 2, lines


def test_well_formed_secure_in_a_plain_setting_says_it_is_not_a_secret(tmp_path):
    validate_refuses(tmp_path, base(domain={"secure": CIPHERTEXT}), "domain: this setting is not a secret")
