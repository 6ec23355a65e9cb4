"""Encoding: pixels to the bytes of each output format, deterministic (see augcli.imageio)."""

from __future__ import annotations

import difflib
import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from augcli.errors import ImageWriteError
from augcli.imageio.decode import PLAIN_MODES, DecodedImage
from augcli.store.local import atomic_write_bytes

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class _Format:
    name: str
    suffixes: tuple[str, ...]
    alpha: bool
    sixteen_bit: bool
    lossy: bool


_FORMAT_LIST = (
    _Format("JPEG", (".jpg", ".jpeg"), alpha=False, sixteen_bit=False, lossy=True),
    _Format("PNG", (".png",), alpha=True, sixteen_bit=True, lossy=False),
    _Format("WEBP", (".webp",), alpha=True, sixteen_bit=False, lossy=True),
    _Format("TIFF", (".tif", ".tiff"), alpha=True, sixteen_bit=True, lossy=False),
    _Format("BMP", (".bmp",), alpha=False, sixteen_bit=False, lossy=False),
)
_FORMATS = {f.name: f for f in _FORMAT_LIST}
WRITE_FORMATS: dict[str, tuple[str, ...]] = {f.name: f.suffixes for f in _FORMAT_LIST}
_FORMAT_ALIASES = {s.lstrip("."): f.name for f in _FORMAT_LIST for s in f.suffixes} | {
    f.name.lower(): f.name for f in _FORMAT_LIST
}
# Read, never written: a phone camera's multi-picture JPEG is its first picture, written as JPEG.
_READ_ONLY_SUFFIXES = {".mpo": "JPEG"}
_SUFFIXES = {s: f.name for f in _FORMAT_LIST for s in f.suffixes} | _READ_ONLY_SUFFIXES
IMAGE_SUFFIXES = frozenset(_SUFFIXES)  # what counts as an image file: the one list
IMAGE_SUFFIX_LIST = " ".join(_SUFFIXES)  # for messages: ".jpg .jpeg .png ..."
_SHORT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp"}


def suffix_format(name: PathLike) -> str | None:
    """The recipe's name (`jpg`, `png`, `webp`, `tif`, `bmp`) of a file's format by its suffix."""
    fmt = _SUFFIXES.get(Path(name).suffix.lower())
    return _SHORT[fmt] if fmt is not None else None


DEFAULT_QUALITY = 95
_ICC_FORMATS = ("JPEG", "PNG", "WEBP")
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.10; older ones pick filters adaptively
    _PNG_PARAMS += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_PAETH]
_FLOAT_SLACK = 1e-3  # interpolation overshoot tolerated (and clipped) around [0, 1]


def write_image(
    path: PathLike,
    pixels: np.ndarray,
    *,
    format: str | None = None,
    quality: int | None = None,
    source: DecodedImage | None = None,
    fsync: bool = False,
) -> int:
    """Encode ``pixels`` and write them atomically to ``path``; returns the number of bytes written."""
    try:
        fmt = _resolve_format(path, format)
        data = encode_image(pixels, fmt, quality, source=source)
    except ImageWriteError as exc:
        raise ImageWriteError(exc.message, path) from None
    return atomic_write_bytes(path, data, fsync=fsync)


def encode_image(
    pixels: np.ndarray, format: str, quality: int | None = None, *, source: DecodedImage | None = None
) -> bytes:
    """The pure part of ``write_image``: array in, file bytes out (deterministic)."""
    spec = _format_spec(format)
    q = _quality(spec, quality)
    arr = _storable(pixels, spec, source)
    icc = _matching_icc(source, arr, stores_gray=spec.name != "WEBP") if spec.name in _ICC_FORMATS else None
    try:
        if spec.name == "WEBP" and icc is not None:  # OpenCV cannot write ICC; Pillow can
            out = io.BytesIO()
            Image.fromarray(arr).save(out, "WEBP", quality=q, icc_profile=icc)
            return out.getvalue()
        params = {
            "JPEG": [cv2.IMWRITE_JPEG_QUALITY, q],
            "WEBP": [cv2.IMWRITE_WEBP_QUALITY, q],
            "PNG": _PNG_PARAMS,
        }.get(spec.name, [])
        ok, buf = cv2.imencode(spec.suffixes[0], _to_opencv(arr), params)
    except (cv2.error, ValueError, OSError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ImageWriteError(f"cannot encode {spec.name}: {detail}") from None
    if not ok:
        raise ImageWriteError(f"cannot encode {spec.name}")
    data = buf.tobytes()
    if spec.name == "TIFF" and arr.ndim == 3 and arr.shape[2] == 4:
        data = _tiff_with_alpha_tag(data)
    if icc is not None:
        data = _png_with_icc(data, icc) if spec.name == "PNG" else _jpeg_with_icc(data, icc)
    return data


def _format_spec(format: str) -> _Format:
    name = _FORMAT_ALIASES.get(format.lower().lstrip("."))
    if name is None:
        valid = sorted(_FORMAT_ALIASES)
        close = difflib.get_close_matches(format.lower(), valid, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ImageWriteError(f"unknown image format {format!r} (valid: {', '.join(valid)}){hint}")
    return _FORMATS[name]


def _resolve_format(path: PathLike, format: str | None) -> str:
    suffix_format = _SUFFIXES.get(Path(path).suffix.lower())
    if format is None:
        if suffix_format is None:
            suffixes = ", ".join(_SUFFIXES)
            raise ImageWriteError(f"cannot tell the image format from the file name (use {suffixes})")
        return suffix_format
    name = _format_spec(format).name
    if suffix_format is not None and suffix_format != name:
        raise ImageWriteError(f"format {name} does not match the file extension {Path(path).suffix}")
    return name


def _quality(spec: _Format, quality: int | None) -> int:
    if not spec.lossy or quality is None:
        return DEFAULT_QUALITY
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise ImageWriteError(f"quality must be an integer from 1 to 100, got {quality!r}")
    return int(quality)


def _storable(pixels: np.ndarray, spec: _Format, source: DecodedImage | None) -> np.ndarray:
    """Shape, dtype and alpha the format can hold, by the rules in the module docstring."""
    if not isinstance(pixels, np.ndarray):
        raise ImageWriteError(f"pixels must be a numpy array, got {type(pixels).__name__}")
    arr = pixels
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or 0 in arr.shape[:2]:
        raise ImageWriteError(f"cannot store an array of shape {pixels.shape} as an image (HxW, HxWx3 or HxWx4)")
    if arr.dtype.kind == "f":
        arr = _from_float(arr, sixteen=spec.sixteen_bit and source is not None and source.bit_depth == 16)
    elif arr.dtype not in (np.uint8, np.uint16):
        raise ImageWriteError(f"cannot store pixels of type {arr.dtype} (uint8, uint16 or float in [0, 1])")
    if arr.dtype == np.uint16 and not spec.sixteen_bit:
        arr = ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 4 and not spec.alpha:
        arr = _over_white(arr)
    return np.ascontiguousarray(arr)


def _from_float(arr: np.ndarray, *, sixteen: bool) -> np.ndarray:
    if not np.isfinite(arr).all():
        raise ImageWriteError("float pixels contain NaN or infinity")
    low, high = float(arr.min()), float(arr.max())
    if low < -_FLOAT_SLACK or high > 1 + _FLOAT_SLACK:
        raise ImageWriteError(
            f"float pixels outside [0, 1] (min {low:.3g}, max {high:.3g}); "
            "end the recipe with FromFloat or drop Normalize before writing images"
        )
    top = 65535 if sixteen else 255
    return np.rint(np.clip(arr, 0, 1) * top).astype(np.uint16 if sixteen else np.uint8)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """Composite RGBA over white, rounding to nearest, in integers so it is exact and repeatable."""
    top = int(np.iinfo(rgba.dtype).max)
    wide = np.uint32 if rgba.dtype == np.uint8 else np.uint64
    rgb = rgba[..., :3].astype(wide)
    alpha = rgba[..., 3:].astype(wide)
    out = (rgb * alpha + top * (top - alpha) + top // 2) // top
    return out.astype(rgba.dtype)


def _to_opencv(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        return arr
    return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)


def _matching_icc(source: DecodedImage | None, arr: np.ndarray, *, stores_gray: bool) -> bytes | None:
    """The source's profile, if its colour space (ICC header bytes 16..20) still describes the file."""
    icc = source.icc_profile if source is not None else None
    if not icc or len(icc) < 20:
        return None
    space, gray = icc[16:20], arr.ndim == 2
    if gray and not stores_gray:
        return None  # WebP turns gray into RGB, which neither a GRAY nor the source's RGB profile describes
    return icc if (space == b"GRAY" and gray) or (space == b"RGB " and not gray) else None


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_with_icc(data: bytes, icc: bytes) -> bytes:
    """Insert an iCCP chunk right after IHDR (it must precede PLTE and IDAT)."""
    end_of_ihdr = 8 + 12 + 13
    chunk = _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc, 9))
    return data[:end_of_ihdr] + chunk + data[end_of_ihdr:]


def _jpeg_with_icc(data: bytes, icc: bytes) -> bytes:
    """Insert APP2 ICC_PROFILE segments (split at 65519 bytes, as the ICC spec says) after SOI/APP0."""
    pos = 2
    if data[2:4] == b"\xff\xe0":  # JFIF APP0 must stay first
        pos = 4 + struct.unpack(">H", data[4:6])[0]
    size = 65519
    parts = [icc[i : i + size] for i in range(0, len(icc), size)]
    if len(parts) > 255:
        return data  # a profile over 16 MB cannot be stored; the pixels still can
    segments = b"".join(
        b"\xff\xe2" + struct.pack(">H", 2 + 14 + len(part)) + b"ICC_PROFILE\x00" + bytes((i + 1, len(parts))) + part
        for i, part in enumerate(parts)
    )
    return data[:pos] + segments + data[pos:]


def _tiff_with_alpha_tag(data: bytes) -> bytes:
    """Add the ExtraSamples tag (unassociated alpha) that OpenCV leaves out of 4-sample TIFFs.

    Without it the file breaks the TIFF spec: libtiff warns and some readers drop the alpha. The
    first IFD is rewritten at the end of the file (data offsets are untouched) and the header
    pointed at it; the old IFD stays behind as a few hundred unused bytes.
    """
    order = "<" if data[:2] == b"II" else ">"
    magic, ifd = struct.unpack(order + "HI", data[2:8])
    if magic != 42:  # BigTIFF: OpenCV only writes it past 4 GB
        return data
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    entries = [data[ifd + 2 + 12 * i : ifd + 14 + 12 * i] for i in range(count)]
    if any(struct.unpack(order + "H", e[:2])[0] == 338 for e in entries):
        return data
    extra_samples = struct.pack(order + "HHIH", 338, 3, 1, 2) + b"\0\0"  # SHORT[1] = 2, left-justified
    entries = sorted([*entries, extra_samples], key=lambda e: struct.unpack(order + "H", e[:2])[0])
    next_ifd = data[ifd + 2 + 12 * count : ifd + 6 + 12 * count]
    pad = b"\0" * (len(data) % 2)  # IFDs start on a word boundary
    new_ifd = struct.pack(order + "H", count + 1) + b"".join(entries) + next_ifd
    return data[:4] + struct.pack(order + "I", len(data) + len(pad)) + data[8:] + pad + new_ifd


def unchanged_copy(format: str, source: DecodedImage) -> bytes | None:
    """The source's own bytes, when writing them is exactly "the image, unchanged" in `format`:
    same format, upright as stored (no EXIF turn to bake in), a plain mode. Otherwise None."""
    if source.data is None or source.exif_rotated or source.mode not in PLAIN_MODES:
        return None
    return source.data if _format_spec(format).name == source.format else None
