"""Image names: one place that knows how to rewrite every image to the registry mirror, keeping path and tag."""

from __future__ import annotations

from typing import Optional


def _split_registry(image: str) -> tuple[Optional[str], str]:
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return None, image


def mirrored(image: str, mirror: Optional[str]) -> str:
    """`zenmldocker/zenml-server:0.98.0` -> `<mirror>/zenmldocker/zenml-server:0.98.0`; registry hosts are dropped."""
    if not mirror:
        return image
    _, path = _split_registry(image)
    return f"{mirror.rstrip('/')}/{path}"


def with_tag(repository: str, tag: str) -> str:
    """Append a tag unless the repository already pins one (or a digest)."""
    last = repository.rsplit("/", 1)[-1]
    if "@" in repository or ":" in last:
        return repository
    return f"{repository}:{tag}"


class ImageResolver:
    """Resolves every image the stack runs; records them so `images` can list what to mirror."""

    def __init__(self, mirror: Optional[str]):
        self.mirror = mirror
        self.seen: dict[str, str] = {}

    def __call__(self, repository: str, tag: Optional[str] = None) -> str:
        original = with_tag(repository, tag) if tag else repository
        resolved = mirrored(original, self.mirror)
        self.seen[original] = resolved
        return resolved
