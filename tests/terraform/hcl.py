"""Load Terraform files with python-hcl2 into one stable shape.

The venv holds two distributions of the `hcl2` module: python-hcl2 (8.x) and checkov's
fork bc-python-hcl2, whichever pip installed last wins. They serialise differently:
bc wraps every attribute value in a one-element list, python-hcl2 8 keeps the quotes of
string literals and labels. `load` normalises both to:

- labels and string literals unquoted; expressions as `${...}` strings;
- attribute values as they are (a list attribute is a list);
- nested blocks as lists of dicts (a map attribute may also appear as a one-element
  list of dicts with bc: use `as_map`).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Iterator

import hcl2


@functools.cache
def _mode() -> str:
    probe = hcl2.loads('a = "x"\n')["a"]
    if probe == ["x"]:
        return "wrapped"
    if probe == '"x"':
        return "quoted"
    if probe == "x":
        return "plain"
    raise RuntimeError(f"unknown python-hcl2 output shape: {probe!r}")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _literal(value: Any, mode: str) -> Any:
    """An attribute value: lists, object literals, strings, numbers, bools."""
    if isinstance(value, dict):
        return {_unquote(k): _literal(v, mode) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_literal(item, mode) for item in value]
    if isinstance(value, str) and mode == "quoted":
        return _unquote(value)
    return value


def _body(value: dict, mode: str) -> dict:
    """A block body, or a level of block labels."""
    result = {}
    for key, val in value.items():
        if key.startswith("__"):
            continue
        if isinstance(val, dict):  # a label level, e.g. resource type -> name
            result[_unquote(key)] = _body(val, mode)
        elif isinstance(val, list) and val and all(isinstance(v, dict) for v in val) and _is_blocks(val, mode):
            result[_unquote(key)] = [_body(v, mode) for v in val]
        elif mode == "wrapped" and isinstance(val, list) and len(val) == 1:
            # bc wraps every attribute value of a block in a one-element list.
            result[_unquote(key)] = _literal(val[0], mode)
        else:
            result[_unquote(key)] = _literal(val, mode)
    return result


def _is_blocks(items: list, mode: str) -> bool:
    if mode == "quoted":
        return all(item.get("__is_block__") for item in items)
    # bc: attribute values are wrapped, so a bare list of dicts is a list of blocks.
    return True


def load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return _body(hcl2.load(handle), _mode())


def as_map(value: Any) -> dict[str, Any]:
    """A map attribute or a single block, whichever shape the parser chose."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return value[0]
    assert isinstance(value, dict), value
    return value


def compact(expr: Any) -> str:
    """An expression without whitespace and with one kind of quote, for substring checks."""
    return re.sub(r"\s+", "", str(expr)).replace("'", '"')


def blocks(tree: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, body) of `variable`, `output`, `module` blocks."""
    for entry in tree.get(kind, []):
        for name, body in entry.items():
            yield name, body


def typed_blocks(tree: dict[str, Any], kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of `resource` and `data` blocks."""
    for entry in tree.get(kind, []):
        for rtype, named in entry.items():
            for name, body in named.items():
                yield rtype, name, body


def locals_of(tree: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entry in tree.get("locals", []):
        merged.update(entry)
    return merged
