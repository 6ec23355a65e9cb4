"""Folder layouts: flat, class folders (ImageFolder), split folders, splits with class folders.

The format of datasets without label files (and of any dataset when the recipe says `folders`):
a sample's class is its folder. The output mirrors the input's relative paths, so whatever layout
came in goes out.
"""

from __future__ import annotations

from augcli.datasets.base import SPLITS, TRAIN, Dataset, Sample, is_image
from augcli.errors import UsageError
from augcli.store import Store

LAYOUTS: tuple[str, ...] = ("auto", "flat", "classes", "splits", "split-classes")


def detect_layout(images: list[str]) -> str:
    tops = {f.split("/", 1)[0] for f in images if "/" in f}
    has_root_files = any("/" not in f for f in images)
    if tops and all(t.lower() in SPLITS for t in tops) and not has_root_files:
        deep = any(f.count("/") >= 2 for f in images)
        return "split-classes" if deep else "splits"
    if tops and not has_root_files:
        return "classes"
    return "flat"


def _sample(rel: str, layout: str, inputs: Store) -> Sample:
    parts = rel.split("/")
    split, label = TRAIN, None
    if layout in ("splits", "split-classes"):
        if len(parts) < 2 or parts[0].lower() not in SPLITS:
            raise UsageError(f"layout '{layout}' expects train/ val/ test/ folders, found '{rel}'", inputs.where())
        split = SPLITS[parts[0].lower()]
        if layout == "split-classes":
            label = parts[1] if len(parts) >= 3 else None
    elif layout == "classes":
        label = parts[0] if len(parts) >= 2 else None
    return Sample(rel, split, label)


class FoldersFormat:
    name = "folders"
    title = "class folders"
    kinds: frozenset[str] = frozenset()  # a class per image, from its folder: nothing moves with the pixels
    priority = 1000  # the fallback: every folder of images is one
    target = None
    no_conversion = "class folders have no labels to convert"

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset:
        """Every image under the root, its split and class read from its folders (`layout`, or guessed)."""
        if layout not in LAYOUTS:
            raise UsageError(f"unknown layout '{layout}'; layouts: {', '.join(LAYOUTS)}")
        images = [f for f in files if is_image(f)]
        ignored = [f for f in files if not is_image(f)]
        concrete = detect_layout(images) if layout == "auto" else layout
        return Dataset(inputs, concrete, [_sample(rel, concrete, inputs) for rel in images], ignored)

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        """Images in a class folder; no kind of label moves with them."""
        return sum(1 for s in dataset.samples if s.label is not None), set()

    def class_names(self, dataset: Dataset) -> list[str]:
        """The class folders' names, sorted."""
        return sorted({s.label for s in dataset.samples if s.label is not None})


FORMAT = FoldersFormat()
