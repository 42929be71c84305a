"""Copy every image a stack runs into a registry under its mirrored name, building what is not cached yet.

    .venv/bin/python -m images.push --registry 127.0.0.1:5000 --stack local [--node-images]

The list is the stack's own (`cli.py images --mirror REGISTRY --format pairs`, the same function): exactly those
names are pushed. If the stack needs an image no recipe here builds, nothing is built or pushed and the command
exits 2 naming it. TLS is verified towards the registry except for loopback hosts (a local plain-HTTP registry).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Optional

from components.images import mirrored
from images.build import BuiltImage, build, check_buildable, stack_images
from images.catalog import NODE_IMAGES, UnbuildableImage
from images.oci import BuildError, need_tools

PUSH_TIMEOUT_S = 900


@dataclass
class Pushed:
    source: str  # the image as the stack names it
    destination: str  # its mirrored name, pushed
    layout: str
    built: bool  # False when the OCI layout came from the cache
    build_seconds: float
    push_seconds: float
    size_bytes: int


def is_loopback(registry: str) -> bool:
    host = registry.split("/", 1)[0]
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_registry(registry: str) -> None:
    if not registry or "://" in registry or registry.endswith("/") or " " in registry:
        raise ValueError("--registry: give host[:port][/path] without scheme or trailing slash")


def copy_image(image: BuiltImage, destination: str, log: Optional[Callable[[str], None]] = None) -> float:
    need_tools("skopeo")
    cmd = ["skopeo", "copy", "--quiet", "--retry-times", "2"]
    if is_loopback(destination):
        cmd.append("--dest-tls-verify=false")
    cmd += [image.oci_ref, f"docker://{destination}"]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PUSH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BuildError(f"pushing {destination}: skopeo did not finish in {PUSH_TIMEOUT_S}s") from None
    if proc.returncode != 0:
        raise BuildError(f"pushing {destination} failed: {proc.stderr.strip()[-800:]}")
    return round(time.monotonic() - started, 1)


def push_pairs(pairs: Iterable[tuple[str, str]], log: Optional[Callable[[str], None]] = None) -> list[Pushed]:
    """Build (when not cached) and push each (source, destination); checks every source is buildable first."""
    pairs = list(dict.fromkeys(pairs))
    check_buildable(src for src, _ in pairs)
    if shutil.which("skopeo") is None:
        raise BuildError("missing build tools: skopeo (run images/install-tools.sh as root)")
    out = []
    for src, dst in pairs:
        built = build(src, log=log)
        seconds = copy_image(built, dst, log)
        if log:
            log(f"pushed {dst} in {seconds:.1f}s ({built.size_bytes / 1e6:.1f} MB)")
        out.append(Pushed(src, dst, built.layout, not built.cached, built.seconds, seconds, built.size_bytes))
    return out


def push_stack(registry: str, stack: str, node_images: bool = False, log=None) -> list[Pushed]:
    """Push every image `stack` runs to `registry` under the names the stack uses with that mirror."""
    validate_registry(registry)
    pairs = stack_images(stack, mirror=registry)
    if node_images:
        pairs += [(ref, mirrored(ref, registry)) for ref in NODE_IMAGES]
    return push_pairs(pairs, log=log)


def _stderr(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="images.push", description=__doc__.split("\n\n")[0])
    p.add_argument("--registry", required=True, help="host[:port][/path] of the mirror, e.g. 127.0.0.1:5000")
    p.add_argument("-s", "--stack", required=True, help="stack whose images to push (stacks/Pulumi.<name>.yaml)")
    p.add_argument("--node-images", action="store_true", help=f"also the node's images ({', '.join(NODE_IMAGES)})")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    try:
        pushed = push_stack(a.registry, a.stack, node_images=a.node_images, log=_stderr)
    except (UnbuildableImage, ValueError) as e:
        _stderr(f"error: {e}")
        return 2
    except BuildError as e:
        _stderr(f"error: {e}")
        return 1
    except SystemExit as e:
        return int(e.code or 0)
    if a.json:
        print(json.dumps([asdict(x) for x in pushed], indent=2))
    else:
        for x in pushed:
            how = f"built in {x.build_seconds:.0f}s" if x.built else "cached"
            print(f"{x.destination}\t{x.size_bytes / 1e6:.1f} MB\t{how}\tpushed in {x.push_seconds:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
