"""Folder layouts: flat, class folders (ImageFolder), split folders, splits with class folders.

The output mirrors the input's relative paths, so whatever layout came in goes out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from augcli.errors import UsageError
from augcli.imageio import IMAGE_SUFFIXES

SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
TRAIN = "train"
Layout = Literal["auto", "flat", "classes", "splits", "split-classes"]
LAYOUTS: tuple[str, ...] = ("auto", "flat", "classes", "splits", "split-classes")


@dataclass(frozen=True)
class Sample:
    """One source image: where it is, and what split and class its place in the tree says."""

    rel: str  # POSIX path relative to the dataset root: the seed key and the output's place
    split: str  # train / val / test (a flat or class-folder dataset is all train)
    label: str | None  # class folder name, if the layout has classes

    @property
    def augmented(self) -> bool:
        return self.split == TRAIN


@dataclass(frozen=True)
class Dataset:
    root: Path
    layout: str  # the concrete layout found (never "auto")
    samples: list[Sample]
    ignored: list[str]  # files under the root that are not images by suffix
    labels: Any = None  # a formats.LabelSet when the images carry boxes/masks/keypoints


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def list_files(root: Path) -> list[str]:
    """Every file under root as a sorted POSIX relative path (hidden files and folders skipped)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            if not _is_hidden(name):
                out.append((rel_dir / name).as_posix())
    return sorted(out)


def detect_layout(root: Path, files: list[str]) -> str:
    tops = {f.split("/", 1)[0] for f in files if "/" in f}
    has_root_files = any("/" not in f for f in files)
    if tops and all(t.lower() in SPLITS for t in tops) and not has_root_files:
        deep = any(f.count("/") >= 2 for f in files)
        return "split-classes" if deep else "splits"
    if tops and not has_root_files:
        return "classes"
    return "flat"


def discover(root: Path, layout: str = "auto") -> Dataset:
    """Find the images under root and read split/class from their folders."""
    if not root.exists():
        raise UsageError("input folder does not exist", root)
    if not root.is_dir():
        raise UsageError("input is not a folder", root)
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout '{layout}'; layouts: {', '.join(LAYOUTS)}")
    files = list_files(root)
    images = [f for f in files if Path(f).suffix.lower() in IMAGE_SUFFIXES]
    ignored = [f for f in files if Path(f).suffix.lower() not in IMAGE_SUFFIXES]
    concrete = detect_layout(root, images) if layout == "auto" else layout
    samples = [_sample(rel, concrete, root) for rel in images]
    return Dataset(root, concrete, samples, ignored)


def _sample(rel: str, layout: str, root: Path) -> Sample:
    parts = rel.split("/")
    split, label = TRAIN, None
    if layout in ("splits", "split-classes"):
        if len(parts) < 2 or parts[0].lower() not in SPLITS:
            raise UsageError(f"layout '{layout}' expects train/ val/ test/ folders, found '{rel}'", root)
        split = SPLITS[parts[0].lower()]
        if layout == "split-classes":
            label = parts[1] if len(parts) >= 3 else None
    elif layout == "classes":
        label = parts[0] if len(parts) >= 2 else None
    return Sample(rel, split, label)
