"""Tile captions: what fired, read from manifest-style records, through a registry by transform name.

Captions use plain words ("flip left-right", "saturation x1.31"), and a step that fired but changed
nothing (a quarter turn by 0, the identity of D4, a shift of +0) is left out. A transform without an
entry gets `generic_caption` (its name and first numbers), so a new transform never breaks a sheet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CaptionContext:
    """What a caption needs beyond the recorded parameters: the pipeline's pixel scale."""

    max_value: float = 255.0  # 255 for uint8 pipelines, 1.0 for float (16-bit sources travel as float)


CaptionFormatter = Callable[[Mapping[str, Any], CaptionContext], str]


@dataclass(frozen=True)
class Show:
    """An abbreviation and, optionally, which recorded parameter to show and how."""

    abbrev: str
    param: str | None = None
    fmt: str = "{}"
    unchanged: tuple[Any, ...] = ()  # values of `param` with which the step changes nothing

    def __call__(self, params: Mapping[str, Any], ctx: CaptionContext) -> str:
        if self.param is None:
            return self.abbrev
        if self.param not in params:
            return generic_caption(self.abbrev, params)
        value = params[self.param]
        if value in self.unchanged:
            return ""
        return f"{self.abbrev} {self.fmt.format(value)}"


def _box(abbrev: str, key: str) -> CaptionFormatter:
    """A crop shown by its size (x_min, y_min, x_max, y_max recorded)."""

    def fmt(params: Mapping[str, Any], ctx: CaptionContext) -> str:
        box = params.get(key)
        if not (isinstance(box, list) and len(box) == 4):
            return generic_caption(abbrev, params)
        return f"{abbrev} {box[2] - box[0]}x{box[3] - box[1]}"

    return fmt


def _brightness_contrast(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    # beta is recorded in pixel units (limit x max value, or x mean with brightness_by_max false);
    # divided by the pipeline's max value it is the additive shift as a fraction of full scale.
    parts = []
    beta, alpha = params.get("beta", 0.0), params.get("alpha", 1.0)
    if beta:
        parts.append(f"brightness {beta / ctx.max_value:+.2f}")
    if alpha != 1:
        parts.append(f"contrast x{alpha:.2f}")
    return " · ".join(parts)


def _affine(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    # Translation and shear live only in the matrix, which the manifest drops; they cannot be shown.
    parts = ["affine"]
    rotate = params.get("rotate")
    if isinstance(rotate, (int, float)) and rotate:
        parts.append(f"rotate {rotate:+.1f}°")
    scale = params.get("scale")
    if isinstance(scale, dict) and {"x", "y"} <= scale.keys():
        x, y = scale["x"], scale["y"]
        parts.append(f"scale x{x:.2f}" if round(x, 2) == round(y, 2) else f"scale x{x:.2f}/{y:.2f}")
    return " ".join(parts)


def _color_jitter(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    keys = ("brightness", "contrast", "saturation")
    parts = [f"{k} x{params[k]:.2f}" for k in keys if k in params and round(params[k], 2) != 1]
    if params.get("hue"):
        parts.append(f"hue {params['hue']:+.3f}")
    return " ".join(parts)


def _compression(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    kind = "WebP" if params.get("image_type") == ".webp" else "JPEG"
    return f"{kind} quality {params['quality']}" if "quality" in params else kind


def _kernel(abbrev: str) -> CaptionFormatter:
    """Blurs record their kernel (when small enough to keep); its size is what a reader can judge."""

    def fmt(params: Mapping[str, Any], ctx: CaptionContext) -> str:
        kernel = params.get("kernel")
        if isinstance(kernel, int) and not isinstance(kernel, bool):
            return f"{abbrev} {kernel}x{kernel}"
        if isinstance(kernel, list) and kernel:
            rows = len(kernel)
            cols = len(kernel[0]) if isinstance(kernel[0], list) else rows
            return f"{abbrev} {rows}x{cols}"
        return abbrev

    return fmt


def _hsv(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    keys = (("hue_shift", "hue"), ("sat_shift", "saturation"), ("val_shift", "value"))
    return " ".join(f"{word} {params[k]:+.1f}" for k, word in keys if params.get(k))


def _pad(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    sides = [params.get(f"pad_{s}", 0) for s in ("top", "bottom", "left", "right")]
    if not any(sides):
        return ""
    return "pad top {} bottom {} left {} right {}".format(*sides)


def _policy(name: str) -> CaptionFormatter:
    """RandAugment and its kin: the operations they chose, each with its signed magnitude."""

    def fmt(params: Mapping[str, Any], ctx: CaptionContext) -> str:
        ops = [f"{op} {mag:+.2f}" if isinstance(mag, (int, float)) and mag else str(op) for op, mag in params["ops"]]
        return f"{name}: {', '.join(ops)}" if ops else ""

    return fmt


def _noise(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    # noise_std is measured on the noise map, in the pipeline's pixel units; shown as a fraction of full scale.
    return (
        f"Gaussian noise std {params['noise_std'] / ctx.max_value:.3f}" if "noise_std" in params else "Gaussian noise"
    )


def _holes(word: str) -> CaptionFormatter:
    """Dropouts by their holes: how many, and the size of the one hole when there is one."""

    def fmt(params: Mapping[str, Any], ctx: CaptionContext) -> str:
        holes = params["holes"]
        if not holes:
            return ""
        if len(holes) == 1:
            x0, y0, x1, y1 = holes[0]
            return f"{word} 1 hole {x1 - x0}x{y1 - y0}"
        return f"{word} {len(holes)} holes"

    return fmt


# D4's group elements (Albumentations' codes) in words; "e", the identity, changes nothing.
_D4_WORDS = {
    "e": "",
    "r90": "turn 90°",
    "r180": "turn 180°",
    "r270": "turn 270°",
    "h": "flip left-right",
    "v": "flip up-down",
    "t": "transpose",
    "hvt": "anti-transpose",
}


def _d4(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    return _D4_WORDS[str(params["group_element"])]


def _quarter_turns(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    turns = int(params["factor"]) % 4
    return f"turn {90 * turns}°" if turns else ""


# Transform name -> caption formatter. A name not here gets `generic_caption`.
CAPTIONS: dict[str, CaptionFormatter] = {
    "HorizontalFlip": Show("flip left-right"),
    "VerticalFlip": Show("flip up-down"),
    "Transpose": Show("transpose"),
    "RandomRotate90": _quarter_turns,
    "SquareSymmetry": _d4,
    "D4": _d4,
    "RandomBrightnessContrast": _brightness_contrast,
    "SaturationScale": Show("saturation", "scale", "x{:.2f}", (1, 1.0)),
    "RandomCentralCrop": Show("central crop", "fraction", "{:.2f}", (1, 1.0)),
    "FundusCrop": _box("fundus crop", "crop_box"),
    "RandomResizedCrop": _box("resized crop", "crop_coords"),
    "RandomCrop": _box("crop", "crop_coords"),
    "CenterCrop": _box("center crop", "crop_coords"),
    "Crop": _box("crop", "crop_coords"),
    "Affine": _affine,
    "Rotate": Show("rotate", "angle", "{:+.1f}°", (0, 0.0)),
    "SafeRotate": Show("rotate", "angle", "{:+.1f}°", (0, 0.0)),
    "RandomScale": Show("scale", "scale", "x{:.2f}", (1, 1.0)),
    "ColorJitter": _color_jitter,
    "HueSaturationValue": _hsv,
    "RandomGamma": Show("gamma", "gamma", "{:.2f}", (1, 1.0)),
    "CLAHE": Show("CLAHE clip", "clip_limit", "{:.1f}"),
    "Downscale": Show("downscale", "scale", "x{:.2f}", (1, 1.0)),
    "ImageCompression": _compression,
    "GaussNoise": _noise,
    "RandAugment": _policy("RandAugment"),
    "TrivialAugmentWide": _policy("TrivialAugmentWide"),
    "AutoAugment": _policy("AutoAugment"),
    "CoarseDropout": _holes("dropout"),
    "Erasing": _holes("erasing"),
    "XYMasking": _holes("masking"),
    "ISONoise": Show("ISO noise"),
    "GaussianBlur": _kernel("Gaussian blur"),
    "MotionBlur": _kernel("motion blur"),
    "MedianBlur": _kernel("median blur"),
    "Blur": _kernel("blur"),
    "Morphological": _kernel("morphology"),
    "RandomFog": Show("fog", "intensity", "{:.2f}"),
    "Perspective": Show("perspective"),
    "ToGray": Show("gray"),
    "Resize": Show("resize"),
    "SmallestMaxSize": Show("resize", "scale", "x{:.3f}"),
    "LongestMaxSize": Show("resize", "scale", "x{:.3f}"),
    "PadIfNeeded": _pad,
}

_GENERIC_SKIP = {"fill", "fill_mask"}


def generic_caption(name: str, params: Mapping[str, Any]) -> str:
    """`Name` plus its first one or two numeric parameters: enough to tell two copies apart."""
    shown = []
    for key, value in params.items():
        if key in _GENERIC_SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        shown.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
        if len(shown) == 2:
            break
    return " ".join([name, *shown])


def caption_step(name: str, params: Mapping[str, Any], ctx: CaptionContext | None = None) -> str:
    formatter = CAPTIONS.get(name)
    ctx = ctx or CaptionContext()
    if formatter is None:
        return generic_caption(name, params)
    try:
        return formatter(params, ctx)
    except (KeyError, TypeError, ValueError, IndexError):  # an unexpected parameter shape: never fail a sheet
        return generic_caption(name, params)


def caption(applied: Sequence[Mapping[str, Any]], ctx: CaptionContext | None = None) -> str:
    """What fired and changed the image, in order, from manifest-style records (`[{name, params}]`)."""
    parts = [caption_step(str(t["name"]), t.get("params", {}), ctx) for t in applied]
    shown = [p for p in parts if p]
    if shown:
        return " · ".join(shown)
    return "nothing changed" if parts else "nothing fired"
