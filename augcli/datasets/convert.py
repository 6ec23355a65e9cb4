"""`run --to FORMAT`: read labels in the detected format, write them in another format's layout.

A `Converter` is a codec like the others (it pickles, workers read and write with it): it reads with
the source's codec, reshapes each image's labels into what the target can hold, and writes and
finishes with a target codec. What each target holds, where its images go and how labels are
reshaped for it is the target format's `ConversionTarget` (voc.py, coco.py, yolo.py):

* yolo: `images/<split>/x.jpg` + `labels/<split>/x.txt`, `data.yaml` (names in class order);
* coco: `<split>/x.jpg` + `annotations/instances_<split>.json` (categories numbered from 1);
* voc: `JPEGImages/x.jpg` + `Annotations/x.xml`, `ImageSets/Main/<split>.txt`.

Boxes always convert. Polygons go to COCO and YOLO (segmentation); a mask (COCO RLE, VOC instance
mask) becomes polygons there; keypoints go to COCO and YOLO (pose); VOC keeps only boxes (made tight
from the polygon or mask first). A kind the target cannot hold is refused unless `lossy`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from augcli.datasets.base import Adapt, Codec, ConversionTarget, Dataset
from augcli.datasets.labels import ImageLabels
from augcli.datasets.registry import SAME, conversion_targets, get_format, unknown_name
from augcli.errors import UsageError
from augcli.store import Store


@dataclass
class Converter:
    """A codec that reads with `source` and writes with `target` (format `to`)."""

    source: Codec
    target: Codec
    to: str
    names: list[str]
    adapt: Adapt  # the target format's reshaping of one image's labels
    written_as: str  # what the run summary says is written: "COCO (<split>/ + ...)"

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        labels = self.source.read(inputs, rel, payload, width, height)
        unknown = sorted({o.category for o in labels.objects} - set(self.names))
        if unknown:
            raise ValueError(f"class {unknown[0]!r} is not among the dataset's class names")
        return self.adapt(labels, self.names)

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        return self.target.write(outputs, image_rel, labels, width, height)

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        return self.target.finish(outputs, records)


def _target(to: str) -> ConversionTarget:
    target = get_format(to).target
    assert target is not None, f"'{to}' is not a conversion target"
    return target


def class_names(dataset: Dataset) -> list[str]:
    """Every class name the source knows, in its own order (each once): a conversion numbers classes by it."""
    assert dataset.labels is not None
    return list(dict.fromkeys(get_format(dataset.labels.format).class_names(dataset)))


def converter(dataset: Dataset, to: str, *, lossy: bool = False) -> Converter | None:
    """The codec that writes `dataset`'s labels as `to`; None when there is nothing to convert. A kind of
    label the target cannot hold is refused, unless `lossy` (the writer then counts what it dropped)."""
    if to not in conversion_targets():
        raise unknown_name("--to format", to, conversion_targets())
    label_set = dataset.labels
    if to == SAME or (label_set is not None and label_set.format == to):
        return None
    if label_set is None:
        raise UsageError(f"--to {to} converts labels, and the input has none (classification folders)", dataset.root)
    source = get_format(label_set.format)
    if source.no_conversion:
        raise UsageError(f"--to {to}: {source.no_conversion}; run without --to", dataset.root)
    names = class_names(dataset)
    splits = sorted({s.split for s in label_set.samples})
    target = _target(to)
    _, kinds = source.survey(dataset)
    lost = target.lost(kinds) if target.lost is not None else {k: "" for k in kinds - get_format(to).kinds}
    unconvertible = getattr(source, "unconvertible", None)  # what the source's files cannot give any target
    lost = {**(unconvertible(dataset) if unconvertible is not None else {}), **lost}
    if lost and not lossy:
        what = " and ".join(f"{kind} ({why})" if why else kind for kind, why in sorted(lost.items()))
        raise UsageError(
            f"--to {to} cannot carry the input's {what}; pass --lossy to convert anyway "
            "(run.json then counts what was not written)",
            dataset.root,
        )
    codec = target.codec(names, splits)
    if "keypoints" in kinds and target.keypoints is not None:
        count, flip = keypoint_layout(dataset)
        codec = target.keypoints(codec, count, flip)
    written_as = f"{get_format(to).title} ({target.layout})"
    return Converter(label_set.codec, codec, to, names, target.adapt, written_as)


def keypoint_layout(dataset: Dataset) -> tuple[int, list[int]]:
    """How many keypoints an object has (the most any has) and the index that swaps left and right on a
    mirror (no swap where the source names none), from a format's optional `keypoint_layout`."""
    assert dataset.labels is not None
    layout = getattr(get_format(dataset.labels.format), "keypoint_layout", None)
    count, flip = layout(dataset) if layout is not None else (0, None)
    return count, list(flip) if flip is not None and len(flip) == count else list(range(count))


def relocate(plans: list[tuple[Any, list[Any]]], to: str) -> list[tuple[Any, list[Any]]]:
    """Output plans moved to the target layout's image folders; two outputs on one path is an error."""
    place = _target(to).place
    seen: dict[str, str] = {}
    out = []
    for sample, outs in plans:
        moved = [replace(o, rel=place(o.rel, sample.split)) for o in outs]
        for o in moved:
            if o.rel in seen:
                raise UsageError(
                    f"--to {to}: {sample.rel} and {seen[o.rel]} would both be written as {o.rel}; rename one"
                )
            seen[o.rel] = sample.rel
        out.append((sample, moved))
    return out
