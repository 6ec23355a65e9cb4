"""A crop far smaller than the dataset's images throws most of each image (and its labels) away.

Only `validate-recipe` with a known input can tell: the sizes come from the headers of a few of the
input's images, and the pipeline's top-level steps are run on a test image of the commonest size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from augcli.imageio import IMAGE_SUFFIXES
from augcli.pipeline import build_compose, run_compose
from augcli.recipe.model import Recipe
from augcli.recipe.probe import probe_image
from augcli.recipe.problems import Finding

KEPT_AT_LEAST = 0.25  # a crop keeping less than this fraction of an image's area is worth a warning
SAMPLED_IMAGES = 16


def input_size(folder: Path, sample: int = SAMPLED_IMAGES) -> tuple[int, int] | None:
    """(height, width) most common among the first few images of a local folder (headers only)."""
    from PIL import Image

    sizes: Counter[tuple[int, int]] = Counter()
    for path in sorted(folder.rglob("*")):
        if len(sizes) >= sample or sum(sizes.values()) >= sample:
            break
        if path.suffix.lower() not in IMAGE_SUFFIXES or any(p.startswith(".") for p in path.parts):
            continue
        try:
            with Image.open(path) as image:
                sizes[(image.height, image.width)] += 1
        except OSError:
            continue
    return max(sizes, key=lambda s: (sizes[s], s[0] * s[1])) if sizes else None


def crop_findings(recipe: Recipe) -> Iterator[Finding]:
    """Top-level crops (CenterCrop, RandomCrop, ...) that keep under a quarter of the input's images."""
    if not isinstance(recipe.input, Path) or not recipe.input.is_dir():  # none, or a URL: not read here
        return
    size = input_size(recipe.input)
    if size is None:
        return
    image = probe_image(*size)
    for spec in recipe.preprocess + recipe.augment:
        before = image.shape[:2]
        try:
            image = run_compose(build_compose([spec]), seed=0, image=image)["image"]
        except Exception:
            return  # pipeline-fails reports it
        after = image.shape[:2]
        kept = after[0] * after[1] / (before[0] * before[1])
        if spec.name.endswith("Crop") and "Resized" not in spec.name and kept < KEPT_AT_LEAST:
            yield (
                "crop-discards",
                spec.path,
                f"{spec.name} keeps {after[1]}x{after[0]} of the {size[1]}x{size[0]} images in the input "
                f"({kept:.0%} of each, the rest and its labels are thrown away); resize first "
                "(LongestMaxSize/SmallestMaxSize) or cut the images into tiles",
            )
