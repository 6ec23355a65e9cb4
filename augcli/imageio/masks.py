"""Label masks: palette or grayscale index PNGs, read and written with their palette."""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from augcli.errors import ImageReadError
from augcli.imageio.decode import read_bytes, read_errors

PathLike = str | os.PathLike[str]


def read_index_mask(path: PathLike) -> tuple[np.ndarray, list[int] | None]:
    """A label mask as class/instance indices (``HxW`` uint8) and its palette, if it has one.

    Unlike ``read_image`` a palette ("P") PNG is NOT expanded to RGB: its indices are the labels
    (VOC: 0 background, 1..N classes or instances, 255 void). "L" masks are read as they are.
    """
    return decode_index_mask(read_bytes(path), path)


def decode_index_mask(data: bytes, path: PathLike = "<bytes>") -> tuple[np.ndarray, list[int] | None]:
    """``read_index_mask`` for bytes already in memory (``path`` is only for error messages)."""
    if not data:
        raise ImageReadError("empty file", path)
    with read_errors(path), Image.open(io.BytesIO(data)) as im:
        if im.mode == "P":
            palette = im.getpalette()
            return np.array(im, dtype=np.uint8), palette
        if im.mode in ("L", "1"):
            return np.array(im.convert("L"), dtype=np.uint8), None
        if im.mode in ("I;16", "I"):
            arr = np.array(im)
            if arr.max(initial=0) > 255:
                raise ImageReadError("label mask has indices above 255 (only 8-bit masks are supported)", path)
            return arr.astype(np.uint8), None
        raise ImageReadError(f"label mask must be a palette or grayscale image, not mode {im.mode}", path)


def encode_index_mask(indices: np.ndarray, palette: list[int] | None) -> bytes:
    """A ``HxW`` uint8 index mask as PNG: palette mode with ``palette`` when given, else grayscale."""
    arr = np.ascontiguousarray(indices, dtype=np.uint8)
    im = Image.frombytes("P" if palette is not None else "L", (arr.shape[1], arr.shape[0]), arr.tobytes())
    if palette is not None:
        im.putpalette(palette)
    out = io.BytesIO()
    im.save(out, "PNG", optimize=False)
    return out.getvalue()
