"""A recipe's `preprocess`/`augment` lists -> TransformSpecs, every step checked the way it will be built.

A step is checked by name (known, allowed), by parameter (accepted, in range), against Albumentations'
own schema with strict=True, by building it with the one builder (`augcli.pipeline`), and by running
it alone on a probe image. Every problem is collected; nothing stops at the first.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from pydantic import ValidationError

from augcli import registry
from augcli.errors import first_line
from augcli.pipeline import build_step, build_steps
from augcli.recipe.limits import step_limits
from augcli.recipe.messages import schema_messages
from augcli.recipe.model import TransformSpec
from augcli.recipe.probe import probe_step
from augcli.recipe.problems import Problems
from augcli.recipe.renames import parameter_hint, transform_hint
from augcli.yamlloc import YamlPath


def check_steps(steps: Any, path: YamlPath, collect: Problems) -> list[TransformSpec] | None:
    """Validate a list of steps; every problem is collected, and None returned if any was found."""
    if steps is None:
        return []
    if not isinstance(steps, list):
        collect.add(path, "expected a list of transforms, e.g. `- HorizontalFlip: {p: 0.5}`")
        return None
    before = _errors(collect)
    specs = [_check_step(step, (*path, i), collect) for i, step in enumerate(steps)]
    if _errors(collect) > before or any(s is None for s in specs):
        return None
    return [s for s in specs if s is not None]


def _errors(collect: Problems) -> int:
    """Errors collected so far: a warning (an Albumentations adjustment) does not make a step invalid."""
    return sum(p.severity == "error" for p in collect.items)


def _check_step(step: Any, path: YamlPath, collect: Problems) -> TransformSpec | None:
    params: Any
    if isinstance(step, str):
        name, params = step, {}
    elif isinstance(step, dict) and len(step) == 1:
        name, params = next(iter(step.items()))
        params = {} if params is None else params
    elif isinstance(step, dict):
        later = [str(k) for k in list(step)[1:] if str(k) in registry.catalogue()]
        if later:  # `- A: {...}` then `  B: {...}` on the next line: B lost its dash
            collect.add((*path, later[0]), f"a dash is missing before {later[0]}: each step starts with `- `")
            return None
        keys = ", ".join(map(str, step))
        collect.add(path, f"a step names one transform, found several keys ({keys}); indent parameters under it")
        return None
    else:
        collect.add(path, "a step is `TransformName: {parameters}` or just `TransformName`")
        return None
    name = str(name)
    here = (*path, name)
    if name in registry.FORBIDDEN:
        collect.add(path, f"{name} cannot be used in a recipe: {registry.FORBIDDEN[name]}")
        return None
    cls = registry.catalogue().get(name)
    if cls is None:
        hint = registry.suggest(name)
        extra = transform_hint(name) or (f"; did you mean {', '.join(hint)}?" if hint else "")
        collect.add(path, f"unknown transform '{name}'{extra}")
        return None
    if isinstance(params, list) and registry.is_composition(cls):
        collect.add(here, f"{name}'s steps go under `transforms:`, e.g. `{name}: {{transforms: [...], p: 0.5}}`")
        return None
    if not isinstance(params, dict):
        collect.add(here, f"parameters of {name} must be a mapping, e.g. `{name}: {{p: 0.5}}`")
        return None
    params = dict(params)
    children: list[TransformSpec] | None = None
    ok = True
    if registry.is_composition(cls):
        ok, children = _check_inner_steps(cls, name, params, here, collect)
    params = {k: _tuples(v) for k, v in params.items()}
    ok = _check_params(cls, name, params, here, collect, children) and ok
    return TransformSpec(name, params, path, children) if ok else None


def _check_inner_steps(
    cls: type, name: str, params: dict[str, Any], here: YamlPath, collect: Problems
) -> tuple[bool, list[TransformSpec] | None]:
    """A composition's `transforms:` (popped from params), checked step by step."""
    key = "transforms"
    ok = True
    if key not in params:
        # `tranforms:` would otherwise read as "no transforms" and hide the steps under it.
        unknown = [k for k in params if k not in registry.init_parameters(cls)]
        near = [k for k in unknown if registry.suggest(str(k), [key]) or isinstance(params[k], list)]
        if near:
            key = near[0]
            collect.add((*here, key), f"{name} has no parameter '{key}'; did you mean transforms?")
            ok = False
    inner = params.pop(key, None)
    if not isinstance(inner, list) or not inner:
        if ok:
            collect.add(here, f"{name} needs `transforms:`, a non-empty list of steps")
        return False, None
    children = check_steps(inner, (*here, key), collect)
    return ok and children is not None, children


def _tuples(value: Any) -> Any:
    """YAML lists become tuples, which is what Albumentations' schemas expect for ranges."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _check_params(
    cls: type,
    name: str,
    params: dict[str, Any],
    here: YamlPath,
    collect: Problems,
    children: list[TransformSpec] | None = None,
) -> bool:
    accepted = registry.init_parameters(cls)
    accepted.pop("transforms", None)
    if not _check_names_and_ranges(name, params, accepted, here, collect):
        return False
    composition = registry.is_composition(cls)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if not _check_schema(cls, name, params, accepted, here, collect):
            return False
        try:
            # A composition is built with its real steps: SomeOf(n=2) warns about an empty list.
            build_step(cls, params, children=build_steps(children or []) if composition else None)
        except Exception as exc:
            if not composition:
                collect.add(here, first_line(exc))
                return False
    if composition and children is None:
        return True  # its steps are already reported; warnings about an empty list would mislead
    if not composition:
        failure = probe_step(cls, params)
        if failure:
            collect.add(here, f"{name} fails on a test image: {failure}")
            return False
    for message in dict.fromkeys(first_line(w.message) for w in caught):
        collect.add(here, f"albumentations: {message}", severity="warning", rule="albumentations")
    return True


def _check_names_and_ranges(
    name: str, params: dict[str, Any], accepted: dict[str, inspect.Parameter], here: YamlPath, collect: Problems
) -> bool:
    """Unknown parameters (with the closest names), probabilities outside [0, 1], reversed ranges."""
    before = len(collect.items)
    for key in params:
        if key not in accepted:
            hint = registry.suggest(key, list(accepted))
            extra = parameter_hint(key, list(accepted)) or (
                f"; did you mean {', '.join(hint)}?" if hint else f"; {name} takes {', '.join(accepted)}"
            )
            collect.add((*here, key), f"{name} has no parameter '{key}'{extra}")
    for key, value in params.items():
        if _non_finite(value):
            shown = list(value) if isinstance(value, tuple) else value
            collect.add((*here, key), f"{key} must be a finite number, got {shown!r}")
        elif key == "p" and isinstance(value, (int, float)) and not 0 <= value <= 1:
            collect.add((*here, key), f"p is a probability and must be within [0, 1], got {value}")
        elif (
            (key.endswith("_range") or key.endswith("_limit"))
            and isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and value[0] > value[1]
        ):
            collect.add((*here, key), f"reversed range {list(value)}: the low end comes first")
    if len(collect.items) == before:  # sizes and counts that would exhaust the machine, before any is tried
        for over, message in step_limits(name, params):
            collect.add(here if over is None else (*here, over), message)
    return len(collect.items) == before


def _non_finite(value: Any) -> bool:
    """NaN or infinity anywhere in a value, also as text a schema would coerce ("nan", "1e400")."""
    if isinstance(value, tuple):
        return any(_non_finite(v) for v in value)
    if isinstance(value, float | str) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            return False
        return number != number or number in (float("inf"), float("-inf"))
    return False


def _check_schema(
    cls: type,
    name: str,
    params: dict[str, Any],
    accepted: dict[str, inspect.Parameter],
    here: YamlPath,
    collect: Problems,
) -> bool:
    """Albumentations' own InitSchema, strict, with the defaults filled in as the constructor would."""
    schema = getattr(cls, "InitSchema", None)
    if schema is None or not registry.validates_strictly(cls):
        return True
    defaults = {k: v.default for k, v in accepted.items() if v.default is not inspect.Parameter.empty}
    try:
        schema(**{**defaults, **params, "strict": True})
    except ValidationError as exc:
        for where, message in schema_messages(exc.errors(), name, params):
            collect.add(here if where is None else (*here, where), message)
        return False
    except (TypeError, ValueError) as exc:
        collect.add(here, first_line(exc))
        return False
    return True
