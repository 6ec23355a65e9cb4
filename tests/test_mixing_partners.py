"""`render.mixing_partners`: the one place that decides whether a recipe mixes and where partners come from."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from augcli.datasets import discover_dataset
from augcli.errors import UsageError
from augcli.imageio import read_image
from augcli.recipe import Recipe, load_recipe
from augcli.render import mixing_partners, read_labels
from augcli.store import open_store

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "data" / "labels"
NATURAL = ROOT / "samples" / "natural"

MIXING = """\
augcli: 1
name: mixing
copies: 2
augment:
  - HorizontalFlip: {p: 0.5}
mix: {p_mixup: 0.5, p_cutmix: 0.5}
"""


def recipe(tmp_path: Path, text: str = MIXING) -> Recipe:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return load_recipe(path)


def test_a_recipe_that_does_not_mix_has_no_partners(tmp_path: Path) -> None:
    dataset = discover_dataset(NATURAL)
    assert mixing_partners(recipe(tmp_path, MIXING.replace("mix:", "# mix:")), dataset, None) is None
    off = MIXING.replace("p_mixup: 0.5, p_cutmix: 0.5", "p_mixup: 0.0, p_cutmix: 0.0")
    assert mixing_partners(recipe(tmp_path, off), dataset, None) is None


def test_partners_are_the_training_split_with_their_classes(tmp_path: Path) -> None:
    partners = mixing_partners(recipe(tmp_path), discover_dataset(NATURAL), None)
    assert partners is not None and partners.labels is None
    assert partners.classes == {
        "train/animal/chelsea.jpg": "animal",
        "train/object/coffee.jpg": "object",
        "train/object/motorcycle.jpg": "object",
        "train/object/rocket.jpg": "object",
        "train/person/astronaut.jpg": "person",
        "train/person/grace_hopper.jpg": "person",
    }
    assert partners.class_names == ["animal", "object", "person"]


def test_no_training_images_means_no_partners(tmp_path: Path) -> None:
    val_only = tmp_path / "data"
    shutil.copytree(NATURAL / "val", val_only / "val")
    assert mixing_partners(recipe(tmp_path), discover_dataset(val_only), None) is None


def test_partners_pickle_without_the_images_they_keep_and_read_the_same_after(tmp_path: Path) -> None:
    """A run sends its partners to each worker: they must pickle, and not carry decoded pixels along."""
    dataset = discover_dataset(LABELS / "voc")
    assert dataset.labels is not None
    codec = dataset.labels.codec
    partners = mixing_partners(recipe(tmp_path), dataset, codec)
    assert partners is not None and partners.labels is not None
    rel = "JPEGImages/2011_000003.jpg"
    pixels = partners.load(rel).pixels
    assert np.array_equal(pixels, read_image(LABELS / "voc" / rel).pixels)

    data = pickle.dumps(partners)
    assert len(data) < pixels.nbytes // 10
    copy = pickle.loads(data)
    assert np.array_equal(copy.load(rel).pixels, pixels)
    height, width = pixels.shape[:2]
    expected = read_labels(codec, open_store(LABELS / "voc"), rel, dataset.labels.payloads.get(rel), width, height)
    got = copy.labels(rel, width, height)
    assert [(o.category, o.box) for o in got.objects] == [(o.category, o.box) for o in expected.objects]
    assert got.objects


def test_segmentation_masks_are_refused_at_the_recipe(tmp_path: Path) -> None:
    dataset = discover_dataset(LABELS / "voc_seg")
    assert dataset.labels is not None
    mixing = recipe(tmp_path)
    with pytest.raises(UsageError, match="MixUp/CutMix of segmentation masks is not supported") as caught:
        mixing_partners(mixing, dataset, dataset.labels.codec)
    assert caught.value.path == str(mixing.source)
