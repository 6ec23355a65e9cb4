"""imageio: what a user would notice: upright pixels, kept depth and alpha, clean errors, safe writes."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from augcli import imageio
from augcli.errors import ImageReadError, ImageWriteError
from augcli.imageio import DecodedImage, encode_image, image_size, read_image, write_image
from augcli.store.local import atomic_write_bytes, atomic_write_text

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def chelsea() -> np.ndarray:
    """A real RGB photo (451x300, with an embedded ICC profile)."""
    return np.asarray(Image.open(DATA / "chelsea.png").convert("RGB"))


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    """A real 8-bit grayscale photo, cut down to keep the tests fast."""
    return np.asarray(Image.open(DATA / "camera.png"))[::2, ::2].copy()


def _pillow_upright(path: Path) -> np.ndarray:
    return np.asarray(ImageOps.exif_transpose(Image.open(path)))


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, payload in chunks:
        out += struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    return out


def _rgb16(chelsea: np.ndarray) -> np.ndarray:
    """16-bit RGB whose low bytes matter, so an 8-bit detour anywhere would show."""
    return (chelsea.astype(np.uint16) << 8) | chelsea[::-1, ::-1]


# --------------------------------------------------------------------------- decoding: the fast path


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_opencv_fast_path_gives_pillows_pixels(tmp_path: Path, chelsea: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"cat{suffix}"
    Image.fromarray(chelsea).save(path, quality=90)
    decoded = read_image(path)
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape == (300, 451, 3)
    np.testing.assert_array_equal(decoded.pixels, _pillow_upright(path))
    assert decoded.format == ("JPEG" if suffix == ".jpg" else "PNG")
    assert decoded.mode == "RGB" and decoded.bit_depth == 8 and not decoded.exif_rotated


def test_grayscale_stays_one_channel(tmp_path: Path, camera: np.ndarray) -> None:
    Image.fromarray(camera).save(tmp_path / "g.jpg", quality=95)
    for path in (DATA / "camera.png", tmp_path / "g.jpg"):
        decoded = read_image(path)
        assert decoded.pixels.ndim == 2 and decoded.mode == "L"
        np.testing.assert_array_equal(decoded.pixels, _pillow_upright(path))


def test_odd_icc_profile_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    """libpng complains on stderr about this scan's profile; a worker must not spam the terminal."""
    decoded = read_image(DATA / "page.png")
    assert decoded.pixels.shape == (191, 384) and decoded.icc_profile is not None
    assert capfd.readouterr().err == ""


def test_bilevel_becomes_0_and_255(tmp_path: Path, camera: np.ndarray) -> None:
    Image.fromarray(camera).convert("1").save(tmp_path / "fax.tif", compression="group4")
    decoded = read_image(tmp_path / "fax.tif")
    assert decoded.mode == "1" and decoded.pixels.dtype == np.uint8
    assert set(np.unique(decoded.pixels)) == {0, 255}


def test_decoded_pixels_are_writable_and_contiguous(chelsea: np.ndarray) -> None:
    pixels = read_image(DATA / "hopper_orientation_6.jpg").pixels
    assert pixels.flags.writeable and pixels.flags.c_contiguous


# --------------------------------------------------------------------------- EXIF orientation

# The stored pixels for orientation k are the upright ones turned the other way.
_STORE: dict[int, Image.Transpose | None] = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _oriented(upright: np.ndarray, k: int, path: Path, **save: Any) -> None:
    stored = Image.fromarray(upright)
    method = _STORE[k]
    if method is not None:
        stored = stored.transpose(method)
    exif = Image.Exif()
    exif[0x0112] = k
    stored.save(path, exif=exif, **save)


@pytest.fixture(scope="module")
def marked(chelsea: np.ndarray) -> np.ndarray:
    """A non-square crop of a real photo with a red marker in its top-left corner."""
    upright = chelsea[40:136, 100:228].copy()  # 96 x 128
    upright[:12, :12] = (255, 0, 0)
    return upright


@pytest.mark.parametrize("k", range(1, 9))
def test_every_exif_orientation_reads_upright_png(tmp_path: Path, marked: np.ndarray, k: int) -> None:
    path = tmp_path / f"o{k}.png"
    _oriented(marked, k, path)
    decoded = read_image(path)
    np.testing.assert_array_equal(decoded.pixels, marked)
    assert decoded.exif_rotated is (k != 1)
    assert image_size(path) == (128, 96)


@pytest.mark.parametrize("k", range(1, 9))
def test_every_exif_orientation_reads_upright_jpeg(tmp_path: Path, marked: np.ndarray, k: int) -> None:
    path = tmp_path / f"o{k}.jpg"
    _oriented(marked, k, path, quality=100, subsampling=0)
    decoded = read_image(path)
    assert decoded.pixels.shape == marked.shape
    assert np.abs(decoded.pixels.astype(int) - marked).mean() < 1.5
    assert tuple(decoded.pixels[3, 3]) == pytest.approx((255, 0, 0), abs=8)  # the marker is top-left
    np.testing.assert_array_equal(decoded.pixels, _pillow_upright(path))
    assert image_size(path) == (128, 96)


def test_real_camera_orientation_6(tmp_path: Path) -> None:
    decoded = read_image(DATA / "hopper_orientation_6.jpg")
    assert decoded.exif_rotated
    np.testing.assert_array_equal(decoded.pixels, _pillow_upright(DATA / "hopper_orientation_6.jpg"))
    write_image(tmp_path / "out.jpg", decoded.pixels, source=decoded)
    assert 0x0112 not in Image.open(tmp_path / "out.jpg").getexif()  # baked in, not applied twice


def test_png_exif_after_image_data_is_honoured(tmp_path: Path, marked: np.ndarray) -> None:
    """PNG lets eXIf follow IDAT; Pillow only finds it after a full decode, augcli by walking chunks."""
    _oriented(marked, 6, tmp_path / "early.png")
    chunks = _png_chunks((tmp_path / "early.png").read_bytes())
    exif = [c for c in chunks if c[0] == b"eXIf"]
    rest = [c for c in chunks if c[0] != b"eXIf"]
    late = tmp_path / "late.png"
    late.write_bytes(_png_from_chunks(rest[:-1] + exif + rest[-1:]))
    assert image_size(late) == (128, 96)
    np.testing.assert_array_equal(read_image(late).pixels, marked)


# --------------------------------------------------------------------------- depth, alpha, palette, CMYK


def test_16bit_rgb_png_round_trips_exactly(tmp_path: Path, chelsea: np.ndarray) -> None:
    rgb16 = _rgb16(chelsea)
    cv2.imwrite(str(tmp_path / "deep.png"), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    decoded = read_image(tmp_path / "deep.png")
    assert decoded.pixels.dtype == np.uint16 and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, rgb16)
    write_image(tmp_path / "again.png", decoded.pixels, source=decoded)
    np.testing.assert_array_equal(read_image(tmp_path / "again.png").pixels, rgb16)


def test_16bit_rgba_png_and_tiff_keep_16_bits(tmp_path: Path, chelsea: np.ndarray) -> None:
    alpha = np.linspace(0, 65535, chelsea.shape[1], dtype=np.uint16)[None, :].repeat(300, 0)
    rgba16 = np.dstack([_rgb16(chelsea), alpha])
    for name in ("deep.png", "deep.tif"):
        write_image(tmp_path / name, rgba16)
        decoded = read_image(tmp_path / name)
        assert decoded.bit_depth == 16
        np.testing.assert_array_equal(decoded.pixels, rgba16)


def test_rgba_tiff_marks_its_alpha(tmp_path: Path, chelsea: np.ndarray, capfd: pytest.CaptureFixture[str]) -> None:
    """OpenCV alone writes 4-sample TIFFs without ExtraSamples; readers then warn or drop alpha."""
    rgba = np.dstack([chelsea, np.full(chelsea.shape[:2], 90, np.uint8)])
    for dtype in (np.uint8, np.uint16):
        pixels = rgba.astype(dtype) * (257 if dtype == np.uint16 else 1)
        write_image(tmp_path / "a.tif", pixels)
        with Image.open(tmp_path / "a.tif") as im:
            assert im.tag_v2[338] in (2, (2,)) and im.mode == "RGBA"
        np.testing.assert_array_equal(read_image(tmp_path / "a.tif").pixels, pixels)
    assert "TIFF" not in capfd.readouterr().err


def test_16bit_grayscale_png_and_tiff(tmp_path: Path, camera: np.ndarray) -> None:
    gray16 = (camera.astype(np.uint16) << 8) | camera.T[: camera.shape[0], : camera.shape[1]]
    cv2.imwrite(str(tmp_path / "g16.png"), gray16)
    Image.fromarray(gray16).save(tmp_path / "g16.tif")  # Pillow writes I;16 TIFF
    for name in ("g16.png", "g16.tif"):
        decoded = read_image(tmp_path / name)
        assert decoded.mode == "I;16" and decoded.pixels.dtype == np.uint16 and decoded.pixels.ndim == 2
        np.testing.assert_array_equal(decoded.pixels, gray16)
    write_image(tmp_path / "out.tif", gray16)
    np.testing.assert_array_equal(read_image(tmp_path / "out.tif").pixels, gray16)


def test_16bit_to_8bit_formats_scales_by_257(tmp_path: Path, camera: np.ndarray) -> None:
    gray16 = camera.astype(np.uint16) * 257 + np.where(camera < 255, 128, 0).astype(np.uint16)  # rounds down
    write_image(tmp_path / "eight.png", gray16[..., None].repeat(3, 2), format="png")
    write_image(tmp_path / "eight.bmp", gray16)
    np.testing.assert_array_equal(read_image(tmp_path / "eight.bmp").pixels, camera)
    assert read_image(tmp_path / "eight.png").bit_depth == 16  # PNG kept them


def test_16bit_grayscale_with_trns_gets_alpha() -> None:
    decoded = read_image(DATA / "i_trns.png")
    trns = Image.open(DATA / "i_trns.png").info["transparency"]
    gray = np.asarray(Image.open(DATA / "i_trns.png"))
    assert decoded.pixels.dtype == np.uint16 and decoded.pixels.shape == (64, 64, 4)
    np.testing.assert_array_equal(decoded.pixels[..., 0], gray)
    np.testing.assert_array_equal(decoded.pixels[..., 3] == 0, gray == trns)


def test_palette_with_transparency_becomes_rgba() -> None:
    decoded = read_image(DATA / "p_trns_single.png")
    assert decoded.mode == "P" and decoded.pixels.shape == (64, 64, 4)
    np.testing.assert_array_equal(decoded.pixels, np.asarray(Image.open(DATA / "p_trns_single.png").convert("RGBA")))
    assert (decoded.pixels[..., 3] == 0).any() and (decoded.pixels[..., 3] == 255).any()


def test_palette_without_transparency_becomes_rgb(tmp_path: Path, chelsea: np.ndarray) -> None:
    Image.fromarray(chelsea).quantize(64).save(tmp_path / "p.png")
    decoded = read_image(tmp_path / "p.png")
    assert decoded.mode == "P" and decoded.pixels.shape == (300, 451, 3)


def test_rgba_png_round_trips(tmp_path: Path, chelsea: np.ndarray) -> None:
    alpha = np.linspace(0, 255, 451, dtype=np.uint8)[None, :].repeat(300, 0)
    rgba = np.dstack([chelsea, alpha])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    decoded = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(decoded.pixels, rgba)
    write_image(tmp_path / "b.png", decoded.pixels)
    np.testing.assert_array_equal(read_image(tmp_path / "b.png").pixels, rgba)


def test_gray_with_alpha_becomes_rgba(tmp_path: Path, camera: np.ndarray) -> None:
    alpha = np.where(camera > 128, 255, 60).astype(np.uint8)
    Image.fromarray(np.dstack([camera, alpha]), "LA").save(tmp_path / "la.png")
    decoded = read_image(tmp_path / "la.png")
    assert decoded.mode == "LA" and decoded.pixels.shape == (*camera.shape, 4)
    for channel in range(3):
        np.testing.assert_array_equal(decoded.pixels[..., channel], camera)
    np.testing.assert_array_equal(decoded.pixels[..., 3], alpha)


def test_webp_with_alpha() -> None:
    decoded = read_image(DATA / "transparent.webp")
    assert decoded.format == "WEBP" and decoded.pixels.shape == (150, 200, 4)
    assert (decoded.pixels[..., 3] < 255).any()


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path, chelsea: np.ndarray) -> None:
    Image.fromarray(chelsea).convert("CMYK").save(tmp_path / "print.jpg", quality=95)
    decoded = read_image(tmp_path / "print.jpg")
    assert decoded.mode == "CMYK" and decoded.pixels.shape == (300, 451, 3)
    assert np.abs(decoded.pixels.astype(int) - chelsea).mean() < 4  # not inverted, not garbled


def test_progressive_jpeg(tmp_path: Path, chelsea: np.ndarray) -> None:
    Image.fromarray(chelsea).save(tmp_path / "p.jpg", progressive=True, quality=90)
    np.testing.assert_array_equal(read_image(tmp_path / "p.jpg").pixels, _pillow_upright(tmp_path / "p.jpg"))


def test_content_decides_not_the_extension(tmp_path: Path, chelsea: np.ndarray) -> None:
    Image.fromarray(chelsea).save(tmp_path / "really_a_jpeg.png", format="JPEG")
    decoded = read_image(tmp_path / "really_a_jpeg.png")
    assert decoded.format == "JPEG" and decoded.pixels.shape == (300, 451, 3)


def test_float_tiff_is_rejected_with_a_reason(tmp_path: Path, camera: np.ndarray) -> None:
    Image.fromarray(camera.astype(np.float32) / 255).save(tmp_path / "depth.tif")
    with pytest.raises(ImageReadError, match="unsupported colour mode F"):
        read_image(tmp_path / "depth.tif")


def test_names_with_spaces_and_accents(tmp_path: Path, chelsea: np.ndarray) -> None:
    path = tmp_path / "dossier été" / "café photo ü.jpg"
    written = write_image(path, chelsea)
    assert written == path.stat().st_size
    assert read_image(path).pixels.shape == (300, 451, 3)
    assert image_size(path) == (451, 300)


# --------------------------------------------------------------------------- decoding failures


def _reason(path: Path) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert info.value.path == str(path)
    assert str(info.value).endswith(f"({path})")
    return info.value.message


def test_unreadable_inputs_give_one_line_reasons(tmp_path: Path, chelsea: np.ndarray) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("these are not pixels\n")
    Image.fromarray(chelsea).save(tmp_path / "whole.jpg")
    whole = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "half.jpg").write_bytes(whole[: len(whole) // 2])
    png = (DATA / "chelsea.png").read_bytes()
    (tmp_path / "half.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "folder.png").mkdir()

    assert _reason(tmp_path / "empty.jpg") == "empty file"
    assert _reason(tmp_path / "notes.jpg") == "not an image (cannot identify format)"
    assert _reason(tmp_path / "half.jpg").startswith("truncated image")
    assert _reason(DATA / "truncated_jpeg.jpg").startswith("truncated image")
    assert _reason(tmp_path / "half.png").startswith(("truncated image", "corrupt image"))
    assert _reason(tmp_path / "missing.png") == "file not found"
    assert _reason(tmp_path / "folder.png") == "is a directory"
    with pytest.raises(ImageReadError, match="empty file"):
        image_size(tmp_path / "empty.jpg")


def test_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    assert _reason(DATA / "camera.png").startswith("image too large")


def test_read_errors_are_failures_not_usage_errors() -> None:
    assert ImageReadError("x").exit_code == 1 and ImageWriteError("x").exit_code == 1


# --------------------------------------------------------------------------- encoding


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "tif", "bmp"])
def test_encoding_is_deterministic(chelsea: np.ndarray, fmt: str) -> None:
    source = read_image(DATA / "chelsea.png")  # with ICC, which takes other code paths for some formats
    first = encode_image(chelsea, fmt, source=source)
    assert first == encode_image(chelsea.copy(), fmt, source=source)
    assert encode_image(chelsea, fmt) == encode_image(chelsea.copy(), fmt)


def test_png_has_no_timestamp_or_metadata(chelsea: np.ndarray) -> None:
    kinds = {kind for kind, _ in _png_chunks(encode_image(chelsea, "png"))}
    assert kinds == {b"IHDR", b"IDAT", b"IEND"}


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_icc_profile_is_kept_when_it_still_fits(tmp_path: Path, chelsea: np.ndarray, fmt: str) -> None:
    source = read_image(DATA / "chelsea.png")
    assert source.icc_profile is not None
    write_image(tmp_path / f"c.{fmt}", source.pixels, source=source)
    assert Image.open(tmp_path / f"c.{fmt}").info.get("icc_profile") == source.icc_profile
    assert read_image(tmp_path / f"c.{fmt}").pixels.shape == (300, 451, 3)
    gray = cv2.cvtColor(source.pixels, cv2.COLOR_RGB2GRAY)  # an RGB profile does not describe gray
    write_image(tmp_path / f"g.{fmt}", gray, source=source)
    assert "icc_profile" not in Image.open(tmp_path / f"g.{fmt}").info


def test_rgba_to_jpeg_is_composited_over_white(tmp_path: Path, chelsea: np.ndarray) -> None:
    rgba = np.dstack([chelsea, np.full(chelsea.shape[:2], 255, np.uint8)])
    rgba[:, :200, 3] = 0  # left part fully transparent (its colour must not show)
    write_image(tmp_path / "flat.jpg", rgba)
    flat = read_image(tmp_path / "flat.jpg").pixels
    assert flat.shape == (300, 451, 3)
    assert flat[:, :190].min() >= 250
    assert np.abs(flat[:, 210:].astype(int) - chelsea[:, 210:]).mean() < 3
    write_image(tmp_path / "flat.bmp", rgba)
    np.testing.assert_array_equal(read_image(tmp_path / "flat.bmp").pixels[:, :200], 255)


def test_half_transparent_pixel_blends_halfway() -> None:
    rgba = np.array([[[0, 100, 255, 128]]], np.uint8)
    rgb = imageio.encode._over_white(rgba)
    assert rgb.tolist() == [[[127, 177, 255]]]


def test_float_pixels_in_unit_range_are_scaled(tmp_path: Path, chelsea: np.ndarray) -> None:
    unit = chelsea.astype(np.float32) / 255
    write_image(tmp_path / "f.png", unit)
    np.testing.assert_array_equal(read_image(tmp_path / "f.png").pixels, chelsea)
    sixteen = read_image(DATA / "i_trns.png")
    write_image(tmp_path / "f16.png", sixteen.pixels.astype(np.float32) / 65535, source=sixteen)
    np.testing.assert_array_equal(read_image(tmp_path / "f16.png").pixels, sixteen.pixels)


def test_normalized_pixels_are_refused_with_advice(tmp_path: Path, chelsea: np.ndarray) -> None:
    normalized = (chelsea / 255.0 - 0.5) / 0.25
    with pytest.raises(ImageWriteError, match=r"outside \[0, 1\].*FromFloat") as info:
        write_image(tmp_path / "n.png", normalized)
    assert info.value.path == str(tmp_path / "n.png")
    assert not (tmp_path / "n.png").exists()
    with pytest.raises(ImageWriteError, match="NaN"):
        encode_image(np.full((4, 4), np.nan, np.float32), "png")


def test_shapes_and_types_that_are_not_images(chelsea: np.ndarray) -> None:
    with pytest.raises(ImageWriteError, match="shape"):
        encode_image(np.zeros((4, 4, 2), np.uint8), "png")
    with pytest.raises(ImageWriteError, match="int32"):
        encode_image(np.zeros((4, 4), np.int32), "png")
    assert encode_image(chelsea[..., :1], "png") == encode_image(chelsea[..., 0].copy(), "png")


def test_format_from_suffix_or_argument(tmp_path: Path, chelsea: np.ndarray) -> None:
    write_image(tmp_path / "a.JPEG", chelsea)
    write_image(tmp_path / "b.tiff", chelsea, format="tif")
    write_image(tmp_path / "c.webp", chelsea, quality=60)
    assert [read_image(tmp_path / n).format for n in ("a.JPEG", "b.tiff", "c.webp")] == ["JPEG", "TIFF", "WEBP"]
    assert (tmp_path / "c.webp").stat().st_size < len(encode_image(chelsea, "webp"))  # quality applied
    with pytest.raises(ImageWriteError, match="cannot tell the image format"):
        write_image(tmp_path / "d.gif", chelsea)
    with pytest.raises(ImageWriteError, match="does not match the file extension"):
        write_image(tmp_path / "e.png", chelsea, format="jpeg")
    with pytest.raises(ImageWriteError, match="did you mean 'jpg'"):
        encode_image(chelsea, "jepg")
    with pytest.raises(ImageWriteError, match="quality"):
        encode_image(chelsea, "jpg", quality=0)


# --------------------------------------------------------------------------- atomic writes


def test_failed_rename_leaves_neither_file_nor_temp(
    tmp_path: Path, chelsea: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ImageWriteError, match="No space left on device"):
        write_image(tmp_path / "out" / "x.png", chelsea)
    assert list((tmp_path / "out").iterdir()) == []


def test_interrupted_rewrite_keeps_the_old_file(
    tmp_path: Path, chelsea: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.jpg"
    write_image(target, chelsea)
    before = target.read_bytes()

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_image(target, chelsea[::-1])
    monkeypatch.undo()
    with pytest.raises(ImageWriteError):
        write_image(target, chelsea.astype(np.float64))  # encoder refuses: nothing is written
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.jpg"]


def test_atomic_text_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "labels ü.txt"
    text = "0 0.5 0.5 0.1 0.1\r\nchat noir ü\n"
    assert atomic_write_text(path, text) == len(text.encode("utf-8"))
    assert path.read_bytes() == text.encode("utf-8")  # no newline translation
    atomic_write_bytes(path, b"replaced", fsync=True)
    assert path.read_bytes() == b"replaced"
    assert sorted(p.name for p in path.parent.iterdir()) == ["labels ü.txt"]


def test_very_long_names_still_get_a_temp_file(tmp_path: Path) -> None:
    path = tmp_path / ("n" * 250 + ".txt")
    atomic_write_bytes(path, b"ok")
    assert path.read_bytes() == b"ok"


def test_decoded_image_is_a_frozen_record() -> None:
    decoded = read_image(DATA / "camera.png")
    assert isinstance(decoded, DecodedImage)
    with pytest.raises(AttributeError):
        decoded.mode = "RGB"  # type: ignore[misc]
    assert decoded.icc_profile is None


def test_pillow_never_accepts_truncated_images() -> None:
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # importing augcli.imageio must not change it
