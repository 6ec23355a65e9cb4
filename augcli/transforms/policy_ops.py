"""The op tables and kernels behind augcli's AutoAugment-style policies (torchvision.transforms.v2's tables).

torchvision runs the photometric ops through PIL for PIL images; the uint8 kernels here reproduce PIL's
arithmetic (ImageEnhance blends, ImageOps LUTs), so a recipe gives what a torchvision+PIL loader gave.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np
from albumentations.augmentations.geometric import functional as fgeometric

if TYPE_CHECKING:
    InterpolationType = int
else:  # pydantic checks the flag against this list; mypy rejects a Literal of cv2 constants
    InterpolationType = Literal[cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC]
Fill = tuple[float, ...] | float
Ops = list[list[Any]]  # [[op name, signed magnitude], ...], as recorded in the applied params

GEOMETRIC_OPS = frozenset({"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"})

# How each op's magnitude bins are built: (kind, value, signed).
#   "linear": linspace(0, value, bins)   "width"/"height": linspace(0, value * that side, bins)
#   "posterize": 8 - round(arange(bins) / ((bins - 1) / value))   "solarize": linspace(1, 0, bins)
#   "none": the op takes no magnitude (recorded as 0.0).
_Space = dict[str, tuple[str, float, bool]]
_COMMON: _Space = {
    "ShearX": ("linear", 0.3, True),
    "ShearY": ("linear", 0.3, True),
    "TranslateX": ("width", 150.0 / 331.0, True),
    "TranslateY": ("height", 150.0 / 331.0, True),
    "Rotate": ("linear", 30.0, True),
    "Brightness": ("linear", 0.9, True),
    "Color": ("linear", 0.9, True),
    "Contrast": ("linear", 0.9, True),
    "Sharpness": ("linear", 0.9, True),
    "Posterize": ("posterize", 4.0, False),
    "Solarize": ("solarize", 0.0, False),
    "AutoContrast": ("none", 0.0, False),
    "Equalize": ("none", 0.0, False),
}
# Dict order is the order torchvision draws an op index from.
RAND_AUGMENT_SPACE: _Space = {"Identity": ("none", 0.0, False), **_COMMON}
AUTO_AUGMENT_SPACE: _Space = {**_COMMON, "Invert": ("none", 0.0, False)}
TRIVIAL_AUGMENT_WIDE_SPACE: _Space = {
    "Identity": ("none", 0.0, False),
    "ShearX": ("linear", 0.99, True),
    "ShearY": ("linear", 0.99, True),
    "TranslateX": ("linear", 32.0, True),
    "TranslateY": ("linear", 32.0, True),
    "Rotate": ("linear", 135.0, True),
    "Brightness": ("linear", 0.99, True),
    "Color": ("linear", 0.99, True),
    "Contrast": ("linear", 0.99, True),
    "Sharpness": ("linear", 0.99, True),
    "Posterize": ("posterize", 6.0, False),
    "Solarize": ("solarize", 0.0, False),
    "AutoContrast": ("none", 0.0, False),
    "Equalize": ("none", 0.0, False),
}

SubPolicy = tuple[tuple[str, float, int | None], tuple[str, float, int | None]]
# (op, probability, magnitude bin of 10); torchvision's AutoAugmentPolicy tables, from the AutoAugment paper.
AUTO_AUGMENT_POLICIES: dict[str, tuple[SubPolicy, ...]] = {
    "imagenet": (
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ),
    "cifar10": (
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ),
    "svhn": (
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)),
        (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
        (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
        (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
        (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
        (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
        (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
        (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ),
}
# AutoAugment's magnitude ids index 10 bins.
AUTO_AUGMENT_BINS = 10


def magnitude_bins(space: _Space, op: str, num_bins: int, height: int, width: int) -> np.ndarray | None:
    """The op's magnitudes for bins 0..num_bins-1 (unsigned), or None for an op without magnitude."""
    kind, value, _ = space[op]
    if kind == "none":
        return None
    if kind == "linear":
        return np.linspace(0.0, value, num_bins)
    if kind == "width":
        return np.linspace(0.0, value * width, num_bins)
    if kind == "height":
        return np.linspace(0.0, value * height, num_bins)
    if kind == "posterize":
        # np.round rounds half to even, as torch.round does.
        return 8 - np.round(np.arange(num_bins) / ((num_bins - 1) / value)).astype(int)
    return np.linspace(1.0, 0.0, num_bins)  # solarize: threshold as a fraction of the max value


def op_magnitude(space: _Space, op: str, bins: np.ndarray | None, index: int, negate: bool) -> float | int:
    """A JSON-friendly signed magnitude; 6 decimals hide float noise (e.g. 15.999999999999998 px)."""
    if bins is None:
        return 0.0
    value = bins[index]
    if space[op][0] == "posterize":
        return int(value)
    magnitude = round(float(value), 6)
    return -magnitude if negate and space[op][2] else magnitude


# ---------------------------------------------------------------------------------------------------------
# Geometric ops. Matrices are forward maps in continuous pixel coordinates (pixel i spans [i, i+1]), the
# frame PIL and torchvision use; shears pivot on the top-left corner, rotation on the image centre.


def geometric_matrix(op: str, magnitude: float, height: int, width: int) -> np.ndarray:
    """3x3 forward matrix of a geometric op, as torchvision's F.affine / F.rotate builds it."""
    if op == "ShearX":  # x' = x - m*y about (0, 0): PIL's (1, m, 0, 0, 1, 0) inverse map
        return np.array([[1.0, -magnitude, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    if op == "ShearY":
        return np.array([[1.0, 0.0, 0.0], [-magnitude, 1.0, 0.0], [0.0, 0.0, 1.0]])
    if op == "TranslateX":  # torchvision truncates the shift to whole pixels
        return np.array([[1.0, 0.0, float(int(magnitude))], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    if op == "TranslateY":
        return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, float(int(magnitude))], [0.0, 0.0, 1.0]])
    if op == "Rotate":  # counter-clockwise on screen for a positive angle
        theta = math.radians(magnitude)
        cos, sin = math.cos(theta), math.sin(theta)
        cx, cy = width / 2, height / 2
        return np.array(
            [
                [cos, sin, cx - cos * cx - sin * cy],
                [-sin, cos, cy + sin * cx - cos * cy],
                [0.0, 0.0, 1.0],
            ]
        )
    raise ValueError(f"{op} is not a geometric op")


def to_pixel_index_frame(matrix: np.ndarray) -> np.ndarray:
    """The same map in OpenCV's frame, where pixel i's centre is at i (Albumentations' image/keypoint frame)."""
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    unshift = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])
    return unshift @ matrix @ shift


def _warp(img: np.ndarray, matrix: np.ndarray, interpolation: int, fill: Fill) -> np.ndarray:
    return fgeometric.warp_affine(
        img,
        to_pixel_index_frame(matrix),
        interpolation=interpolation,
        fill=fill,
        border_mode=cv2.BORDER_CONSTANT,
        output_shape=img.shape[:2],
    )


def composed_matrix(ops: Ops, height: int, width: int) -> np.ndarray:
    """All geometric ops of a run as one forward matrix (continuous frame), in the order they apply."""
    matrix = np.eye(3)
    for op, magnitude in ops:
        if op in GEOMETRIC_OPS:
            matrix = geometric_matrix(op, magnitude, height, width) @ matrix
    return matrix


# ---------------------------------------------------------------------------------------------------------
# Photometric ops. uint8 follows PIL (what torchvision calls for PIL images), float32 in [0, 1] follows
# torchvision's tensor kernels.


def _channels(img: np.ndarray) -> int:
    return 1 if img.ndim == 2 else img.shape[-1]


def _blend(degenerate: np.ndarray, img: np.ndarray, factor: float) -> np.ndarray:
    """PIL's Image.blend(degenerate, img, factor): float32 maths, truncated to uint8; clamped for floats."""
    if img.dtype == np.uint8:
        low = degenerate.astype(np.float32)
        out = low + np.float32(factor) * (img.astype(np.float32) - low)
        return np.clip(out, 0, 255).astype(np.uint8)
    out = degenerate + np.float32(factor) * (img - degenerate)
    return np.clip(out, 0.0, 1.0).astype(img.dtype, copy=False)


def grayscale(img: np.ndarray) -> np.ndarray:
    """Luma with the image's dtype and shape: PIL's integer L conversion for uint8, ITU-R 601 for floats."""
    if _channels(img) != 3:
        return img
    if img.dtype == np.uint8:
        rgb = img.astype(np.uint32)
        luma = (rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16
        luma = luma.astype(np.uint8)
    else:
        luma = (0.2989 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]).astype(img.dtype)
    return np.repeat(luma[..., None], 3, axis=-1)


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    return _blend(np.zeros_like(img), img, factor)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """ImageEnhance.Color: blend with the grey version; a grey image is left as is."""
    if _channels(img) != 3:
        return img
    return _blend(grayscale(img), img, factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """ImageEnhance.Contrast: blend with a flat image at the mean luma (rounded for uint8, as PIL does)."""
    mean = float(grayscale(img).mean())
    if img.dtype == np.uint8:
        mean = int(mean + 0.5)
    return _blend(np.full_like(img, mean), img, factor)


_SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / np.float32(13)


def adjust_sharpness(img: np.ndarray, factor: float) -> np.ndarray:
    """ImageEnhance.Sharpness: blend with PIL's SMOOTH filter, which leaves the 1-pixel border untouched."""
    if min(img.shape[:2]) < 3:
        return img
    smooth = cv2.filter2D(img.astype(np.float32), -1, _SMOOTH, borderType=cv2.BORDER_REPLICATE)
    if img.dtype == np.uint8:
        smooth = np.floor(smooth + 0.5)
    smooth = smooth.reshape(img.shape).astype(img.dtype)
    smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1] = img[0], img[-1], img[:, 0], img[:, -1]
    return _blend(smooth, img, factor)


def posterize(img: np.ndarray, bits: int) -> np.ndarray:
    """Keep the top `bits` bits of every channel."""
    if img.dtype == np.uint8:
        return img & np.uint8((0xFF << (8 - bits)) & 0xFF)
    levels = 1 << bits
    return (np.clip(np.floor(img * levels), 0, levels - 1) / levels).astype(img.dtype)


def solarize(img: np.ndarray, threshold: float) -> np.ndarray:
    """Invert values at or above `threshold`, a fraction of the max value (torchvision v2's magnitude)."""
    bound = 255.0 if img.dtype == np.uint8 else 1.0
    return np.where(img >= bound * threshold, invert(img), img)


def invert(img: np.ndarray) -> np.ndarray:
    return 255 - img if img.dtype == np.uint8 else (1.0 - img).astype(img.dtype)


def _per_channel_lut(img: np.ndarray, make_lut: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    planes = img[..., None] if img.ndim == 2 else img
    out = np.stack([make_lut(planes[..., c])[planes[..., c]] for c in range(planes.shape[-1])], axis=-1)
    return out.reshape(img.shape)


def _autocontrast_lut(plane: np.ndarray) -> np.ndarray:
    lo, hi = int(plane.min()), int(plane.max())
    if hi <= lo:
        return np.arange(256, dtype=np.uint8)
    scale = 255.0 / (hi - lo)
    offset = -lo * scale
    return np.clip(np.trunc(np.arange(256) * scale + offset), 0, 255).astype(np.uint8)


def _equalize_lut(plane: np.ndarray) -> np.ndarray:
    hist = np.bincount(plane.ravel(), minlength=256)
    used = hist[hist > 0]
    step = (int(used.sum()) - int(used[-1])) // 255 if len(used) > 1 else 0
    if not step:
        return np.arange(256, dtype=np.uint8)
    before = np.concatenate([[0], np.cumsum(hist)[:-1]])
    return np.clip((step // 2 + before) // step, 0, 255).astype(np.uint8)


def autocontrast(img: np.ndarray) -> np.ndarray:
    """Stretch each channel to the full range (ImageOps.autocontrast with no cutoff)."""
    if img.dtype == np.uint8:
        return _per_channel_lut(img, _autocontrast_lut)
    axes = (0, 1)
    lo = img.min(axis=axes, keepdims=True)
    hi = img.max(axis=axes, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo = np.where(hi > lo, lo, 0.0)
    return np.clip((img - lo) / span, 0.0, 1.0).astype(img.dtype)


def equalize(img: np.ndarray) -> np.ndarray:
    """Histogram-equalize each channel (ImageOps.equalize); floats go through 8-bit levels, as torchvision does."""
    if img.dtype == np.uint8:
        return _per_channel_lut(img, _equalize_lut)
    levels = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    return (_per_channel_lut(levels, _equalize_lut) / 255.0).astype(img.dtype)


def apply_op(img: np.ndarray, op: str, magnitude: float, interpolation: int, fill: Fill) -> np.ndarray:
    """One torchvision auto-augment op on an image (uint8 or float32 in [0, 1], HxW or HxWxC)."""
    if op in GEOMETRIC_OPS:
        if magnitude == 0:
            return img
        return _warp(img, geometric_matrix(op, magnitude, *img.shape[:2]), interpolation, fill)
    if op == "Identity":
        return img
    if op == "Brightness":
        return adjust_brightness(img, 1.0 + magnitude)
    if op == "Color":
        return adjust_saturation(img, 1.0 + magnitude)
    if op == "Contrast":
        return adjust_contrast(img, 1.0 + magnitude)
    if op == "Sharpness":
        return adjust_sharpness(img, 1.0 + magnitude)
    if op == "Posterize":
        return posterize(img, int(magnitude))
    if op == "Solarize":
        return solarize(img, magnitude)
    if op == "AutoContrast":
        return autocontrast(img)
    if op == "Equalize":
        return equalize(img)
    if op == "Invert":
        return invert(img)
    raise ValueError(f"unknown auto-augment op {op!r}")
