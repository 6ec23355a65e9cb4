"""What kinds of labels a dataset has, and which recipe steps cannot carry them.

Found cheaply by each format's `survey`: COCO's annotations are already in memory after detection;
VOC and YOLO are judged from which label files exist (YOLO also from a few files' first lines).

A step can carry a kind of label when its class lists the Albumentations target in `_targets`
(Albumentations 2.0.8). Its instance's `targets` dict is no guide: every DualTransform has an
`apply_to_bboxes` there, which raises NotImplementedError when the class does not support boxes.
Image-only transforms move no pixels to other places, so labels pass them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augcli.datasets.base import LABEL_KINDS, Dataset
from augcli.datasets.discovery import discover_dataset
from augcli.datasets.registry import get_format
from augcli.store import Store


@dataclass
class LabelSummary:
    format: str
    description: str
    images: int
    labelled: int  # images with at least one label file (or COCO annotation)
    kinds: set[str] = field(default_factory=set)  # boxes, polygons, keypoints, masks

    def __str__(self) -> str:
        kinds = ", ".join(k for k in LABEL_KINDS if k in self.kinds) or "none"
        return f"{self.description}: {self.labelled} of {self.images} images labelled; {kinds}"


def summarize(dataset: Dataset) -> LabelSummary | None:
    """The dataset's labels in a line (format, images labelled, kinds); None for classification folders."""
    if dataset.labels is None:
        return None
    labelled, kinds = get_format(dataset.labels.format).survey(dataset)
    return LabelSummary(dataset.labels.format, dataset.labels.description, len(dataset.samples), labelled, kinds)


# Each kind of label travels as this Albumentations target (polygon vertices move as keypoints).
_TARGET = {
    "boxes": "BBOXES",
    "oriented boxes": "KEYPOINTS",
    "polygons": "KEYPOINTS",
    "keypoints": "KEYPOINTS",
    "masks": "MASK",
}


def unsupported(specs: list[Any], kinds: set[str]) -> list[tuple[Any, str]]:
    """(step path, message) for every step that cannot move a kind of label the dataset has."""
    from albumentations.core.transforms_interface import BasicTransform, ImageOnlyTransform
    from albumentations.core.type_definitions import Targets

    from augcli import registry

    out = []
    for top in specs:
        for spec in top.walk():
            cls = registry.catalogue().get(spec.name)
            if cls is None or not issubclass(cls, BasicTransform) or issubclass(cls, ImageOnlyTransform):
                continue
            targets: Any = getattr(cls, "_targets", ())
            declared = targets if isinstance(targets, tuple) else (targets,)
            missing = [k for k in sorted(kinds) if getattr(Targets, _TARGET[k]) not in declared]
            if missing:
                out.append(
                    (
                        spec.path,
                        f"{spec.name} cannot move {' or '.join(missing)}, and the input's labels have them "
                        "(run would fail or leave them where they were)",
                    )
                )
    return out


def label_check(
    inputs: Store | str | Path, label_format: str, specs: list[Any]
) -> tuple[LabelSummary | None, list[tuple[Any, str]]]:
    """Detect the labels under `inputs` and the steps that cannot carry them."""
    summary = summarize(discover_dataset(inputs, "auto", label_format))
    if summary is None:
        return None, []
    return summary, unsupported(specs, summary.kinds)
