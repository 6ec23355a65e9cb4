"""MixUp and CutMix between two samples of a split, with torchvision v2's semantics, as pure functions.

Everything random is drawn from the `numpy.random.Generator` passed in, in a fixed order
(`choose`, then `pick_partner`, then `mixup`/`cutmix`), so one seed per output decides the partner, the
mode, lambda and the box. Use `mix_rng(output_seed)` for that generator: it is a stream of its own, so
adding a `mix:` section does not change what the augment pipeline draws.

Labels become soft: an output is `lam` of its own class and `1 - lam` of its partner's
(`soft_label`), written as one CSV row per output (`labels_csv`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Mode = Literal["mixup", "cutmix"]
Box = tuple[int, int, int, int]

# Second word of the SeedSequence entropy for the mixing stream ("mix" in ASCII): any constant works,
# it only has to differ from what seeds the augment pipeline.
_MIX_STREAM = 0x6D6978
# Slack for p_mixup + p_cutmix written as decimals (0.7 + 0.3 is 0.9999999999999999, 0.1 + 0.9 may exceed 1).
_SUM_TOLERANCE = 1e-9


def _check_probabilities(p_mixup: float, p_cutmix: float) -> str | None:
    """The problem with the two chances together, if any (their ranges are checked one by one elsewhere)."""
    total = p_mixup + p_cutmix
    if total > 1 + _SUM_TOLERANCE:
        return (
            f"p_mixup + p_cutmix must be at most 1, got {p_mixup:g} + {p_cutmix:g} = {total:g} "
            "(each output is mixed up, cut-mixed or left alone, so the two chances share one 100%)"
        )
    return None


@dataclass(frozen=True)
class MixSpec:
    """How often, and how strongly, outputs are mixed; plain data, so it pickles to pool workers."""

    p_mixup: float = 0.0
    p_cutmix: float = 0.0
    mixup_alpha: float = 0.2
    cutmix_alpha: float = 1.0

    def __post_init__(self) -> None:
        for name in ("p_mixup", "p_cutmix"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value:g}")
        for name in ("mixup_alpha", "cutmix_alpha"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be greater than 0, got {value:g} (it is a Beta distribution's shape)")
        problem = _check_probabilities(self.p_mixup, self.p_cutmix)
        if problem:
            raise ValueError(problem)

    @property
    def enabled(self) -> bool:
        """Whether any output can be mixed (the runner can skip partner lookups otherwise)."""
        return self.p_mixup > 0 or self.p_cutmix > 0


class MixModel(BaseModel):
    """The recipe's `mix:` section, validated strictly like the rest of a recipe."""

    model_config = ConfigDict(extra="forbid")

    p_mixup: float = Field(0.0, ge=0, le=1)
    p_cutmix: float = Field(0.0, ge=0, le=1)
    mixup_alpha: float = Field(0.2, gt=0)
    cutmix_alpha: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _probabilities_share_one(self) -> MixModel:
        problem = _check_probabilities(self.p_mixup, self.p_cutmix)
        if problem:
            raise ValueError(problem)
        return self

    def to_spec(self) -> MixSpec:
        return MixSpec(
            p_mixup=self.p_mixup,
            p_cutmix=self.p_cutmix,
            mixup_alpha=self.mixup_alpha,
            cutmix_alpha=self.cutmix_alpha,
        )


def mix_rng(output_seed: int) -> np.random.Generator:
    """The generator for one output's mixing draws, independent of the augment pipeline's stream."""
    return np.random.default_rng([output_seed, _MIX_STREAM])


def choose(spec: MixSpec, rng: np.random.Generator) -> Mode | None:
    """One of mixup / cutmix / nothing with the spec's chances; always exactly one draw, whatever the outcome."""
    u = float(rng.random())
    if u < spec.p_mixup:
        return "mixup"
    if u < spec.p_mixup + spec.p_cutmix:
        return "cutmix"
    return None


def pick_partner(rng: np.random.Generator, candidates: Sequence[str], own: str) -> str | None:
    """A uniformly drawn other sample, or None when there is none.

    Candidates are deduplicated and sorted first, so the partner depends on the set of names and the rng,
    not on the order a folder listing happened to return them in.
    """
    others = sorted({c for c in candidates if c != own})
    if not others:
        return None
    return others[int(rng.integers(len(others)))]


def _check_pair(image: np.ndarray, partner: np.ndarray) -> None:
    if image.shape != partner.shape:
        raise ValueError(
            f"partner shape {partner.shape} differs from image shape {image.shape} (resize it with resize_to first)"
        )
    if image.dtype != partner.dtype:
        raise ValueError(f"partner dtype {partner.dtype} differs from image dtype {image.dtype}")


def _check_alpha(alpha: float) -> None:
    if not alpha > 0:
        raise ValueError(f"alpha must be greater than 0, got {alpha:g}")


def _to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float pixels back to the input's dtype: rounded and clipped for integers, cast for floats."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def mixup(image: np.ndarray, partner: np.ndarray, rng: np.random.Generator, alpha: float) -> tuple[np.ndarray, float]:
    """`lam * image + (1 - lam) * partner` with lam ~ Beta(alpha, alpha), as torchvision's MixUp.

    Blended in float32 and rounded back, so uint8, uint16 and float32 images keep their dtype.
    """
    _check_pair(image, partner)
    _check_alpha(alpha)
    lam = float(rng.beta(alpha, alpha))
    mixed = np.float32(lam) * image.astype(np.float32) + np.float32(1.0 - lam) * partner.astype(np.float32)
    return _to_dtype(mixed, image.dtype), lam


def cutmix(
    image: np.ndarray, partner: np.ndarray, rng: np.random.Generator, alpha: float
) -> tuple[np.ndarray, float, Box]:
    """Paste a box of the partner into the image, as torchvision's CutMix.

    The box is centred on a uniform pixel with half-sides `int(0.5 * sqrt(1 - lam) * W)` (and H), clipped to
    the image; lambda is then recomputed from the clipped box, so it is exactly the share of the image's own
    pixels. Returns (mixed, lam, (x1, y1, x2, y2)) with x2/y2 exclusive.
    """
    _check_pair(image, partner)
    _check_alpha(alpha)
    height, width = image.shape[:2]
    lam = float(rng.beta(alpha, alpha))
    r_x = int(rng.integers(width))
    r_y = int(rng.integers(height))
    r = 0.5 * math.sqrt(1.0 - lam)
    r_w_half = int(r * width)
    r_h_half = int(r * height)
    x1, y1 = max(r_x - r_w_half, 0), max(r_y - r_h_half, 0)
    x2, y2 = min(r_x + r_w_half, width), min(r_y + r_h_half, height)
    mixed = image.copy()
    mixed[y1:y2, x1:x2] = partner[y1:y2, x1:x2]
    lam_adjusted = 1.0 - (x2 - x1) * (y2 - y1) / (width * height)
    return mixed, lam_adjusted, (x1, y1, x2, y2)


def resize_to(partner: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The partner at the image's height and width (area averaging when shrinking, to avoid aliasing).

    `shape` is the image's shape; when it names channels they must match the partner's.
    """
    height, width = int(shape[0]), int(shape[1])
    if len(shape) > 2 and (partner.ndim == 2 or partner.shape[2:] != tuple(shape[2:])):
        raise ValueError(f"partner shape {partner.shape} has other channels than {tuple(shape)}")
    if partner.shape[:2] == (height, width):
        return partner.copy()
    shrinking = height <= partner.shape[0] and width <= partner.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(partner, (width, height), interpolation=interpolation)
    return resized.reshape((height, width, *partner.shape[2:]))  # OpenCV drops a trailing 1-channel axis


def soft_label(own: str, partner: str | None, lam: float, classes: Sequence[str]) -> dict[str, float]:
    """Every class's weight for one output: `lam` own, `1 - lam` partner (all own when unmixed)."""
    known = set(classes)
    for name in (own, partner):
        if name is not None and name not in known:
            raise ValueError(f"unknown class '{name}' (classes: {', '.join(classes)})")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be between 0 and 1, got {lam:g}")
    weights = dict.fromkeys(classes, 0.0)
    if partner is None:
        weights[own] = 1.0
        return weights
    weights[own] += lam
    weights[partner] += 1.0 - lam
    return weights


def labels_csv(rows: Iterable[tuple[str, dict[str, float]]], classes: Sequence[str]) -> str:
    """Soft labels as CSV text: `output,<class...>`, one row per output sorted by path, `csv`-quoted."""
    if len(set(classes)) != len(classes):
        raise ValueError("class names must be unique")
    known = set(classes)
    ordered = sorted(rows, key=lambda row: row[0])
    for (a, _), (b, _) in pairwise(ordered):
        if a == b:
            raise ValueError(f"output '{a}' appears twice")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["output", *classes])
    for output, weights in ordered:
        unknown = sorted(set(weights) - known)
        if unknown:
            raise ValueError(f"output '{output}' has weights for unknown classes: {', '.join(unknown)}")
        writer.writerow([output, *(f"{float(weights.get(c, 0.0)):.6g}" for c in classes)])
    return buffer.getvalue()
