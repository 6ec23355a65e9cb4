"""AutoAugment, RandAugment and TrivialAugmentWide with torchvision.transforms.v2's op tables and semantics.

The tables and kernels are in policy_ops; these transforms sample from them. Unlike torchvision, the
geometric ops (shear, translate, rotate) also move masks, bboxes and keypoints.
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np
from albumentations.augmentations.geometric import functional as fgeometric
from albumentations.core.transforms_interface import BaseTransformInitSchema, DualTransform
from albumentations.core.type_definitions import Targets
from pydantic import Field, model_validator
from typing_extensions import Self

from augcli.transforms.policy_ops import (
    AUTO_AUGMENT_BINS,
    AUTO_AUGMENT_POLICIES,
    AUTO_AUGMENT_SPACE,
    GEOMETRIC_OPS,
    RAND_AUGMENT_SPACE,
    TRIVIAL_AUGMENT_WIDE_SPACE,
    Fill,
    InterpolationType,
    Ops,
    apply_op,
    composed_matrix,
    magnitude_bins,
    op_magnitude,
    to_pixel_index_frame,
)

__all__ = ["AutoAugment", "RandAugment", "TrivialAugmentWide"]


class _AutoAugmentBase(DualTransform):
    """Applies the sampled op list; subclasses only sample it.

    The image gets every op in order, like torchvision; masks get the geometric ones, warp by warp, so
    they stay aligned with the pixels (fill regions included); bboxes and keypoints their composed map.
    """

    _targets = (Targets.IMAGE, Targets.MASK, Targets.BBOXES, Targets.KEYPOINTS)

    class InitSchema(BaseTransformInitSchema):
        interpolation: InterpolationType
        fill: Fill
        fill_mask: Fill

    def __init__(self, interpolation: int, fill: Fill, fill_mask: Fill, p: float):
        super().__init__(p=p)
        self.interpolation = interpolation
        self.fill = fill
        self.fill_mask = fill_mask

    def apply(self, img: np.ndarray, ops: Ops, **params: Any) -> np.ndarray:
        for op, magnitude in ops:
            img = apply_op(img, op, magnitude, self.interpolation, self.fill)
        return img

    def apply_to_mask(self, mask: np.ndarray, ops: Ops, **params: Any) -> np.ndarray:
        for op, magnitude in ops:
            if op in GEOMETRIC_OPS:
                mask = apply_op(mask, op, magnitude, cv2.INTER_NEAREST, self.fill_mask)
        return mask

    def apply_to_bboxes(self, bboxes: np.ndarray, ops: Ops, **params: Any) -> np.ndarray:
        # One composed map: exact corners, and the Compose's clipping and min_visibility see the whole
        # moved box (clipping between ops would hide how much of it left the frame).
        shape = params["shape"][:2]
        matrix = composed_matrix(ops, *shape)
        return fgeometric.bboxes_affine(bboxes, matrix, "largest_box", shape, cv2.BORDER_CONSTANT, shape)

    def apply_to_keypoints(self, keypoints: np.ndarray, ops: Ops, **params: Any) -> np.ndarray:
        shape = params["shape"][:2]
        matrix = to_pixel_index_frame(composed_matrix(ops, *shape))
        return fgeometric.keypoints_affine(keypoints, matrix, shape, {"x": 1.0, "y": 1.0}, cv2.BORDER_CONSTANT)


class RandAugment(_AutoAugmentBase):
    """RandAugment (Cubuk et al. 2019) as torchvision.transforms.v2.RandAugment: `num_ops` ops drawn
    uniformly (with replacement) from 14, all at magnitude bin `magnitude`, signed ones negated half the time.

    Why: Albumentations has no RandAugment; reproducing torchvision's tables lets a recipe match a
    PyTorch training pipeline.

    Args:
        num_ops: Number of ops applied in sequence.
        magnitude: Magnitude bin, 0..num_magnitude_bins-1 (9 of 31 is torchvision's default).
        num_magnitude_bins: Number of bins each op's range is split into.
        interpolation: OpenCV flag for the geometric ops (nearest, as torchvision's default).
        fill: Image value where geometric ops uncover the frame.
        fill_mask: Mask value there.
        p: Probability of applying the transform.

    Targets:
        image, mask, bboxes, keypoints

    Image types:
        uint8 (PIL semantics), float32 in [0, 1] (torchvision tensor semantics); HxW or HxWxC.

    Applied params: `ops`, a list of [op name, signed magnitude]; Posterize's magnitude is bits,
    Solarize's the threshold as a fraction of the max value, Translate's pixels (truncated when applied),
    Rotate's degrees counter-clockwise, the enhance ops' factor minus 1.

    """

    class InitSchema(_AutoAugmentBase.InitSchema):
        num_ops: int = Field(ge=0)
        magnitude: int = Field(ge=0)
        num_magnitude_bins: int = Field(ge=2)

        @model_validator(mode="after")
        def _magnitude_in_bins(self) -> Self:
            if self.magnitude >= self.num_magnitude_bins:
                raise ValueError(
                    f"magnitude ({self.magnitude}) must be below num_magnitude_bins ({self.num_magnitude_bins})"
                )
            return self

    def __init__(
        self,
        num_ops: int = 2,
        magnitude: int = 9,
        num_magnitude_bins: int = 31,
        interpolation: InterpolationType = cv2.INTER_NEAREST,
        fill: Fill = 0,
        fill_mask: Fill = 0,
        p: float = 1.0,
    ):
        super().__init__(interpolation, fill, fill_mask, p)
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        names = list(RAND_AUGMENT_SPACE)
        ops: Ops = []
        for _ in range(self.num_ops):
            op = names[self.py_random.randrange(len(names))]
            bins = magnitude_bins(RAND_AUGMENT_SPACE, op, self.num_magnitude_bins, height, width)
            negate = RAND_AUGMENT_SPACE[op][2] and self.py_random.random() < 0.5
            ops.append([op, op_magnitude(RAND_AUGMENT_SPACE, op, bins, self.magnitude, negate)])
        return {"ops": ops}


class TrivialAugmentWide(_AutoAugmentBase):
    """TrivialAugment Wide (Müller & Hutter 2021) as torchvision.transforms.v2.TrivialAugmentWide: one op
    drawn uniformly from 14, at a magnitude bin drawn uniformly, signed ones negated half the time.

    Why: a tuning-free policy with wider ranges than RandAugment; torchvision's tables make it
    reproducible from a recipe.

    Args:
        num_magnitude_bins: Number of bins each op's range is split into.
        interpolation: OpenCV flag for the geometric ops (nearest, as torchvision's default).
        fill: Image value where geometric ops uncover the frame.
        fill_mask: Mask value there.
        p: Probability of applying the transform.

    Targets:
        image, mask, bboxes, keypoints

    Image types:
        uint8 (PIL semantics), float32 in [0, 1] (torchvision tensor semantics); HxW or HxWxC.

    Applied params: `ops`, one [op name, signed magnitude] (see RandAugment), and `magnitude_bin`
    (None for ops without a magnitude).

    """

    class InitSchema(_AutoAugmentBase.InitSchema):
        num_magnitude_bins: int = Field(ge=2)

    def __init__(
        self,
        num_magnitude_bins: int = 31,
        interpolation: InterpolationType = cv2.INTER_NEAREST,
        fill: Fill = 0,
        fill_mask: Fill = 0,
        p: float = 1.0,
    ):
        super().__init__(interpolation, fill, fill_mask, p)
        self.num_magnitude_bins = num_magnitude_bins

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        names = list(TRIVIAL_AUGMENT_WIDE_SPACE)
        op = names[self.py_random.randrange(len(names))]
        bins = magnitude_bins(TRIVIAL_AUGMENT_WIDE_SPACE, op, self.num_magnitude_bins, height, width)
        index = self.py_random.randrange(self.num_magnitude_bins) if bins is not None else None
        negate = TRIVIAL_AUGMENT_WIDE_SPACE[op][2] and self.py_random.random() < 0.5
        magnitude = op_magnitude(TRIVIAL_AUGMENT_WIDE_SPACE, op, bins, index or 0, negate)
        return {"ops": [[op, magnitude]], "magnitude_bin": index}


class AutoAugment(_AutoAugmentBase):
    """AutoAugment (Cubuk et al. 2018) as torchvision.transforms.v2.AutoAugment: one of the policy's 25
    sub-policies drawn uniformly; each of its two ops runs with its own probability at its magnitude bin
    (of 10), signed ones negated half the time.

    Why: the learned ImageNet, CIFAR10 and SVHN policies are common baselines; Albumentations lacks them.

    Args:
        policy: Which learned policy table to use.
        interpolation: OpenCV flag for the geometric ops (nearest, as torchvision's default).
        fill: Image value where geometric ops uncover the frame.
        fill_mask: Mask value there.
        p: Probability of applying the transform.

    Targets:
        image, mask, bboxes, keypoints

    Image types:
        uint8 (PIL semantics), float32 in [0, 1] (torchvision tensor semantics); HxW or HxWxC.

    Applied params: `sub_policy`, the index into the policy table, and `ops`, the [op name, signed
    magnitude] pairs of that sub-policy that ran (see RandAugment).

    """

    class InitSchema(_AutoAugmentBase.InitSchema):
        policy: Literal["imagenet", "cifar10", "svhn"]

    def __init__(
        self,
        policy: Literal["imagenet", "cifar10", "svhn"] = "imagenet",
        interpolation: InterpolationType = cv2.INTER_NEAREST,
        fill: Fill = 0,
        fill_mask: Fill = 0,
        p: float = 1.0,
    ):
        super().__init__(interpolation, fill, fill_mask, p)
        self.policy = policy

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        table = AUTO_AUGMENT_POLICIES[self.policy]
        index = self.py_random.randrange(len(table))
        ops: Ops = []
        for op, probability, bin_index in table[index]:
            if not self.py_random.random() < probability:
                continue
            bins = magnitude_bins(AUTO_AUGMENT_SPACE, op, AUTO_AUGMENT_BINS, height, width)
            negate = AUTO_AUGMENT_SPACE[op][2] and self.py_random.random() < 0.5
            ops.append([op, op_magnitude(AUTO_AUGMENT_SPACE, op, bins, bin_index or 0, negate)])
        return {"sub_policy": index, "ops": ops}
