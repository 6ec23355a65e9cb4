"""The label-format registry, and discovery of a dataset together with its labels.

A format is found by a detector (`FORMATS[name]`) that looks at the files under the root and, when
they are its own, returns a `LabelSet`: the samples (image paths with their split), per-image data
the workers need (`payloads`, e.g. one image's COCO annotations) and a small picklable `codec`
that reads and writes one image's labels in a worker and finishes the dataset in the parent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from augcli import registry
from augcli.datasets.folders import IMAGE_SUFFIXES, SPLITS, TRAIN, Dataset, Sample, discover, list_files
from augcli.datasets.labels import ImageLabels
from augcli.errors import UsageError


class Codec(Protocol):
    name: str

    def read(self, root: Path, rel: str, payload: Any, width: int, height: int) -> ImageLabels: ...

    def write(self, out_root: Path, out_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        """Write one output's label files; return its manifest record (`objects`, `files`, format data)."""
        ...

    def finish(self, out_root: Path, records: list[dict[str, Any]]) -> list[str]:
        """Parent side, after every output is written: dataset-level files (COCO JSON, data.yaml)."""
        ...


@dataclass
class LabelSet:
    format: str
    codec: Codec
    samples: list[Sample]
    payloads: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    description: str = ""


Detector = Callable[[Path, list[str]], "LabelSet | None"]


def split_of(parts: list[str]) -> str:
    """The split a path's folders name (train/val/valid/validation/test, also train2017), else train."""
    for part in parts:
        low = part.lower().rstrip("0123456789")
        if low in SPLITS:
            return SPLITS[low]
    return TRAIN


def is_image(rel: str) -> bool:
    return Path(rel).suffix.lower() in IMAGE_SUFFIXES


def _formats() -> dict[str, Detector]:
    from augcli.datasets import coco, masks, voc, yolo

    # Order matters for auto-detection: an explicit JSON or data.yaml is stronger evidence than XML,
    # and any of the three beats a bare masks/ folder.
    return {"coco": coco.detect, "yolo": yolo.detect, "voc": voc.detect, "masks": masks.detect}


LABEL_FORMATS = ("auto", "coco", "yolo", "voc", "masks", "folders")


def discover_dataset(root: Path, layout: str = "auto", label_format: str = "auto") -> Dataset:
    """Images and their labels: the named format, the first format that recognises the files, or
    (format `folders`, or nothing recognised) the folder layouts with classification labels."""
    if label_format not in LABEL_FORMATS:
        hint = registry.suggest(label_format, list(LABEL_FORMATS))
        extra = f"; did you mean {hint[0]}?" if hint else ""
        raise UsageError(f"unknown label format '{label_format}' (formats: {', '.join(LABEL_FORMATS)}){extra}")
    if label_format == "folders" or not root.is_dir():
        return discover(root, layout)
    files = list_files(root)
    detectors = _formats()
    names = list(detectors) if label_format == "auto" else [label_format]
    for name in names:
        found = detectors[name](root, files)
        if found is not None:
            return Dataset(root, name, found.samples, found.ignored, found)
    if label_format != "auto":
        raise UsageError(f"no {label_format} labels found (see README: label formats and layouts)", root)
    return discover(root, layout)
