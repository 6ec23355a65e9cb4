"""The fundus transforms on a real retina photo: what a user would see in the augmented images."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist
from typing import Any, TypeVar

import albumentations as A
import cv2
import numpy as np
import pytest
from helpers import seeded

from augcli.transforms.fundus import FundusCrop, RandomCentralCrop, SaturationScale, scale_saturation

T = TypeVar("T")
RETINA = Path(__file__).parent / "data" / "fundus" / "retina.jpg"
GREEN = (0, 255, 0)
# The preset's brightness step: RandomBrightnessContrast adds delta * max_value when contrast is off.
BRIGHTNESS = {"brightness_limit": (-32 / 255, 32 / 255), "contrast_limit": 0, "brightness_by_max": True}


@pytest.fixture(scope="module")
def retina() -> np.ndarray:
    """The full 1411x1411 photo, RGB; its disc spans about rows 5-1401 and columns 7-1401."""
    bgr = cv2.imread(str(RETINA))
    assert bgr is not None, f"cannot read {RETINA}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def retina_small(retina: np.ndarray) -> np.ndarray:
    return cv2.resize(retina, (384, 384), interpolation=cv2.INTER_AREA)


def strictly(cls: Callable[..., T], **kwargs: Any) -> T:
    """Build a transform the way augcli's pipeline does: a misspelled argument is an error."""
    return cls(**kwargs, strict=True)


def disc_bbox(img: np.ndarray, level: float = 20) -> tuple[int, int, int, int]:
    """(x_min, y_min, x_max, y_max) of pixels brighter than `level` in their brightest channel."""
    bright = (img if img.ndim == 2 else img.max(axis=2)) > level
    rows, cols = np.nonzero(bright.any(axis=1))[0], np.nonzero(bright.any(axis=0))[0]
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def paint(img: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Image with a green square at `box`, and the matching mask."""
    x0, y0, x1, y1 = box
    painted = img.copy()
    painted[y0:y1, x0:x1] = GREEN
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[y0:y1, x0:x1] = 1
    return painted, mask


def green_pixels(img: np.ndarray) -> np.ndarray:
    return (img[..., 1] > 160) & (img[..., 0] < 90) & (img[..., 2] < 90)


def labelled(transforms: list[Any]) -> A.Compose:
    return A.Compose(
        transforms,
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        keypoint_params=A.KeypointParams(format="xy"),
        save_applied_params=True,
        strict=True,
    )


def assert_targets_follow_square(result: dict[str, Any], tolerance: float) -> None:
    """The mask, bbox and keypoint all land on the green square visible in the output image."""
    seen = green_pixels(result["image"])
    assert seen.sum() > 100
    ys, xs = np.nonzero(seen)
    visible = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    np.testing.assert_allclose(np.asarray(result["bboxes"][0]), visible, atol=tolerance)
    disagree = (result["mask"] == 1) != seen
    assert disagree.mean() < 0.01, "mask and painted pixels disagree"
    np.testing.assert_allclose(result["keypoints"][0], visible.reshape(2, 2).mean(axis=0), atol=tolerance)


# FundusCrop


def test_fundus_crop_squares_the_real_photo_on_its_disc(retina: np.ndarray) -> None:
    result = labelled([strictly(FundusCrop)])(image=retina, bboxes=[], labels=[], keypoints=[])
    out = result["image"]

    side = out.shape[0]
    assert out.shape == (side, side, 3)
    assert 1380 <= side <= 1411
    for corner in (out[:40, :40], out[:40, -40:], out[-40:, :40], out[-40:, -40:]):
        assert corner.max(axis=2).mean() < 10, "corners of the square are not black"
    x0, y0, x1, y1 = disc_bbox(out)
    assert max(x0, y0, side - x1, side - y1) <= 0.01 * side, "disc does not reach the four sides"

    name, params = result["applied_transforms"][0]
    assert name == "FundusCrop"
    assert json.loads(json.dumps(params["crop_box"])) == list(params["crop_box"])


def test_fundus_crop_pads_a_disc_clipped_at_top_and_bottom(retina: np.ndarray) -> None:
    clipped = retina[300:-200]  # what a camera with a wide, short frame records
    crop = strictly(FundusCrop)
    crop(image=retina)
    whole_box = np.array(crop.params["crop_box"])

    out = crop(image=clipped)["image"]
    box = crop.params["crop_box"]

    side = out.shape[0]
    assert out.shape == (side, side, 3)
    # The same square as on the whole photo, shifted by the rows the frame cut off.
    np.testing.assert_allclose(box, whole_box - [0, 300, 0, 300], atol=0.01 * side)
    # The whole width of the disc is kept, and the cut-off rows come back as black padding.
    x0, _, x1, _ = disc_bbox(out)
    assert x0 <= 0.01 * side and x1 >= 0.99 * side
    assert box[1] < -280 and box[3] > clipped.shape[0] + 180
    assert not out[: -box[1]].any() and not out[clipped.shape[0] - box[1] :].any()


def test_fundus_crop_without_black_surround_keeps_the_centred_square(retina: np.ndarray) -> None:
    middle = np.ascontiguousarray(retina[450:950, 350:1050])  # 500x700 of retina, no surround
    out = FundusCrop()(image=middle)["image"]
    np.testing.assert_array_equal(out, middle[:, 100:600])

    square = np.ascontiguousarray(retina[400:1000, 400:1000])
    np.testing.assert_array_equal(FundusCrop()(image=square)["image"], square)


def test_fundus_crop_of_its_own_output_changes_nothing_visible(retina_small: np.ndarray) -> None:
    once = FundusCrop()(image=retina_small)["image"]
    twice = FundusCrop()(image=once)["image"]
    assert abs(twice.shape[0] - once.shape[0]) <= 2


@pytest.mark.parametrize(
    "variant",
    ["float32", "one_channel", "two_dims", "noise", "jpeg", "vignette", "grey_surround"],
)
def test_fundus_crop_is_robust_to_how_the_photo_was_taken(retina_small: np.ndarray, variant: str) -> None:
    reference = FundusCrop().get_params_dependent_on_data({}, {"image": retina_small})["crop_box"]
    rng = np.random.default_rng(0)
    img: np.ndarray
    if variant == "float32":
        img = retina_small.astype(np.float32) / 255
    elif variant == "one_channel":
        img = retina_small[..., :1]
    elif variant == "two_dims":
        img = retina_small[..., 0]
    elif variant == "noise":
        img = np.clip(retina_small + rng.normal(6, 8, retina_small.shape), 0, 255).astype(np.uint8)
    elif variant == "jpeg":
        _, encoded = cv2.imencode(".jpg", retina_small, [cv2.IMWRITE_JPEG_QUALITY, 10])
        img = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR))
    elif variant == "vignette":
        yy, xx = np.mgrid[:384, :384]
        falloff = np.clip(1.2 - ((xx - 192) ** 2 + (yy - 192) ** 2) / 192**2, 0.3, 1.0)
        img = (retina_small * falloff[..., None]).astype(np.uint8)
    else:
        img = np.maximum(retina_small, 25).astype(np.uint8)

    out = strictly(FundusCrop)(image=img)["image"]
    assert out.dtype == img.dtype and out.ndim == img.ndim and out.shape[0] == out.shape[1]
    box = FundusCrop().get_params_dependent_on_data({}, {"image": img})["crop_box"]
    np.testing.assert_allclose(box, reference, atol=0.015 * 384)


def test_fundus_crop_carries_mask_bbox_and_keypoint_through_the_padding(retina: np.ndarray) -> None:
    clipped = np.ascontiguousarray(retina[300:-200])
    square = (500, 100, 700, 260)
    image, mask = paint(clipped, square)
    centre = ((square[0] + square[2]) / 2, (square[1] + square[3]) / 2)

    result = labelled([FundusCrop()])(image=image, mask=mask, bboxes=[square], labels=["lesion"], keypoints=[centre])

    assert result["mask"].shape == result["image"].shape[:2]
    assert result["labels"] == ["lesion"]
    assert_targets_follow_square(result, tolerance=0.5)


# SaturationScale


def tf_adjust_saturation(rgb: np.ndarray, factor: float) -> np.ndarray:
    """tf.image.adjust_saturation on float RGB in [0, 1], from TensorFlow's rgb_to_hsv/hsv_to_rgb formulas."""
    rgb = rgb.astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    value, spread = rgb.max(axis=-1), rgb.max(axis=-1) - rgb.min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        saturation = np.where(value > 0, spread / value, 0.0)
        norm = 1.0 / (6.0 * spread)
        hue = np.where(r == value, norm * (g - b), np.where(g == value, norm * (b - r) + 2 / 6, norm * (r - g) + 4 / 6))
    hue = np.where(spread > 0, hue, 0.0)
    hue = np.where(hue < 0, hue + 1, hue)
    saturation = np.clip(saturation * factor, 0.0, 1.0)
    dh = hue * 6
    red = np.clip(np.abs(dh - 3) - 1, 0, 1)
    green = np.clip(2 - np.abs(dh - 2), 0, 1)
    blue = np.clip(2 - np.abs(dh - 4), 0, 1)
    channels = [value * (1 - saturation + saturation * d) for d in (red, green, blue)]
    return np.stack(channels, axis=-1)


def test_saturation_factor_one_leaves_the_photo_as_it_is(retina_small: np.ndarray) -> None:
    out = strictly(SaturationScale, scale_range=(1.0, 1.0), p=1)(image=retina_small)["image"]
    np.testing.assert_array_equal(out, retina_small)
    # The HSV round trip itself loses at most one level.
    nearly_one = scale_saturation(retina_small, 1.0 + 1e-7)
    assert np.abs(nearly_one.astype(int) - retina_small).max() <= 1


def test_saturation_factor_zero_gives_grey(retina_small: np.ndarray) -> None:
    out = SaturationScale(scale_range=(0.0, 0.0), p=1)(image=retina_small)["image"]
    assert out.dtype == np.uint8
    assert (out.max(axis=2).astype(int) - out.min(axis=2)).max() <= 1
    # Grey at the brightness (HSV value) of the original.
    assert np.abs(out[..., 0].astype(int) - retina_small.max(axis=2)).max() <= 1


@pytest.mark.parametrize("factor", [0.5, 0.8, 1.3, 1.5])
def test_saturation_matches_tensorflow_semantics(retina_small: np.ndarray, factor: float) -> None:
    rgb = retina_small.astype(np.float32) / 255
    expected = tf_adjust_saturation(rgb, factor)
    np.testing.assert_allclose(scale_saturation(rgb, factor), expected, atol=1e-5)
    as_uint8 = scale_saturation(retina_small, factor).astype(int)
    assert np.abs(as_uint8 - np.rint(expected * 255)).max() <= 1


def test_saturation_factors_are_uniform_over_the_range() -> None:
    transform = seeded(SaturationScale(p=1), 7)
    tiny = np.full((2, 2, 3), 128, np.uint8)
    draws = []
    for _ in range(2000):
        transform(image=tiny)
        draws.append(transform.params["scale"])
    scales = np.array(draws)
    assert scales.min() >= 0.5 and scales.max() <= 1.5
    assert scales.mean() == pytest.approx(1.0, abs=0.03)
    np.testing.assert_allclose(np.quantile(scales, [0.1, 0.25, 0.5, 0.75, 0.9]), [0.6, 0.75, 1.0, 1.25, 1.4], atol=0.04)


def test_saturation_passes_single_channel_images_and_rejects_others(retina_small: np.ndarray) -> None:
    transform = SaturationScale(scale_range=(0.2, 0.2), p=1)
    for grey in (retina_small[..., 0], retina_small[..., :1]):
        np.testing.assert_array_equal(transform(image=grey)["image"], grey)
    with pytest.raises(ValueError, match="1- or 3-channel"):
        transform(image=np.zeros((4, 4, 4), np.uint8))


# Brightness: the preset uses RandomBrightnessContrast, no custom transform is needed.


def test_random_brightness_contrast_adds_delta_of_full_scale(retina_small: np.ndarray) -> None:
    transform = seeded(strictly(A.RandomBrightnessContrast, **BRIGHTNESS, p=1), 3)
    as_float = retina_small.astype(np.float32) / 255
    for _ in range(20):
        out = transform(image=as_float)["image"]
        delta = transform.params["beta"]  # float32 images: max_value is 1, so beta is the delta
        assert transform.params["alpha"] == 1.0
        assert abs(delta) <= 32 / 255
        np.testing.assert_array_equal(out, np.clip(as_float.astype(np.float64) + delta, 0, 1).astype(np.float32))

        out = transform(image=retina_small)["image"]
        shift = transform.params["beta"]  # uint8 images: beta = delta * 255
        assert abs(shift) <= 32
        # uint8 results are truncated, not rounded: floor(x + delta * 255), clipped.
        np.testing.assert_array_equal(out, np.clip(np.floor(retina_small + shift), 0, 255).astype(np.uint8))


def test_brightness_deltas_are_uniform_over_32_levels() -> None:
    transform = seeded(A.RandomBrightnessContrast(**BRIGHTNESS, p=1), 11)
    tiny = np.full((2, 2, 3), 128, np.uint8)
    shifts = []
    for _ in range(2000):
        transform(image=tiny)
        shifts.append(transform.params["beta"])
    assert min(shifts) >= -32 and max(shifts) <= 32
    np.testing.assert_allclose(np.quantile(shifts, [0.1, 0.5, 0.9]), [-25.6, 0.0, 25.6], atol=2.5)


# RandomCentralCrop


def test_central_crop_fraction_is_a_normal_clipped_to_the_range() -> None:
    transform = seeded(strictly(RandomCentralCrop), 5)
    tiny = np.zeros((8, 8, 3), np.uint8)
    draws = []
    for _ in range(5000):
        transform(image=tiny)
        draws.append(transform.params["fraction"])
    fractions = np.array(draws)

    normal = NormalDist(1.0, 0.06)
    assert fractions.min() >= 0.8 and fractions.max() <= 1.0
    assert (fractions == 1.0).mean() == pytest.approx(0.5, abs=0.025)
    assert (fractions < 0.9).mean() == pytest.approx(normal.cdf(0.9), abs=0.012)
    inside = fractions[fractions < 1.0]
    # Below 1.0 it is the left half of N(1, 0.06), cut at 0.8: median and spread of that piece.
    lower = normal.cdf(0.8)
    expected_median = normal.inv_cdf((lower + 0.5) / 2)
    assert np.median(inside) == pytest.approx(expected_median, abs=0.003)
    grid = np.linspace(0.8, 1.0, 4001)
    density = np.array([normal.pdf(x) for x in grid])
    mean = np.sum(grid * density) / density.sum()
    std = np.sqrt(np.sum((grid - mean) ** 2 * density) / density.sum())
    assert inside.std() == pytest.approx(std, rel=0.05)


def test_central_crop_fraction_respects_a_custom_range() -> None:
    transform = seeded(RandomCentralCrop(fraction_mean=0.9, fraction_std=0.2, fraction_range=(0.85, 0.95)), 2)
    tiny = np.zeros((8, 8), np.uint8)
    draws = []
    for _ in range(300):
        transform(image=tiny)
        draws.append(transform.params["fraction"])
    assert min(draws) == 0.85 and max(draws) == 0.95


@pytest.mark.parametrize(("size", "expected"), [(None, (384, 384)), ((300, 200), (300, 200))])
def test_central_crop_output_has_the_requested_size(
    retina_small: np.ndarray, size: tuple[int, int] | None, expected: tuple[int, int]
) -> None:
    transform = seeded(strictly(RandomCentralCrop, size=size, fraction_mean=0.9), 1)
    for img in (retina_small, retina_small.astype(np.float32) / 255, retina_small[..., :1]):
        out = transform(image=img)["image"]
        assert out.shape == (*expected, *img.shape[2:])
        assert out.dtype == img.dtype


def test_central_crop_keeps_the_centre_in_the_centre() -> None:
    height, width = 480, 640
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    where = np.stack([xx, yy, np.zeros_like(xx)], axis=-1)  # each pixel holds its own position
    transform = RandomCentralCrop(fraction_mean=0.8, fraction_std=0, size=(256, 256))
    out = transform(image=where)["image"]
    assert transform.params["crop_coords"] == (64, 48, 576, 432)
    centre = out[127:129, 127:129, :2].mean(axis=(0, 1))
    np.testing.assert_allclose(centre, [(width - 1) / 2, (height - 1) / 2], atol=0.6)
    np.testing.assert_allclose(out[0, 0, :2], [64 + 0.5 * 512 / 256 - 0.5, 48 + 0.5 * 384 / 256 - 0.5], atol=0.6)


def test_central_crop_carries_mask_bbox_and_keypoint(retina_small: np.ndarray) -> None:
    square = (100, 140, 180, 200)
    image, mask = paint(retina_small, square)
    centre = ((square[0] + square[2]) / 2, (square[1] + square[3]) / 2)
    pipeline = labelled([RandomCentralCrop(fraction_mean=0.85, fraction_std=0, size=(512, 512))])

    result = pipeline(image=image, mask=mask, bboxes=[square], labels=[3], keypoints=[centre])

    assert result["image"].shape == (512, 512, 3) and result["mask"].shape == (512, 512)
    name, params = result["applied_transforms"][0]
    assert name == "RandomCentralCrop" and params["fraction"] == 0.85
    assert_targets_follow_square(result, tolerance=2)


# Pipeline properties: determinism, pickling, strict construction, serialization


def all_fundus_transforms() -> list[Any]:
    return [
        strictly(FundusCrop, threshold=0.1, margin=0.02),
        strictly(SaturationScale, scale_range=(0.5, 1.5), p=1),
        strictly(RandomCentralCrop, fraction_std=0.1, size=(256, 256)),
    ]


def keras_like_pipeline() -> A.Compose:
    return labelled(
        [
            FundusCrop(),
            A.Resize(256, 256),
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomRotate90(p=1),
            A.RandomBrightnessContrast(**BRIGHTNESS, p=1),
            SaturationScale(p=1),
            RandomCentralCrop(),
        ]
    )


def run(pipeline: A.Compose, image: np.ndarray, seed: int) -> dict[str, Any]:
    mask = np.zeros(image.shape[:2], np.uint8)
    return seeded(pipeline, seed)(
        image=image, mask=mask, bboxes=[(100, 100, 200, 180)], labels=[1], keypoints=[(150, 140)]
    )


def test_same_seed_gives_identical_bytes(retina_small: np.ndarray) -> None:
    first = run(keras_like_pipeline(), retina_small, seed=42)
    again = run(keras_like_pipeline(), retina_small, seed=42)
    other = run(keras_like_pipeline(), retina_small, seed=43)
    assert first["image"].tobytes() == again["image"].tobytes()
    assert first["applied_transforms"] == again["applied_transforms"]
    assert first["image"].tobytes() != other["image"].tobytes()


def test_transforms_pickle_and_give_the_same_output(retina_small: np.ndarray) -> None:
    pipeline = keras_like_pipeline()
    clone = pickle.loads(pickle.dumps(pipeline))
    assert run(clone, retina_small, 9)["image"].tobytes() == run(pipeline, retina_small, 9)["image"].tobytes()
    for transform in all_fundus_transforms():
        copy = pickle.loads(pickle.dumps(transform))
        expected = seeded(transform, 1)(image=retina_small)["image"]
        assert seeded(copy, 1)(image=retina_small)["image"].tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (FundusCrop, {"treshold": 0.1}),
        (FundusCrop, {"threshold": 1.5}),
        (FundusCrop, {"margin": -0.1}),
        (SaturationScale, {"scale_limit": (0.5, 1.5)}),
        (SaturationScale, {"scale_range": (1.5, 0.5)}),
        (SaturationScale, {"scale_range": (-1.0, 1.0)}),
        (RandomCentralCrop, {"fraction_sd": 0.1}),
        (RandomCentralCrop, {"fraction_range": (0.9, 0.8)}),
        (RandomCentralCrop, {"fraction_range": (0.8, 1.2)}),
        (RandomCentralCrop, {"size": (0, 10)}),
        (RandomCentralCrop, {"interpolation": 99}),
    ],
)
def test_strict_construction_rejects_bad_arguments(cls: type, kwargs: dict[str, Any]) -> None:
    (name,) = kwargs
    with pytest.raises(ValueError, match=name):
        strictly(cls, **kwargs)


def test_transforms_round_trip_through_albumentations_serialization(retina_small: np.ndarray) -> None:
    pipeline = A.Compose(all_fundus_transforms())
    as_json = json.dumps(A.to_dict(pipeline))
    names = [t["__class_fullname__"] for t in json.loads(as_json)["transform"]["transforms"]]
    assert names == [
        "augcli.transforms.fundus.FundusCrop",
        "augcli.transforms.fundus.SaturationScale",
        "augcli.transforms.fundus.RandomCentralCrop",
    ]
    restored = A.from_dict(json.loads(as_json))
    assert repr(restored) == repr(pipeline)
    expected = seeded(pipeline, 4)(image=retina_small)["image"]
    assert seeded(restored, 4)(image=retina_small)["image"].tobytes() == expected.tobytes()
