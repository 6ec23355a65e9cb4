"""Oriented boxes: augcli's own geometry (Albumentations 2.0.8 has none).

An oriented box travels as its four corners (as keypoints, so every geometric transform moves them
exactly as it moves the pixels) and is written back as a rectangle: after a transform the corners
may form a parallelogram (shear, non-uniform scale), or a polygon once the part outside the image
is cut off, and `min_area_rectangle` turns that into the smallest rectangle that holds it. That
rectangle may reach a little past the image edge (a sheared box near it; a box cut by it at an
angle): requiring it inside would turn every box cut by the edge upright, since only an upright
rectangle can hold a polygon with a side on the edge. Corners are kept clockwise as seen on screen
(y down), the first one where the source's first corner went (DOTA's first corner matters).
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


def min_area_rectangle(points: np.ndarray) -> np.ndarray | None:
    """The minimum-area rectangle around `points` (rotating calipers: one of its sides lies along an
    edge of the convex hull); None when the points span no area."""
    hull = convex_hull(points)
    if len(hull) < 3:
        return None
    edges = np.roll(hull, -1, axis=0) - hull
    edges = edges[np.abs(edges).sum(axis=1) > _EPS]
    angles = np.arctan2(edges[:, 1], edges[:, 0])
    c, s = np.cos(angles), np.sin(angles)
    u = hull[:, :1] * c + hull[:, 1:] * s  # (n, m): along each candidate's first side
    v = -hull[:, :1] * s + hull[:, 1:] * c  # along its second
    u0, u1, v0, v1 = u.min(axis=0), u.max(axis=0), v.min(axis=0), v.max(axis=0)
    areas = (u1 - u0) * (v1 - v0)
    best = int(np.argmin(areas))
    if areas[best] <= 0:
        return None
    uu = np.array([u0[best], u1[best], u1[best], u0[best]])
    vv = np.array([v0[best], v0[best], v1[best], v1[best]])
    return np.column_stack([uu * c[best] - vv * s[best], uu * s[best] + vv * c[best]])


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
