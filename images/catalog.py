"""Which image references the project can build, and from which recipe.

A recipe is a directory `images/<name>/` with a `recipe.py` defining NAME, REPOSITORY, check_version(version) and
build(version, work, layout, log, pip_cache). The cache key of an image hashes that whole directory, the shared
build helpers (images/oci.py) and the version, so editing one recipe rebuilds only that image.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent

# containerd's sandbox ("pause") image for the local node: our own static binary (images/pause). Reference this
# name in the node's containerd config (`sandbox_image`); `images/push.py --node-images` mirrors it too.
PAUSE_VERSION = "3.10"
PAUSE_IMAGE = f"registry.k8s.io/pause:{PAUSE_VERSION}"
# Images the node itself needs, as opposed to the ones a stack's workloads run.
NODE_IMAGES = (PAUSE_IMAGE,)



class UnbuildableImage(ValueError):
    """The reference names an image no recipe here builds (or a version the recipe cannot build)."""


@dataclass(frozen=True)
class Recipe:
    name: str
    repository: str
    directory: Path
    module: ModuleType

    def check_version(self, version: str) -> str | None:
        return self.module.check_version(version)


@cache
def recipes() -> dict[str, Recipe]:
    out: dict[str, Recipe] = {}
    for path in sorted(HERE.glob("*/recipe.py")):
        d = path.parent.name
        spec = importlib.util.spec_from_file_location(f"images._recipe_{d.replace('-', '_')}", path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out[mod.REPOSITORY] = Recipe(mod.NAME, mod.REPOSITORY, HERE / d, mod)
    return out


def split_reference(ref: str) -> tuple[str, str]:
    """`docker.io/library/mariadb:10.11` -> (`mariadb`, `10.11`). Digests and missing tags are not buildable."""
    if "@" in ref:
        raise UnbuildableImage(f"{ref}: pinned by digest; a rebuilt image cannot have that digest")
    repo, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        raise UnbuildableImage(f"{ref}: no tag; recipes are keyed by version, give repository:version")
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
            break
    if repo.startswith("library/"):
        repo = repo[len("library/"):]
    return repo, tag


def recipe_for(ref: str) -> tuple[Recipe, str]:
    repo, version = split_reference(ref)
    recipe = recipes().get(repo)
    if recipe is None:
        known = ", ".join(sorted(recipes()))
        raise UnbuildableImage(f"{ref}: no recipe builds {repo} (recipes: {known})")
    why = recipe.check_version(version)
    if why:
        raise UnbuildableImage(f"{ref}: the {recipe.name} recipe cannot build version {version!r}: needs {why}")
    return recipe, version
