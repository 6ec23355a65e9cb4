"""Labels that travel with their images: one in-memory model for every format, and its geometry.

Every format reads into `ImageLabels` (absolute pixel coordinates of the decoded, upright image) and
writes back from it. Boxes, polygon vertices, keypoints and masks go through the very Compose that
moves the pixels, as Albumentations targets:

* boxes of objects that have only a box: `bboxes` (pascal_voc), filtered by min_visibility/min_area;
* polygon vertices and keypoints: `keypoints` (xy, remove_invisible=False), so none is ever lost;
  a polygon is then clipped to the image (Sutherland-Hodgman) and its box recomputed from it (tight);
* an oriented box's four corners: `keypoints` too, then clipped and fitted with a rectangle again
  (`augcli.datasets.oriented`);
* label masks (class/instance index images) and per-object masks: `masks`, nearest neighbour.
  Label masks travel as (index + 1) mod 256, so the 0 that a transform pads with comes back as 255:
  padding in a label mask is void, never background. Per-object masks pad with 0 (not the object).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from augcli.datasets.oriented import bounds, clockwise, min_area_rectangle

VOID = 255


@dataclass(frozen=True)
class LabelOptions:
    """The recipe's `labels:` section (or its defaults)."""

    format: str = "auto"
    min_visibility: float = 0.0
    min_area: float = 1.0


@dataclass
class IndexMask:
    """A class or instance mask: indices (HxW uint8, 255 = void) and the palette to write it with."""

    indices: np.ndarray
    palette: list[int] | None = None


@dataclass
class LabelObject:
    """One object. `box` is (x_min, y_min, x_max, y_max) in pixels; `polygons` are Nx2 vertex arrays;
    `keypoints` is Kx3 (x, y, visibility as COCO: 0 not labelled/outside, 1 occluded, 2 visible);
    `mask` a per-object HxW bool array; `instance` its value in an instance label mask; `corners` an
    oriented box (4x2, clockwise on screen), whose axis-aligned bounds are then its `box`."""

    category: str
    box: tuple[float, float, float, float] | None = None
    polygons: list[np.ndarray] = field(default_factory=list)
    keypoints: np.ndarray | None = None
    mask: np.ndarray | None = None
    instance: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # format details written back unchanged
    box_source: str = "box"
    corners: np.ndarray | None = None


@dataclass
class LabelCounts:
    clipped: int = 0  # coordinates a hair outside the image on input, clipped
    invalid: int = 0  # boxes with no area on input, dropped
    dropped: int = 0  # objects that left the image (min_visibility / min_area), or no box once rounded
    hidden_keypoints: int = 0  # keypoints moved outside the image: kept, marked v=0
    # Objects whose polygons / keypoints / mask a `--to --lossy` conversion's target could not hold
    lost_polygons: int = 0
    lost_keypoints: int = 0
    lost_masks: int = 0
    lost_orientations: int = 0  # oriented boxes written as their upright boxes (VOC)

    def add(self, other: LabelCounts) -> LabelCounts:
        return LabelCounts(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def to_json(self, *, every: bool = False) -> dict[str, int]:
        """The counts by name; the `lost_*` ones only where not 0 (a manifest record), or `every` one."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if every or not f.name.startswith("lost_") or getattr(self, f.name)
        }


@dataclass
class ImageLabels:
    objects: list[LabelObject] = field(default_factory=list)
    masks: dict[str, IndexMask] = field(default_factory=dict)  # e.g. SegmentationClass, SegmentationObject
    meta: dict[str, Any] = field(default_factory=dict)  # format details (VOC XML text, COCO image entry)
    counts: LabelCounts = field(default_factory=LabelCounts)

    def for_writing(self) -> ImageLabels:
        """A copy whose objects and counts a writer may change (round, drop and count what it cannot
        write) without changing the labels another output of the same source is made from."""
        return replace(self, objects=[replace(o) for o in self.objects], counts=replace(self.counts))


# --------------------------------------------------------------------------- reading: sanitise


def sanitize(labels: ImageLabels, width: int, height: int) -> ImageLabels:
    """Clip boxes to the image (counted) and drop boxes without area (counted); masks must fit."""
    counts = replace(labels.counts)
    objects = []
    for obj in labels.objects:
        if obj.corners is not None:
            corners = _sanitize_corners(obj.corners, width, height)
            if corners is None:
                counts.invalid += 1
                continue
            if corners is not obj.corners:
                counts.clipped += 1
            objects.append(replace(obj, corners=corners, box=bounds(corners)))
            continue
        if obj.box is not None:
            x0, y0, x1, y1 = (float(v) for v in obj.box)
            x0, x1 = min(x0, x1), max(x0, x1)
            y0, y1 = min(y0, y1), max(y0, y1)
            cx0, cy0 = min(max(x0, 0.0), width), min(max(y0, 0.0), height)
            cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
            if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
                counts.clipped += 1
            if cx1 - cx0 <= 0 or cy1 - cy0 <= 0:
                counts.invalid += 1
                continue
            obj = replace(obj, box=(cx0, cy0, cx1, cy1))
        objects.append(obj)
    for name, mask in labels.masks.items():
        if mask.indices.shape != (height, width):
            raise ValueError(f"{name} mask is {mask.indices.shape[1]}x{mask.indices.shape[0]}, image {width}x{height}")
    return replace(labels, objects=objects, counts=counts)


def _sanitize_corners(corners: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """The corners as they are when inside the image; else the rectangle fitted to their part inside."""
    c = np.asarray(corners, np.float64).reshape(4, 2)
    if c[:, 0].min() >= 0 and c[:, 1].min() >= 0 and c[:, 0].max() <= width and c[:, 1].max() <= height:
        return corners if polygon_area(c) > 0 else None
    return _fit(c, clip_polygon(c, width, height))


def _fit(quad: np.ndarray, clipped: np.ndarray) -> np.ndarray | None:
    """The rectangle written for a moved oriented box (around its part inside), its first corner kept."""
    if len(clipped) < 3 or polygon_area(clipped) <= 0:
        return None
    rect = min_area_rectangle(clipped)
    return clockwise(rect, quad[0]) if rect is not None else None


# --------------------------------------------------------------------------- geometry


def polygon_area(points: np.ndarray) -> float:
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def clip_polygon(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """Sutherland-Hodgman against the image rectangle; an empty array when nothing is inside."""
    poly = [tuple(p) for p in np.asarray(points, dtype=np.float64)]
    edges = (
        (lambda p: p[0] >= 0, lambda a, b: _cross_x(a, b, 0.0)),
        (lambda p: p[0] <= width, lambda a, b: _cross_x(a, b, width)),
        (lambda p: p[1] >= 0, lambda a, b: _cross_y(a, b, 0.0)),
        (lambda p: p[1] <= height, lambda a, b: _cross_y(a, b, height)),
    )
    for inside, cross in edges:
        if not poly:
            break
        out = []
        prev = poly[-1]
        for cur in poly:
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
            prev = cur
        poly = out
    return np.array(poly, dtype=np.float64).reshape(-1, 2)


def _cross_x(a: tuple[float, float], b: tuple[float, float], x: float) -> tuple[float, float]:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _cross_y(a: tuple[float, float], b: tuple[float, float], y: float) -> tuple[float, float]:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Tight box around a mask's pixels (pixel edges: a single pixel at (x, y) is x..x+1)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


# --------------------------------------------------------------------------- through a Compose


def compose_params(options: LabelOptions) -> dict[str, Any]:
    """Compose arguments that make Albumentations move boxes and keypoints with the pixels."""
    import albumentations as A

    return {
        "bbox_params": A.BboxParams(
            format="pascal_voc",
            label_fields=["bbox_ids"],
            min_visibility=options.min_visibility,
            min_area=options.min_area,
            clip=True,
        ),
        "keypoint_params": A.KeypointParams(format="xy", remove_invisible=False, label_fields=["keypoint_ids"]),
    }


def to_targets(labels: ImageLabels) -> tuple[dict[str, Any], list[tuple[int, str, int]]]:
    """Albumentations inputs for `labels`, and what each keypoint is: (object, "poly"/"kp", part)."""
    boxes, box_ids = [], []
    points: list[np.ndarray] = []
    slots: list[tuple[int, str, int]] = []
    masks: list[np.ndarray] = []
    for i, obj in enumerate(labels.objects):
        if obj.corners is not None:
            points.append(np.asarray(obj.corners, np.float64).reshape(4, 2))
            slots.extend([(i, "obb", 0)] * 4)
        elif obj.box is not None and not obj.polygons:
            boxes.append(obj.box)
            box_ids.append(i)
        for j, poly in enumerate(obj.polygons):
            points.append(np.asarray(poly, np.float64).reshape(-1, 2))
            slots.extend([(i, "poly", j)] * len(poly))
        if obj.keypoints is not None:
            points.append(np.asarray(obj.keypoints, np.float64)[:, :2])
            slots.extend([(i, "kp", 0)] * len(obj.keypoints))
        if obj.mask is not None:
            masks.append(obj.mask.astype(np.uint8))
    for mask in labels.masks.values():
        masks.append(mask.indices + np.uint8(1))  # uint8 wraps: void 255 -> 0 (the fill), others +1
    data: dict[str, Any] = {
        "bboxes": np.array(boxes, np.float64).reshape(-1, 4),
        "bbox_ids": box_ids,
        "keypoints": np.concatenate(points) if points else np.zeros((0, 2)),
        "keypoint_ids": list(range(len(slots))),
    }
    if masks:
        data["masks"] = masks
    return data, slots


_MIRRORS = {"HorizontalFlip", "VerticalFlip", "Transpose"}
_MIRROR_ELEMENTS = {"h", "v", "t", "hvt"}  # D4 / SquareSymmetry group elements that reflect


def mirrored(applied: list[tuple[str, dict[str, Any]]]) -> bool:
    """Whether the transforms that fired reflected the image (an odd number of times): a person's left
    keypoints are then where right ones belong, and `flip_idx` swaps them back."""
    reflections = sum(
        1 for name, params in applied if name in _MIRRORS or str(params.get("group_element", "")) in _MIRROR_ELEMENTS
    )
    return reflections % 2 == 1


def flip_index(names: list[str]) -> list[int] | None:
    """COCO keypoint names to a flip index: `left_x` and `right_x` trade places; None when none pair up."""
    where = {n: i for i, n in enumerate(names)}
    pairs = {"left_": "right_", "right_": "left_"}
    index = [
        next((where[pairs[p] + n[len(p) :]] for p in pairs if n.startswith(p) and pairs[p] + n[len(p) :] in where), i)
        for i, n in enumerate(names)
    ]
    return index if index != list(range(len(names))) else None


def from_targets(
    out: dict[str, Any], labels: ImageLabels, slots: list[tuple[int, str, int]], options: LabelOptions
) -> ImageLabels:
    """Rebuild the labels from a Compose's result: drop what left the image, tighten boxes, and swap
    left/right keypoints (meta `flip_idx`: category, or "*", -> index) when the image was mirrored."""
    height, width = out["image"].shape[:2]
    counts = replace(labels.counts)
    flips: dict[str, list[int]] = labels.meta.get("flip_idx") or {}
    mirror = bool(flips) and mirrored(out.get("applied_transforms", []))
    boxes: dict[int, tuple[float, float, float, float]] = {
        int(i): (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
        for b, i in zip(out["bboxes"], out["bbox_ids"], strict=True)
    }
    moved: dict[tuple[int, str, int], list[np.ndarray]] = {}
    for k, pt in zip(out["keypoint_ids"], out["keypoints"], strict=True):
        moved.setdefault(slots[int(k)], []).append(np.asarray(pt[:2], np.float64))
    masks = list(out.get("masks", []))
    n_object_masks = sum(1 for obj in labels.objects if obj.mask is not None)
    object_masks, label_masks = masks[:n_object_masks], masks[n_object_masks:]
    new_label_masks = {
        name: IndexMask(np.asarray(m, np.uint8) - np.uint8(1), old.palette)
        for (name, old), m in zip(labels.masks.items(), label_masks, strict=True)
    }
    instance = new_label_masks.get("SegmentationObject")
    objects = []
    mask_iter = iter(object_masks)
    for i, obj in enumerate(labels.objects):
        obj_mask = np.asarray(next(mask_iter)).astype(bool) if obj.mask is not None else None
        new = replace(obj, mask=obj_mask)
        if obj.keypoints is not None:
            kps = np.array(obj.keypoints, np.float64)
            kps[:, :2] = np.array(moved.get((i, "kp", 0), []), np.float64).reshape(-1, 2)
            outside = (kps[:, 0] < 0) | (kps[:, 0] >= width) | (kps[:, 1] < 0) | (kps[:, 1] >= height)
            hidden = outside & (kps[:, 2] > 0)
            counts.hidden_keypoints += int(hidden.sum())
            kps[outside, 2] = 0
            flip = flips.get(obj.category, flips.get("*")) if mirror else None
            if flip is not None and len(flip) == len(kps):
                kps = kps[flip]
            new.keypoints = kps
        if obj.corners is not None:
            quad = np.array(moved.get((i, "obb", 0), []), np.float64).reshape(-1, 2)
            clipped = clip_polygon(quad, width, height)
            visible = polygon_area(clipped) / polygon_area(quad) if polygon_area(quad) > 0 else 0.0
            rect = _fit(quad, clipped)
            if rect is None or visible < options.min_visibility or polygon_area(rect) < options.min_area:
                counts.dropped += 1
                continue
            new.corners, new.box, new.box_source = rect, bounds(rect), "oriented"
        elif obj.polygons:
            kept, before, after = [], 0.0, 0.0
            for j in range(len(obj.polygons)):
                poly = np.array(moved.get((i, "poly", j), []), np.float64).reshape(-1, 2)
                clipped = clip_polygon(poly, width, height)
                before += polygon_area(poly)
                after += polygon_area(clipped)
                if len(clipped) >= 3 and polygon_area(clipped) > 0:
                    kept.append(clipped)
            box = _bounds(kept)
            visible = after / before if before > 0 else 0.0
            if box is None or visible < options.min_visibility or _area(box) < options.min_area:
                counts.dropped += 1
                continue
            new.polygons, new.box, new.box_source = kept, box, "polygon"
        elif obj.box is not None:
            if i not in boxes:
                counts.dropped += 1
                continue
            box = boxes[i]
            tight = None
            if obj_mask is not None:
                tight = mask_box(obj_mask)
            elif instance is not None and obj.instance is not None:
                tight = mask_box(instance.indices == obj.instance)
            if obj_mask is not None or (instance is not None and obj.instance is not None):
                if tight is None:
                    counts.dropped += 1
                    continue
                box, new.box_source = tight, "mask"
            new.box = box
        objects.append(new)
    return ImageLabels(objects, new_label_masks, dict(labels.meta), counts)


def _bounds(polys: list[np.ndarray]) -> tuple[float, float, float, float] | None:
    if not polys:
        return None
    pts = np.concatenate(polys)
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))


def _area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def objects_record(labels: ImageLabels) -> list[dict[str, Any]]:
    """What the manifest says was written: class, box (as written), where the box came from, and an
    oriented box's corners."""
    return [
        {
            "class": o.category,
            "box": [round(float(v), 2) for v in o.box] if o.box else None,
            "box_source": o.box_source,
            **({"corners": [[round(float(v), 2) for v in p] for p in o.corners]} if o.corners is not None else {}),
        }
        for o in labels.objects
    ]
