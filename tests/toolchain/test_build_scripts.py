"""toolchain/build.sh step handling and toolchain/node-packages.sh, without building or installing anything.

node-packages.sh is exercised against a fake `dpkg-query` first on PATH, so the result does not depend on
what this machine has installed, and apt-get is never reached.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "toolchain" / "build.sh"
NODE_PACKAGES = ROOT / "toolchain" / "node-packages.sh"
NODE_STEPS = ["node-packages", "coredns", "kube-router", "traefik"]
# Nothing is compiled in these tests: build.sh only checks that $GO exists, so a machine without Go runs them too.
NO_GO = {"GO": "true"}


def run(args: list[str | Path], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def fake_dpkg(tmp_path: Path, missing: set[str]) -> dict[str, str]:
    """A dpkg-query that reports every package installed except `missing`; apt-get fails loudly."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    cases = "".join(f"  {p}) echo 'un '; exit 0 ;;\n" for p in sorted(missing))
    (bin_dir / "dpkg-query").write_text(
        "#!/bin/sh\nfor p; do :; done\ncase $p in\n" + cases + "  *) echo 'ii '; exit 0 ;;\nesac\n")
    (bin_dir / "apt-get").write_text("#!/bin/sh\necho 'apt-get must not run in this test' >&2\nexit 99\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_node_packages_lists_every_package():
    out = run([NODE_PACKAGES, "--list"])
    assert out.returncode == 0
    assert out.stdout.split() == ["containerd", "runc", "containernetworking-plugins", "iptables", "ipset",
                                  "conntrack", "iproute2", "skopeo", "umoci", "mmdebstrap", "docker-registry"]


def test_node_packages_is_a_no_op_when_all_are_installed(tmp_path):
    env = fake_dpkg(tmp_path, set())
    for args in ([NODE_PACKAGES], [NODE_PACKAGES, "--check"]):
        out = run(args, env)
        assert out.returncode == 0, out.stderr
        assert "all 11 node packages are installed" in out.stderr


def test_node_packages_check_names_what_is_missing(tmp_path):
    out = run([NODE_PACKAGES, "--check"], fake_dpkg(tmp_path, {"ipset", "umoci"}))
    assert out.returncode == 1
    assert "missing: ipset umoci" in out.stderr
    assert "apt-get must not run" not in out.stderr


def test_node_packages_rejects_an_unknown_argument(tmp_path):
    out = run([NODE_PACKAGES, "--instal"], fake_dpkg(tmp_path, {"ipset"}))
    assert out.returncode == 2
    assert "unknown argument '--instal'" in out.stderr
    assert "apt-get must not run" not in out.stderr


def test_node_packages_without_dpkg_says_what_to_install(tmp_path):
    # Only the tools the script itself needs, and no dpkg-query.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id"):
        src = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        if src.startswith("/"):
            (bin_dir / tool).symlink_to(src)
    out = subprocess.run(["bash", str(NODE_PACKAGES)], capture_output=True, text=True, timeout=30,
                         env={"PATH": str(bin_dir)})
    assert out.returncode == 1
    assert "dpkg-query not found" in out.stderr
    assert "containerd runc containernetworking-plugins" in out.stderr


def test_build_rejects_an_unknown_step_before_creating_anything(tmp_path):
    cache = tmp_path / "cache"
    out = run([BUILD, "coredns", "coredsn"], {"ZENML_PLATFORM_CACHE": str(cache)})
    assert out.returncode == 2
    assert "unknown step 'coredsn'" in out.stderr
    assert not cache.exists()


def test_build_node_expands_to_the_node_steps_in_order(tmp_path):
    # Every node step skipped: shows the expansion without building or installing.
    out = run([BUILD, "node"], {"ZENML_PLATFORM_CACHE": str(tmp_path / "cache"), "TOOLCHAIN_SKIP": " ".join(NODE_STEPS),
                                **NO_GO})
    assert out.returncode == 0, out.stderr
    skipped = [line.split()[2] for line in out.stderr.splitlines() if line.startswith("[toolchain] skip ")]
    assert skipped == NODE_STEPS


def test_build_default_steps_include_the_node_steps_but_not_containerd_v2(tmp_path):
    # The real node is the default cluster, so its binaries are built by default; containerd v2 is optional.
    defaults = ["pulumi", "pulumi-language-python", "provider-kubernetes", "provider-local", "plugins", "etcd",
                "kubernetes", "kwok", *NODE_STEPS]
    out = run([BUILD], {"ZENML_PLATFORM_CACHE": str(tmp_path / "cache"), "TOOLCHAIN_SKIP": " ".join(defaults), **NO_GO})
    assert out.returncode == 0, out.stderr
    skipped = [line.split()[2] for line in out.stderr.splitlines() if line.startswith("[toolchain] skip ")]
    assert skipped == defaults
