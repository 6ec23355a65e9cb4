"""Keras ImageDataGenerator transforms on a real photo: the shifts, fills and colours a Keras user expects."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import pytest
from helpers import seeded
from PIL import Image, ImageEnhance
from scipy import ndimage

from augcli.transforms.keras import BrightnessRange, ChannelShift, KerasAffine, Rescale

DATA = Path(__file__).parent / "data"
GREEN = (0, 255, 0)
IDENTITY = {"theta": 0.0, "tx": 0.0, "ty": 0.0, "shear": 0.0, "zx": 1.0, "zy": 1.0}


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    """chelsea.png at 96x64, RGB."""
    img = cv2.cvtColor(cv2.imread(str(DATA / "chelsea.png")), cv2.COLOR_BGR2RGB)
    return cv2.resize(img, (96, 64), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def square(cat: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cat[:, 16:80])


def warp(img: np.ndarray, **kwargs: Any) -> np.ndarray:
    """KerasAffine with fixed parameters (Keras' apply_affine_transform arguments)."""
    params = {**IDENTITY, **{k: v for k, v in kwargs.items() if k in IDENTITY}}
    options = {k: v for k, v in kwargs.items() if k not in IDENTITY}
    return KerasAffine(strict=True, **options).apply(img, shape=img.shape, **params)


def keras_reference(img: np.ndarray, mode: str, cval: float = 0.0, order: int = 1, **params: float) -> np.ndarray:
    """What Keras' legacy apply_affine_transform computes, step by step (square images only: Keras swaps
    h and w in its centre offset, which only a square hides)."""
    p = {**IDENTITY, **params}
    theta, shear = np.deg2rad(p["theta"]), np.deg2rad(p["shear"])
    matrix = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    matrix = matrix @ np.array([[1, 0, p["tx"]], [0, 1, p["ty"]], [0, 0, 1]])
    matrix = matrix @ np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    matrix = matrix @ np.array([[p["zx"], 0, 0], [0, p["zy"], 0], [0, 0, 1]])
    h, w = img.shape[:2]
    o_x, o_y = h / 2 - 0.5, w / 2 - 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    matrix = offset @ matrix @ reset
    matrix[:, [0, 1]] = matrix[:, [1, 0]]  # Keras: coordinates are (x, y), numpy indexes (y, x)
    matrix[[0, 1]] = matrix[[1, 0]]
    channels = [
        ndimage.affine_transform(plane, matrix[:2, :2], matrix[:2, 2], order=order, mode=mode, cval=cval)
        for plane in np.moveaxis(img.astype(np.float64), -1, 0)
    ]
    return np.stack(channels, axis=-1)


# ---- geometry a Keras user knows ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fill_mode", "scipy_mode"),
    # Keras documents 'wrap' as abcd|abcd|abcd: scipy's 'grid-wrap' (its 'wrap' is one pixel short).
    [("nearest", "nearest"), ("reflect", "reflect"), ("wrap", "grid-wrap")],
)
def test_matches_what_keras_computes_with_scipy(fill_mode: str, scipy_mode: str, square: np.ndarray) -> None:
    params = {"theta": 17.0, "tx": -7.3, "ty": 4.2, "shear": 11.0, "zx": 0.9, "zy": 1.2}
    ours = warp(square, fill_mode=fill_mode, **params).astype(float)
    expected = keras_reference(square, scipy_mode, **params)
    assert np.abs(ours - expected).max() <= 1.5  # OpenCV's bilinear weights are 1/32-pixel steps


def test_horizontal_shift_fills_by_fill_mode(cat: np.ndarray) -> None:
    shift = 8  # content moves right by 8 pixels (tx samples 8 pixels to the left)
    for fill_mode, expected_left in [
        ("wrap", cat[:, -shift:]),  # from the opposite (right) edge of the real image
        ("reflect", cat[:, :shift][:, ::-1]),  # mirrored about the edge, edge pixel repeated
        ("nearest", np.repeat(cat[:, :1], shift, axis=1)),  # the edge column repeated
        ("constant", np.full_like(cat[:, :shift], 77)),
    ]:
        out = warp(cat, tx=-float(shift), fill_mode=fill_mode, cval=77)
        np.testing.assert_array_equal(out[:, :shift], expected_left, err_msg=fill_mode)
        np.testing.assert_array_equal(out[:, shift:], cat[:, :-shift], err_msg=fill_mode)


def test_rotation_90_is_rot90_counter_clockwise(square: np.ndarray) -> None:
    out = warp(square, theta=90.0, interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(out, np.rot90(square))


def test_zoom_2_shows_the_whole_image_at_half_size(cat: np.ndarray) -> None:
    out = warp(cat, zx=2.0, zy=2.0, fill_mode="constant", cval=0)
    h, w = cat.shape[:2]
    half = cv2.resize(cat, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    centre = out[h // 4 : h // 4 + h // 2, w // 4 : w // 4 + w // 2]
    assert np.abs(centre.astype(int) - half).mean() < 3
    assert not out[: h // 4 - 1].any() and not out[:, : w // 4 - 1].any()
    assert not out[h // 4 + h // 2 + 1 :].any() and not out[:, w // 4 + w // 2 + 1 :].any()


def test_positive_shear_tilts_verticals_counter_clockwise() -> None:
    img = np.zeros((41, 41, 3), np.uint8)
    img[:, 20] = 255  # a vertical line through the centre
    out = warp(img, shear=20.0, interpolation=cv2.INTER_NEAREST, fill_mode="constant")
    top, bottom = np.argmax(out[2, :, 0]), np.argmax(out[-3, :, 0])
    assert top < 20 < bottom  # the top leans left, the bottom right: counter-clockwise on screen
    assert bottom - 20 == pytest.approx(np.tan(np.deg2rad(20.0)) * 18, abs=1.5)


def test_sampled_parameters_follow_keras_ranges(cat: np.ndarray) -> None:
    w = cat.shape[1]
    transform = KerasAffine(
        rotation_range=30, width_shift_range=0.1, height_shift_range=5, shear_range=8, zoom_range=0.2, strict=True
    )
    assert transform.zoom_range == (0.8, 1.2)  # a single float z means [1 - z, 1 + z], as in Keras
    compose = A.Compose([transform], save_applied_params=True, strict=True)
    zooms = []
    for seed in range(40):
        params = seeded(compose, seed)(image=cat)["applied_transforms"][0][1]
        assert abs(params["theta"]) <= 30 and abs(params["shear"]) <= 8
        assert abs(params["tx"]) <= 0.1 * w  # float < 1: a fraction of the width
        assert params["ty"] in {-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0}  # int: whole pixels in (-5, 5)
        assert 0.8 <= params["zx"] <= 1.2 and 0.8 <= params["zy"] <= 1.2
        zooms.append(params["zx"] - params["zy"])
    assert np.std(zooms) > 0.05  # zx and zy are drawn independently


# ---- labels follow the pixels -----------------------------------------------------------------------------


def test_mask_bboxes_and_keypoints_follow_the_warp(cat: np.ndarray) -> None:
    painted = cat.copy()
    painted[22:38, 36:56] = GREEN
    mask = np.zeros(cat.shape[:2], np.uint8)
    mask[22:38, 36:56] = 1
    compose = A.Compose(
        [
            KerasAffine(
                rotation_range=40,
                width_shift_range=0.15,
                height_shift_range=0.15,
                shear_range=15,
                zoom_range=(0.7, 1.3),
                fill_mode="constant",
                interpolation=cv2.INTER_NEAREST,
            )
        ],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        keypoint_params=A.KeypointParams(format="xy"),
        strict=True,
    )
    for seed in range(12):
        result = seeded(compose, seed)(
            image=painted, mask=mask, bboxes=[(36, 22, 56, 38)], labels=[1], keypoints=[(45.5, 29.5)]
        )
        green = np.all(result["image"] == GREEN, axis=-1)
        assert green.sum() > 100
        np.testing.assert_array_equal(result["mask"].astype(bool), green)
        ys, xs = np.nonzero(green)
        ((x0, y0, x1, y1),) = result["bboxes"]
        assert x0 - 2 <= xs.min() and xs.max() + 1 <= x1 + 2 and y0 - 2 <= ys.min() and ys.max() + 1 <= y1 + 2
        ((kx, ky),) = result["keypoints"]
        assert abs(kx - xs.mean()) < 2 and abs(ky - ys.mean()) < 2


# ---- colour -------------------------------------------------------------------------------------------


def test_brightness_range_multiplies_like_pil(cat: np.ndarray) -> None:
    compose = A.Compose([BrightnessRange(brightness_range=(0.5, 1.5))], save_applied_params=True, strict=True)
    factors = []
    for seed in range(10):
        result = seeded(compose, seed)(image=cat)
        factor = result["applied_transforms"][0][1]["factor"]
        factors.append(factor)
        expected = np.clip(np.round(cat * factor), 0, 255)
        assert np.abs(result["image"].astype(int) - expected).max() <= 1
        pil = np.asarray(ImageEnhance.Brightness(Image.fromarray(cat)).enhance(factor))
        np.testing.assert_array_equal(result["image"], pil)  # what Keras calls
    assert min(factors) < 0.8 and max(factors) > 1.2


def test_channel_shift_adds_one_intensity_to_every_channel(cat: np.ndarray) -> None:
    compose = A.Compose([ChannelShift(channel_shift_range=60)], save_applied_params=True, strict=True)
    low, high = int(cat.min()), int(cat.max())
    for seed in range(6):
        result = seeded(compose, seed)(image=cat)
        intensity = result["applied_transforms"][0][1]["intensity"]
        assert -60 <= intensity <= 60
        expected = np.clip(cat.astype(np.float64) + intensity, low, high)  # the whole image's range, as Keras
        assert np.abs(result["image"] - expected).max() <= 0.5


def test_rescale_gives_float32(cat: np.ndarray) -> None:
    out = A.Compose([Rescale(scale=1 / 255)], strict=True)(image=cat)["image"]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, cat / 255, atol=1e-6)


# ---- pipeline contracts ----------------------------------------------------------------------------------


def test_grayscale_and_float_images(camera64: np.ndarray, cat: np.ndarray) -> None:
    compose = A.Compose(
        [
            KerasAffine(rotation_range=20, zoom_range=0.1, fill_mode="reflect"),
            BrightnessRange(),
            ChannelShift(channel_shift_range=20),
        ],
        strict=True,
    )
    gray = seeded(compose, 3)(image=camera64)["image"]
    assert gray.shape == camera64.shape and gray.dtype == np.uint8
    rgb = seeded(compose, 3)(image=cat.astype(np.float32) / 255)["image"]
    assert rgb.dtype == np.float32 and rgb.min() >= 0 and rgb.max() <= 1


def test_seeded_pickled_and_serialized_pipelines_agree(cat: np.ndarray) -> None:
    compose = A.Compose(
        [
            KerasAffine(
                rotation_range=25, width_shift_range=0.1, height_shift_range=3, zoom_range=0.2, fill_mode="wrap"
            ),
            BrightnessRange(brightness_range=(0.7, 1.3)),
            ChannelShift(channel_shift_range=15),
            Rescale(scale=1 / 255),
        ],
        save_applied_params=True,
        strict=True,
    )
    first = seeded(compose, 11)(image=cat)
    second = seeded(compose, 11)(image=cat)
    np.testing.assert_array_equal(first["image"], second["image"])
    assert first["applied_transforms"] == second["applied_transforms"]
    json.dumps(first["applied_transforms"])

    for clone in (pickle.loads(pickle.dumps(compose)), A.from_dict(A.to_dict(compose))):
        np.testing.assert_array_equal(seeded(clone, 11)(image=cat)["image"], first["image"])
    assert A.to_dict(A.from_dict(A.to_dict(compose))) == A.to_dict(compose)
    assert not np.array_equal(seeded(compose, 12)(image=cat)["image"], first["image"])


def test_strict_validation_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="zoom_range"):
        KerasAffine(zoom_range=1.5, strict=True)
    with pytest.raises(ValueError):
        KerasAffine(zoom_range=(1.2, 0.8), strict=True)
    with pytest.raises(ValueError):
        KerasAffine(fill_mode="mirror", strict=True)
    with pytest.raises(ValueError):
        KerasAffine(width_shift_range=-0.1, strict=True)
    with pytest.raises(ValueError):
        BrightnessRange(brightness_range=(1.5, 0.5), strict=True)
    with pytest.raises(ValueError, match="rotation"):
        KerasAffine(rotation=10, strict=True)
