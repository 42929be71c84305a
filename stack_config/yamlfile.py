"""Reading a stack file with bounded work: size, encoding, nesting depth, alias expansion, duplicate keys.

PyYAML's `safe_load` accepts what the Pulumi engine refuses (duplicate keys: it keeps the last) and does
unbounded work on hostile input (alias expansion bombs, recursive aliases, deep nesting that ends in a
RecursionError). Every refusal here is a `StackFileError` with one line that names the problem, and the line
and key path where it is; nothing here ever prints a scalar value of the file.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, Optional

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# Bounds: far above any real stack file (the largest example is ~10 KB, 6 levels, no aliases).
MAX_BYTES = 1 << 20  # 1 MiB
MAX_DEPTH = 64  # nested mappings/sequences
MAX_NODES = 100_000  # nodes after alias expansion: what the consumer of the data would walk


class StackFileError(Exception):
    """The file cannot be read as a stack file; `reason` is one line and never holds a value from the file."""

    def __init__(self, reason: str, path: str = "<file>"):
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}")


def read_text(path: Path) -> str:
    """The file's text, UTF-8 without BOM and below MAX_BYTES, else StackFileError naming the problem."""
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            raise StackFileError(f"{path} is not a regular file")
        size = st.st_size
        if size > MAX_BYTES:
            raise StackFileError(f"{path.name} is {size} bytes; a stack file is at most {MAX_BYTES} bytes")
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise StackFileError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise StackFileError(f"{path} is a directory, not a stack file") from None
    except PermissionError:
        raise StackFileError(f"{path} cannot be read: permission denied") from None
    except OSError as exc:
        raise StackFileError(f"{path} cannot be read: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_BYTES:  # grew while reading, or a special file
        raise StackFileError(f"{path.name} is larger than {MAX_BYTES} bytes")
    return decode(raw, path.name)


def decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) >= 2 and (raw[0] == 0) != (raw[1] == 0)):
        raise StackFileError(
            f"{name} is UTF-16 encoded (what a PowerShell `>` redirect writes): save it as UTF-8, "
            "e.g. `Out-File -Encoding utf8NoBOM` or `Set-Content -Encoding utf8`"
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raise StackFileError(f"{name} starts with a UTF-8 byte-order mark: save it as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise StackFileError(f"{name} is not UTF-8 text (invalid byte at line {line}): save it as UTF-8") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise StackFileError(f"{name} holds a NUL character (line {line}): it is not a text file")
    return text


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer stops at MAX_DEPTH before Python's recursion limit does."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Optional[Node], index: Any) -> Optional[Node]:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise StackFileError(f"nesting deeper than {MAX_DEPTH} levels (line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _key_text(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return node.value
    return f"<{'mapping' if isinstance(node, MappingNode) else 'sequence'} key>"


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def check_tree(root: Node) -> None:
    """Duplicate keys, recursive aliases and alias expansion over MAX_NODES, each named by line and key path."""
    expanded = 0
    on_path: set[int] = set()
    seen: set[int] = set()  # nodes already walked once (a second visit is an alias)
    # Iterative walk: (node, path, leaving?)
    stack: list[tuple[Node, str, bool]] = [(root, "", False)]
    while stack:
        node, path, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        expanded += 1
        if expanded > MAX_NODES:
            raise StackFileError(
                f"more than {MAX_NODES} values once aliases are expanded (an alias bomb?); "
                "a stack file needs no aliases", path or "<file>",
            )
        if not isinstance(node, (MappingNode, SequenceNode)):
            continue
        if id(node) in on_path:
            raise StackFileError(
                f"recursive alias (line {node.start_mark.line + 1}): a value cannot contain itself", path or "<file>"
            )
        first_visit = id(node) not in seen
        seen.add(id(node))
        on_path.add(id(node))
        stack.append((node, path, True))
        if isinstance(node, SequenceNode):
            children = [(child, _join(path, i)) for i, child in enumerate(node.value)]
        else:
            keys: dict[str, int] = {}
            children = []
            for key_node, value_node in node.value:
                text = _key_text(key_node)
                if first_visit and isinstance(key_node, ScalarNode) and text != "<<":
                    line = key_node.start_mark.line + 1
                    if text in keys:
                        raise StackFileError(
                            f"duplicate key (line {line}, first at line {keys[text]}): "
                            "the Pulumi engine refuses a stack file with duplicate keys",
                            _join(path, text),
                        )
                    keys[text] = line
                children.append((key_node, path))
                children.append((value_node, _join(path, text)))
        for child in reversed(children):
            stack.append((child[0], child[1], False))


def parse(text: str, name: str) -> Any:
    """YAML text -> Python data, with the checks above; a syntax error names the line."""
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        check_tree(root)
        return loader.construct_document(root)
    except StackFileError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(exc, "problem", None)
        what = f": {problem}" if problem and _safe_problem(problem) else ""
        raise StackFileError(f"{name} is not valid YAML{where}{what}") from None
    except RecursionError:  # defence in depth: the depth bound should make this unreachable
        raise StackFileError(f"{name} nests too deeply to read") from None
    finally:
        loader.dispose()


def _safe_problem(problem: str) -> bool:
    """PyYAML problems are fixed phrases, except a few that quote file content (tags, unhashable keys)."""
    return "'" not in problem and '"' not in problem and len(problem) < 120


def load_file(path: Path) -> Any:
    path = Path(path)
    return parse(read_text(path), path.name)
