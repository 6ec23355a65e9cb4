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
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from augcli.datasets.labels import ImageLabels, LabelObject, LabelOptions, clip_polygon, polygon_area
from augcli.datasets.oriented import bounds, clockwise, min_area_rectangle

Mode = Literal["mixup", "cutmix"]
Box = tuple[int, int, int, int]
Rect = tuple[float, float, float, float]

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

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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
    return pick_from_sorted(rng, sorted(set(candidates)), own)


def pick_from_sorted(rng: np.random.Generator, candidates: Sequence[str], own: str) -> str | None:
    """`pick_partner` for candidates already sorted and unique: the same draw, in O(log n) per output.

    The partner is uniform over the candidates other than `own`: draw an index among the n - 1 others
    and step over `own`'s slot, so no list is rebuilt for each output of a large split.
    """
    import bisect

    slot = bisect.bisect_left(candidates, own)
    has_own = slot < len(candidates) and candidates[slot] == own
    count = len(candidates) - (1 if has_own else 0)
    if count <= 0:
        return None
    index = int(rng.integers(count))
    if has_own and index >= slot:
        index += 1
    return candidates[index]


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


# --------------------------------------------------------------------------- labels (detection)
#
# Formats hold no per-object weight, so the label files get the union of both samples' objects (own
# first) and the manifest records how many came from each side and, for MixUp, each object's weight.


def scale_labels(labels: ImageLabels, sx: float, sy: float) -> ImageLabels:
    """Labels of an image resized by (sx, sy): boxes, polygon vertices and keypoints scaled."""
    if labels.masks or any(o.mask is not None for o in labels.objects):
        raise ValueError("masks cannot be mixed")
    objects = []
    for obj in labels.objects:
        new = replace(obj, polygons=[p * (sx, sy) for p in obj.polygons])
        if obj.corners is not None:
            new.corners = np.asarray(obj.corners, np.float64) * (sx, sy)
        if obj.box is not None:
            x0, y0, x1, y1 = obj.box
            new.box = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)
        if obj.keypoints is not None:
            kps = np.array(obj.keypoints, np.float64)
            kps[:, 0] *= sx
            kps[:, 1] *= sy
            new.keypoints = kps
        objects.append(new)
    return replace(labels, objects=objects)


def mixup_labels(own: ImageLabels, partner: ImageLabels, lam: float) -> tuple[ImageLabels, list[float]]:
    """The union of both samples' objects, and each object's weight (`lam` own, `1 - lam` partner)."""
    merged = replace(own, objects=[*own.objects, *partner.objects], counts=replace(own.counts))
    weights = [round(lam, 6)] * len(own.objects) + [round(1.0 - lam, 6)] * len(partner.objects)
    return merged, weights


def _rect_minus(rect: Rect, hole: Rect) -> list[Rect]:
    """`rect` minus `hole` as up to four disjoint rectangles (left, right, above, below the hole)."""
    x0, y0, x1, y1 = rect
    hx0, hy0, hx1, hy1 = hole
    pieces = [
        (x0, y0, min(x1, hx0), y1),
        (max(x0, hx1), y0, x1, y1),
        (max(x0, hx0), y0, min(x1, hx1), min(y1, hy0)),
        (max(x0, hx0), max(y0, hy1), min(x1, hx1), y1),
    ]
    return [p for p in pieces if p[2] > p[0] and p[3] > p[1]]


def _clip_to(points: np.ndarray, rect: Rect) -> np.ndarray:
    x0, y0, x1, y1 = rect
    origin = np.array([x0, y0])
    return clip_polygon(np.asarray(points, np.float64) - origin, x1 - x0, y1 - y0) + origin


def _box_area(box: Rect) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _bounds(rects: list[Rect]) -> Rect:
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))


def _keep_in(obj: LabelObject, regions: list[Rect], options: LabelOptions) -> tuple[LabelObject | None, int]:
    """The part of `obj` inside the disjoint `regions`, or None when too little of it is (min_visibility,
    min_area, fully covered); also how many of its visible keypoints ended outside the regions."""
    new = replace(obj)
    hidden = 0
    if obj.keypoints is not None:
        kps = np.array(obj.keypoints, np.float64)
        inside = np.zeros(len(kps), bool)
        for x0, y0, x1, y1 in regions:
            inside |= (kps[:, 0] >= x0) & (kps[:, 0] < x1) & (kps[:, 1] >= y0) & (kps[:, 1] < y1)
        hidden = int((~inside & (kps[:, 2] > 0)).sum())
        kps[~inside, 2] = 0
        new.keypoints = kps
    if obj.corners is not None:
        quad = np.asarray(obj.corners, np.float64)
        parts = [c for r in regions if polygon_area(c := _clip_to(quad, r)) > 0 and len(c) >= 3]
        visible = sum(polygon_area(c) for c in parts) / polygon_area(quad) if polygon_area(quad) > 0 else 0.0
        if not parts or visible < options.min_visibility:
            return None, 0
        rect = min_area_rectangle(np.concatenate(parts))  # one rectangle around what is left
        if rect is None:
            return None, 0
        new.corners = clockwise(rect, quad[0])
        new.box, new.box_source = bounds(new.corners), "oriented"
    elif obj.polygons:
        before = sum(polygon_area(p) for p in obj.polygons)
        kept = [c for p in obj.polygons for r in regions if polygon_area(c := _clip_to(p, r)) > 0 and len(c) >= 3]
        visible = sum(polygon_area(c) for c in kept) / before if before > 0 else 0.0
        if not kept or visible < options.min_visibility:
            return None, 0
        pts = np.concatenate(kept)
        new.polygons = kept
        new.box = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
        new.box_source = "polygon"
    elif obj.box is not None:
        pieces = [p for r in regions if (p := _intersect(obj.box, r)) is not None]
        area = _box_area(obj.box)
        visible = sum(_box_area(p) for p in pieces) / area if area > 0 else 0.0
        if not pieces or visible < options.min_visibility:
            return None, 0
        new.box = _bounds(pieces)
    else:  # keypoints alone: kept while any is visible
        return (new, hidden) if new.keypoints is not None and (new.keypoints[:, 2] > 0).any() else (None, 0)
    if new.box is not None and _box_area(new.box) < options.min_area:
        return None, 0
    return new, hidden


def _intersect(a: Rect, b: Rect) -> Rect | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[2] > box[0] and box[3] > box[1] else None


def cutmix_labels(
    own: ImageLabels, partner: ImageLabels, box: Box, size: tuple[int, int], options: LabelOptions
) -> tuple[ImageLabels, int, int]:
    """Own objects clipped to outside the pasted `box`, the partner's to inside it, then the union.

    An object whose visible fraction falls below `min_visibility` (or that is fully covered, or whose
    clipped box is under `min_area`) is dropped and counted; polygons are split along the box edges,
    boxes shrink to what is left; keypoints on the wrong side are kept and marked invisible.
    Returns (labels, own objects kept, partner objects kept).
    """
    width, height = size
    hole = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    outside = _rect_minus((0.0, 0.0, float(width), float(height)), hole)
    counts = replace(own.counts)
    kept: list[list[LabelObject]] = [[], []]
    for side, (objects, regions) in enumerate(((own.objects, outside), (partner.objects, [hole]))):
        for obj in objects:
            new, hidden = _keep_in(obj, regions, options) if regions else (None, 0)
            if new is None:
                counts.dropped += 1
                continue
            counts.hidden_keypoints += hidden
            kept[side].append(new)
    merged = replace(own, objects=kept[0] + kept[1], counts=counts)
    return merged, len(kept[0]), len(kept[1])
