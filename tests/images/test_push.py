"""images/push.py against a real registry: Debian's docker-registry on 127.0.0.1 (a free port, its own storage),
started and stopped by the test; the registry's HTTP API says which names, tags and manifests arrived."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from components.images import mirrored
from images.catalog import PAUSE_IMAGE
from tests.contract.zenml_runtime import free_port
from tests.images.runc import wait_until

pytestmark = pytest.mark.images

MANIFEST_TYPES = ",".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def _get(url: str, accept: str = "application/json") -> tuple[int, dict, dict]:
    req = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers), json.loads(r.read() or b"{}")


@pytest.fixture
def registry():
    if os.geteuid() != 0:
        pytest.skip("needs root (image builds)")
    for tool in ("docker-registry", "skopeo", "umoci", "gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (images/install-tools.sh)")
    d = Path(tempfile.mkdtemp(prefix="zenml-registry-"))
    port = free_port()
    (d / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: " + str(d / "data") + "\n"
        "http:\n  addr: 127.0.0.1:" + str(port) + "\n")
    log = open(d / "registry.log", "wb")
    proc = subprocess.Popen(["docker-registry", "serve", str(d / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    host = f"127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (d / "registry.log").read_text()[-2000:]
        try:
            return _get(f"http://{host}/v2/")[0] == 200
        except OSError:
            return False

    try:
        wait_until(up, 30, 0.3, "registry /v2/")
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def _catalog(host: str) -> list[str]:
    return sorted(_get(f"http://{host}/v2/_catalog")[2].get("repositories") or [])


def _check_arrived(host: str, destinations: list[str]) -> None:
    for dst in destinations:
        repo, tag = dst[len(host) + 1:].rsplit(":", 1)
        assert _get(f"http://{host}/v2/{repo}/tags/list")[2]["tags"] == [tag], dst
        status, headers, manifest = _get(f"http://{host}/v2/{repo}/manifests/{tag}", MANIFEST_TYPES)
        assert status == 200 and manifest["layers"] and manifest["config"]["digest"].startswith("sha256:"), dst
        assert headers.get("Docker-Content-Digest", "").startswith("sha256:"), dst


def test_push_the_pause_image(registry):
    from images.push import push_pairs

    dst = mirrored(PAUSE_IMAGE, registry)
    [pushed] = push_pairs([(PAUSE_IMAGE, dst)])
    assert pushed.destination == dst == f"{registry}/pause:3.10"
    assert _catalog(registry) == ["pause"]
    _check_arrived(registry, [dst])


def test_push_exactly_what_the_local_stack_lists(registry):
    from images.build import cached, stack_images
    from images.push import push_stack

    pairs = stack_images("local", mirror=registry)
    missing = [src for src, _ in pairs if cached(src) is None]
    if missing:
        pytest.skip(f"images not built: {', '.join(missing)} (run `.venv/bin/python -m images.build --stack local`)")
    # The same list as the CLI's, for this registry.
    cli = subprocess.run([".venv/bin/python", "cli.py", "images", "-s", "local", "--mirror", registry, "--format", "pairs"],
                         capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert cli.returncode == 0, cli.stderr
    assert [tuple(line.split()) for line in cli.stdout.splitlines()] == pairs
    started = time.monotonic()
    pushed = push_stack(registry, "local", node_images=True)
    seconds = time.monotonic() - started
    expected = [dst for _, dst in pairs] + [mirrored(PAUSE_IMAGE, registry)]
    assert [p.destination for p in pushed] == expected
    assert _catalog(registry) == sorted(d[len(registry) + 1:].rsplit(":", 1)[0] for d in expected)
    _check_arrived(registry, expected)
    print(f"pushed {len(pushed)} images in {seconds:.1f}s: " +
          ", ".join(f"{p.destination} {p.push_seconds:.1f}s {p.size_bytes / 1e6:.1f}MB" for p in pushed))
