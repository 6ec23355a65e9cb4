"""The resolved Recipe's typed sections: `mix_model` and `label_options`, built once from the validated YAML."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

from augcli.datasets.labels import LabelOptions
from augcli.mixing import MixSpec
from augcli.recipe import load_recipe

MIXED = """\
augcli: 1
name: mixed
augment:
  - HorizontalFlip: {p: 0.5}
labels: {format: coco, min_visibility: 0.25}
mix: {p_mixup: 0.3, cutmix_alpha: 0.5}
"""


def recipe_from(tmp_path: Path, text: str):
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return load_recipe(path)


def test_mix_model_is_the_mix_section_with_its_defaults(tmp_path: Path) -> None:
    recipe = recipe_from(tmp_path, MIXED)
    assert recipe.mix_model == MixSpec(p_mixup=0.3, p_cutmix=0.0, mixup_alpha=0.2, cutmix_alpha=0.5)
    assert recipe.mix_model.enabled
    assert recipe.mix_model is recipe.mix_model  # built once, not per use


def test_label_options_are_the_labels_section_with_its_defaults(tmp_path: Path) -> None:
    recipe = recipe_from(tmp_path, MIXED)
    assert recipe.label_options == LabelOptions(format="coco", min_visibility=0.25, min_area=1.0)
    assert recipe.label_options is recipe.label_options


def test_a_recipe_without_the_sections_mixes_nothing_and_reads_labels_by_default(tmp_path: Path) -> None:
    recipe = recipe_from(tmp_path, "augcli: 1\nname: plain\naugment:\n  - HorizontalFlip: {p: 0.5}\n")
    assert not recipe.mix_model.enabled and recipe.mix_model == MixSpec()
    assert recipe.label_options == LabelOptions()
    bare = dataclasses.replace(recipe, mix={}, labels={})  # as a Recipe built by hand
    assert bare.mix_model == MixSpec() and bare.label_options == LabelOptions()


def test_replacing_a_section_is_seen_and_the_accessors_survive_pickling(tmp_path: Path) -> None:
    recipe = recipe_from(tmp_path, MIXED)
    assert recipe.mix_model.enabled
    assert not dataclasses.replace(recipe, mix={}).mix_model.enabled
    sent = pickle.loads(pickle.dumps(recipe))  # what a pool worker receives
    assert sent.mix_model == recipe.mix_model and sent.label_options == recipe.label_options
