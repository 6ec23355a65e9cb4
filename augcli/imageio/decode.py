"""Decoding: every supported file to pixels as augcli processes them (see augcli.imageio)."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

import cv2
import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from augcli.errors import ImageReadError

PathLike = str | os.PathLike[str]

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated input is an error, never a grey-filled image

READ_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")
_PILLOW_FORMATS = {"MPO": "JPEG"}  # camera JPEGs with a multi-picture index; the first picture is the image

_ORIENTATION_TAG = 0x0112
_IMREAD_COLOR_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)  # OpenCV >= 4.10 converts to RGB while decoding


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """Upright pixels plus what the source was, so a writer can keep depth and colour profile."""

    pixels: np.ndarray
    mode: str
    format: str
    bit_depth: int
    exif_rotated: bool
    icc_profile: bytes | None
    data: bytes | None = field(default=None, repr=False)  # the file's bytes, for an unchanged copy
    scale: int = 1  # decoded at 1/scale in the DCT domain (shrink-on-load, augcli.shrink); 1 = exact


# Modes a reader gets back as they are; palette, CMYK, 1-bit and the like are normalised on write.
PLAIN_MODES = ("L", "LA", "RGB", "RGBA", "I;16")


# --------------------------------------------------------------------------- decode


# (upright width, upright height) -> 1, 2, 4 or 8: the scale a JPEG may be decoded at (augcli.shrink)
Shrink = Callable[[int, int], int]


def read_image(path: PathLike, *, shrink: Shrink | None = None) -> DecodedImage:
    """Decode ``path`` upright into an RGB(A)/gray uint8 or uint16 array; ImageReadError if it cannot.
    With ``shrink``, a JPEG that OpenCV decodes may come back at the reduced scale it picks."""
    return decode_image(read_bytes(path), path, shrink=shrink)


def decode_image(data: bytes, name: PathLike = "<bytes>", *, shrink: Shrink | None = None) -> DecodedImage:
    """``read_image`` for bytes already in memory (``name`` is only for error messages)."""
    if not data:
        raise ImageReadError("empty file", name)
    with read_errors(name), Image.open(io.BytesIO(data)) as im:
        return _decode(im, data, shrink)


def image_size(path: PathLike) -> tuple[int, int]:
    """``(width, height)`` as ``read_image`` would return it, reading only the headers."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - opened apart so that open errors keep their own reasons
    except OSError as exc:
        raise ImageReadError(_os_reason(exc), path) from None
    with f, read_errors(path):
        if os.fstat(f.fileno()).st_size == 0:
            raise ImageReadError("empty file", path)
        with Image.open(f) as im:
            _check_format(im)
            png = None
            if im.format == "PNG":
                with open(path, "rb") as g:  # its own handle: Pillow may still read from f
                    png = _walk_png(g)
            width, height = im.size
            if _orientation(im, png) >= 5:  # 5..8 swap the axes
                width, height = height, width
            return width, height


def read_bytes(path: PathLike) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ImageReadError(_os_reason(exc), path) from None
    if not data:
        raise ImageReadError("empty file", path)
    return data


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read file: {exc.strerror or exc}"


@contextlib.contextmanager
def read_errors(path: PathLike) -> Iterator[None]:
    """Translate the many ways Pillow/OpenCV/zlib fail into one ImageReadError with a short reason."""
    try:
        yield
    except ImageReadError as exc:
        raise ImageReadError(exc.message, path) from None
    except UnidentifiedImageError:
        raise ImageReadError("not an image (cannot identify format)", path) from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"image too large: {exc}", path) from None
    except MemoryError:
        raise ImageReadError("image too large: out of memory while decoding", path) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, cv2.error) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = "truncated image" if "truncated" in message.lower() else "corrupt image"
        raise ImageReadError(f"{kind}: {message}", path) from None


def _check_format(im: Image.Image) -> str:
    fmt = _PILLOW_FORMATS.get(im.format or "", im.format or "")
    if fmt not in READ_FORMATS:
        raise ImageReadError(f"unsupported format {fmt} (readable: {', '.join(READ_FORMATS)})")
    return fmt


def _decode(im: Image.Image, data: bytes, shrink: Shrink | None = None) -> DecodedImage:
    fmt = _check_format(im)
    png = _walk_png(io.BytesIO(data)) if fmt == "PNG" else None
    orientation = _orientation(im, png)
    icc = im.info.get("icc_profile") or None
    mode = im.mode
    scale = 1
    if shrink is not None and fmt == "JPEG":
        scale = shrink(*(im.size[::-1] if orientation >= 5 else im.size))
    pixels = _decode_with_opencv(im, fmt, data, png, scale)
    if pixels is None:
        pixels, icc = _decode_with_pillow(im)
        scale = 1
    else:
        if png is not None and png.bit_depth == 16:
            mode = {0: "I;16", 2: "RGB", 4: "LA", 6: "RGBA"}.get(png.color_type, mode)
        pixels = _add_trns_alpha(pixels, im.info.get("transparency"))
    if orientation != 1:
        pixels = np.ascontiguousarray(_ORIENT[orientation](pixels))
    bit_depth = 16 if pixels.dtype == np.uint16 else 8
    own = data if im.format != "MPO" else None  # an MPO's bytes hold its other pictures: never copied as is
    return DecodedImage(pixels, mode, fmt, bit_depth, orientation != 1, icc, own, scale)


def _decode_with_opencv(
    im: Image.Image, fmt: str, data: bytes, png: _PngInfo | None, scale: int = 1
) -> np.ndarray | None:
    """OpenCV where it is faster with identical pixels, or where Pillow would lose bits; else None."""
    buf = np.frombuffer(data, np.uint8)
    if fmt == "JPEG":
        # Only a file that ends with EOI: OpenCV < 5 decodes a truncated JPEG with a warning.
        if im.mode not in ("L", "RGB") or not data.endswith(b"\xff\xd9"):
            return None
        return _imdecode(buf, gray=im.mode == "L", required=False, scale=scale)
    if png is not None:
        if not png.complete:
            return None  # let Pillow say what is wrong
        if png.iccp is not None:  # libpng prints warnings about odd profiles; Pillow already has it
            buf = np.frombuffer(data[: png.iccp[0]] + data[png.iccp[1] :], np.uint8)
        if png.bit_depth == 16:
            return _from_opencv(_imdecode(buf, unchanged=True, required=True))
        if png.bit_depth == 8 and png.color_type in (0, 2, 6) and "transparency" not in im.info:
            if png.color_type == 6:
                return _from_opencv(_imdecode(buf, unchanged=True, required=False))
            return _imdecode(buf, gray=png.color_type == 0, required=False)
        return None
    if fmt == "TIFF" and im.mode in ("RGB", "RGBA", "RGBX", "LA"):
        bits = im.tag_v2.get(258, (8,))  # type: ignore[attr-defined]
        if 16 in (bits if isinstance(bits, tuple) else (bits,)):
            return _from_opencv(_imdecode(buf, unchanged=True, required=True))
    return None


def _imdecode(
    buf: np.ndarray, *, gray: bool = False, unchanged: bool = False, required: bool, scale: int = 1
) -> np.ndarray | None:
    """cv2.imdecode without OpenCV's own EXIF rotation (ours is applied once, for every path);
    `scale` 2/4/8 decodes a JPEG reduced in the DCT domain (IMREAD_REDUCED_*)."""
    reduced = {1: 0, 2: 16, 4: 32, 8: 64}[scale]  # IMREAD_REDUCED_GRAYSCALE_{2,4,8}
    if unchanged:  # IMREAD_UNCHANGED already ignores orientation
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    elif gray:
        out = cv2.imdecode(buf, (reduced or cv2.IMREAD_GRAYSCALE) | cv2.IMREAD_IGNORE_ORIENTATION)
    elif _IMREAD_COLOR_RGB is not None:
        out = cv2.imdecode(buf, _IMREAD_COLOR_RGB | reduced | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR | reduced | cv2.IMREAD_IGNORE_ORIENTATION)
        out = None if out is None else cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
    if out is None and required:
        raise ImageReadError("corrupt image: OpenCV could not decode it")
    return out


def _from_opencv(arr: np.ndarray | None) -> np.ndarray | None:
    """OpenCV's IMREAD_UNCHANGED layout (BGR, BGRA, gray+alpha) to RGB / RGBA / gray."""
    if arr is None or arr.ndim == 2:
        return arr
    channels = arr.shape[2]
    if channels == 1:
        return arr[..., 0]
    if channels == 2:  # gray + alpha
        return np.ascontiguousarray(arr[..., [0, 0, 0, 1]])
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if channels == 3 else cv2.COLOR_BGRA2RGBA)


_TO_RGBA_MODES = {"LA", "La", "PA", "RGBa"}
_TO_RGB_MODES = {"CMYK", "YCbCr", "RGBX"}
_UINT16_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}


def _decode_with_pillow(im: Image.Image) -> tuple[np.ndarray, bytes | None]:
    """Everything else, by Pillow, fully decoded (``load`` raises on truncation)."""
    im.load()
    mode = im.mode
    icc = im.info.get("icc_profile") or None
    trns = im.info.get("transparency")
    if mode in _UINT16_MODES:
        return _add_trns_alpha(np.asarray(im).astype(np.uint16), trns), icc
    if mode == "I":
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ImageReadError("unsupported colour mode I: 32-bit values outside 0..65535")
        return _add_trns_alpha(arr.astype(np.uint16), trns), icc
    if mode == "1":
        return np.array(im.convert("L")), icc
    if mode == "P":
        return np.array(im.convert("RGBA" if im.has_transparency_data else "RGB")), icc
    if mode in ("L", "RGB"):
        return np.array(im.convert("RGBA") if trns is not None else im), icc
    if mode == "RGBA":
        return np.array(im), icc
    if mode in _TO_RGBA_MODES:
        return np.array(im.convert("RGBA")), icc  # a GRAY profile is dropped when writing RGBA
    if mode in _TO_RGB_MODES:
        return np.array(im.convert("RGB")), icc if mode == "RGBX" else None  # a CMYK profile no longer fits
    hint = " (a float image has no agreed pixel range; convert it to 16-bit first)" if mode == "F" else ""
    raise ImageReadError(f"unsupported colour mode {mode}{hint}")


def _add_trns_alpha(pixels: np.ndarray, trns: object) -> np.ndarray:
    """A tRNS colour key on a gray/RGB image becomes a real alpha channel (OpenCV drops or adds it)."""
    if trns is None or (pixels.ndim == 3 and pixels.shape[2] == 4):
        return pixels
    top = np.iinfo(pixels.dtype).max
    if pixels.ndim == 2 and isinstance(trns, int):
        alpha = np.where(pixels == trns, 0, top).astype(pixels.dtype)
        return np.dstack([pixels, pixels, pixels, alpha])
    if pixels.ndim == 3 and isinstance(trns, tuple) and len(trns) == 3:
        alpha = np.where((pixels == np.array(trns, dtype=pixels.dtype)).all(axis=2), 0, top)
        return np.dstack([pixels, alpha.astype(pixels.dtype)])
    return pixels


# EXIF orientation -> what makes the stored pixels upright (Pillow's exif_transpose, in numpy).
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _orientation(im: Image.Image, png: _PngInfo | None) -> int:
    """The EXIF orientation (1..8) from headers only; junk EXIF counts as 1 rather than failing a dataset."""
    if png is not None and "exif" not in im.info:
        if png.text_after_idat:
            im.load()  # Pillow reads trailing text chunks (XMP, raw EXIF profile) only while decoding
        else:
            # Pillow's PNG getexif() decodes the whole image to look for a late eXIf chunk; the walk
            # already found it (or found none), so hand it over, as Pillow itself would store it.
            im.info["exif"] = png.exif
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # Pillow raises many kinds on malformed EXIF
        return 1
    return value if isinstance(value, int) and value in _ORIENT else 1


@dataclass
class _PngInfo:
    bit_depth: int = 0
    color_type: int = 0
    complete: bool = False  # reached IEND
    exif: bytes | None = None
    iccp: tuple[int, int] | None = None  # byte span of the iCCP chunk
    text_after_idat: bool = False


def _walk_png(f: IO[bytes]) -> _PngInfo:
    """Chunk headers only (seeking over data): depth, colour type, eXIf anywhere, completeness."""
    info = _PngInfo()
    f.seek(8)
    seen_idat = False
    while True:
        start = f.tell()
        header = f.read(8)
        if len(header) < 8:
            return info
        length, kind = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF:
            return info
        if kind == b"IHDR":
            ihdr = f.read(length)
            if len(ihdr) >= 10:
                info.bit_depth, info.color_type = ihdr[8], ihdr[9]
            f.seek(4, 1)
        elif kind == b"eXIf":
            info.exif = f.read(length)
            f.seek(4, 1)
        else:
            if kind == b"IDAT":
                seen_idat = True
            elif kind in (b"tEXt", b"zTXt", b"iTXt") and seen_idat:
                info.text_after_idat = True
            elif kind == b"iCCP":
                info.iccp = (start, start + 12 + length)
            elif kind == b"IEND":
                info.complete = True
                return info
            f.seek(length + 4, 1)
