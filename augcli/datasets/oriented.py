"""Oriented boxes: augcli's own geometry (Albumentations 2.0.8 has none).

An oriented box travels as its four corners (as keypoints, so every geometric transform moves them
exactly as it moves the pixels) and is written back as a rectangle: after a transform the corners
may form a parallelogram (shear, non-uniform scale) or a quadrilateral cut by the image edge, and
`fit_rectangle` turns that into the smallest-area rectangle that holds it *and lies inside the
image* (a YOLO-OBB reader refuses coordinates outside 0..1). Corners are kept clockwise as seen on
screen (y down), the first one where the source's first corner went (DOTA's first corner matters).
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-6


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain: the hull's vertices, counter-clockwise in x-right/y-up terms."""
    pts = sorted({(float(x), float(y)) for x, y in np.asarray(points, np.float64).reshape(-1, 2)})
    if len(pts) <= 2:
        return np.array(pts, np.float64).reshape(-1, 2)

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2 and _cross(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    return np.array(half(pts) + half(pts[::-1]), np.float64)


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _rectangle_at(hull: np.ndarray, angle: float) -> tuple[np.ndarray, float]:
    """The bounding rectangle of `hull` with sides at `angle` (radians): corners, area."""
    c, s = math.cos(angle), math.sin(angle)
    u = hull @ np.array([c, s])  # along the first side
    v = hull @ np.array([-s, c])  # along the second
    u0, u1, v0, v1 = u.min(), u.max(), v.min(), v.max()
    axes = np.array([[c, s], [-s, c]])
    corners = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]]) @ axes
    return corners, float((u1 - u0) * (v1 - v0))


def fit_rectangle(points: np.ndarray, width: float, height: float) -> np.ndarray | None:
    """The minimum-area rectangle around `points` among those inside the image (0..width, 0..height).

    Candidates are the hull's edge directions (rotating calipers: the unconstrained minimum lies on
    one) and the image's axes, which always fit when the points are inside the image. None when the
    points span no area.
    """
    hull = convex_hull(points)
    if len(hull) < 3:
        return None
    edges = np.roll(hull, -1, axis=0) - hull
    angles = {0.0, *(math.atan2(dy, dx) % (math.pi / 2) for dx, dy in edges if abs(dx) + abs(dy) > _EPS)}
    tol = _EPS * max(width, height, 1.0)
    best: tuple[float, np.ndarray] | None = None
    for angle in sorted(angles):
        corners, area = _rectangle_at(hull, angle)
        inside = (
            corners[:, 0].min() >= -tol
            and corners[:, 1].min() >= -tol
            and corners[:, 0].max() <= width + tol
            and corners[:, 1].max() <= height + tol
        )
        if inside and area > 0 and (best is None or area < best[0] * (1 - 1e-9)):
            best = (area, corners)
    if best is None:
        return None
    corners = best[1]
    corners[:, 0] = np.clip(corners[:, 0], 0.0, width)
    corners[:, 1] = np.clip(corners[:, 1], 0.0, height)
    return corners


def clockwise(corners: np.ndarray, first: np.ndarray | None = None) -> np.ndarray:
    """Corners clockwise on screen (y down), starting at the one nearest `first` (else as they are)."""
    c = np.asarray(corners, np.float64).reshape(-1, 2)
    if signed_area(c) < 0:
        c = c[::-1]
    if first is not None:
        start = int(np.argmin(((c - np.asarray(first, np.float64)) ** 2).sum(axis=1)))
        c = np.roll(c, -start, axis=0)
    return c


def signed_area(points: np.ndarray) -> float:
    """Shoelace area; positive when the points run clockwise on screen (y down)."""
    x, y = points[:, 0], points[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2


def from_rotated(xtl: float, ytl: float, xbr: float, ybr: float, degrees: float) -> np.ndarray:
    """CVAT's rotated box (the unrotated box, turned `degrees` clockwise about its centre) as corners."""
    cx, cy = (xtl + xbr) / 2, (ytl + ybr) / 2
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    out = []
    for x, y in ((xtl, ytl), (xbr, ytl), (xbr, ybr), (xtl, ybr)):
        dx, dy = x - cx, y - cy
        out.append((cx + dx * c - dy * s, cy + dx * s + dy * c))
    return np.array(out, np.float64)


def to_rotated(corners: np.ndarray) -> tuple[float, float, float, float, float]:
    """Clockwise corners as CVAT's (xtl, ytl, xbr, ybr, rotation in degrees, 0 <= r < 360): the first
    corner is the unrotated box's top-left, the first side its top."""
    c = np.asarray(corners, np.float64)
    cx, cy = c.mean(axis=0)
    w = float(np.hypot(*(c[1] - c[0])))
    h = float(np.hypot(*(c[3] - c[0])))
    degrees = math.degrees(math.atan2(c[1][1] - c[0][1], c[1][0] - c[0][0])) % 360.0
    if degrees > 360.0 - 1e-9:
        degrees = 0.0
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, degrees)


def bounds(corners: np.ndarray) -> tuple[float, float, float, float]:
    c = np.asarray(corners, np.float64)
    return (float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max()))
