"""Any output's pixels as what a viewer shows: 8-bit RGB, letterboxed into a cell.

Shared by the sheet, the HTML tile files and the overlays (which need to know where pixels landed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import ImageFont


def _checkerboard(height: int, width: int, square: int = 8) -> np.ndarray:
    yy, xx = np.indices((height, width))
    light = ((yy // square + xx // square) % 2 == 0)[..., None]
    return np.where(light, np.uint8(204), np.uint8(153)).astype(np.float32)


def to_display(pixels: np.ndarray) -> np.ndarray:
    """Any output (gray/RGB/RGBA, 8/16-bit, float) as 8-bit RGB; alpha composited over a checkerboard."""
    arr = pixels
    if arr.dtype == np.uint16:
        arr = ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif arr.dtype.kind == "f":
        arr = np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return np.dstack([arr, arr, arr])
    if arr.shape[2] == 2:
        arr = arr[..., [0, 0, 0, 1]]
    if arr.shape[2] == 4:
        alpha = arr[..., 3:].astype(np.float32) / 255.0
        board = _checkerboard(*arr.shape[:2])
        mixed = arr[..., :3].astype(np.float32) * alpha + board * (1 - alpha)
        return np.round(mixed).astype(np.uint8)
    return np.ascontiguousarray(arr[..., :3])


@dataclass(frozen=True)
class Placement:
    """Where a tile's pixels landed: sheet position of its (0, 0) and the scale applied to it."""

    x: int
    y: int
    scale: float


def letterbox(rgb: np.ndarray, size: int, background: tuple[int, int, int]) -> tuple[np.ndarray, Placement]:
    """Fit into a size x size cell keeping the aspect ratio; area-averaged down, nearest up (no blur invented)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    small = cv2.resize(rgb, (nw, nh), interpolation=interp) if (nw, nh) != (w, h) else rgb
    cell = np.empty((size, size, 3), np.uint8)
    cell[:] = background
    x0, y0 = (size - nw) // 2, (size - nh) // 2
    cell[y0 : y0 + nh, x0 : x0 + nw] = small
    return cell, Placement(x0, y0, scale)


def load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in font at `size`: no font file to ship or find."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()
