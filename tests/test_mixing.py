"""MixUp and CutMix on real photos: the blend and the pasted box agree with the soft labels they record."""

from __future__ import annotations

import csv
import io
import math
import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from augcli.imageio import read_image
from augcli.mixing import (
    MixModel,
    MixSpec,
    choose,
    cutmix,
    labels_csv,
    mix_rng,
    mixup,
    pick_partner,
    resize_to,
    soft_label,
)

DATA = Path(__file__).parent / "data"
CLASSES = ["cat", "camera", "dog"]


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    """A 64x80 RGB crop of chelsea.png (the cat's face)."""
    return read_image(DATA / "chelsea.png").pixels[40:104, 150:230].copy()


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    """A 64x80 grayscale crop of camera.png (the cameraman)."""
    return read_image(DATA / "camera.png").pixels[100:164, 200:280].copy()


def rgb(gray: np.ndarray) -> np.ndarray:
    return np.dstack([gray] * 3)


# --------------------------------------------------------------------------- MixUp


def test_mixup_blends_pixels_with_the_lambda_its_soft_label_records(cat: np.ndarray, camera: np.ndarray) -> None:
    partner = rgb(camera)
    mixed, lam = mixup(cat, partner, np.random.default_rng(3), alpha=1.0)
    assert 0.0 < lam < 1.0
    expected = lam * cat.astype(np.float64) + (1 - lam) * partner.astype(np.float64)
    assert mixed.dtype == np.uint8 and mixed.shape == cat.shape
    assert np.abs(mixed - expected).max() <= 0.5 + 1e-3
    label = soft_label("cat", "camera", lam, CLASSES)
    assert label == {"cat": lam, "camera": pytest.approx(1 - lam), "dog": 0.0}
    assert math.isclose(sum(label.values()), 1.0)


def test_mixup_works_on_grayscale(camera: np.ndarray) -> None:
    other = camera[::-1].copy()
    mixed, lam = mixup(camera, other, np.random.default_rng(0), alpha=0.4)
    assert mixed.shape == camera.shape
    expected = lam * camera.astype(np.float64) + (1 - lam) * other.astype(np.float64)
    assert np.abs(mixed - expected).max() <= 0.5 + 1e-3


def test_mixup_rejects_a_partner_of_another_shape(cat: np.ndarray, camera: np.ndarray) -> None:
    with pytest.raises(ValueError, match="resize_to"):
        mixup(cat, camera, np.random.default_rng(0), alpha=0.2)
    with pytest.raises(ValueError, match="dtype"):
        mixup(cat, cat.astype(np.uint16), np.random.default_rng(0), alpha=0.2)


def lambdas(alpha: float, n: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(12345)
    tiny = np.zeros((2, 2), np.uint8)
    return np.array([mixup(tiny, tiny, rng, alpha)[1] for _ in range(n)])


def test_mixup_lambda_with_small_alpha_is_u_shaped() -> None:
    lam = lambdas(0.2)
    assert abs(lam.mean() - 0.5) < 0.04
    assert np.mean(lam < 0.1) + np.mean(lam > 0.9) > 0.5  # Beta(0.2, 0.2): mostly one image, a little of the other
    assert lam.min() >= 0.0 and lam.max() <= 1.0


def test_mixup_lambda_with_alpha_one_is_uniform() -> None:
    lam = lambdas(1.0)
    levels = np.linspace(0.1, 0.9, 9)
    assert np.abs(np.quantile(lam, levels) - levels).max() < 0.03


# --------------------------------------------------------------------------- CutMix


def pasted(mixed: np.ndarray, image: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """Pixels taken from the partner: equal to it and different from the image in every channel."""
    same = mixed == partner
    differs = mixed != image
    if mixed.ndim == 3:
        return same.all(axis=-1) & differs.all(axis=-1)
    return same & differs


@pytest.mark.parametrize("seed", range(40))
def test_cutmix_lambda_is_the_share_of_own_pixels(cat: np.ndarray, seed: int) -> None:
    inverted = 255 - cat  # differs from the cat in every pixel and channel
    height, width = cat.shape[:2]
    mixed, lam, (x1, y1, x2, y2) = cutmix(cat, inverted, np.random.default_rng(seed), alpha=1.0)
    assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
    assert all(isinstance(v, int) for v in (x1, y1, x2, y2))
    assert 0.0 <= lam <= 1.0
    from_partner = pasted(mixed, cat, inverted)
    assert from_partner.sum() == (x2 - x1) * (y2 - y1)
    assert from_partner[y1:y2, x1:x2].all()
    assert lam == 1.0 - from_partner.sum() / (height * width)  # the same arithmetic, exactly
    assert np.array_equal(mixed[~from_partner], cat[~from_partner])


def test_cutmix_on_grayscale(camera: np.ndarray) -> None:
    inverted = 255 - camera
    mixed, lam, _box = cutmix(camera, inverted, np.random.default_rng(7), alpha=1.0)
    assert lam == 1.0 - pasted(mixed, camera, inverted).sum() / camera.size


class Fixed:
    """A stand-in generator with chosen draws, to put the box where the test needs it."""

    def __init__(self, lam: float, r_x: int, r_y: int):
        self.lam, self.centre = lam, [r_x, r_y]

    def beta(self, a: float, b: float) -> float:
        return self.lam

    def integers(self, high: int) -> int:
        return self.centre.pop(0)


def test_cutmix_clips_the_box_at_the_corner_and_recomputes_lambda() -> None:
    image = np.zeros((100, 100), np.uint8)
    partner = np.full((100, 100), 255, np.uint8)
    # lam 0.36: half-sides int(0.5 * 0.8 * 100) = 40, an 80x80 box (64%) centred on the corner.
    mixed, lam, box = cutmix(image, partner, Fixed(0.36, 0, 0), alpha=1.0)  # type: ignore[arg-type]
    assert box == (0, 0, 40, 40)
    assert lam == pytest.approx(1 - 0.16)
    assert (mixed == 255).sum() == 1600


def test_cutmix_clips_at_the_far_edge() -> None:
    image = np.zeros((50, 100), np.uint8)
    mixed, lam, box = cutmix(image, image + 1, Fixed(0.36, 99, 25), alpha=1.0)  # type: ignore[arg-type]
    assert box == (59, 5, 100, 45)
    assert lam == 1.0 - (41 * 40) / 5000
    assert mixed.sum() == 41 * 40


def test_cutmix_clipping_only_ever_raises_lambda(cat: np.ndarray) -> None:
    """Across seeds, the recorded lambda is never below the drawn one (clipping shrinks the box)."""
    height, width = cat.shape[:2]
    clipped = 0
    for seed in range(300):
        drawn = float(np.random.default_rng(seed).beta(1.0, 1.0))  # cutmix's first draw
        _mixed, lam, (x1, y1, x2, y2) = cutmix(cat, 255 - cat, np.random.default_rng(seed), alpha=1.0)
        assert lam >= drawn - 1e-12
        half_w, half_h = int(0.5 * math.sqrt(1 - drawn) * width), int(0.5 * math.sqrt(1 - drawn) * height)
        clipped += (x2 - x1) * (y2 - y1) < (2 * half_w) * (2 * half_h)
    assert clipped > 50  # the edges are exercised, not just the middle


# --------------------------------------------------------------------------- choice and partners


def test_choose_matches_the_probabilities() -> None:
    rng = np.random.default_rng(0)
    counts = Counter(choose(MixSpec(p_mixup=0.3, p_cutmix=0.5), rng) for _ in range(5000))
    assert abs(counts["mixup"] / 5000 - 0.3) < 0.03
    assert abs(counts["cutmix"] / 5000 - 0.5) < 0.03
    assert abs(counts[None] / 5000 - 0.2) < 0.03


@pytest.mark.parametrize(
    ("spec", "allowed"),
    [
        (MixSpec(), {None}),
        (MixSpec(p_mixup=0.5), {"mixup", None}),
        (MixSpec(p_cutmix=0.5), {"cutmix", None}),
        (MixSpec(p_mixup=1.0), {"mixup"}),
        (MixSpec(p_mixup=0.4, p_cutmix=0.6), {"mixup", "cutmix"}),
    ],
)
def test_choose_never_picks_what_has_no_chance(spec: MixSpec, allowed: set[str | None]) -> None:
    rng = np.random.default_rng(1)
    assert {choose(spec, rng) for _ in range(2000)} == allowed


def test_pick_partner_never_returns_itself_and_is_uniform() -> None:
    names = ["a.png", "b.png", "c.png", "d.png", "own.png"]
    rng = np.random.default_rng(0)
    counts = Counter(pick_partner(rng, names, "own.png") for _ in range(4000))
    assert set(counts) == {"a.png", "b.png", "c.png", "d.png"}
    assert all(abs(n - 1000) < 100 for n in counts.values())


def test_pick_partner_without_others() -> None:
    rng = np.random.default_rng(0)
    assert pick_partner(rng, ["own.png"], "own.png") is None
    assert pick_partner(rng, [], "own.png") is None
    assert pick_partner(rng, ["own.png", "own.png"], "own.png") is None


def test_pick_partner_is_deterministic_and_ignores_listing_order() -> None:
    names = [f"img_{i}.jpg" for i in range(20)]
    first = [pick_partner(np.random.default_rng(seed), names, "img_3.jpg") for seed in range(50)]
    again = [pick_partner(np.random.default_rng(seed), names[::-1], "img_3.jpg") for seed in range(50)]
    assert first == again
    assert len(set(first)) > 5


# --------------------------------------------------------------------------- determinism and dtypes


def as_dtype(image: np.ndarray, dtype: Any) -> np.ndarray:
    if dtype == np.uint16:
        return image.astype(np.uint16) * 257
    if dtype == np.float32:
        return image.astype(np.float32) / 255
    return image


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_same_seed_same_bytes_and_dtype_kept(cat: np.ndarray, camera: np.ndarray, dtype: Any) -> None:
    image, partner = as_dtype(cat, dtype), as_dtype(rgb(camera), dtype)
    for mix in (mixup, cutmix):
        first = mix(image, partner, mix_rng(42), 0.5)
        again = mix(image, partner, mix_rng(42), 0.5)
        other = mix(image, partner, mix_rng(43), 0.5)
        assert first[0].dtype == dtype and first[0].shape == image.shape
        assert first[0].tobytes() == again[0].tobytes() and first[1:] == again[1:]
        assert first[1:] != other[1:]


def test_uint16_blend_keeps_the_full_range(cat: np.ndarray, camera: np.ndarray) -> None:
    image, partner = as_dtype(cat, np.uint16), as_dtype(rgb(camera), np.uint16)
    mixed, lam = mixup(image, partner, np.random.default_rng(5), alpha=1.0)
    expected = lam * image.astype(np.float64) + (1 - lam) * partner.astype(np.float64)
    assert np.abs(mixed - expected).max() <= 0.5 + 0.01


def test_mix_rng_is_not_the_pipeline_stream() -> None:
    assert mix_rng(7).random() != np.random.default_rng(7).random()
    assert mix_rng(7).random() == mix_rng(7).random()


# --------------------------------------------------------------------------- resizing


def test_resize_to_matches_the_image_shape(cat: np.ndarray, camera: np.ndarray) -> None:
    chelsea = read_image(DATA / "chelsea.png").pixels
    assert resize_to(chelsea, cat.shape).shape == cat.shape  # shrinking
    assert resize_to(cat, chelsea.shape).shape == chelsea.shape  # growing
    assert resize_to(camera, (32, 120)).shape == (32, 120)  # one side each way
    single = camera[..., None]
    assert resize_to(single, (16, 16, 1)).shape == (16, 16, 1)
    assert resize_to(cat, cat.shape).tobytes() == cat.tobytes()
    with pytest.raises(ValueError, match="channels"):
        resize_to(camera, cat.shape)


def test_resize_to_averages_when_shrinking(camera: np.ndarray) -> None:
    small = resize_to(camera, (32, 40))
    blocks = camera.astype(np.float64).reshape(32, 2, 40, 2).mean(axis=(1, 3))
    assert np.abs(small - blocks).max() <= 1


# --------------------------------------------------------------------------- soft labels and the CSV


def test_soft_label_sums_when_both_share_a_class() -> None:
    assert soft_label("dog", "dog", 0.3, CLASSES) == {"cat": 0.0, "camera": 0.0, "dog": 1.0}
    assert soft_label("cat", None, 0.3, CLASSES) == {"cat": 1.0, "camera": 0.0, "dog": 0.0}
    with pytest.raises(ValueError, match="unknown class 'bird'"):
        soft_label("cat", "bird", 0.5, CLASSES)


def test_labels_csv_round_trips_with_odd_class_names() -> None:
    classes = ["plain", "with, comma", 'say "hi"', "space here", "café 猫"]
    rng = np.random.default_rng(0)
    rows = []
    for i, (own, partner) in enumerate([(0, 1), (2, 3), (4, 4), (1, 0)]):
        lam = float(rng.beta(0.2, 0.2))
        rows.append((f"out/{3 - i}, copy.png", soft_label(classes[own], classes[partner], lam, classes)))
    text = labels_csv(rows, classes)
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["output", *classes]
    assert [row[0] for row in parsed[1:]] == sorted(r[0] for r in rows)
    by_output = dict(rows)
    for row in parsed[1:]:
        weights = [float(w) for w in row[1:]]
        assert math.isclose(sum(weights), 1.0, abs_tol=1e-5)
        assert weights == pytest.approx([by_output[row[0]][c] for c in classes], abs=1e-6)
    assert '"with, comma"' in text and '"say ""hi"""' in text


def test_labels_csv_formats_weights_compactly() -> None:
    text = labels_csv([("b.png", {"cat": 1.0}), ("a.png", {"cat": 0.25, "dog": 0.75})], ["cat", "dog"])
    assert text == "output,cat,dog\na.png,0.25,0.75\nb.png,1,0\n"
    with pytest.raises(ValueError, match="unknown classes: bird"):
        labels_csv([("a.png", {"bird": 1.0})], ["cat"])
    with pytest.raises(ValueError, match="twice"):
        labels_csv([("a.png", {"cat": 1.0}), ("a.png", {"cat": 1.0})], ["cat"])


# --------------------------------------------------------------------------- the recipe section


def test_mix_model_to_spec() -> None:
    spec = MixModel.model_validate({"p_mixup": 0.3, "p_cutmix": 0.7, "cutmix_alpha": 0.5}).to_spec()
    assert spec == MixSpec(p_mixup=0.3, p_cutmix=0.7, mixup_alpha=0.2, cutmix_alpha=0.5)
    assert spec.enabled and not MixSpec().enabled
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_mix_model_rejects_chances_above_one() -> None:
    with pytest.raises(ValidationError, match=r"p_mixup \+ p_cutmix must be at most 1, got 0.6 \+ 0.5 = 1.1"):
        MixModel.model_validate({"p_mixup": 0.6, "p_cutmix": 0.5})
    with pytest.raises(ValueError, match="must be at most 1"):
        MixSpec(p_mixup=0.6, p_cutmix=0.5)


@pytest.mark.parametrize("key", ["mixup_alpha", "cutmix_alpha"])
def test_mix_model_rejects_non_positive_alpha(key: str) -> None:
    with pytest.raises(ValidationError) as info:
        MixModel.model_validate({key: -1})
    (error,) = info.value.errors()
    assert error["loc"] == (key,) and error["msg"] == "Input should be greater than 0"
    with pytest.raises(ValueError, match=f"{key} must be greater than 0"):
        MixSpec(**{key: 0.0})


def test_mix_model_is_strict() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        MixModel.model_validate({"p_mix": 0.5})
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        MixModel.model_validate({"p_cutmix": 1.5})


def test_pick_from_sorted_draws_exactly_what_pick_partner_draws() -> None:
    from augcli.mixing import pick_from_sorted, pick_partner

    names = [f"train/c{i % 3}/img{i:03d}.jpg" for i in range(40)]
    candidates = sorted(set(names))
    for seed in range(300):
        own = names[seed % len(names)] if seed % 5 else "not/in/the/split.jpg"
        a = pick_partner(np.random.default_rng(seed), names[::-1], own)
        b = pick_from_sorted(np.random.default_rng(seed), candidates, own)
        assert a == b and a != own
    assert pick_from_sorted(np.random.default_rng(0), ["only.jpg"], "only.jpg") is None
