"""Can `run` write what a recipe produces? Normalised or rescaled float tensors are not images.

Such steps belong to the online pipeline (`augcli.load_pipeline`, `augcli export`), which feeds a
model instead of a folder. Pure and import-light: it reads the model only.
"""

from __future__ import annotations

from typing import Any

from augcli.recipe.model import Recipe, TransformSpec
from augcli.yamlloc import YamlPath

# Steps whose output is not an image, and why; FromFloat undoes the ones marked True.
NOT_AN_IMAGE: dict[str, tuple[str, bool]] = {
    "Normalize": ("outputs zero-centred floats (a model input, not an image)", False),
    "Rescale": ("outputs float32 pixel values for a model, not an image", True),
    "ToFloat": ("outputs float32 values for a model, not an image", True),
}
_ONLINE_HINT = (
    "`run` writes images, so keep it for the online pipeline (augcli.load_pipeline or `augcli export`; "
    "featurewise mean/std: `augcli stats`, then load_pipeline(..., stats=...))"
)


def check_writable(recipe: Recipe) -> list[tuple[YamlPath, str]]:
    """(path, message) for each step that leaves `run` something it cannot store as an image.

    Val/test outputs are preprocess only, train outputs preprocess + augment, so both ends are checked.
    """
    problems: dict[YamlPath, str] = {}
    pending: list[Any] = []  # steps whose float output nothing has turned back into an image yet
    for section in ("preprocess", "augment"):
        for spec in getattr(recipe, section):
            _visit(spec, pending, problems)
        for spec in pending:
            problems.setdefault(spec.path, _message(spec.name))
    return list(problems.items())


def _visit(spec: TransformSpec, pending: list[Any], problems: dict[YamlPath, str]) -> None:
    if spec.children is not None:
        # Inside OneOf/SomeOf/Sequential: whether it runs, and what follows it, varies per image.
        for sub in spec.walk()[1:]:
            if sub.name in NOT_AN_IMAGE:
                problems.setdefault(sub.path, _message(sub.name))
        return
    if spec.name == "FromFloat":
        pending[:] = [p for p in pending if not NOT_AN_IMAGE[p.name][1]]
    elif spec.name in NOT_AN_IMAGE:
        pending.append(spec)


def _message(name: str) -> str:
    why, undone = NOT_AN_IMAGE[name]
    fix = " (or end the pipeline with FromFloat)" if undone else ""
    return f"{name} {why}; {_ONLINE_HINT}{fix}"
