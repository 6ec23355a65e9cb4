"""Tile captions: what fired, read from manifest-style records, through a registry by transform name.

A transform without an entry gets `generic_caption` (its name and first numbers), so a new transform
never breaks a sheet; an entry only makes its caption shorter and clearer.
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

    def __call__(self, params: Mapping[str, Any], ctx: CaptionContext) -> str:
        if self.param is None:
            return self.abbrev
        if self.param not in params:
            return generic_caption(self.abbrev, params)
        return f"{self.abbrev} {self.fmt.format(params[self.param])}"


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
        parts.append(f"bright {beta / ctx.max_value:+.2f}")
    if alpha != 1:
        parts.append(f"contrast x{alpha:.2f}")
    return " · ".join(parts) or "bright/contrast +0"


def _affine(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    # Translation and shear live only in the matrix, which the manifest drops; they cannot be shown.
    parts = ["affine"]
    rotate = params.get("rotate")
    if isinstance(rotate, (int, float)) and rotate:
        parts.append(f"rot {rotate:+.1f}°")
    scale = params.get("scale")
    if isinstance(scale, dict) and {"x", "y"} <= scale.keys():
        x, y = scale["x"], scale["y"]
        parts.append(f"scale x{x:.2f}" if round(x, 2) == round(y, 2) else f"scale x{x:.2f}/{y:.2f}")
    return " ".join(parts)


def _color_jitter(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    keys = (("brightness", "b", "x{:.2f}"), ("contrast", "c", "x{:.2f}"), ("saturation", "s", "x{:.2f}"))
    parts = [f"{short}{fmt.format(params[k])}" for k, short, fmt in keys if k in params]
    if "hue" in params:
        parts.append(f"h{params['hue']:+.3f}")
    return "jitter " + " ".join(parts)


def _compression(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    kind = "webp" if params.get("image_type") == ".webp" else "jpeg"
    return f"{kind} q{params['quality']}" if "quality" in params else kind


def _kernel(abbrev: str) -> CaptionFormatter:
    """Blurs record their kernel (when small enough to keep); its size is what a reader can judge."""

    def fmt(params: Mapping[str, Any], ctx: CaptionContext) -> str:
        kernel = params.get("kernel")
        if isinstance(kernel, list) and kernel:
            rows = len(kernel)
            cols = len(kernel[0]) if isinstance(kernel[0], list) else rows
            return f"{abbrev} {rows}x{cols}"
        return abbrev

    return fmt


def _hsv(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    keys = (("hue_shift", "h"), ("sat_shift", "s"), ("val_shift", "v"))
    parts = [f"{short}{params[k]:+.1f}" for k, short in keys if params.get(k)]
    return "hsv " + (" ".join(parts) if parts else "+0")


def _pad(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    sides = [params.get(f"pad_{s}", 0) for s in ("top", "bottom", "left", "right")]
    if not any(sides):
        return "pad none"
    return "pad t{} b{} l{} r{}".format(*sides)


# Transform name -> caption formatter. A name not here gets `generic_caption`.
CAPTIONS: dict[str, CaptionFormatter] = {
    "HorizontalFlip": Show("hflip"),
    "VerticalFlip": Show("vflip"),
    "Transpose": Show("transpose"),
    "RandomRotate90": Show("rot90", "factor", "k={}"),
    "SquareSymmetry": Show("d4", "group_element"),
    "D4": Show("d4", "group_element"),
    "RandomBrightnessContrast": _brightness_contrast,
    "SaturationScale": Show("sat", "scale", "x{:.2f}"),
    "RandomCentralCrop": Show("crop", "fraction", "{:.2f}"),
    "FundusCrop": _box("fundus crop", "crop_box"),
    "RandomResizedCrop": _box("rr-crop", "crop_coords"),
    "RandomCrop": _box("crop", "crop_coords"),
    "CenterCrop": _box("center crop", "crop_coords"),
    "Crop": _box("crop", "crop_coords"),
    "Affine": _affine,
    "Rotate": Show("rot", "angle", "{:+.1f}°"),
    "SafeRotate": Show("rot", "angle", "{:+.1f}°"),
    "RandomScale": Show("scale", "scale", "x{:.2f}"),
    "ColorJitter": _color_jitter,
    "HueSaturationValue": _hsv,
    "RandomGamma": Show("gamma", "gamma", "{:.2f}"),
    "CLAHE": Show("clahe", "clip_limit", "{:.1f}"),
    "Downscale": Show("downscale", "scale", "x{:.2f}"),
    "ImageCompression": _compression,
    "GaussNoise": Show("noise"),
    "ISONoise": Show("iso noise"),
    "GaussianBlur": _kernel("blur"),
    "MotionBlur": Show("motion blur"),
    "MedianBlur": Show("median blur"),
    "Blur": Show("blur"),
    "Morphological": _kernel("morph"),
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
    """What fired, in order, from manifest-style records (`[{name, params}]`)."""
    parts = [caption_step(str(t["name"]), t.get("params", {}), ctx) for t in applied]
    return " · ".join(parts) if parts else "nothing fired"
