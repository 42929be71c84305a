"""Build container images from the recipes here into a per-user cache of OCI image layouts.

    .venv/bin/python -m images.build --stack local            # every image the stack runs that we can build
    .venv/bin/python -m images.build zenmldocker/zenml-server:0.98.0 mariadb:10.11 registry.k8s.io/pause:3.10
    .venv/bin/python -m images.build --stack local --node-images --json

Each image lands in ${ZENML_PLATFORM_CACHE:-~/.cache/zenml-platform}/images/<name>/<key>/ (an OCI image layout
whose tag is the version; build.json and build.log beside index.json). The key hashes the recipe directory, the
shared helpers and the version: a rerun with nothing changed is a lookup, a changed recipe rebuilds only its image.
Building needs root (mmdebstrap --mode=root, chroot, bind mounts), apt and PyPI access.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from images.catalog import HERE, NODE_IMAGES, Recipe, UnbuildableImage, recipe_for
from images.oci import BuildError

KEY_VERSION = "1"  # bump to invalidate every cached image


@dataclass
class BuiltImage:
    reference: str  # as asked for, e.g. zenmldocker/zenml-server:0.98.0
    name: str  # recipe name
    version: str  # tag inside the layout
    key: str
    layout: str  # OCI layout directory
    cached: bool  # True when found in the cache, no build ran
    seconds: float  # build time of this run (0 when cached)
    size_bytes: int  # sum of the blobs in the layout (compressed, as pushed)

    @property
    def oci_ref(self) -> str:
        return f"oci:{self.layout}:{self.version}"


def cache_root() -> Path:
    base = os.environ.get("ZENML_PLATFORM_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "zenml-platform")
    return Path(base) / "images"


def _tree_digest(h: hashlib._Hash, root: Path) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(f"{path.stat().st_mode & 0o111:o}".encode() + b"\0")
        h.update(path.read_bytes() + b"\0")


def cache_key(recipe: Recipe, version: str) -> str:
    h = hashlib.sha256()
    h.update(f"{KEY_VERSION}\0{recipe.name}\0{version}\0".encode())
    _tree_digest(h, recipe.directory)
    h.update((HERE / "oci.py").read_bytes())
    return h.hexdigest()[:16]


def _layout_size(layout: Path) -> int:
    return sum(p.stat().st_size for p in (layout / "blobs").rglob("*") if p.is_file())


def cached(ref: str) -> Optional[BuiltImage]:
    recipe, version = recipe_for(ref)
    key = cache_key(recipe, version)
    layout = cache_root() / recipe.name / key
    meta = layout / "build.json"
    if not meta.is_file():
        return None
    info = json.loads(meta.read_text())
    return BuiltImage(ref, recipe.name, version, key, str(layout), True, 0.0, info.get("size_bytes", _layout_size(layout)))


def build(ref: str, force: bool = False, log=None) -> BuiltImage:
    """Build one image unless its key is already in the cache; returns where its layout is."""
    recipe, version = recipe_for(ref)
    key = cache_key(recipe, version)
    parent = cache_root() / recipe.name
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / key
    if not force and (final / "build.json").is_file():
        return cached(ref)  # type: ignore[return-value]  # a lookup: no lock, never waits for other builds
    with open(parent / f".lock-{key}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per key at a time; a waiter then finds it cached
        if not force and (final / "build.json").is_file():
            return cached(ref)  # type: ignore[return-value]
        if os.geteuid() != 0:
            raise BuildError(f"{ref}: building needs root (mmdebstrap --mode=root, chroot, mounts)")
        if log:
            log(f"building {ref} ({recipe.name}, key {key})")
        started = time.monotonic()
        for stale in parent.glob(f".work-{key}-*"):  # left by a killed build of this key; the lock says none runs
            shutil.rmtree(stale, ignore_errors=True)
        work = parent / f".work-{key}-{os.getpid()}"
        work.mkdir()
        layout = work / "layout"
        build_log = work / "build.log"
        try:
            recipe.module.build(version, work, layout, build_log, cache_root() / ".pip-cache")
            seconds = round(time.monotonic() - started, 1)
            size = _layout_size(layout)
            shutil.move(str(build_log), layout / "build.log")
            (layout / "build.json").write_text(json.dumps(
                {"reference": ref, "recipe": recipe.name, "version": version, "key": key,
                 "build_seconds": seconds, "size_bytes": size, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                indent=2) + "\n")
            if final.exists():
                shutil.rmtree(final)
            os.rename(layout, final)  # atomic: a layout with build.json in place is complete
        except BaseException:
            kept = parent / f"failed-{key}.log"
            if build_log.exists():
                shutil.copy(build_log, kept)
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return BuiltImage(ref, recipe.name, version, key, str(final), False, seconds, size)


def check_buildable(refs: Iterable[str]) -> None:
    """Raise UnbuildableImage naming every reference no recipe builds, before anything is built."""
    problems = []
    for ref in refs:
        try:
            recipe_for(ref)
        except UnbuildableImage as e:
            problems.append(str(e))
    if problems:
        raise UnbuildableImage("cannot build every image:\n  " + "\n  ".join(problems))


def stack_images(stack: str, config_file: Optional[Path] = None, mirror: Optional[str] = None) -> list[tuple[str, str]]:
    """(image, mirrored name) for every image the stack runs: the same list as `cli.py images --format pairs`."""
    from cli_app.images import image_list
    from cli_app.stack_files import load

    name, _, cfg = load(stack, config_file)
    return image_list(cfg, name, mirror)


def build_all(refs: Iterable[str], force: bool = False, log=None) -> list[BuiltImage]:
    refs = list(dict.fromkeys(refs))
    check_buildable(refs)
    return [build(r, force=force, log=log) for r in refs]


def build_for_stack(stack: str, node_images: bool = False, force: bool = False, log=None) -> list[BuiltImage]:
    refs = [src for src, _ in stack_images(stack)]
    if node_images:
        refs += list(NODE_IMAGES)
    return build_all(refs, force=force, log=log)


def _stderr(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="images.build", description=__doc__.split("\n\n")[0])
    p.add_argument("refs", nargs="*", help="image references to build (repository:version)")
    p.add_argument("-s", "--stack", help="build every image this stack runs")
    p.add_argument("--node-images", action="store_true", help=f"also the node's images ({', '.join(NODE_IMAGES)})")
    p.add_argument("--force", action="store_true", help="rebuild even when the key is cached")
    p.add_argument("--json", action="store_true", help="print the built images as JSON")
    a = p.parse_args(argv)
    refs = list(a.refs)
    try:
        if a.stack:
            refs += [src for src, _ in stack_images(a.stack)]
        if a.node_images:
            refs += list(NODE_IMAGES)
        if not refs:
            p.error("give image references, --stack NAME or --node-images")
        built = build_all(refs, force=a.force, log=_stderr)
    except UnbuildableImage as e:
        _stderr(f"error: {e}")
        return 2
    except BuildError as e:
        _stderr(f"error: {e}")
        return 1
    except SystemExit as e:  # the stack loader reports bad stack files this way (code 2)
        return int(e.code or 0)
    if a.json:
        print(json.dumps([{**asdict(b), "oci": b.oci_ref} for b in built], indent=2))
    else:
        for b in built:
            how = "cached" if b.cached else f"built in {b.seconds:.0f}s"
            print(f"{b.reference}\t{b.size_bytes / 1e6:.1f} MB\t{how}\t{b.oci_ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
