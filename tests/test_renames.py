"""The Albumentations 1.x table behind unknown-name messages: every successor exists, no old name does."""

from __future__ import annotations

import pytest

from augcli import registry
from augcli.recipe.renames import PARAMETERS, TRANSFORMS, parameter_hint, transform_hint


@pytest.mark.parametrize("old", sorted(TRANSFORMS))
def test_each_removed_transform_names_a_successor_in_the_catalogue(old: str) -> None:
    assert old not in registry.catalogue(), f"{old} still exists: it needs no entry"
    successor = TRANSFORMS[old][0]
    assert successor in registry.catalogue()
    assert transform_hint(old).startswith(f"; {old} is from Albumentations 1.x: use {successor} (")


def test_each_renamed_parameter_is_the_successor_of_a_real_parameter() -> None:
    taken = {p for cls in registry.catalogue().values() for p in registry.init_parameters(cls)}
    missing = sorted({new for new, _ in PARAMETERS.values()} - taken)
    assert not missing, f"successors no transform takes: {missing}"


def test_a_parameter_hint_only_where_the_successor_is_taken() -> None:
    crop = list(registry.init_parameters(registry.catalogue()["RandomResizedCrop"]))
    center = list(registry.init_parameters(registry.catalogue()["CenterCrop"]))
    assert parameter_hint("height", crop) == "; 'height' is from Albumentations 1.x: use size: [height, width]"
    assert parameter_hint("height", center) is None  # CenterCrop still takes height
    assert parameter_hint("hieght", crop) is None
