"""Records that tell the truth: for every transform of the catalogue, the manifest record of a step
holds the values that decided its output, enough to replay that output exactly."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import pytest

from augcli import registry
from augcli.pipeline import applied_summary
from augcli.recipe.probe import probe_image

# Parameters for the transforms that have no usable defaults (sizes, modes, inputs).
SETUP: dict[str, dict[str, Any]] = {
    "AtLeastOneBBoxRandomCrop": {"height": 40, "width": 48},
    "BBoxSafeRandomCrop": {},
    "CenterCrop": {"height": 40, "width": 48},
    "Crop": {"x_min": 4, "y_min": 6, "x_max": 50, "y_max": 40},
    "CropAndPad": {"px": (-4, 6)},
    "CropNonEmptyMaskIfExists": {"height": 40, "width": 48},
    "GridElasticDeform": {"num_grid_xy": (4, 4), "magnitude": 5},
    "LongestMaxSize": {"max_size": 50},
    "RandomCrop": {"height": 40, "width": 48},
    "RandomResizedCrop": {"size": (40, 48)},
    "RandomSizedBBoxSafeCrop": {"height": 40, "width": 48},
    "RandomSizedCrop": {"min_max_height": (30, 50), "size": (40, 48)},
    "Resize": {"height": 40, "width": 48},
    "SmallestMaxSize": {"max_size": 50},
}
# Inputs beyond the image some transforms read (reference images, a mask, boxes).
IMAGE = probe_image(64, 80)
EXTRA: dict[str, dict[str, Any]] = {
    "FDA": {"fda_metadata": [probe_image(48, 48)]},
    "HistogramMatching": {"hm_metadata": [probe_image(48, 48)]},
    "PixelDistributionAdaptation": {"pda_metadata": [probe_image(48, 48)]},
    "MaskDropout": {"mask": (np.indices((64, 80)).sum(0) % 40 < 20).astype(np.uint8)},
    "CropNonEmptyMaskIfExists": {"mask": (np.indices((64, 80)).sum(0) % 40 < 20).astype(np.uint8)},
}
# Fields the size of the image (random draws, or reference images the caller passed in): a record names
# them by shape and digest, which tells two draws apart and checks one, but cannot replay it.
DRAWN_FIELDS = {
    "FDA": {"target_image"},
    "GridDropout": {"holes"},
    "HistogramMatching": {"reference_image"},
    "MaskDropout": {"dropout_mask"},
    "PixelDistributionAdaptation": {"reference_image"},
    "Spatter": {"drops"},
    "AdditiveNoise": {"noise_map"},
    "ElasticTransform": {"map_x", "map_y"},
    "GaussNoise": {"noise_map"},
    "GlassBlur": {"dxy"},
    "GridDistortion": {"map_x", "map_y"},
    "OpticalDistortion": {"map_x", "map_y"},
    "PiecewiseAffine": {"map_x", "map_y"},
    "PixelDropout": {"drop_mask", "drop_values"},
    "PlasmaBrightnessContrast": {"plasma_pattern"},
    "PlasmaShadow": {"plasma_pattern"},
    "RandomFog": {"particle_positions", "radiuses"},
    "SaltAndPepper": {"salt_mask", "pepper_mask"},
    "ThinPlateSpline": {"map_x", "map_y"},
}
BOX_CROPS = {"BBoxSafeRandomCrop", "RandomSizedBBoxSafeCrop", "AtLeastOneBBoxRandomCrop"}  # they read boxes


def _steps() -> list[str]:
    return sorted(n for n, c in registry.catalogue().items() if not registry.is_composition(c))


def _like(original: Any, recorded: Any) -> Any:
    """A recorded JSON value as the type Albumentations handed over (arrays, tuples, numpy scalars)."""
    if isinstance(original, np.ndarray):
        return np.asarray(recorded, dtype=original.dtype).reshape(original.shape)
    if isinstance(original, np.generic):
        return type(original)(recorded)
    if isinstance(original, (list, tuple)):
        return type(original)(_like(o, r) for o, r in zip(original, recorded, strict=True))
    if isinstance(original, dict):
        return {k: _like(v, recorded[k]) for k, v in original.items()}
    return recorded


def _fire(name: str, seed: int) -> tuple[Any, dict[str, Any], dict[str, Any], np.ndarray, dict[str, Any]]:
    import albumentations as A

    cls = registry.catalogue()[name]
    kwargs = {**SETUP.get(name, {}), **({"p": 1.0} if "p" in registry.init_parameters(cls) else {})}
    step = cls(**kwargs)
    boxes = A.BboxParams(format="pascal_voc", label_fields=["labels"]) if name in BOX_CROPS else None
    compose = A.Compose([step], save_applied_params=True, strict=True, bbox_params=boxes)
    compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
    data = {"image": IMAGE.copy(), **EXTRA.get(name, {})}
    if boxes is not None:
        data.update(bboxes=np.array([[10, 12, 40, 44]], dtype=np.float32), labels=[1])
    out = compose(**data)
    ((fired, params),) = out["applied_transforms"]
    assert fired == name
    (record,) = json.loads(json.dumps(applied_summary(out["applied_transforms"])))
    return step, params, record["params"], out["image"], data


@pytest.mark.parametrize("name", _steps())
def test_each_record_replays_its_output_exactly(name: str) -> None:
    for seed in (1, 2):
        step, params, record, expected, data = _fire(name, seed)
        drawn = DRAWN_FIELDS.get(name, set())
        replay: dict[str, Any] = {}
        for key, value in params.items():
            if key in ("shape", "interpolation", "mask_interpolation"):
                replay[key] = value  # fixed by the input image and the recipe
            elif key == "bbox_matrix" and key not in record:
                replay[key] = _like(value, record["matrix"])
            elif isinstance(record.get(key), dict) and "digest" in record[key]:
                assert key in drawn, f"{name}.{key} is recorded by digest only"
                assert record[key]["array"] == list(np.shape(value)), key
                replay[key] = value  # a draw the record names by digest only
            else:
                assert key in record, f"{name} does not record {key}"
                replay[key] = _like(value, record[key])
        extra = {k: v for k, v in data.items() if k not in ("image", "bboxes", "labels")}
        replayed = step.apply_with_params(replay, image=IMAGE.copy(), **extra)["image"]
        assert replayed.shape == expected.shape and np.array_equal(replayed, expected), f"{name} seed {seed}"


@pytest.mark.parametrize("name", sorted(DRAWN_FIELDS))
def test_drawn_fields_are_named_by_a_digest_that_tells_draws_apart(name: str) -> None:
    _, _, first, _, _ = _fire(name, 1)
    _, _, second, _, _ = _fire(name, 2)
    digests = [key for key in DRAWN_FIELDS[name] if isinstance(first[key], dict)]
    for key in digests:  # small draws (at this image size) are recorded whole
        assert set(first[key]) == {"array", "dtype", "digest"}
    if digests and name not in ("FDA", "HistogramMatching", "PixelDistributionAdaptation", "MaskDropout"):
        assert any(first[k] != second[k] for k in digests), "a digest tells two draws apart"


def test_rotate_records_its_angle_and_matrix() -> None:
    import albumentations as A

    compose = A.Compose([A.Rotate(limit=(30, 30), p=1)], save_applied_params=True)
    (record,) = applied_summary(compose(image=IMAGE)["applied_transforms"])
    assert record["params"]["angle"] == pytest.approx(30.0)
    assert len(record["params"]["matrix"]) == 3


def test_captions_show_the_recorded_values_a_reader_needs() -> None:
    import albumentations as A

    from augcli.preview import caption

    def shown(step: Any, seed: int = 3) -> str:
        compose = A.Compose([step], save_applied_params=True)
        compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
        return caption(applied_summary(compose(image=IMAGE)["applied_transforms"]))

    assert shown(A.Rotate(limit=(-170, -170), p=1)) == "rotate -170.0°"
    noise = shown(A.GaussNoise(std_range=(0.1, 0.1), p=1))
    assert noise.startswith("Gaussian noise std 0.1"), noise
    assert shown(A.GaussianBlur(blur_limit=(5, 5), p=1)) == "Gaussian blur 5x5"
    assert shown(registry.catalogue()["RandAugment"](p=1)).startswith("RandAugment: ")
    assert shown(A.CoarseDropout(num_holes_range=(3, 3), p=1)) == "dropout 3 holes"
    assert shown(A.Erasing(p=1)).startswith("erasing 1 hole ")
