"""`KEY=VALUE` storage options from a command line, typed the way filesystems expect them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from augcli.errors import UsageError

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][+-]?\d+)?")
_WORDS: dict[str, Any] = {"true": True, "false": False, "none": None, "null": None}


def parse_storage_options(pairs: Iterable[str]) -> dict[str, Any]:
    """Options for `open_store` from `KEY=VALUE` texts (the repeatable `--storage-option`).

    Values are typed: true/false, none/null, integers, decimals, JSON objects and lists (`{...}`,
    `[...]`); quotes keep a text as text (`version="2"`); anything else is a string. A dotted key fills
    a nested option: `client_kwargs.region_name=eu-west-1` is `{"client_kwargs": {"region_name": ...}}`.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or not all(parts):
            raise UsageError(f"storage option '{pair}': expected KEY=VALUE (a key like anon or client_kwargs.region)")
        _assign(options, parts, _typed(pair, text.strip()), pair)
    return options


def _typed(pair: str, text: str) -> Any:
    if text.lower() in _WORDS:
        return _WORDS[text.lower()]
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"storage option '{pair}': value is not valid JSON ({exc.msg})") from None
    return text


def _assign(options: dict[str, Any], parts: list[str], value: Any, pair: str) -> None:
    node = options
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"storage option '{pair}': '{'.'.join(parts[: depth + 1])}' is already set to a value")
        node = child
    if parts[-1] in node:
        raise UsageError(f"storage option '{pair}': '{'.'.join(parts)}' is given twice")
    node[parts[-1]] = value
