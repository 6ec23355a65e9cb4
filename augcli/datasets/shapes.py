"""What an object becomes when a conversion's target holds less than its source (`run --to`).

Shared by the formats' conversion targets: a mask (COCO RLE, a VOC instance mask) becomes polygons
for a format that holds polygons, and a VOC segmentation-only image gets one object per instance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from augcli.datasets.labels import VOID, ImageLabels, LabelCounts, LabelObject, mask_box


def mask_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """Outer contours of a mask's regions (pixel corners), largest first; specks under 3 vertices dropped."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = [c.reshape(-1, 2).astype(np.float64) for c in contours if len(c) >= 3]
    return sorted(polys, key=len, reverse=True)


def object_shapes(labels: ImageLabels, obj: LabelObject) -> tuple[list[np.ndarray], np.ndarray | None]:
    """An object's polygons, and its mask (its own, or its region of a VOC instance mask)."""
    mask = obj.mask
    instance = labels.masks.get("SegmentationObject")
    if mask is None and instance is not None and obj.instance is not None:
        mask = instance.indices == obj.instance
    return list(obj.polygons), mask


def mask_objects(labels: ImageLabels, names: list[str]) -> list[LabelObject]:
    """Objects of a VOC segmentation-only image: one per instance of SegmentationObject, its class the
    most common SegmentationClass index under it (class_names.txt order, index 0 = background)."""
    if labels.objects or not {"SegmentationObject", "SegmentationClass"} <= set(labels.masks):
        return labels.objects
    instances, classes = labels.masks["SegmentationObject"].indices, labels.masks["SegmentationClass"].indices
    objects = []
    for value in np.unique(instances):
        if value in (0, VOID):
            continue
        region = instances == value
        cls = int(np.bincount(classes[region]).argmax())
        if cls in (0, VOID):
            continue
        box = mask_box(region)
        objects.append(LabelObject(names[cls] if cls < len(names) else str(cls), box, instance=int(value)))
    return objects


def unconverted_masks(labels: ImageLabels) -> LabelCounts:
    """The image's counts, plus its label masks that no object carries: a VOC class mask without an
    instance mask (SegmentationObject) has no objects to become (counted in `lost_masks`)."""
    lost = 0 if "SegmentationObject" in labels.masks else len(labels.masks)
    return replace(labels.counts, lost_masks=labels.counts.lost_masks + lost)


def polygon_objects(labels: ImageLabels, names: list[str], extra: Callable[[str], dict[str, Any]]) -> ImageLabels:
    """Labels for a format of boxes, polygons and keypoints: a mask becomes its outline's polygons, an
    oriented box the polygon of its corners."""
    objects = []
    for obj in mask_objects(labels, names):
        polygons, mask = object_shapes(labels, obj)
        if not polygons and mask is not None:
            polygons = mask_polygons(mask)
        if not polygons and obj.corners is not None:
            polygons = [np.asarray(obj.corners, np.float64)]
        objects.append(
            LabelObject(obj.category, obj.box, polygons=polygons, keypoints=obj.keypoints, extra=extra(obj.category))
        )
    return ImageLabels(objects, {}, {}, unconverted_masks(labels))
