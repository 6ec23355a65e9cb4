"""YAML recipe -> validated `Recipe`, with every problem located at file:line:col.

Validation never stops at the first mistake: it collects all of them (YAML syntax, unknown keys,
unknown transforms, invalid parameters, reversed ranges, extends cycles, missing input, steps `run`
cannot write, lint findings, labels the steps cannot carry) so a user fixes a recipe in one pass.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from augcli import registry
from augcli.datasets.support import label_check
from augcli.errors import AugcliError, RecipeError, display_path
from augcli.recipe.layers import Layer, merge, read_layers
from augcli.recipe.lint import RULES, lint_recipe
from augcli.recipe.messages import field_message
from augcli.recipe.model import SECTION_MODELS, TOP_LEVEL_KEYS, Recipe, RecipeModel, TransformSpec
from augcli.recipe.problems import Problem, Problems, sorted_problems
from augcli.recipe.steps import check_steps
from augcli.recipe.writable import check_writable
from augcli.store import as_location, is_url, open_store, path_problem


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


def check_recipe(
    path: str | os.PathLike[str], *, lint: bool = True, for_disk: bool = True, check_input: bool = True
) -> Report:
    """Validate a recipe completely; never raises for problems in it (they are in the report).

    `for_disk`: the outputs must be images `run` can write (no Normalize at the end); online use
    (`load_pipeline`, `export`) turns it off. `check_input=False`: the caller will not read the
    recipe's `input:` (it was overridden, or the command reads no dataset), so a missing one is fine.
    """
    source = Path(path)
    problems: list[Problem] = []
    layers = read_layers(source, problems, [])
    if layers is None:
        return Report(None, problems)
    data, locations = merge(layers)
    collect = Problems(locations, display_path(source.resolve()))
    recipe = _resolve(source, layers, data, collect, check_input)
    problems.extend(collect.take())
    if recipe is None or any(p.severity == "error" for p in problems):
        return Report(None, sorted_problems(problems))
    if for_disk:
        for step_path, message in check_writable(recipe):
            collect.add(step_path, message)
        if collect.items:
            problems.extend(collect.take())
            return Report(None, sorted_problems(problems))
    if not lint:
        return Report(recipe, sorted_problems(problems))
    with warnings.catch_warnings():  # lint rebuilds the steps: their warnings are already findings
        warnings.simplefilter("ignore")
        findings = lint_recipe(recipe)
    for rule, step_path, message in findings:
        if rule not in recipe.silence:
            collect.add(step_path, message, severity="warning", rule=rule)
    _check_silences(recipe, collect)
    problems.extend(collect.take())
    labels = _check_labels(recipe, collect)
    problems.extend(collect.take())
    return Report(recipe, sorted_problems(problems), labels)


def load_recipe(path: str | os.PathLike[str], *, strict: bool = False) -> Recipe:
    """The recipe, or RecipeError carrying every problem (warnings too when strict)."""
    report = check_recipe(path)
    bad = report.problems if strict else report.errors
    if report.recipe is None or bad:
        raise RecipeError(path, bad or report.problems)
    return report.recipe


def _resolve(
    source: Path, layers: list[Layer], data: dict[str, Any], collect: Problems, check_input: bool
) -> Recipe | None:
    """The merged data as a Recipe, or None with its problems collected (keys, steps, input)."""
    model = _validate_top_level(data, collect)
    preprocess = check_steps(data.get("preprocess"), ("preprocess",), collect)
    augment = check_steps(data.get("augment"), ("augment",), collect)
    _check_lengths(data, collect)
    if check_input and isinstance(data.get("input"), str) and path_problem(data["input"]) is None:
        _check_input(data["input"], collect)
    if model is None or preprocess is None or augment is None:
        return None
    return Recipe(
        name=model.name,
        domain=model.domain,
        description=model.description,
        seed=model.seed,
        copies=model.copies,
        class_copies=dict(model.class_copies),
        balance=model.balance,
        keep_original=model.keep_original,
        input=as_location(model.input) if model.input else None,
        output=as_location(model.output.path) if model.output.path else None,
        output_format=model.output.format,
        quality=model.output.quality,
        preprocess=preprocess,
        augment=augment,
        silence={s.rule: s.reason for s in model.silence},
        source=source.resolve(),
        chain=[layer.file for layer in layers],
        data=_canonical(data, preprocess, augment),
        text=layers[-1].file.read_text(encoding="utf-8"),
        locations=collect.locations,
        labels=model.labels.model_dump(),
        mix=model.mix.model_dump(),
        decode=model.decode,
    )


def _check_lengths(data: dict[str, Any], collect: Problems) -> None:
    """`input:` and `output.path` that no system would accept (a component over 255 bytes)."""
    output = data.get("output")
    output_path = output.get("path") if isinstance(output, dict) else None
    paths = {("input",): data.get("input"), ("output", "path"): output_path}
    for where, path in paths.items():
        problem = path_problem(path) if isinstance(path, str) and not is_url(path) else None
        if problem is not None:
            collect.add(where, problem)


def _check_input(location: str, collect: Problems) -> None:
    """The input must exist: on disk, or asked of its store (a store that cannot answer is a warning:
    `--storage-option`s given to run are not known here)."""
    if not is_url(location):
        if not Path(location).exists():
            collect.add(("input",), f"input folder does not exist: {display_path(Path(location))}")
        return
    try:
        found = open_store(location).exists()
    except AugcliError as exc:
        collect.add(("input",), f"input not checked: {exc.message}", severity="warning")
        return
    if not found:
        collect.add(("input",), f"input folder does not exist: {location}")


def _validate_top_level(data: dict[str, Any], collect: Problems) -> RecipeModel | None:
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
                collect.add(loc, field_message(err, loc))
        return None


def _fields_of(loc: tuple[Any, ...]) -> list[str]:
    model = SECTION_MODELS.get(str(loc[0]))
    return list(model.model_fields) if model else []


def _canonical(data: dict[str, Any], pre: list[TransformSpec], aug: list[TransformSpec]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in {"preprocess", "augment"}}
    out["preprocess"] = [s.to_data() for s in pre]
    out["augment"] = [s.to_data() for s in aug]
    return json.loads(json.dumps(out, default=list))


def _check_silences(recipe: Recipe, collect: Problems) -> None:
    for i, rule in enumerate(recipe.silence):
        if rule not in RULES:
            hint = registry.suggest(rule, list(RULES))
            extra = f"; did you mean {', '.join(hint)}?" if hint else f"; rules: {', '.join(sorted(RULES))}"
            collect.add(("silence", i, "rule"), f"unknown lint rule '{rule}'{extra}")


def _check_labels(recipe: Recipe, collect: Problems) -> str | None:
    """Steps that cannot carry the labels the recipe's input has (errors); what labels were found."""
    if not isinstance(recipe.input, Path) or not recipe.input.is_dir():  # a URL's labels are read by run
        return None
    try:
        summary, steps = label_check(recipe.input, recipe.label_options.format, recipe.preprocess + recipe.augment)
    except AugcliError as exc:
        collect.add(("input",), f"cannot read the input's labels: {exc.message}")
        return None
    for step_path, message in steps:
        collect.add(step_path, message)
    return str(summary) if summary is not None else None
