"""Keras `ImageDataGenerator` augmentations: affine (rotation, shifts, shear, zoom), brightness, channel shift.

Sampling and matrices follow Keras' legacy `ImageDataGenerator.get_random_transform` and
`apply_affine_transform` as current Keras ships them (Keras 3's `keras.src.legacy.preprocessing.image`, and
tf.keras since it stopped importing keras-preprocessing 1.1.2), so a recipe reproduces a Keras training
pipeline. Where that code has known bugs (shift ranges swapped; off-centre rotation of non-square images)
these follow the documented meaning instead; see `KerasAffine`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import cv2
import numpy as np
from albumentations.augmentations.geometric import functional as fgeometric
from albumentations.core.pydantic import check_range_bounds, nondecreasing
from albumentations.core.transforms_interface import (
    BaseTransformInitSchema,
    DualTransform,
    ImageOnlyTransform,
)
from albumentations.core.type_definitions import Targets
from pydantic import AfterValidator, Field, field_validator

__all__ = ["BrightnessRange", "ChannelShift", "KerasAffine", "Rescale"]

if TYPE_CHECKING:
    InterpolationType = int
else:  # pydantic checks the flag against this list; mypy rejects a Literal of cv2 constants
    InterpolationType = Literal[cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC]
FillMode = Literal["nearest", "reflect", "wrap", "constant"]

# Keras passes fill_mode to scipy.ndimage. scipy's 'reflect' (dcba|abcd|dcba) is OpenCV's BORDER_REFLECT.
# For 'wrap' Keras documents abcd|abcd|abcd, which is scipy's 'grid-wrap' and OpenCV's BORDER_WRAP; scipy's
# own 'wrap' (what Keras passes, scipy >= 1.6) overlaps the first and last pixels and so lands one pixel
# short per period. We follow the documented periodic fill.
BORDER_MODES: dict[str, int] = {
    "nearest": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT,
    "wrap": cv2.BORDER_WRAP,
    "constant": cv2.BORDER_CONSTANT,
}


def keras_inverse_matrix(
    height: int,
    width: int,
    theta: float = 0.0,
    tx: float = 0.0,
    ty: float = 0.0,
    shear: float = 0.0,
    zx: float = 1.0,
    zy: float = 1.0,
) -> np.ndarray:
    """Keras' output->input sampling matrix in (x, y) pixel-index coordinates, about the image centre.

    rotation @ shift @ shear @ zoom, as `apply_affine_transform` composes them: theta > 0 turns the
    content counter-clockwise, (tx, ty) is where an output pixel samples from (content moves by -tx,
    -ty), the shear tilts verticals counter-clockwise (and, as in Keras, scales y by cos(shear)),
    and zoom > 1 samples a larger area, i.e. zooms out.
    """
    rad = math.radians(theta)
    rotation = np.array([[math.cos(rad), -math.sin(rad), 0.0], [math.sin(rad), math.cos(rad), 0.0], [0, 0, 1]])
    shift = np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])
    rad = math.radians(shear)
    shearing = np.array([[1.0, -math.sin(rad), 0.0], [0.0, math.cos(rad), 0.0], [0.0, 0.0, 1.0]])
    zoom = np.array([[zx, 0.0, 0.0], [0.0, zy, 0.0], [0.0, 0.0, 1.0]])
    cx, cy = width / 2 - 0.5, height / 2 - 0.5
    to_centre = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    from_centre = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
    return from_centre @ rotation @ shift @ shearing @ zoom @ to_centre


def _keras_shift(value: float, side: int, rng: Any) -> float:
    """One shift in pixels: an int range draws whole pixels in (-r, r), a float one uniformly in [-r, r);
    a range below 1 is a fraction of the side (Keras' `*_shift_range` rules)."""
    if not value:
        return 0.0
    if isinstance(value, int):
        return float(rng.randrange(value) * rng.choice((-1, 1)))
    shift = rng.uniform(-value, value)
    return shift * side if value < 1 else shift


class KerasAffine(DualTransform):
    """Keras ImageDataGenerator's rotation/shift/shear/zoom as one warp about the image centre.

    Why: Albumentations' Affine samples and composes differently (independent translate percent, shear
    without Keras' cos factor, zoom as magnification); reproducing Keras keeps a migrated pipeline's
    augmentation distribution.

    Args:
        rotation_range: Degrees; theta ~ U(-r, r), positive is counter-clockwise.
        width_shift_range: float < 1: fraction of the width; float >= 1: pixels, U(-r, r); int: whole
            pixels in (-r, r) (Keras' rules; a YAML `10` is an int, `10.0` a float).
        height_shift_range: The same for the height.
        shear_range: Degrees; shear ~ U(-r, r), counter-clockwise.
        zoom_range: float z -> (1 - z, 1 + z), or (low, high); zx and zy are drawn independently.
            Zoom > 1 shows more of the image (zooms out), as in Keras.
        fill_mode: How uncovered pixels are filled: Keras' 'nearest', 'reflect', 'wrap' or 'constant'.
        cval: Image value for fill_mode='constant'.
        fill_mask: Mask value for fill_mode='constant'.
        interpolation: OpenCV flag for the image (Keras' default order 1 is bilinear); masks use nearest.
        p: Probability of applying the transform.

    Targets:
        image, mask, bboxes, keypoints

    Image types:
        uint8, float32

    Applied params: `theta`, `tx`, `ty`, `shear`, `zx`, `zy`: the arguments Keras'
    `apply_affine_transform` takes (tx/ty in pixels along x/y, sampling offsets: content moves by -tx, -ty).

    Differences from Keras, on purpose: current Keras feeds the height shift into x and the width shift
    into y (keras-team/keras#17398) and rotates non-square images about (h/2, w/2) read as (x, y); here
    the width shift moves x, the height shift y, and everything pivots on the true centre. Older tf.keras
    (keras-preprocessing 1.1.2) used (row, col) order, so its rotations and shears ran the other way.
    fill_mode='constant' blends cval into the edge pixels over one pixel (OpenCV) where scipy cuts hard.
    For 'reflect', bboxes and keypoints are mirrored into the reflected copies as Albumentations' Affine
    does; 'wrap' copies are not labelled.

    """

    _targets = (Targets.IMAGE, Targets.MASK, Targets.BBOXES, Targets.KEYPOINTS)

    class InitSchema(BaseTransformInitSchema):
        rotation_range: float = Field(ge=0, le=180)
        width_shift_range: int | float = Field(ge=0)
        height_shift_range: int | float = Field(ge=0)
        shear_range: float = Field(ge=0, lt=90)
        zoom_range: Annotated[
            tuple[float, float],
            AfterValidator(check_range_bounds(0, None, min_inclusive=False)),
            AfterValidator(nondecreasing),
        ]
        fill_mode: FillMode
        cval: float
        fill_mask: float
        interpolation: InterpolationType

        @field_validator("zoom_range", mode="before")
        @classmethod
        def _zoom_pair(cls, value: Any) -> Any:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if not 0 <= value < 1:
                    raise ValueError(f"a single zoom_range must be in [0, 1), got {value}")
                return (1.0 - value, 1.0 + value)
            return value

    def __init__(
        self,
        rotation_range: float = 0.0,
        width_shift_range: float = 0.0,
        height_shift_range: float = 0.0,
        shear_range: float = 0.0,
        zoom_range: tuple[float, float] | float = 0.0,
        fill_mode: FillMode = "nearest",
        cval: float = 0.0,
        fill_mask: float = 0.0,
        interpolation: InterpolationType = cv2.INTER_LINEAR,
        p: float = 1.0,
    ):
        super().__init__(p=p)
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.zoom_range = cast("tuple[float, float]", zoom_range)  # the schema made a single z a pair
        self.fill_mode = fill_mode
        self.cval = cval
        self.fill_mask = fill_mask
        self.interpolation = interpolation

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        rng = self.py_random
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0.0
        tx = _keras_shift(self.width_shift_range, width, rng)
        ty = _keras_shift(self.height_shift_range, height, rng)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0.0
        low, high = self.zoom_range
        zx, zy = (1.0, 1.0) if low == high == 1 else (rng.uniform(low, high), rng.uniform(low, high))
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy}

    @staticmethod
    def _forward(params: dict[str, Any]) -> np.ndarray:
        """Input->output map in pixel-index coordinates (what OpenCV and Albumentations' keypoints use)."""
        height, width = params["shape"][:2]
        keys = ("theta", "tx", "ty", "shear", "zx", "zy")
        return np.linalg.inv(keras_inverse_matrix(height, width, *(params[k] for k in keys)))

    def _warp(self, img: np.ndarray, interpolation: int, fill: float, params: dict[str, Any]) -> np.ndarray:
        return fgeometric.warp_affine(
            img,
            self._forward(params),
            interpolation=interpolation,
            fill=fill,
            border_mode=BORDER_MODES[self.fill_mode],
            output_shape=img.shape[:2],
        )

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return self._warp(img, self.interpolation, self.cval, params)

    def apply_to_mask(self, mask: np.ndarray, **params: Any) -> np.ndarray:
        return self._warp(mask, cv2.INTER_NEAREST, self.fill_mask, params)

    def apply_to_bboxes(self, bboxes: np.ndarray, **params: Any) -> np.ndarray:
        shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
        unshift = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])
        # Boxes live in edge coordinates (pixel i spans [i, i+1]), half a pixel off the index frame.
        matrix = shift @ self._forward(params) @ unshift
        shape = params["shape"][:2]
        return fgeometric.bboxes_affine(bboxes, matrix, "largest_box", shape, BORDER_MODES[self.fill_mode], shape)

    def apply_to_keypoints(self, keypoints: np.ndarray, **params: Any) -> np.ndarray:
        # Content is magnified by 1/zoom, which is what keypoint scales follow.
        scale = {"x": 1.0 / params["zx"], "y": 1.0 / params["zy"]}
        return fgeometric.keypoints_affine(
            keypoints, self._forward(params), params["shape"][:2], scale, BORDER_MODES[self.fill_mode]
        )


class BrightnessRange(ImageOnlyTransform):
    """Multiply by a factor drawn uniformly from `brightness_range` (Keras' `brightness_range`).

    Why: Keras uses PIL's ImageEnhance.Brightness, a plain multiply truncated to uint8, where
    Albumentations' RandomBrightnessContrast adds or rescales around the max.

    Args:
        brightness_range: (low, high) of the factor; 1 leaves the image as is.
        p: Probability of applying the transform.

    Targets:
        image

    Image types:
        uint8 (PIL: trunc(x * factor), clipped to 255), float32 (clip(x * factor, 0, 1)).

    Applied params: `factor`.

    Note: current Keras calls it with scale=False, as here; keras-preprocessing 1.1.2 first stretched
    the image so its max became 255.

    """

    class InitSchema(BaseTransformInitSchema):
        brightness_range: Annotated[
            tuple[float, float],
            AfterValidator(check_range_bounds(0, None)),
            AfterValidator(nondecreasing),
        ]

    def __init__(self, brightness_range: tuple[float, float] = (0.5, 1.5), p: float = 1.0):
        super().__init__(p=p)
        self.brightness_range = brightness_range

    def get_params(self) -> dict[str, float]:
        return {"factor": self.py_random.uniform(*self.brightness_range)}

    def apply(self, img: np.ndarray, factor: float, **params: Any) -> np.ndarray:
        scaled = img.astype(np.float32) * np.float32(factor)  # PIL blends in float32 and truncates
        if img.dtype == np.uint8:
            return np.clip(scaled, 0, 255).astype(np.uint8)
        return np.clip(scaled, 0.0, 1.0).astype(img.dtype, copy=False)


class ChannelShift(ImageOnlyTransform):
    """Add one intensity ~ U(-r, r) to every channel, clipped to the image's own [min, max].

    Why: Keras' `channel_shift_range` shifts all channels by the same amount and clips to the range
    of the whole image (all channels together, not per channel); no Albumentations transform does that.

    Args:
        channel_shift_range: r, in the image's units (0-255 for uint8, as in Keras' float arrays).
        p: Probability of applying the transform.

    Targets:
        image

    Image types:
        uint8 (rounded), float32

    Applied params: `intensity`.

    """

    class InitSchema(BaseTransformInitSchema):
        channel_shift_range: float = Field(ge=0)

    def __init__(self, channel_shift_range: float = 0.0, p: float = 1.0):
        super().__init__(p=p)
        self.channel_shift_range = channel_shift_range

    def get_params(self) -> dict[str, float]:
        r = self.channel_shift_range
        return {"intensity": self.py_random.uniform(-r, r) if r else 0.0}

    def apply(self, img: np.ndarray, intensity: float, **params: Any) -> np.ndarray:
        low, high = float(img.min()), float(img.max())
        shifted = np.clip(img.astype(np.float32) + np.float32(intensity), low, high)
        if img.dtype == np.uint8:
            return np.rint(shifted).astype(np.uint8)
        return shifted.astype(img.dtype, copy=False)


class Rescale(ImageOnlyTransform):
    """Multiply pixel values by `scale` and return float32 (Keras' `rescale`, e.g. 1/255).

    Why: for online pipelines that feed a model directly. Saved to disk, a float image in [0, 1]
    would need re-encoding, so offline recipes should leave it out.

    Args:
        scale: Multiplier.
        p: Probability of applying the transform.

    Targets:
        image

    Image types:
        uint8, float32 -> float32

    """

    class InitSchema(BaseTransformInitSchema):
        scale: float = Field(gt=0)

    def __init__(self, scale: float = 1 / 255, p: float = 1.0):
        super().__init__(p=p)
        self.scale = scale

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return img.astype(np.float32) * np.float32(self.scale)
