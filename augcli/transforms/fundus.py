"""Fundus (retinal photo) transforms that reproduce a Keras diabetic-retinopathy grading pipeline.

Preprocess: `FundusCrop` squares the image on the retina disc. Augment: flips, k*90 rotations,
`RandomBrightnessContrast` (brightness only), `SaturationScale` and `RandomCentralCrop`.
They follow Albumentations 2.0.8's conventions, so they take masks, bboxes and keypoints, serialize
with `A.to_dict` and draw randomness only from the generators the pipeline gives them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import cv2
import numpy as np
from albumentations.augmentations.crops import functional as fcrops
from albumentations.augmentations.geometric import functional as fgeometric
from albumentations.core.pydantic import check_range_bounds, nondecreasing
from albumentations.core.transforms_interface import (
    BaseTransformInitSchema,
    DualTransform,
    ImageOnlyTransform,
)
from albumentations.core.type_definitions import ALL_TARGETS
from pydantic import AfterValidator, Field

__all__ = ["FundusCrop", "RandomCentralCrop", "SaturationScale"]

Box = tuple[int, int, int, int]
if TYPE_CHECKING:
    InterpolationType = int
else:  # pydantic checks the flag against this list; mypy rejects a Literal of cv2 constants
    InterpolationType = Literal[
        cv2.INTER_NEAREST,
        cv2.INTER_NEAREST_EXACT,
        cv2.INTER_LINEAR,
        cv2.INTER_CUBIC,
        cv2.INTER_AREA,
        cv2.INTER_LANCZOS4,
        cv2.INTER_LINEAR_EXACT,
    ]

# The disc is searched on a copy whose long side is at most this: fast, and the downscale smooths noise.
_WORK_SIDE = 512
# A component smaller than this fraction of the frame is not a retina disc.
_MIN_DISC_AREA = 0.02
# Fewer arc points than this (off the frame edges) cannot place a clipped disc.
_MIN_ARC_POINTS = 24
# A circle fit whose RMS residual exceeds this fraction of its radius is not a disc outline.
_MAX_FIT_RESIDUAL = 0.03


def _intensity(img: np.ndarray) -> np.ndarray:
    """Max over channels as float32: the surround is dark in every channel, the retina bright in one."""
    if img.ndim == 2:
        return img.astype(np.float32)
    # Pairwise maximum: numpy's max over a 3-long last axis is several times slower.
    gray = img[..., 0]
    for channel in range(1, img.shape[-1]):
        gray = np.maximum(gray, img[..., channel])
    return gray.astype(np.float32)


def _fit_circle(points: np.ndarray) -> tuple[float, float, float, float] | None:
    """Algebraic (Kasa) least-squares circle through points; returns (cx, cy, r, rms residual)."""
    x = points[:, 0].astype(np.float64)
    y = points[:, 1].astype(np.float64)
    design = np.stack([2 * x, 2 * y, np.ones_like(x)], axis=1)
    (cx, cy, c), *_ = np.linalg.lstsq(design, x * x + y * y, rcond=None)
    r_squared = c + cx * cx + cy * cy
    if not np.isfinite(r_squared) or r_squared <= 0:
        return None
    r = float(np.sqrt(r_squared))
    residual = float(np.sqrt(np.mean((np.hypot(x - cx, y - cy) - r) ** 2)))
    return float(cx), float(cy), r, residual


def find_disc(img: np.ndarray, threshold: float) -> tuple[float, float, float, float] | None:
    """Extent (x_min, y_min, x_max, y_max) of the retina disc in pixels; None without a black surround.

    Where the frame clips the disc, that side is extended to the circle fitted to the visible outline,
    so the extent can reach beyond the image.
    """
    height, width = img.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(height, width))
    small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = img if scale == 1.0 else cv2.resize(img, (small_w, small_h), interpolation=cv2.INTER_AREA)
    gray = _intensity(small.reshape(small_h, small_w, -1))
    if min(small_h, small_w) >= 5:
        gray = cv2.GaussianBlur(cv2.medianBlur(gray, 5), (0, 0), 1.0)

    background, bright = np.percentile(gray, [1, 99])
    if bright - background <= 1e-3 * max(1.0, abs(float(bright))):
        return None
    mask = (gray > background + threshold * (bright - background)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    label = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[label, cv2.CC_STAT_AREA] < _MIN_DISC_AREA * small_h * small_w:
        return None
    disc = (labels == label).astype(np.uint8)
    x0, y0, bw, bh = (int(v) for v in stats[label, :4])
    x1, y1 = x0 + bw, y0 + bh
    left, top, right, bottom = x0 <= 1, y0 <= 1, x1 >= small_w - 1, y1 >= small_h - 1
    extent = [float(x0), float(y0), float(x1), float(y1)]

    if left or top or right or bottom:
        circle = _clipped_disc_circle(disc)
        if left and top and right and bottom and (circle is None or not _corners_dark(disc)):
            return None
        if circle is not None:
            cx, cy, r = circle
            # The fitted circle sits on pixel centres; the extent is in pixel edges, hence the 0.5.
            if left:
                extent[0] = min(extent[0], cx + 0.5 - r)
            if top:
                extent[1] = min(extent[1], cy + 0.5 - r)
            if right:
                extent[2] = max(extent[2], cx + 0.5 + r)
            if bottom:
                extent[3] = max(extent[3], cy + 0.5 + r)

    sx, sy = width / small_w, height / small_h
    return extent[0] * sx, extent[1] * sy, extent[2] * sx, extent[3] * sy


def _clipped_disc_circle(disc: np.ndarray) -> tuple[float, float, float] | None:
    """Circle through the disc outline where it lies inside the frame; None if that arc is not a circle."""
    height, width = disc.shape
    contours, _ = cv2.findContours(disc, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    points = max(contours, key=len).reshape(-1, 2)
    inside = (points[:, 0] > 2) & (points[:, 0] < width - 3) & (points[:, 1] > 2) & (points[:, 1] < height - 3)
    points = points[inside]
    if len(points) < _MIN_ARC_POINTS:
        return None
    fit = _fit_circle(points)
    if fit is None:
        return None
    cx, cy, r, residual = fit
    plausible = (
        residual <= _MAX_FIT_RESIDUAL * r
        and 0 <= cx <= width
        and 0 <= cy <= height
        and 0.2 * min(height, width) <= r <= 1.5 * max(height, width)
    )
    return (cx, cy, r) if plausible else None


def _corners_dark(disc: np.ndarray) -> bool:
    """A circular field of view leaves at least three frame corners dark; a plain photo does not."""
    height, width = disc.shape
    ch, cw = max(1, height // 20), max(1, width // 20)
    corners = (disc[:ch, :cw], disc[:ch, -cw:], disc[-ch:, :cw], disc[-ch:, -cw:])
    return sum(float(corner.mean()) < 0.5 for corner in corners) >= 3


def fundus_square(img: np.ndarray, threshold: float, margin: float) -> Box:
    """Square (x_min, y_min, x_max, y_max) centred on the disc, `margin` of its diameter added on each side.

    Without a black surround it is the centred square of the image's short side. It may reach beyond
    the image where the frame clips the disc.
    """
    height, width = img.shape[:2]
    disc = find_disc(img, threshold)
    if disc is None:
        side = min(height, width)
        x_min, y_min = (width - side) // 2, (height - side) // 2
        return x_min, y_min, x_min + side, y_min + side
    x0, y0, x1, y1 = disc
    side = max(1, round(max(x1 - x0, y1 - y0) * (1 + 2 * margin)))
    x_min = round((x0 + x1 - side) / 2)
    y_min = round((y0 + y1 - side) / 2)
    return x_min, y_min, x_min + side, y_min + side


def crop_with_padding(img: np.ndarray, box: Box, fill: tuple[float, ...] | float) -> np.ndarray:
    """Cut `box` out of `img`, filling the part of it that lies outside the image with `fill`."""
    x_min, y_min, x_max, y_max = box
    height, width = img.shape[:2]
    inner = img[max(0, y_min) : min(height, y_max), max(0, x_min) : min(width, x_max)]
    pads = (max(0, -y_min), max(0, y_max - height), max(0, -x_min), max(0, x_max - width))
    if not any(pads):
        return inner
    return fgeometric.pad_with_params(inner, *pads, border_mode=cv2.BORDER_CONSTANT, value=fill)


def _first_image(data: dict[str, Any]) -> np.ndarray:
    """The image the crop box is computed from; batches and volumes share the first one's box."""
    if "image" in data:
        return data["image"]
    if "images" in data:
        return data["images"][0]
    if "volume" in data:
        return data["volume"][0]
    return data["volumes"][0][0]


class FundusCrop(DualTransform):
    """Crop a fundus photo to a square around the retina disc, padding with `fill` where the frame clips it.

    Why: cameras frame the disc differently; grading on a square around it puts every retina at the
    same scale before the resize, and padding (not stretching) keeps a clipped disc round.

    Args:
        threshold: Fraction of the range from the background level (1st percentile of the smoothed
            max-channel image) to the bright level (99th percentile) above which a pixel is retina.
        margin: Fraction of the disc diameter added on each side of the square.
        fill: Image value for padded pixels (black surround).
        fill_mask: Mask value for padded pixels.
        p: Probability of applying the transform.

    Targets:
        image, mask, bboxes, keypoints, volume, mask3d

    Image types:
        uint8, float32

    Applied params: `crop_box` = (x_min, y_min, x_max, y_max) of the square in input pixels; it may
    extend beyond the image, and those pixels are padded.

    """

    _targets = ALL_TARGETS

    class InitSchema(BaseTransformInitSchema):
        threshold: float = Field(gt=0, lt=1)
        margin: float = Field(ge=0)
        fill: tuple[float, ...] | float
        fill_mask: tuple[float, ...] | float

    def __init__(
        self,
        threshold: float = 0.08,
        margin: float = 0.0,
        fill: tuple[float, ...] | float = 0,
        fill_mask: tuple[float, ...] | float = 0,
        p: float = 1.0,
    ):
        super().__init__(p=p)
        self.threshold = threshold
        self.margin = margin
        self.fill = fill
        self.fill_mask = fill_mask

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Locate the disc on the (first) image so the box is recorded in the applied params."""
        return {"crop_box": fundus_square(_first_image(data), self.threshold, self.margin)}

    def apply(self, img: np.ndarray, crop_box: Box, **params: Any) -> np.ndarray:
        return crop_with_padding(img, crop_box, self.fill)

    def apply_to_mask(self, mask: np.ndarray, crop_box: Box, **params: Any) -> np.ndarray:
        return crop_with_padding(mask, crop_box, self.fill_mask)

    def apply_to_bboxes(self, bboxes: np.ndarray, crop_box: Box, **params: Any) -> np.ndarray:
        # Padding only shifts the origin, so a crop with negative or oversized coords is exact.
        return fcrops.crop_bboxes_by_coords(bboxes, crop_box, params["shape"][:2])

    def apply_to_keypoints(self, keypoints: np.ndarray, crop_box: Box, **params: Any) -> np.ndarray:
        return fcrops.crop_keypoints_by_coords(keypoints, crop_box)


def scale_saturation(img: np.ndarray, scale: float) -> np.ndarray:
    """Multiply HSV saturation by `scale` and clip to [0, 1], as tf.image.adjust_saturation does.

    Works on float HSV even for uint8 input: OpenCV's uint8 HSV stores hue in 2-degree steps, whose
    rounding alone would shift colours by several levels.
    """
    if img.ndim == 2 or img.shape[-1] == 1:
        return img
    if img.shape[-1] != 3:
        raise ValueError(f"SaturationScale needs a 1- or 3-channel image, got {img.shape[-1]} channels")
    if scale == 1.0:
        return img
    rgb = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32, copy=False)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1] * scale, 0.0, 1.0)
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    if img.dtype == np.uint8:
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
    return out.astype(img.dtype, copy=False)


class SaturationScale(ImageOnlyTransform):
    """Multiply saturation in HSV by a factor drawn uniformly from `scale_range` (tf.image.random_saturation).

    Why: Albumentations' ColorJitter blends with a luma grey (torchvision semantics) and
    HueSaturationValue shifts saturation additively; neither matches the Keras pipeline.

    Args:
        scale_range: Range the saturation factor is drawn from; 0 gives grey, 1 leaves the image as is.
        p: Probability of applying the transform.

    Targets:
        image, volume

    Image types:
        uint8, float32 (RGB in [0, 1]); 1-channel images pass through unchanged.

    Applied params: `scale`, the factor drawn.

    """

    class InitSchema(BaseTransformInitSchema):
        scale_range: Annotated[
            tuple[float, float],
            AfterValidator(check_range_bounds(0, None)),
            AfterValidator(nondecreasing),
        ]

    def __init__(self, scale_range: tuple[float, float] = (0.5, 1.5), p: float = 0.5):
        super().__init__(p=p)
        self.scale_range = scale_range

    def get_params(self) -> dict[str, float]:
        return {"scale": self.py_random.uniform(*self.scale_range)}

    def apply(self, img: np.ndarray, scale: float, **params: Any) -> np.ndarray:
        return scale_saturation(img, scale)


class RandomCentralCrop(DualTransform):
    """Zoom into the centre: crop a central fraction of each side, drawn from a clipped normal, and resize.

    The fraction f ~ Normal(fraction_mean, fraction_std) is clipped to `fraction_range`; the central
    round(f * H) x round(f * W) region is resized to `size` (the input size if None).

    Why: the Keras pipeline zooms in by a clipped-normal amount around the centre, which no
    Albumentations crop samples (RandomResizedCrop draws area and aspect uniformly, anywhere).

    Args:
        fraction_mean: Mean of the normal the side fraction is drawn from.
        fraction_std: Its standard deviation (0 makes the crop fixed).
        fraction_range: (low, high) the drawn fraction is clipped to, within (0, 1].
        size: (height, width) of the output; None keeps the input size.
        interpolation: OpenCV flag for resizing images.
        mask_interpolation: OpenCV flag for resizing masks.
        p: Probability of applying the transform.

    Targets:
        image, mask, bboxes, keypoints, volume, mask3d

    Image types:
        uint8, float32

    Applied params: `fraction`, `crop_coords` (x_min, y_min, x_max, y_max) and `target_shape`.

    """

    _targets = ALL_TARGETS

    class InitSchema(BaseTransformInitSchema):
        fraction_mean: float = Field(gt=0)
        fraction_std: float = Field(ge=0)
        fraction_range: Annotated[
            tuple[float, float],
            AfterValidator(check_range_bounds(0, 1, min_inclusive=False)),
            AfterValidator(nondecreasing),
        ]
        size: Annotated[tuple[int, int], AfterValidator(check_range_bounds(1, None))] | None
        interpolation: InterpolationType
        mask_interpolation: InterpolationType

    def __init__(
        self,
        fraction_mean: float = 1.0,
        fraction_std: float = 0.06,
        fraction_range: tuple[float, float] = (0.8, 1.0),
        size: tuple[int, int] | None = None,
        interpolation: InterpolationType = cv2.INTER_LINEAR,
        mask_interpolation: InterpolationType = cv2.INTER_NEAREST,
        p: float = 1.0,
    ):
        super().__init__(p=p)
        self.fraction_mean = fraction_mean
        self.fraction_std = fraction_std
        self.fraction_range = fraction_range
        self.size = size
        self.interpolation = interpolation
        self.mask_interpolation = mask_interpolation

    def get_params(self) -> dict[str, float]:
        fraction = self.random_generator.normal(self.fraction_mean, self.fraction_std)
        return {"fraction": float(np.clip(fraction, *self.fraction_range))}

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        crop_h = max(1, round(params["fraction"] * height))
        crop_w = max(1, round(params["fraction"] * width))
        x_min, y_min = (width - crop_w) // 2, (height - crop_h) // 2
        target_shape = (int(self.size[0]), int(self.size[1])) if self.size else (height, width)
        return {"crop_coords": (x_min, y_min, x_min + crop_w, y_min + crop_h), "target_shape": target_shape}

    def apply(self, img: np.ndarray, crop_coords: Box, target_shape: tuple[int, int], **params: Any) -> np.ndarray:
        return fgeometric.resize(fcrops.crop(img, *crop_coords), target_shape, self.interpolation)

    def apply_to_mask(
        self, mask: np.ndarray, crop_coords: Box, target_shape: tuple[int, int], **params: Any
    ) -> np.ndarray:
        return fgeometric.resize(fcrops.crop(mask, *crop_coords), target_shape, self.mask_interpolation)

    def apply_to_bboxes(self, bboxes: np.ndarray, crop_coords: Box, **params: Any) -> np.ndarray:
        # Normalized coordinates do not change when the crop is resized.
        return fcrops.crop_bboxes_by_coords(bboxes, crop_coords, params["shape"][:2])

    def apply_to_keypoints(
        self, keypoints: np.ndarray, crop_coords: Box, target_shape: tuple[int, int], **params: Any
    ) -> np.ndarray:
        cropped = fcrops.crop_keypoints_by_coords(keypoints, crop_coords)
        scale_x = target_shape[1] / (crop_coords[2] - crop_coords[0])
        scale_y = target_shape[0] / (crop_coords[3] - crop_coords[1])
        return fgeometric.keypoints_scale(cropped, scale_x, scale_y)
