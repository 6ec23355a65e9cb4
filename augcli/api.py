"""The online side of a recipe: Compose objects for a PyTorch/Keras data loader, and test-time augmentation.

`run` writes augmented copies to disk; these functions hand the same pipeline to code that augments
on the fly. train = preprocess + augment, eval = preprocess only, exactly the split rule `run` uses.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Literal

import albumentations as A
import numpy as np

import augcli  # noqa: F401  (sets NO_ALBUMENTATIONS_UPDATE before albumentations is imported)
from augcli.errors import RecipeError, UsageError
from augcli.pipeline import build_steps
from augcli.recipe import Recipe, check_recipe, resolve_recipe_arg

Split = Literal["train", "eval"]
SPLITS: tuple[str, ...] = ("train", "eval")


def read_recipe(recipe_path: str | os.PathLike[str]) -> Recipe:
    """A valid Recipe (file path or preset name), or RecipeError with every located problem.

    Validated for online use: model-input steps (Normalize, ToFloat) are what a training loop wants.
    """
    path = resolve_recipe_arg(recipe_path)
    report = check_recipe(path, lint=False, for_disk=False, check_input=False)
    if report.recipe is None:
        raise RecipeError(path, report.errors)
    return report.recipe


def pipeline_steps(recipe: Recipe, split: str, stats: str | os.PathLike[str] | None = None) -> list[Any]:
    """The transforms of one split, built strictly, with a final Normalize when stats are given."""
    if split not in SPLITS:
        raise UsageError(f"unknown split '{split}'; splits: {', '.join(SPLITS)}")
    steps = build_steps(recipe.preprocess) + (build_steps(recipe.augment) if split == "train" else [])
    if stats is not None:
        steps.append(normalize_step(stats))
    return steps


def normalize_step(stats: str | os.PathLike[str]) -> Any:
    """Featurewise normalisation from an `augcli stats --out` file, for uint8 images (mean/std in [0, 1])."""
    from augcli.stats import read_stats

    mean, std = read_stats(stats)  # type: ignore[arg-type]
    return A.Normalize(mean=tuple(mean), std=tuple(std), max_pixel_value=255.0, p=1.0, strict=True)


def load_pipeline(
    recipe_path: str | os.PathLike[str],
    split: Split = "train",
    *,
    stats: str | os.PathLike[str] | None = None,
    **compose_kwargs: Any,
) -> Any:
    """The albumentations Compose to call inside a data loader: `pipeline(image=img)["image"]`.

    split="train" is preprocess + augment; split="eval" is exactly the preprocess (what `run` writes
    for val/test images). `stats` is a file from `augcli stats --out`: a Normalize with its mean/std
    is appended as the very last step of either split, so augment still sees uint8 images.
    Extra keyword arguments go to `A.Compose` (e.g. bbox_params, additional_targets, seed).
    """
    recipe = read_recipe(recipe_path)
    note = mix_left_out(recipe, split)
    if note is not None:
        warnings.warn(note, UserWarning, stacklevel=2)
    return A.Compose(pipeline_steps(recipe, split, stats), strict=True, **compose_kwargs)


def mix_left_out(recipe: Recipe, split: str = "train") -> str | None:
    """What a per-image pipeline leaves out of the recipe's `mix:` (MixUp/CutMix need two images), if anything."""
    spec = recipe.mix_model
    if split != "train" or not spec.enabled:
        return None
    parts = [f"MixUp (p {spec.p_mixup:g}, alpha {spec.mixup_alpha:g})"] if spec.p_mixup else []
    parts += [f"CutMix (p {spec.p_cutmix:g}, alpha {spec.cutmix_alpha:g})"] if spec.p_cutmix else []
    return (
        f"recipe '{recipe.name}' mixes images ({' and '.join(parts)}), which a per-image pipeline cannot do: "
        "it is left out; mix batches in your data loader instead (torchvision.transforms.v2.MixUp/CutMix "
        "with these alphas, or augcli.mixing.mixup/cutmix on pairs of images)"
    )


# --------------------------------------------------------------------------- test-time augmentation

# Dihedral elements as 2x2 integer matrices acting on (row, col) offsets from the centre, with the
# albumentations D4 code that applies each. Order is the order tta_variants returns them in.
_ELEMENTS: dict[str, tuple[tuple[tuple[int, int], tuple[int, int]], str]] = {
    "identity": (((1, 0), (0, 1)), "e"),
    "hflip": (((1, 0), (0, -1)), "h"),
    "vflip": (((-1, 0), (0, 1)), "v"),
    "rot90": (((0, -1), (1, 0)), "r90"),
    "rot180": (((-1, 0), (0, -1)), "r180"),
    "rot270": (((0, 1), (-1, 0)), "r270"),
    "transpose": (((0, 1), (1, 0)), "t"),
    "transverse": (((0, -1), (-1, 0)), "hvt"),
}
_GENERATORS: dict[str, tuple[str, ...]] = {
    "HorizontalFlip": ("hflip",),
    "VerticalFlip": ("vflip",),
    "RandomRotate90": ("rot90",),
    "Transpose": ("transpose",),
    "D4": ("hflip", "rot90"),
    "SquareSymmetry": ("hflip", "rot90"),
}


def _matrix(name: str) -> np.ndarray:
    return np.array(_ELEMENTS[name][0])


def _name_of(matrix: np.ndarray) -> str:
    return next(name for name in _ELEMENTS if np.array_equal(_matrix(name), matrix))


def allowed_symmetries(recipe: Recipe) -> list[str]:
    """The flips/turns the augment can produce, closed under composition (hflip + vflip gives rot180)."""
    found = {"identity"}
    for spec in recipe.augment:
        for sub in spec.walk():
            found.update(_GENERATORS.get(sub.name, ()))
    while True:
        products = {_name_of(_matrix(a) @ _matrix(b)) for a in found for b in found}
        if products <= found:
            break
        found |= products
    return [name for name in _ELEMENTS if name in found]


def tta_variants(
    recipe_path: str | os.PathLike[str], *, stats: str | os.PathLike[str] | None = None
) -> list[tuple[str, Any]]:
    """(name, Compose) per deterministic variant the recipe's augment allows: eval preprocess, then the op.

    Average a model's predictions over them; map segmentation outputs back with `invert_tta(name, pred)`.
    Names: identity, hflip, vflip, rot90, rot180, rot270 (counter-clockwise), transpose, transverse.
    """
    recipe = read_recipe(recipe_path)
    out = []
    for name in allowed_symmetries(recipe):
        steps = [*pipeline_steps(recipe, "eval"), FixedSymmetry(name)]
        if stats is not None:
            steps.append(normalize_step(stats))
        out.append((name, A.Compose(steps, strict=True)))
    return out


def invert_tta(name: str, prediction: np.ndarray) -> np.ndarray:
    """Undo variant `name` on a dense prediction (H x W or H x W x C: masks, logits, heatmaps)."""
    from albumentations.augmentations.geometric import functional as fgeometric

    if name not in _ELEMENTS:
        raise UsageError(f"unknown TTA variant '{name}'; variants: {', '.join(_ELEMENTS)}")
    inverse = _name_of(np.linalg.inv(_matrix(name)).round().astype(int))
    return np.ascontiguousarray(fgeometric.d4(prediction, _ELEMENTS[inverse][1]))  # type: ignore[arg-type]


class FixedSymmetry(A.D4):
    """One fixed element of D4 (D4 draws one at random), named as in `tta_variants`; for TTA only."""

    def __init__(self, name: str = "identity", p: float = 1.0):
        super().__init__(p=p)
        if name not in _ELEMENTS:
            raise UsageError(f"unknown TTA variant '{name}'; variants: {', '.join(_ELEMENTS)}")
        self.name = name

    def get_params(self) -> dict[str, Any]:
        return {"group_element": _ELEMENTS[self.name][1]}

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("name",)
