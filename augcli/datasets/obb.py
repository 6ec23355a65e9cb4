"""What the oriented-box formats (YOLO-OBB, DOTA) share: which corners an object is written as.

An object read from them has its corners. One converted from another format (`run --to yolo-obb`)
keeps what it had while it moves, and is written as: its corners; else the minimum-area rectangle
around its polygons (a mask's outline first); else its upright box. Keypoints have no place
in these formats.
"""

from __future__ import annotations

import numpy as np

from augcli.datasets.labels import ImageLabels, LabelCounts, LabelObject
from augcli.datasets.oriented import bounds, min_area_rectangle
from augcli.datasets.shapes import polygon_objects


def lost(kinds: set[str]) -> dict[str, str]:
    """What an oriented-box target does with the kinds it has no place for (`run --to` asks --lossy)."""
    why = {
        "polygons": "written as their minimum-area rectangles",
        "masks": "written as their outlines' minimum-area rectangles",
        "keypoints": "dropped",
    }
    return {kind: why[kind] for kind in kinds if kind in why}


def written_corners(obj: LabelObject, width: int, height: int, counts: LabelCounts) -> np.ndarray | None:
    """The four corners an object is written as (and its `corners`/`box` set to them); None: nothing.
    A polygon fitted by a rectangle is counted in `counts.lost_polygons` (a conversion's, with --lossy)."""
    corners = obj.corners
    if corners is None and obj.polygons:
        corners = min_area_rectangle(np.concatenate(obj.polygons))
        obj.box_source = "polygon"
        counts.lost_polygons += 1
    if corners is None and obj.box is not None:
        x0, y0, x1, y1 = obj.box
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    if corners is not None:
        obj.corners, obj.box = corners, bounds(corners)
    return corners


def to_oriented(labels: ImageLabels, names: list[str]) -> ImageLabels:
    """Labels for an oriented-box format: oriented boxes kept, polygons (and masks' outlines) and
    boxes kept as they are until written."""
    out = polygon_objects(labels, names, lambda name: {})
    for obj, new in zip(labels.objects, out.objects, strict=False):
        if obj.corners is not None:
            new.polygons, new.corners = [], obj.corners
        if new.keypoints is not None:
            out.counts.lost_keypoints += 1  # a conversion's (--lossy): no place for keypoints
        new.keypoints = None
    return out
