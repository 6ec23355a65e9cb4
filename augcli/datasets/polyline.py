"""Open line strips (LabelMe `line`/`linestrip`, CVAT `polyline`) cut to the image.

A line strip moves vertex by vertex (as keypoints); before it is written, each segment is clipped to
the image (Liang-Barsky), so a strip that leaves and comes back becomes several strips, and one
wholly outside none.
"""

from __future__ import annotations

import itertools

import numpy as np

from augcli.datasets.labels import LabelObject


def _clip_segment(a: np.ndarray, b: np.ndarray, width: float, height: float) -> tuple[np.ndarray, np.ndarray] | None:
    d = b - a
    t0, t1 = 0.0, 1.0
    for p, q in ((-d[0], a[0]), (d[0], width - a[0]), (-d[1], a[1]), (d[1], height - a[1])):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return a + t0 * d, a + t1 * d


def clip_polyline(points: np.ndarray, width: float, height: float) -> list[np.ndarray]:
    """The parts of an open line strip inside the image, each with at least two distinct points."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    pieces: list[list[np.ndarray]] = []
    current: list[np.ndarray] = []
    for a, b in itertools.pairwise(pts):
        seg = _clip_segment(a, b, width, height)
        if seg is None:
            if current:
                pieces.append(current)
            current = []
            continue
        start, end = seg
        if current and np.allclose(current[-1], start):
            current.append(end)
        else:
            if current:
                pieces.append(current)
            current = [start, end]
        if not np.allclose(end, b):  # the strip leaves the image here
            pieces.append(current)
            current = []
    if current:
        pieces.append(current)
    out = []
    for piece in pieces:
        arr = np.array(piece, np.float64)
        if len(arr) >= 2 and np.ptp(arr, axis=0).max() > 0:
            out.append(arr)
    return out


def is_line_strip(obj: LabelObject) -> bool:
    """Whether an object's keypoints are the vertices of an open line strip (drawn joined, not as dots)."""
    labelme = obj.extra.get("labelme")
    cvat = obj.extra.get("cvat")
    return (isinstance(labelme, dict) and labelme.get("shape_type") in ("line", "linestrip")) or (
        isinstance(cvat, dict) and cvat.get("tag") == "polyline"
    )
