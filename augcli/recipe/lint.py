"""Domain lint: augmentations that are valid Albumentations but lie to a model of that domain.

Each rule has a name (to silence it in a recipe, with a reason) and a why (shown in the README).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from augcli.pipeline import build_steps
from augcli.recipe.crops import crop_findings
from augcli.recipe.model import Recipe, TransformSpec
from augcli.recipe.probe import pipeline_findings
from augcli.recipe.problems import Finding

OCR_ROTATION_LIMIT = 5.0  # degrees; scanned pages are deskewed to within a few degrees
MEDICAL_RGB_SHIFT_LIMIT = 10.0  # levels of 255

RULES: dict[str, str] = {
    "ocr-flip": "In `ocr`/`document` recipes, flips, transposes and 90-degree turns make mirrored or sideways "
    "text, which is different text (b/d, p/q) that no page contains.",
    "ocr-rotation": f"In `ocr`/`document` recipes, rotations beyond {OCR_ROTATION_LIMIT:g} degrees: scanned "
    "pages are deskewed to within a few degrees, and steeper lines break line-based recognisers.",
    "medical-color": "In `fundus`, `xray` and `medical` recipes, hue shifts, channel swaps, sepia, inversion and "
    f"RGB shifts over {MEDICAL_RGB_SHIFT_LIMIT:g} levels: colour carries the diagnosis (haemorrhage red, "
    "exudate yellow, X-ray density), so these make images no patient has.",
    "satellite-rotation": "In `satellite` recipes, rotations by arbitrary angles with a constant fill leave "
    "black wedges no real tile has; overhead imagery has no 'up', so use RandomRotate90/SquareSymmetry "
    "(or a reflect border).",
    "satellite-non-square": "In `satellite` recipes, 90-degree turns and transposes of non-square tiles swap "
    "height and width, so outputs no longer share one size.",
    "no-randomness": "`augment` contains nothing random: every copy of an image would be identical.",
    "size-change": "`augment` changes the image size set by `preprocess`, and nothing resizes it back: "
    "outputs of one dataset would have different sizes.",
    "crop-discards": "With a known input (`input:` in the recipe), a crop that keeps under a quarter of the "
    "input's images (the satellite preset's 256x256 `CenterCrop` on 1920x1080 tiles keeps 3%) throws most of "
    "each image, and the labels in it, away: resize first or cut the images into tiles.",
    "albumentations": "Albumentations itself warned while building a step (usually a deprecated parameter).",
    "pipeline-fails": "Every step works alone, but together they raised an error on augcli's 640x480 test image "
    "(say, a crop larger than what `preprocess` leaves), so `run` would fail on images like it.",
    "pipeline-slow": "The whole pipeline took over 3 s on augcli's 640x480 test image, so the other checks of "
    "the run-through were not made; `run` would take as long on every image of that size.",
}

_FLIPS = {"HorizontalFlip", "VerticalFlip", "Transpose", "RandomRotate90", "D4", "SquareSymmetry"}
_MEDICAL = {"fundus", "xray", "medical"}
_OCR = {"ocr", "document"}
_ALWAYS_COLOUR = {"ChannelShuffle", "ChannelDropout", "ToSepia", "InvertImg", "PlanckianJitter"}


def lint_recipe(recipe: Recipe) -> list[Finding]:
    """Every rule's findings: the domain rules on each step's parameters, then the probe-image run."""
    findings: list[Finding] = []
    for spec, instance in _walk(recipe.preprocess + recipe.augment):
        findings.extend(_static(recipe.domain, spec, instance))
    findings.extend(pipeline_findings(recipe))
    findings.extend(crop_findings(recipe))
    return findings


def _walk(specs: list[TransformSpec]) -> Iterator[tuple[TransformSpec, Any]]:
    for spec in specs:
        for sub in spec.walk():
            if sub.children is None:
                yield sub, build_steps([sub])[0]


def _max_abs(value: Any) -> float:
    if isinstance(value, dict):
        return max((_max_abs(v) for v in value.values()), default=0.0)
    if isinstance(value, (tuple, list)):
        return max((_max_abs(v) for v in value), default=0.0)
    return abs(float(value)) if isinstance(value, (int, float)) else 0.0


def _rotation(instance: Any) -> float:
    for attr in ("rotate", "limit", "rotation_range"):
        value = getattr(instance, attr, None)
        if value is not None:
            return _max_abs(value)
    return 0.0


def _static(domain: str, spec: TransformSpec, inst: Any) -> Iterator[Finding]:
    name = spec.name
    if domain in _OCR:
        if name in _FLIPS:
            yield "ocr-flip", spec.path, f"{name} mirrors or turns text; mirrored text is different text"
        angle = _rotation(inst)
        if name not in _FLIPS and angle > OCR_ROTATION_LIMIT:
            yield (
                "ocr-rotation",
                spec.path,
                f"{name} rotates up to {angle:g} degrees; documents stay within ±{OCR_ROTATION_LIMIT:g}",
            )
    if domain in _MEDICAL:
        reason = _colour_change(name, inst)
        if reason:
            yield (
                "medical-color",
                spec.path,
                f"{name} {reason}; in {domain} images colour carries the diagnosis",
            )
    if domain == "satellite":
        angle = _rotation(inst)
        border = getattr(inst, "border_mode", None)
        if name not in _FLIPS and angle > 0 and border == 0 and not getattr(inst, "fit_output", False):
            yield (
                "satellite-rotation",
                spec.path,
                f"{name} rotates by arbitrary angles up to {angle:g} with a constant fill (black corners); "
                "use RandomRotate90/SquareSymmetry or border_mode: 2 (reflect)",
            )


def _colour_change(name: str, inst: Any) -> str | None:
    if name in _ALWAYS_COLOUR:
        return "changes colours wholesale"
    if name == "HueSaturationValue" and _max_abs(inst.hue_shift_limit) > 0:
        return f"shifts hue by up to {_max_abs(inst.hue_shift_limit):g}"
    if name == "ColorJitter" and _max_abs(inst.hue) > 0:
        return f"shifts hue by up to {_max_abs(inst.hue):g} of the colour wheel (set hue: [0, 0])"
    if name == "RGBShift":
        limit = max(_max_abs(inst.r_shift_limit), _max_abs(inst.g_shift_limit), _max_abs(inst.b_shift_limit))
        if limit > MEDICAL_RGB_SHIFT_LIMIT:
            return f"shifts colour channels by up to {limit:g} levels"
    return None
