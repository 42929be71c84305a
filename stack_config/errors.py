"""Configuration problems, each tied to the key path a user would pass to `pulumi config set --path`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.reason}"


class ConfigError(Exception):
    """Raised with every problem found, so a user fixes a stack file in one pass, not one error at a time."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_loc(loc: Sequence[object]) -> str:
    """Turn a pydantic location tuple into `a.b[0].c`, the `--path` syntax of `pulumi config set`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
