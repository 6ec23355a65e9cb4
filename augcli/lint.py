"""Domain lint: augmentations that are valid Albumentations but lie to a model of that domain.

Each rule has a name (to silence it in a recipe, with a reason) and a why (shown in the README).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from augcli.recipe import Recipe, TransformSpec
from augcli.yamlloc import YamlPath

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
    "albumentations": "Albumentations itself warned while building a step (usually a deprecated parameter).",
}

_FLIPS = {"HorizontalFlip", "VerticalFlip", "Transpose", "RandomRotate90", "D4", "SquareSymmetry"}
_MEDICAL = {"fundus", "xray", "medical"}
_OCR = {"ocr", "document"}
_ALWAYS_COLOUR = {"ChannelShuffle", "ChannelDropout", "ToSepia", "InvertImg", "PlanckianJitter"}

Finding = tuple[str, YamlPath, str]


def lint_recipe(recipe: Recipe) -> list[Finding]:
    findings: list[Finding] = []
    for spec, instance in _walk(recipe.preprocess + recipe.augment):
        findings.extend(_static(recipe.domain, spec, instance))
    findings.extend(_empirical(recipe))
    return findings


def _walk(specs: list[TransformSpec]) -> Iterator[tuple[TransformSpec, Any]]:
    from augcli.pipeline import build_steps

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


def _probe_image(height: int = 480, width: int = 640) -> np.ndarray:
    """A structured test image (gradients + disc + noise) so crops and colour ops all change it."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    disc = ((yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (min(height, width) * 0.45) ** 2).astype(np.float32)
    noise = np.random.default_rng(0).integers(0, 40, (height, width), dtype=np.uint8).astype(np.float32)
    r = 40 + 150 * disc * xx / width + noise
    g = 30 + 120 * disc * yy / height + noise
    b = 20 + 60 * disc + noise
    return np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8)


def _empirical(recipe: Recipe) -> Iterator[Finding]:
    """Run the pipeline on a probe image: does augment vary, and does it keep the size?"""
    from augcli.pipeline import build_compose, run_compose

    if not recipe.augment:
        yield (
            "no-randomness",
            ("augment",),
            "augment is empty: every copy would equal the preprocessed original",
        )
        return
    try:
        base = run_compose(build_compose(recipe.preprocess), image=_probe_image())["image"]
        augment = build_compose(recipe.augment)
        first = run_compose(augment, seed=0, image=base)["image"]
    except Exception:
        return
    sizes = {first.shape[:2]}
    varied = False
    for seed in range(1, 32):
        try:
            out = run_compose(augment, seed=seed, image=base)["image"]
        except Exception:
            return
        sizes.add(out.shape[:2])
        varied = varied or out.shape != first.shape or not np.array_equal(out, first)
        if varied and seed >= 8:
            break
    if not varied:
        yield "no-randomness", ("augment",), "nothing in augment is random: every copy would be identical"
    if sizes != {base.shape[:2]}:
        got = ", ".join(f"{h}x{w}" for h, w in sorted(sizes))
        yield (
            "size-change",
            ("augment",),
            f"augment turns {base.shape[0]}x{base.shape[1]} images into {got}; end augment with a Resize",
        )


def rule_names() -> list[str]:
    return sorted(RULES)
