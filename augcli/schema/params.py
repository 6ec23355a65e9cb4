"""One transform's parameters as JSON Schema, from the class a recipe step builds.

Types come from the transform's InitSchema where augcli validates with it (`registry.validates_strictly`),
otherwise from the constructor's annotations; defaults and required names from the constructor signature;
descriptions from the docstring's `Args:` section. Albumentations puts most numeric limits in
AfterValidators, which pydantic cannot describe; the ones that bound every value are translated here.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import textwrap
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from augcli import registry

Schema = dict[str, Any]


class _Lenient(GenerateJsonSchema):
    """A type JSON Schema cannot express (a callable, an array) accepts anything rather than failing."""

    def handle_invalid_for_json_schema(self, schema: core_schema.CoreSchema, error_info: str) -> JsonSchemaValue:
        return {}


def transform_schema(cls: type, step_ref: str) -> Schema:
    """The mapping a step `Name: {...}` takes; `step_ref` points at the schema of one step (for compositions)."""
    doc = inspect.getdoc(cls) or ""
    described = docstring_args(doc)
    signature = registry.init_parameters(cls)
    types = _init_schema_types(cls) if registry.validates_strictly(cls) else {}
    untyped = [name for name in signature if name not in types and name != "transforms"]
    annotated = _annotation_types(cls, untyped) if untyped else {}
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for name, parameter in signature.items():
        if name == "transforms" and registry.is_composition(cls):
            properties[name] = {"type": "array", "minItems": 1, "items": {"$ref": step_ref}}
            required.append(name)
        else:
            properties[name] = dict(types.get(name, annotated.get(name, {})))
            if parameter.default is inspect.Parameter.empty:
                required.append(name)
            else:
                default = jsonable(parameter.default)
                if default is not NO_JSON:
                    properties[name]["default"] = default
        if name == "p":
            # validate-recipe checks every step's p, whatever its class declares.
            properties[name].update(minimum=0, maximum=1, description="Probability of applying the step.")
        if name in described:
            properties[name]["description"] = described[name]
    schema: Schema = {
        "type": "object" if required else ["object", "null"],
        "description": summary(doc),
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def takes_defaults(cls: type) -> bool:
    """Whether a bare name (`- HorizontalFlip`) is a complete step: nothing is required."""
    if registry.is_composition(cls):
        return False
    return all(p.default is not inspect.Parameter.empty for p in registry.init_parameters(cls).values())


# --------------------------------------------------------------------------- types


def _init_schema_types(cls: type) -> dict[str, Schema]:
    """Each field's schema, except those whose input is rewritten before validation (the signature tells those)."""
    model = cls.InitSchema  # type: ignore[attr-defined]
    decorators = model.__pydantic_decorators__
    if any(d.info.mode != "after" for d in decorators.model_validators.values()):
        return {}
    rewritten = {f for d in decorators.field_validators.values() if d.info.mode != "after" for f in d.info.fields}
    generated = model.model_json_schema(schema_generator=_Lenient)
    local = generated.get("$defs", {})
    out: dict[str, Schema] = {}
    for name, field_schema in generated.get("properties", {}).items():
        field = model.model_fields.get(name)
        if name in rewritten or field is None or any(type(m).__name__ in _REWRITING for m in field.metadata):
            continue
        schema = to_draft7(field_schema, local)
        for bound in _validator_bounds(field.metadata):
            constrain_numbers(schema, bound)
        out[name] = schema
    return out


# Annotated validators that see the value before its type is checked, so the type says nothing of the input.
_REWRITING = {"BeforeValidator", "PlainValidator", "WrapValidator"}


def _annotation_types(cls: type, names: list[str]) -> dict[str, Schema]:
    try:
        # Follows the validating wrapper Albumentations puts around __init__ to the constructor written.
        signature = inspect.signature(cls.__init__, eval_str=True)  # type: ignore[misc]
    except Exception:
        return {}
    out: dict[str, Schema] = {}
    for name, parameter in signature.parameters.items():
        hint = parameter.annotation
        if name not in names or hint is inspect.Parameter.empty:
            continue
        try:
            generated = TypeAdapter(hint).json_schema(schema_generator=_Lenient)
        except Exception:
            continue  # a type pydantic cannot build (a transform, say): any value
        out[name] = to_draft7(generated, generated.get("$defs", {}))
    return out


def _range_bounds(func: Callable[..., Any]) -> Schema | None:
    """`check_range_bounds(min_val, max_val, min_inclusive, max_inclusive)`: read back from its closure."""
    cells = dict(zip(func.__code__.co_freevars, (c.cell_contents for c in func.__closure__ or ()), strict=False))
    if not {"min_val", "max_val", "min_inclusive", "max_inclusive"} <= set(cells):
        return None
    bound: Schema = {}
    if cells["min_val"] is not None:
        bound["minimum" if cells["min_inclusive"] else "exclusiveMinimum"] = cells["min_val"]
    if cells["max_val"] is not None:
        bound["maximum" if cells["max_inclusive"] else "exclusiveMaximum"] = cells["max_val"]
    return bound


# Albumentations' AfterValidators (albumentations.core.pydantic) that bound every number of a value.
_BOUNDS: dict[str, Callable[[Callable[..., Any]], Schema | None]] = {
    "check_range_bounds.<locals>.validator": _range_bounds,
    "process_non_negative_range": lambda _: {"minimum": 0},
}
# Converters after which a bound no longer applies to the number written: 5 becomes (-5, 5).
_SYMMETRIC = {"create_symmetric_range"}


def _validator_bounds(metadata: list[Any]) -> list[Schema]:
    """Bounds to put on each number of a parameter, from its validators in the order they run."""
    bounds: list[Schema] = []
    for item in metadata:
        func = getattr(item, "func", None)
        name = getattr(func, "__qualname__", "")
        if name in _SYMMETRIC:
            break
        translate = _BOUNDS.get(name)
        bound = translate(func) if translate and func else None
        if bound:
            bounds.append(bound)
    return bounds


def constrain_numbers(schema: Schema, bound: Schema) -> None:
    """Add `bound` to every number and integer inside `schema` (a scalar, a pair's items, a branch)."""
    kinds = schema.get("type")
    if kinds in ("number", "integer"):
        schema.update(bound)
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            constrain_numbers(branch, bound)
    items = schema.get("items")
    for item in items if isinstance(items, list) else [items] if isinstance(items, dict) else []:
        constrain_numbers(item, bound)


# --------------------------------------------------------------------------- draft 2020-12 -> draft-07


def to_draft7(node: Any, local: dict[str, Schema]) -> Any:
    """Pydantic writes draft 2020-12; language servers read draft-07: inline `$defs`, tuples as `items` lists."""
    if isinstance(node, list):
        return [to_draft7(item, local) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        inlined = to_draft7(local[ref.removeprefix("#/$defs/")], local)
        rest = {k: to_draft7(v, local) for k, v in node.items() if k not in ("$ref", "title")}
        return {**inlined, **rest}
    out: Schema = {}
    for key, value in node.items():
        if key in ("title", "$defs") or key in _PYDANTIC_BOUNDS:
            continue
        if key == "prefixItems":
            out["items"] = to_draft7(value, local)
            if node.get("maxItems") == len(value):
                out["additionalItems"] = False
        elif key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: to_draft7(sub, local) for name, sub in value.items()}
        else:
            out[key] = to_draft7(value, local)
    # Pydantic leaves `Field(ge=0)` on a union (`int | float`) under its own name; it applies to each branch.
    raw = {_PYDANTIC_BOUNDS[k]: v for k, v in node.items() if k in _PYDANTIC_BOUNDS}
    if raw:
        constrain_numbers(out, raw)
    return out


_PYDANTIC_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


NO_JSON = object()


def jsonable(value: Any) -> Any:
    """A default as JSON (tuples become lists); `NO_JSON` when it has no JSON form (a callable, an array)."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple):
        value = list(value)
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return NO_JSON


# --------------------------------------------------------------------------- docstrings

_SECTIONS = ("Args:", "Arguments:", "Attributes:")  # compositions document their parameters as attributes
_ARG = re.compile(r"^(\w+)\s*(?:\(.*?\))?\s*:\s*(.*)$")


def docstring_args(doc: str) -> dict[str, str]:
    """Google-style `Args:` entries (`name (type): text`, continued on deeper lines) as name -> text."""
    lines = doc.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() in _SECTIONS), None)
    if start is None:
        return {}
    base = len(lines[start]) - len(lines[start].lstrip())
    entries: dict[str, list[str]] = {}
    indent: int | None = None
    current: list[str] | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            if current is not None:
                current.append("")
            continue
        depth = len(line) - len(line.lstrip())
        if depth <= base:
            break
        indent = depth if indent is None else indent
        match = _ARG.match(line.strip()) if depth == indent else None
        if match:
            current = entries.setdefault(match.group(1), [])
            current.append(match.group(2))
        elif current is not None and depth > indent:
            current.append(line)
        else:
            break
    return {name: _entry_text(parts) for name, parts in entries.items()}


def _entry_text(parts: list[str]) -> str:
    first, rest = parts[0], textwrap.dedent("\n".join(parts[1:]))
    return "\n".join([first, rest]).strip() if rest.strip() else first.strip()


def summary(doc: str) -> str:
    """A docstring's first paragraph on one line."""
    paragraph = doc.strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())
