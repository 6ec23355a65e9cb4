"""The wording of recipe problems: pydantic's and OpenCV's errors as sentences a recipe author can act on."""

from __future__ import annotations

import json
import re
from typing import Any

from augcli.errors import first_line

# Pydantic error types that mean "this union branch is the wrong kind of value", not "a bad value".
_MISMATCH = re.compile(r"_type$|_parsing$|^int_from_float$|^literal_error$|^too_(long|short)$|^is_instance_of$")
_KIND_OF_ERROR = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "str": "text",
    "tuple": "a list",
    "list": "a list",
    "dict": "a mapping",
    "none": "null",
}


def schema_messages(errors: list[Any], name: str, params: dict[str, Any]) -> list[tuple[str | None, str]]:
    """One message per parameter: a value that fits no branch of a union is one mistake, not one per branch."""
    grouped: dict[Any, list[Any]] = {}
    out: list[tuple[str | None, str]] = []
    for err in errors:
        loc = tuple(err["loc"])
        key = loc[0] if loc else None
        if err["type"] == "missing":
            out.append((None, f"{name} needs parameter '{key}'"))
        else:
            grouped.setdefault(key, []).append(err)
    for key, errs in grouped.items():
        given = isinstance(key, str) and key in params
        mismatched = [e for e in errs if _MISMATCH.search(e["type"])]
        if given and len(mismatched) == len(errs):
            kinds = _kinds(errs, key)
            out.append((key, f"{key} must be {_either(kinds)} (got {show(params[key])})"))
            continue
        messages = list(dict.fromkeys(_clean(e["msg"]) for e in errs if e not in mismatched))
        text = "; ".join(messages)
        if given and not any(isinstance(e.get("input"), dict) for e in errs):
            text = f"{text} (got {show(params[key])})"
        out.append((key if given else None, text))
    return out


def field_message(err: Any, loc: tuple[Any, ...]) -> str:
    """A top-level key's pydantic error (not an unknown or missing key) as one sentence."""
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if loc == ("copies",) and err["type"] == "greater_than_equal":
        return f"copies must be a positive whole number, got {err.get('input')}"
    given = err.get("input")
    if _MISMATCH.search(err["type"]) and loc and isinstance(loc[-1], str):
        return f"{loc[-1]} must be {_either(_kinds([err], str(loc[-1])))} (got {show(given)})"
    if given is not None and not isinstance(given, (dict, list)):
        msg += f" (got {given!r})"
    return msg


def _kinds(errors: list[Any], key: str) -> list[str]:
    """What each union branch would have accepted, in words, from its label (`tuple[int, int]`) or error type."""
    labels = [str(e["loc"][1]) if len(e["loc"]) > 1 and isinstance(e["loc"][1], str) else "" for e in errors]
    # Albumentations' ranges take a scalar (symmetric) or a pair; names ending so are ranges too.
    ranged = any(label in ("int", "float") for label in labels) or key.endswith(("_range", "_limit"))
    kinds: list[str] = []
    for err, label in zip(errors, labels, strict=True):
        base = re.match(r"[a-z]+", label)
        kind_of = base.group() if base and base.group() in _KIND_OF_ERROR else str(err["type"]).split("_")[0]
        items = label[label.find("[") + 1 : -1].split(",") if "[" in label else []
        if err["type"] == "literal_error":
            choices = str(err["msg"]).removeprefix("Input should be ").replace(" or ", ", ")
            kind = f"one of {choices}"
        elif kind_of in ("tuple", "list") and "..." in label:
            kind = "a list of numbers" if re.search(r"\[(int|float), \.\.\.\]", label) else "a list"
        elif kind_of in ("tuple", "list") and (len(items) == 2 or not items):
            kind = "a [low, high] pair" if ranged else ("a list of two values" if items else "a list")
        else:
            kind = _KIND_OF_ERROR.get(kind_of, "")
        if kind and kind not in kinds:
            kinds.append(kind)
    if "a number" in kinds and "a whole number" in kinds:
        kinds.remove("a whole number")
    single = ("a whole number", "a number", "true or false", "text")
    return sorted(kinds, key=lambda k: k not in single) or ["a different kind of value"]


def _either(kinds: list[str]) -> str:
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def _clean(msg: Any) -> str:
    return str(msg).removeprefix("Value error, ")


def show(value: Any) -> str:
    """A given value in a message: JSON for data (lists, not tuples), repr for text."""
    return json.dumps(value, default=list) if not isinstance(value, str) else repr(value)


def describe_exception(exc: Exception) -> str:
    """An exception's first line, without OpenCV's build paths."""
    text = first_line(exc)
    cv = re.match(r"OpenCV\([^)]*\) \S+: error: \(-?\d+:([^)]*)\) (.*?)(?: in function '([^']*)')?$", text)
    if cv:
        where = f" in {cv.group(3)}" if cv.group(3) else ""
        return f"OpenCV{where}: {cv.group(1).lower()}: {cv.group(2)}"
    if isinstance(exc, (IndexError, AttributeError, ZeroDivisionError)):
        return f"{type(exc).__name__}: {text}"  # their text alone (an index, a name) says little
    return text


def format_value(value: Any) -> str:
    """A parameter value as a recipe would write it: floats to 4 significant digits, tuples as lists."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
