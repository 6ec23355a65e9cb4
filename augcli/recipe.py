"""YAML recipe -> validated `Recipe`, with every problem located at file:line:col.

Validation never stops at the first mistake: it collects all of them (YAML syntax, unknown keys,
unknown transforms, invalid parameters, reversed ranges, extends cycles, missing input) so a user
fixes a recipe in one pass.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from augcli import registry
from augcli.errors import AugcliError, RecipeError, UsageError
from augcli.mixing import MixModel
from augcli.yamlloc import Location, YamlPath, describe_yaml_error, format_path, load_yaml

FORMAT_VERSION = 1
DOMAINS = ("generic", "natural", "fundus", "xray", "medical", "ocr", "document", "satellite")
OUTPUT_FORMATS = ("same", "jpg", "png", "webp", "tif", "bmp")
PRESETS_DIR = Path(__file__).resolve().parent / "presets"


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong (error) or suspicious (warning) in a recipe, where the user can find it."""

    severity: Literal["error", "warning"]
    message: str
    path: YamlPath = ()
    location: Location | None = None
    file: str | None = None
    rule: str | None = None

    def format(self) -> str:
        where = str(self.location) if self.location else (self.file or "<recipe>")
        rule = f"[{self.rule}] " if self.rule else ""
        return f"{where}: {self.severity}: {format_path(self.path)}: {rule}{self.message}"

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "severity": self.severity,
            "file": loc.file if loc else self.file,
            "line": loc.line if loc else None,
            "column": loc.col if loc else None,
            "path": format_path(self.path),
            "rule": self.rule,
            "message": self.message,
        }


class _Problems:
    """Collects problems, resolving a YAML path to the nearest known location."""

    def __init__(self, locations: dict[YamlPath, Location], file: str):
        self.items: list[Problem] = []
        self.locations = locations
        self.file = file

    def locate(self, path: YamlPath) -> Location | None:
        for n in range(len(path), -1, -1):
            loc = self.locations.get(tuple(path[:n]))
            if loc is not None:
                return loc
        return None

    def add(self, path: YamlPath, message: str, *, severity: str = "error", rule: str | None = None) -> None:
        self.items.append(
            Problem(severity, message, tuple(path), self.locate(path), self.file, rule)  # type: ignore[arg-type]
        )


# --------------------------------------------------------------------------- schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutputModel(_Strict):
    path: str | None = None
    format: Literal["same", "jpg", "png", "webp", "tif", "bmp"] = "same"
    quality: int = Field(95, ge=1, le=100)


class LabelsModel(_Strict):
    """Where a dataset's labels are and how strictly objects that leave the image are dropped."""

    format: Literal["auto", "voc", "coco", "yolo", "masks", "folders"] = "auto"
    min_visibility: float = Field(0.0, ge=0, le=1)
    min_area: float = Field(1.0, ge=0)


class SilenceModel(_Strict):
    rule: str
    reason: str = Field(min_length=1)


class RecipeModel(_Strict):
    augcli: Literal[1] = 1  # = FORMAT_VERSION (a Literal default must be written out)
    name: str
    domain: Literal["generic", "natural", "fundus", "xray", "medical", "ocr", "document", "satellite"] = "generic"
    description: str = ""
    extends: str | None = None
    seed: int = Field(0, ge=0)
    copies: int = Field(4, ge=1)
    class_copies: dict[str, int] = Field(default_factory=dict)
    balance: bool = False
    keep_original: bool = True
    input: str | None = None
    output: OutputModel = Field(default_factory=OutputModel)
    decode: Literal["fast", "exact"] = "fast"  # fast: shrink-on-load where preprocess allows (augcli.shrink)
    preprocess: list[Any] = Field(default_factory=list)
    augment: list[Any] = Field(default_factory=list)
    silence: list[SilenceModel] = Field(default_factory=list)
    labels: LabelsModel = Field(default_factory=LabelsModel)
    mix: MixModel = Field(default_factory=MixModel)


TOP_LEVEL_KEYS = list(RecipeModel.model_fields)


# --------------------------------------------------------------------------- resolved recipe


@dataclass
class TransformSpec:
    """One validated step: an Albumentations (or augcli) class and its parameters."""

    name: str
    params: dict[str, Any]
    path: YamlPath
    children: list[TransformSpec] | None = None

    def to_data(self) -> dict[str, Any]:
        params = dict(self.params)
        if self.children is not None:
            params["transforms"] = [c.to_data() for c in self.children]
        return {self.name: params}

    def walk(self) -> list[TransformSpec]:
        out = [self]
        for child in self.children or []:
            out.extend(child.walk())
        return out


@dataclass
class Recipe:
    """A validated, fully resolved recipe (extends applied, paths absolute)."""

    name: str
    domain: str
    description: str
    seed: int
    copies: int
    class_copies: dict[str, int]
    balance: bool
    keep_original: bool
    input: Path | None
    output: Path | None
    output_format: str
    quality: int
    preprocess: list[TransformSpec]
    augment: list[TransformSpec]
    silence: dict[str, str]
    source: Path
    chain: list[Path]
    data: dict[str, Any]
    text: str
    locations: dict[YamlPath, Location] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)  # the `labels:` section with its defaults
    mix: dict[str, Any] = field(default_factory=dict)  # the `mix:` section (MixUp/CutMix) with its defaults
    decode: str = "fast"  # "exact" turns shrink-on-load off

    @property
    def hash(self) -> str:
        """Identity of everything that decides output pixels (not names, paths or lint silences)."""
        keep = {k: v for k, v in self.data.items() if k not in {"name", "description", "input", "silence"}}
        keep["output"] = {k: v for k, v in self.data.get("output", {}).items() if k != "path"}
        keep.pop("extends", None)
        blob = json.dumps(keep, sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class Report:
    """What validation found: the recipe (when it is valid) and every problem, errors first."""

    recipe: Recipe | None
    problems: list[Problem]
    labels: str | None = None  # the input's labels, when validation looked (format, images labelled, kinds)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


# --------------------------------------------------------------------------- presets


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        hint = registry.suggest(name, preset_names())
        more = f"; did you mean {', '.join(hint)}?" if hint else f"; presets: {', '.join(preset_names())}"
        raise UsageError(f"unknown preset '{name}'{more}")
    return path


def resolve_recipe_arg(arg: str | os.PathLike[str]) -> Path:
    """A recipe argument is a file path, or a preset name when no such file exists."""
    path = Path(arg)
    if path.is_file():
        return path
    if path.suffix == "" and os.sep not in str(arg) and (PRESETS_DIR / f"{arg}.yaml").is_file():
        return PRESETS_DIR / f"{arg}.yaml"
    if path.is_dir():
        raise UsageError("recipe is a directory, not a YAML file", path)
    raise UsageError("recipe file not found", path)


# --------------------------------------------------------------------------- loading


@dataclass
class _Layer:
    """One file of an extends chain, as parsed."""

    file: Path
    data: dict[str, Any]
    locations: dict[YamlPath, Location]


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _read_layers(
    path: Path, problems: list[Problem], seen: list[Path], via: Location | None = None
) -> list[_Layer] | None:
    """Parse a recipe and, recursively, what it extends; base first.

    `via` is the `extends:` line that named this file, where problems with the file itself are shown.
    """
    path = path.resolve()
    shown = _display(path)
    if path in seen:
        cycle = " -> ".join(_display(p) for p in [*seen, path])
        message = f"extends cycle: {cycle} (a recipe cannot extend itself, directly or through others)"
        problems.append(Problem("error", message, ("extends",), via, shown))
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem("error", f"cannot read recipe: {exc.strerror or exc}", (), via, shown))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", errors="replace")
        where = Location(shown, before.count("\n") + 1, len(before) - before.rfind("\n"))
        problems.append(Problem("error", "recipe is not UTF-8 text (save it as UTF-8)", (), where, shown))
        return None
    try:
        loaded = load_yaml(text, shown)
    except yaml.YAMLError as exc:
        what, loc = describe_yaml_error(exc, shown)
        problems.append(Problem("error", f"YAML syntax error: {what}", (), loc or Location(shown, 1, 1), shown))
        return None
    collect = _Problems(loaded.locations, shown)
    for dup_path, dup_loc, first in loaded.duplicates:
        key = dup_path[-1]
        message = f"duplicate key '{key}': it is already set on line {first.line} (only this later value would be used)"
        problems.append(Problem("error", message, dup_path, dup_loc, shown))
    if loaded.data is None:
        problems.append(Problem("error", "recipe is empty", (), Location(shown, 1, 1), shown))
        return None
    if not isinstance(loaded.data, dict):
        collect.add((), f"a recipe is a mapping of keys (name, augment, ...), not a {type(loaded.data).__name__}")
        problems.extend(collect.items)
        return None
    layer = _Layer(path, loaded.data, loaded.locations)
    parent = loaded.data.get("extends")
    if parent is None:
        return [layer]
    if not isinstance(parent, str):
        collect.add(("extends",), "extends takes a preset name or a path to a recipe")
        problems.extend(collect.items)
        return None
    parent_path = path.parent / parent
    if not parent_path.is_file():
        if (PRESETS_DIR / f"{parent}.yaml").is_file():
            parent_path = PRESETS_DIR / f"{parent}.yaml"
        else:
            hint = registry.suggest(parent, preset_names())
            extra = f"; did you mean {', '.join(hint)}?" if hint else f"; presets: {', '.join(preset_names())}"
            collect.add(("extends",), f"'{parent}' is neither a recipe file nor a preset{extra}")
            problems.extend(collect.items)
            return None
    base = _read_layers(parent_path, problems, [*seen, path], collect.locate(("extends",)))
    return None if base is None else [*base, layer]


def _absolutise(layer: _Layer) -> dict[str, Any]:
    """Resolve relative paths against the file that wrote them, so extends keeps them meaning the same."""
    data = dict(layer.data)
    if isinstance(data.get("input"), str):
        data["input"] = str((layer.file.parent / data["input"]).resolve())
    out = data.get("output")
    if isinstance(out, dict) and isinstance(out.get("path"), str):
        data["output"] = {**out, "path": str((layer.file.parent / out["path"]).resolve())}
    return data


def _merge(layers: list[_Layer]) -> tuple[dict[str, Any], dict[YamlPath, Location]]:
    """Later files override earlier ones key by key; `output` merges field by field."""
    data: dict[str, Any] = {}
    locations: dict[YamlPath, Location] = {}
    for layer in layers:
        values = _absolutise(layer)
        for key, value in values.items():
            if key == "output" and isinstance(value, dict) and isinstance(data.get("output"), dict):
                data["output"] = {**data["output"], **value}
                for p, loc in layer.locations.items():
                    if p[:1] == ("output",):
                        locations[p] = loc
                continue
            data[key] = value
            for p in [p for p in locations if p[:1] == (key,)]:
                del locations[p]
            for p, loc in layer.locations.items():
                if p[:1] == (key,):
                    locations[p] = loc
    return data, locations


def check_recipe(path: str | os.PathLike[str], *, lint: bool = True, for_disk: bool = True) -> Report:
    """Validate a recipe completely; never raises for problems in it (they are in the report).

    `for_disk`: the outputs must be images `run` can write (no Normalize at the end); online use
    (`load_pipeline`, `export`) turns it off.
    """
    source = Path(path)
    problems: list[Problem] = []
    layers = _read_layers(source, problems, [])
    if layers is None:
        return Report(None, problems)
    data, locations = _merge(layers)
    collect = _Problems(locations, _display(source.resolve()))
    model = _validate_top_level(data, collect)
    preprocess = _check_steps(data.get("preprocess"), ("preprocess",), collect)
    augment = _check_steps(data.get("augment"), ("augment",), collect)
    if isinstance(data.get("input"), str) and not Path(data["input"]).exists():
        collect.add(("input",), f"input folder does not exist: {_display(Path(data['input']))}")
    problems.extend(collect.items)
    if model is None or preprocess is None or augment is None or any(p.severity == "error" for p in problems):
        return Report(None, _sorted(problems))
    recipe = Recipe(
        name=model.name,
        domain=model.domain,
        description=model.description,
        seed=model.seed,
        copies=model.copies,
        class_copies=dict(model.class_copies),
        balance=model.balance,
        keep_original=model.keep_original,
        input=Path(model.input) if model.input else None,
        output=Path(model.output.path) if model.output.path else None,
        output_format=model.output.format,
        quality=model.output.quality,
        preprocess=preprocess,
        augment=augment,
        silence={s.rule: s.reason for s in model.silence},
        source=source.resolve(),
        chain=[layer.file for layer in layers],
        data=_canonical(data, preprocess, augment),
        text=layers[-1].file.read_text(encoding="utf-8"),
        locations=locations,
        labels=model.labels.model_dump(),
        mix=model.mix.model_dump(),
        decode=model.decode,
    )
    if for_disk:
        from augcli.writable import check_writable

        collect.items = []
        for step_path, message in check_writable(recipe):
            collect.add(step_path, message)
        if collect.items:
            problems.extend(collect.items)
            return Report(None, _sorted(problems))
    if lint:
        from augcli.lint import lint_recipe

        for rule, step_path, message in lint_recipe(recipe):
            if rule in recipe.silence:
                continue
            collect.items = []
            collect.add(step_path, message, severity="warning", rule=rule)
            problems.extend(collect.items)
        _check_silences(recipe, collect, problems)
        labels = _check_labels(recipe, collect, problems)
        return Report(recipe, _sorted(problems), labels)
    return Report(recipe, _sorted(problems))


def _check_labels(recipe: Recipe, collect: _Problems, problems: list[Problem]) -> str | None:
    """Steps that cannot carry the labels the recipe's input has (errors); what labels were found."""
    if recipe.input is None or not recipe.input.is_dir():
        return None
    from augcli.datasets.support import label_check

    collect.items = []
    try:
        summary, steps = label_check(
            recipe.input, (recipe.labels or {}).get("format", "auto"), recipe.preprocess + recipe.augment
        )
    except AugcliError as exc:
        collect.add(("input",), f"cannot read the input's labels: {exc.message}")
        problems.extend(collect.items)
        return None
    for step_path, message in steps:
        collect.add(step_path, message)
    problems.extend(collect.items)
    return str(summary) if summary is not None else None


def _check_silences(recipe: Recipe, collect: _Problems, problems: list[Problem]) -> None:
    from augcli.lint import RULES

    collect.items = []
    for i, rule in enumerate(recipe.silence):
        if rule not in RULES:
            hint = registry.suggest(rule, list(RULES))
            extra = f"; did you mean {', '.join(hint)}?" if hint else f"; rules: {', '.join(sorted(RULES))}"
            collect.add(("silence", i, "rule"), f"unknown lint rule '{rule}'{extra}")
    problems.extend(collect.items)


def load_recipe(path: str | os.PathLike[str], *, strict: bool = False) -> Recipe:
    """The recipe, or RecipeError carrying every problem (warnings too when strict)."""
    report = check_recipe(path)
    bad = report.problems if strict else report.errors
    if report.recipe is None or bad:
        raise RecipeError(path, bad or report.problems)
    return report.recipe


def _sorted(problems: list[Problem]) -> list[Problem]:
    def key(p: Problem) -> tuple[int, str, int, int]:
        loc = p.location
        return (
            0 if p.severity == "error" else 1,
            loc.file if loc else "",
            loc.line if loc else 0,
            loc.col if loc else 0,
        )

    return sorted(problems, key=key)


def _canonical(data: dict[str, Any], pre: list[TransformSpec], aug: list[TransformSpec]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in {"preprocess", "augment"}}
    out["preprocess"] = [s.to_data() for s in pre]
    out["augment"] = [s.to_data() for s in aug]
    return json.loads(json.dumps(out, default=list))


def _validate_top_level(data: dict[str, Any], collect: _Problems) -> RecipeModel | None:
    try:
        return RecipeModel.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if loc and loc[0] in ("preprocess", "augment") and len(loc) > 1:
                continue  # reported by the step checker, with better messages
            if err["type"] == "extra_forbidden":
                key = str(loc[-1])
                choices = TOP_LEVEL_KEYS if len(loc) == 1 else _fields_of(loc[:-1])
                hint = registry.suggest(key, choices)
                extra = f"; did you mean {', '.join(hint)}?" if hint else f"; valid keys: {', '.join(choices)}"
                collect.add(loc, f"unknown key '{key}'{extra}")
            elif err["type"] == "missing":
                collect.add(loc[:-1], f"missing required key '{loc[-1]}'")
            else:
                collect.add(loc, _pydantic_message(err, data, loc))
        return None


def _fields_of(loc: tuple[Any, ...]) -> list[str]:
    models: dict[str, type[BaseModel]] = {
        "output": OutputModel,
        "silence": SilenceModel,
        "labels": LabelsModel,
        "mix": MixModel,
    }
    model = models.get(str(loc[0]))
    return list(model.model_fields) if model else []


def _pydantic_message(err: Any, data: Any, loc: tuple[Any, ...]) -> str:
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if loc == ("copies",) and err["type"] == "greater_than_equal":
        return f"copies must be a positive whole number, got {err.get('input')}"
    given = err.get("input")
    if _MISMATCH.search(err["type"]) and loc and isinstance(loc[-1], str):
        return f"{loc[-1]} must be {_either(_kinds([err], str(loc[-1])))} (got {_show(given)})"
    if given is not None and not isinstance(given, (dict, list)):
        msg += f" (got {given!r})"
    return msg


# --------------------------------------------------------------------------- transform steps

# Each step is applied once (a few draws when cheap) to a small test image; crops get one as large as they need.
PROBE_SIDE = 64
PROBE_MAX_SIDE = 1024
PROBE_DRAWS = 3
PROBE_BUDGET_S = 0.02


def _check_steps(steps: Any, path: YamlPath, collect: _Problems) -> list[TransformSpec] | None:
    """Validate a list of steps; every problem is collected, and None returned if any was found."""
    if steps is None:
        return []
    if not isinstance(steps, list):
        collect.add(path, "expected a list of transforms, e.g. `- HorizontalFlip: {p: 0.5}`")
        return None
    before = len(collect.items)
    specs = [_check_step(step, (*path, i), collect) for i, step in enumerate(steps)]
    if len(collect.items) > before or any(s is None for s in specs):
        return None
    return [s for s in specs if s is not None]


def _check_step(step: Any, path: YamlPath, collect: _Problems) -> TransformSpec | None:
    params: Any
    if isinstance(step, str):
        name, params = step, {}
    elif isinstance(step, dict) and len(step) == 1:
        name, params = next(iter(step.items()))
        params = {} if params is None else params
    elif isinstance(step, dict):
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
        extra = f"; did you mean {', '.join(hint)}?" if hint else ""
        collect.add(path, f"unknown transform '{name}'{extra}")
        return None
    if not isinstance(params, dict):
        collect.add(here, f"parameters of {name} must be a mapping, e.g. `{name}: {{p: 0.5}}`")
        return None
    children: list[TransformSpec] | None = None
    params = dict(params)
    ok = True
    if registry.is_composition(cls):
        key = "transforms"
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
            ok = False
        else:
            children = _check_steps(inner, (*here, key), collect)
            ok = ok and children is not None
    params = {k: _tuples(v) for k, v in params.items()}
    ok = _check_params(cls, name, params, here, collect, children) and ok
    return TransformSpec(name, params, path, children) if ok else None


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
    collect: _Problems,
    children: list[TransformSpec] | None = None,
) -> bool:
    before = len(collect.items)
    accepted = registry.init_parameters(cls)
    accepted.pop("transforms", None)
    for key in params:
        if key not in accepted:
            hint = registry.suggest(key, list(accepted))
            extra = f"; did you mean {', '.join(hint)}?" if hint else f"; {name} takes {', '.join(accepted)}"
            collect.add((*here, key), f"{name} has no parameter '{key}'{extra}")
    for key, value in params.items():
        if key == "p" and isinstance(value, (int, float)) and not 0 <= value <= 1:
            collect.add((*here, key), f"p is a probability and must be within [0, 1], got {value}")
        elif (
            (key.endswith("_range") or key.endswith("_limit"))
            and isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and value[0] > value[1]
        ):
            collect.add((*here, key), f"reversed range {list(value)}: the low end comes first")
    if len(collect.items) > before:
        return False
    schema = getattr(cls, "InitSchema", None)
    if schema is not None and registry.validates_strictly(cls):
        defaults = {k: v.default for k, v in accepted.items() if v.default is not inspect.Parameter.empty}
        try:
            schema(**{**defaults, **params, "strict": True})
        except ValidationError as exc:
            for where, message in _schema_messages(exc.errors(), name, params):
                collect.add(here if where is None else (*here, where), message)
            return False
        except (TypeError, ValueError) as exc:
            collect.add(here, _first_line(exc))
            return False
    composition = registry.is_composition(cls)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # A composition is built with its real steps: SomeOf(n=2) warns about an empty list.
            build_step(cls, params, children=_build_all(children or []) if composition else None)
        except Exception as exc:
            if not composition:
                collect.add(here, _first_line(exc))
                return False
    if composition and children is None:
        return True  # its steps are already reported; warnings about an empty list would mislead
    if not composition:
        failure = _probe_step(cls, params)
        if failure:
            collect.add(here, f"{name} fails on a test image: {failure}")
            return False
    for w in caught:
        collect.add(here, f"albumentations: {_first_line(w.message)}", severity="warning", rule="albumentations")
    return True


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


def _schema_messages(errors: list[Any], name: str, params: dict[str, Any]) -> list[tuple[str | None, str]]:
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
            out.append((key, f"{key} must be {_either(kinds)} (got {_show(params[key])})"))
            continue
        messages = list(dict.fromkeys(_clean(e["msg"]) for e in errs if e not in mismatched))
        text = "; ".join(messages)
        if given and not any(isinstance(e.get("input"), dict) for e in errs):
            text = f"{text} (got {_show(params[key])})"
        out.append((key if given else None, text))
    return out


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


def _probe_side(params: dict[str, Any]) -> int | None:
    """Side of a square probe big enough for the sizes a step names (a 512 crop needs a 512 image), or None."""
    sizes = [0]

    def ints(value: Any) -> None:
        if isinstance(value, (tuple, list)):
            for v in value:
                ints(v)
        elif isinstance(value, int) and not isinstance(value, bool):
            sizes.append(value)

    for key, value in params.items():
        if any(word in key for word in ("height", "width", "size")) or key in ("x_min", "x_max", "y_min", "y_max"):
            ints(value)
    if max(sizes) > PROBE_MAX_SIDE:
        return None  # too big to try cheaply: building it was the check
    return min(PROBE_MAX_SIDE, max(PROBE_SIDE, 2 * max(sizes)))


def _probe_step(cls: type, params: dict[str, Any]) -> str | None:
    """Apply one step, alone and for sure (p=1), to a test image; what it raised, if anything.

    Albumentations validates types and ranges, not every combination it cannot run
    (GaussianBlur(blur_limit=-3) builds, then fails on every image).
    """
    accepted = registry.init_parameters(cls)
    defaults = {k: v.default for k, v in accepted.items() if v.default is not inspect.Parameter.empty}
    side = _probe_side({**defaults, **params})
    if side is None:
        return None
    forced = {**params, "p": 1.0} if "p" in accepted else params
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            step = build_step(cls, forced, None)
            # A few draws on a small image, since one can happen to sample the one value that works;
            # a slow step (Superpixels) gets one.
            for seed in range(PROBE_DRAWS if side <= 2 * PROBE_SIDE else 1):
                if seed and time.perf_counter() - started > PROBE_BUDGET_S:
                    break
                step.set_random_seed(seed)
                step(image=probe_image(side, side))
        except Exception as exc:
            if _needs_other_targets(exc):
                return None  # it wants masks/boxes/metadata: whether it gets them is the dataset's business
            return describe_exception(exc)
    return None


def _needs_other_targets(exc: Exception) -> bool:
    text = str(exc)
    return isinstance(exc, KeyError) or bool(re.search(r"requires \[.*\] missing keys|can ?not find mask", text, re.I))


@functools.lru_cache(maxsize=8)
def _probe_pixels(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    disc = ((yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (min(height, width) * 0.45) ** 2).astype(np.float32)
    noise = np.random.default_rng(0).integers(0, 40, (height, width), dtype=np.uint8).astype(np.float32)
    r = 40 + 150 * disc * xx / width + noise
    g = 30 + 120 * disc * yy / height + noise
    b = 20 + 60 * disc + noise
    pixels = np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8)
    pixels.flags.writeable = False
    return pixels


def probe_image(height: int = 480, width: int = 640) -> np.ndarray:
    """A deterministic RGB test image (gradients, a bright disc, noise) that crops and colour ops all change."""
    return _probe_pixels(height, width).copy()


def describe_exception(exc: Exception) -> str:
    """An exception's first line, without OpenCV's build paths."""
    text = _first_line(exc)
    cv = re.match(r"OpenCV\([^)]*\) \S+: error: \(-?\d+:([^)]*)\) (.*?)(?: in function '([^']*)')?$", text)
    if cv:
        where = f" in {cv.group(3)}" if cv.group(3) else ""
        return f"OpenCV{where}: {cv.group(1).lower()}: {cv.group(2)}"
    if isinstance(exc, (IndexError, AttributeError, ZeroDivisionError)):
        return f"{type(exc).__name__}: {text}"  # their text alone (an index, a name) says little
    return text


def _build_all(specs: list[TransformSpec]) -> list[Any]:
    built = []
    for spec in specs:
        inner = _build_all(spec.children) if spec.children is not None else None
        built.append(build_step(registry.catalogue()[spec.name], spec.params, inner))
    return built


def build_step(cls: type, params: dict[str, Any], children: list[Any] | None) -> Any:
    """Instantiate one step strictly (a misspelled parameter is an error, not a warning)."""
    if children is not None and registry.is_composition(cls):
        return cls(transforms=children, **params)
    if registry.validates_strictly(cls):
        return cls(**params, strict=True)
    return cls(**params)


def _show(value: Any) -> str:
    return json.dumps(value, default=list) if not isinstance(value, str) else repr(value)


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def init_recipe_text(preset: str, target: Path) -> str:
    """A preset's text (comments kept) with `input:` re-pointed from the new file's folder."""
    source = preset_path(preset)
    text = source.read_text(encoding="utf-8")
    where = target.resolve().parent

    def repoint(match: re.Match[str]) -> str:
        value = match.group(2).strip().strip("'\"")
        absolute = (source.resolve().parent / value).resolve()
        return f"{match.group(1)}{Path(os.path.relpath(absolute, where)).as_posix()}"

    text = re.sub(r"^(input:[ \t]*)(\S+)", repoint, text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^([ \t]+path:[ \t]*)(\S+)", rf"\g<1>out/{preset}", text, count=1, flags=re.MULTILINE)
    return text


def format_value(value: Any) -> str:
    """A parameter value as a recipe would write it: floats to 4 significant digits, tuples as lists."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
