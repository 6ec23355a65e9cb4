"""YAML recipe -> validated `Recipe`, with every problem located at file:line:col.

Validation never stops at the first mistake: it collects all of them (YAML syntax, unknown keys,
unknown transforms, invalid parameters, reversed ranges, extends cycles, missing input) so a user
fixes a recipe in one pass.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from augcli import registry
from augcli.errors import RecipeError, UsageError
from augcli.yamlloc import Location, YamlPath, format_path, load_yaml

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


class SilenceModel(_Strict):
    rule: str
    reason: str = Field(min_length=1)


class RecipeModel(_Strict):
    augcli: Literal[1] = FORMAT_VERSION
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
    preprocess: list[Any] = Field(default_factory=list)
    augment: list[Any] = Field(default_factory=list)
    silence: list[SilenceModel] = Field(default_factory=list)


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


def _read_layers(path: Path, problems: list[Problem], seen: list[Path]) -> list[_Layer] | None:
    """Parse a recipe and, recursively, what it extends; base first."""
    path = path.resolve()
    shown = _display(path)
    if path in seen:
        cycle = " -> ".join(_display(p) for p in [*seen, path])
        problems.append(Problem("error", f"extends cycle: {cycle}", ("extends",), None, shown))
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(Problem("error", f"cannot read recipe: {exc.strerror or exc}", (), None, shown))
        return None
    except UnicodeDecodeError:
        problems.append(Problem("error", "recipe is not UTF-8 text", (), None, shown))
        return None
    try:
        loaded = load_yaml(text, shown)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = Location(shown, mark.line + 1, mark.column + 1) if mark else None
        what = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        msg = f"YAML syntax error: {what}" + (f" ({context})" if context else "")
        problems.append(Problem("error", msg, (), loc, shown))
        return None
    collect = _Problems(loaded.locations, shown)
    for dup_path, dup_loc in loaded.duplicates:
        problems.append(Problem("error", "duplicate key (the later value would silently win)", dup_path, dup_loc))
    if loaded.data is None:
        problems.append(Problem("error", "recipe is empty", (), None, shown))
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
    base = _read_layers(parent_path, problems, [*seen, path])
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


def check_recipe(path: str | os.PathLike[str], *, lint: bool = True) -> Report:
    """Validate a recipe completely; never raises for problems in it (they are in the report)."""
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
    )
    if lint:
        from augcli.lint import lint_recipe

        for rule, step_path, message in lint_recipe(recipe):
            if rule in recipe.silence:
                continue
            collect.items = []
            collect.add(step_path, message, severity="warning", rule=rule)
            problems.extend(collect.items)
        _check_silences(recipe, collect, problems)
    return Report(recipe, _sorted(problems))


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
    models: dict[str, type[BaseModel]] = {"output": OutputModel, "silence": SilenceModel}
    model = models.get(str(loc[0]))
    return list(model.model_fields) if model else []


def _pydantic_message(err: Any, data: Any, loc: tuple[Any, ...]) -> str:
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if loc == ("copies",) and err["type"] == "greater_than_equal":
        return f"copies must be a positive whole number, got {err.get('input')}"
    given = err.get("input")
    if given is not None and not isinstance(given, (dict, list)):
        msg += f" (got {given!r})"
    return msg


# --------------------------------------------------------------------------- transform steps


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
    if registry.is_composition(cls):
        inner = params.pop("transforms", None)
        if not isinstance(inner, list) or not inner:
            collect.add(here, f"{name} needs `transforms:`, a non-empty list of steps")
            return None
        children = _check_steps(inner, (*here, "transforms"), collect)
        if children is None:
            return None
    params = {k: _tuples(v) for k, v in params.items()}
    ok = _check_params(cls, name, params, here, collect)
    return TransformSpec(name, params, path, children) if ok else None


def _tuples(value: Any) -> Any:
    """YAML lists become tuples, which is what Albumentations' schemas expect for ranges."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _check_params(cls: type, name: str, params: dict[str, Any], here: YamlPath, collect: _Problems) -> bool:
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
            for err in exc.errors():
                loc = tuple(err["loc"])
                key = loc[0] if loc else None
                if err["type"] == "missing":
                    collect.add(here, f"{name} needs parameter '{key}'")
                    continue
                msg = str(err["msg"]).removeprefix("Value error, ")
                target = (*here, key) if isinstance(key, str) and key in params else here
                given = err.get("input")
                if isinstance(key, str) and key in params and not isinstance(given, dict):
                    msg = f"{msg} (got {_show(params[key])})"
                collect.add(target, msg)
            return False
        except (TypeError, ValueError) as exc:
            collect.add(here, _first_line(exc))
            return False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            build_step(cls, params, children=None if not registry.is_composition(cls) else [])
        except Exception as exc:
            if not registry.is_composition(cls):
                collect.add(here, _first_line(exc))
                return False
    for w in caught:
        collect.add(here, f"albumentations: {_first_line(w.message)}", severity="warning", rule="albumentations")
    return True


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
    import re

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
