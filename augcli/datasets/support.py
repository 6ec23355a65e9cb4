"""What kinds of labels a dataset has, and which recipe steps cannot carry them.

Found cheaply, from detection alone: COCO's annotations are already in memory after detection; VOC
and YOLO are judged from which label files exist (YOLO also from a few files' first lines).

A step can carry a kind of label when its class lists the Albumentations target in `_targets`
(Albumentations 2.0.8). Its instance's `targets` dict is no guide: every DualTransform has an
`apply_to_bboxes` there, which raises NotImplementedError when the class does not support boxes.
Image-only transforms move no pixels to other places, so labels pass them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augcli.datasets.folders import Dataset

YOLO_SAMPLED_FILES = 50  # label files read to see whether a YOLO dataset has polygons or keypoints


@dataclass
class LabelSummary:
    format: str
    description: str
    images: int
    labelled: int  # images with at least one label file (or COCO annotation)
    kinds: set[str] = field(default_factory=set)  # boxes, polygons, keypoints, masks

    def __str__(self) -> str:
        kinds = ", ".join(k for k in ("boxes", "polygons", "keypoints", "masks") if k in self.kinds) or "none"
        return f"{self.description}: {self.labelled} of {self.images} images labelled; {kinds}"


def _coco(dataset: Dataset) -> tuple[int, set[str]]:
    kinds: set[str] = set()
    labelled = 0
    for payload in dataset.labels.payloads.values():
        anns = payload.get("annotations", [])
        labelled += bool(anns)
        for ann in anns:
            kinds.update({"boxes"} if ann.get("bbox") else set())
            seg = ann.get("segmentation")
            kinds.update(
                {"polygons"} if isinstance(seg, list) and seg else {"masks"} if isinstance(seg, dict) else set()
            )
            kinds.update({"keypoints"} if ann.get("keypoints") else set())
    return labelled, kinds


def _voc(dataset: Dataset) -> tuple[int, set[str]]:
    codec: Any = dataset.labels.codec
    kinds: set[str] = set()
    labelled = 0
    for sample in dataset.samples:
        xml = (dataset.root / codec._beside(sample.rel, "Annotations", ".xml")).is_file()
        masks = not codec.sibling and any(
            (dataset.root / codec._beside(sample.rel, d, ".png")).is_file()
            for d in ("SegmentationClass", "SegmentationObject")
        )
        labelled += xml or masks
        kinds.update({"boxes"} if xml else set())
        kinds.update({"masks"} if masks else set())
    return labelled, kinds


def _yolo(dataset: Dataset) -> tuple[int, set[str]]:
    from augcli.datasets.yolo import label_rel

    codec: Any = dataset.labels.codec
    kinds: set[str] = set()
    labelled = read = 0
    for sample in dataset.samples:
        path = dataset.root / label_rel(sample.rel)
        if not path.is_file() or path.stat().st_size == 0:
            continue
        labelled += 1
        kinds.add("boxes")
        if read < YOLO_SAMPLED_FILES:
            read += 1
            for line in path.read_text(encoding="utf-8").splitlines()[:20]:
                if len(line.split()) > 5:
                    kinds.add("keypoints" if codec.data.get("kpt_shape") else "polygons")
    return labelled, kinds


def _masks(dataset: Dataset) -> tuple[int, set[str]]:
    from augcli.datasets.masks import label_summary

    return label_summary(dataset)


KINDS: dict[str, Callable[[Dataset], tuple[int, set[str]]]] = {
    "coco": _coco,
    "voc": _voc,
    "yolo": _yolo,
    "masks": _masks,
}


def summarize(dataset: Dataset) -> LabelSummary | None:
    """The dataset's labels in a line (format, images labelled, kinds); None for classification folders."""
    if dataset.labels is None:
        return None
    labelled, kinds = KINDS[dataset.labels.format](dataset)
    return LabelSummary(dataset.labels.format, dataset.labels.description, len(dataset.samples), labelled, kinds)


# Each kind of label travels as this Albumentations target (polygon vertices move as keypoints).
_TARGET = {"boxes": "BBOXES", "polygons": "KEYPOINTS", "keypoints": "KEYPOINTS", "masks": "MASK"}


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
    input_root: Path, label_format: str, specs: list[Any]
) -> tuple[LabelSummary | None, list[tuple[Any, str]]]:
    """Detect the labels under `input_root` and the steps that cannot carry them."""
    from augcli.datasets.formats import discover_dataset

    summary = summarize(discover_dataset(input_root, "auto", label_format))
    if summary is None:
        return None, []
    return summary, unsupported(specs, summary.kinds)
