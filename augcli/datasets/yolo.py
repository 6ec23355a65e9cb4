"""YOLO (Ultralytics): `images/<split>/x.jpg` with `labels/<split>/x.txt` (or `<split>/images` with
`<split>/labels`), and `data.yaml` naming the classes.

A line is `class cx cy w h` (detection) or `class x1 y1 x2 y2 ...` (segmentation polygon), all
normalised to 0..1. Polygons move vertex by vertex, are clipped to the image and give the object
a tight box. An image without a label file, or with an empty one, is a background image and stays
one. `data.yaml` is copied with its `path:` key removed, so the output folder is self-contained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import yaml

from augcli.datasets.base import (
    Codec,
    ConversionTarget,
    Dataset,
    LabelReadError,
    LabelSet,
    Sample,
    is_image,
    labelled,
    put_text_labels,
    read_text,
    split_of,
)
from augcli.datasets.labels import ImageLabels, LabelObject
from augcli.datasets.shapes import polygon_objects
from augcli.store import Store

DATA_YAML = ("data.yaml", "data.yml", "dataset.yaml")
SAMPLED_FILES = 50  # label files `survey` reads to see whether a dataset has polygons or keypoints


def label_rel(image_rel: str) -> str:
    """Ultralytics' rule: the last `images` folder becomes `labels`, the suffix `.txt`."""
    parts = list(PurePosixPath(image_rel).parts)
    i = max(k for k, p in enumerate(parts[:-1]) if p == "images")
    parts[i] = "labels"
    return PurePosixPath(*parts).with_suffix(".txt").as_posix()


@dataclass
class YoloCodec:
    names: list[str]
    data_yaml: str | None = None  # its path under the root
    data: dict[str, Any] = field(default_factory=dict)

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        txt = label_rel(rel)
        had_file = inputs.is_file(txt)
        labels = ImageLabels(meta={"had_file": had_file})
        if self.data.get("flip_idx"):
            labels.meta["flip_idx"] = {"*": [int(i) for i in self.data["flip_idx"]]}
        if not had_file:
            return labels
        n_kpt, kpt_dim = (int(v) for v in self.data.get("kpt_shape", (0, 3)))
        path = inputs.where(txt)
        for n, line in enumerate(read_text(inputs, txt).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                cls, values = int(fields[0]), np.array([float(v) for v in fields[1:]])
            except ValueError:
                raise LabelReadError(f"line {n}: not numbers: {line.strip()!r}", path) from None
            name = self.names[cls] if 0 <= cls < len(self.names) else str(cls)
            obj = LabelObject(name, extra={"class_id": cls})
            if len(values) == 4 or (n_kpt and len(values) == 4 + n_kpt * kpt_dim):
                cx, cy, w, h = values[:4]
                obj.box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
                if n_kpt:  # pose: x y (v) per keypoint; without v every keypoint counts as visible
                    kps = values[4:].reshape(n_kpt, kpt_dim)
                    v = kps[:, 2] if kpt_dim == 3 else np.full(n_kpt, 2.0)
                    obj.keypoints = np.column_stack([kps[:, 0] * width, kps[:, 1] * height, v])
            elif len(values) >= 6 and len(values) % 2 == 0:
                pts = values.reshape(-1, 2) * (width, height)
                obj.polygons = [pts]
                obj.box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
            else:
                raise LabelReadError(f"line {n}: expected 4 box values or a polygon, got {len(values)}", path)
            labels.objects.append(obj)
        return labels

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        lines = []
        kept = []
        pose = "kpt_shape" in self.data  # every line is a box and keypoints: no polygon line
        counts = labels.counts
        for obj in labels.objects:
            cls = obj.extra.get("class_id", self.names.index(obj.category) if obj.category in self.names else 0)
            if obj.box is None and not obj.polygons:
                counts.lost_keypoints += obj.keypoints is not None  # keypoints alone: no line to hold them
                continue
            if obj.polygons and not pose:
                # One polygon per line: a multi-part object keeps its largest part.
                largest = max(obj.polygons, key=len)
                poly = largest / (width, height)
                coords = " ".join(f"{v:.6f}" for v in np.clip(poly, 0, 1).reshape(-1))
                lines.append(f"{cls} {coords}")
                if len(obj.polygons) > 1:  # the manifest records the box of what was written
                    obj.box = (*largest.min(axis=0), *largest.max(axis=0))
                    obj.polygons = [largest]
            elif obj.box is not None:
                xs, ys = _centre_size(obj.box[0], obj.box[2], width), _centre_size(obj.box[1], obj.box[3], height)
                if xs is None or ys is None:  # no width or height in six decimals
                    labels.counts.dropped += 1
                    continue
                line = f"{cls} {xs[0]} {ys[0]} {xs[1]} {ys[1]}"
                if pose:
                    line += _pose(self._keypoints(obj), width, height, int(self.data["kpt_shape"][1]))
                    counts.lost_polygons += bool(obj.polygons)  # written as its box (a conversion's, --lossy)
                else:
                    counts.lost_keypoints += obj.keypoints is not None  # a conversion's, with --lossy
                lines.append(line)
            kept.append(obj)
        labels.objects = kept
        return put_text_labels(outputs, label_rel(image_rel), lines, labels)

    def _keypoints(self, obj: LabelObject) -> np.ndarray:
        """An object's keypoints, as many as `kpt_shape` says (0 0 0 for those it lacks)."""
        count = int(self.data["kpt_shape"][0])
        kps = np.zeros((count, 3))
        if obj.keypoints is not None:
            have = np.asarray(obj.keypoints, np.float64)[:count]
            kps[: len(have)] = have
        return kps

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        data = {k: v for k, v in self.data.items() if k != "path"}
        if "names" not in data:
            data["names"] = self.names
        rel = self.data_yaml or "data.yaml"
        outputs.put(rel, yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8"))
        return [rel]


MICRO = 10**6  # six decimals


def _centre_size(lo: float, hi: float, size: int) -> tuple[str, str] | None:
    """An interval of pixels as YOLO's centre and size in six decimals, its ends inside [0, 1] exactly:
    the ends are rounded (whole millionths) and clipped first, then the centre is their mean, which
    needs an even sum, so an odd one gives up a millionth of the far end. None when no size is left."""
    a = min(max(round(lo / size * MICRO), 0), MICRO)
    b = min(max(round(hi / size * MICRO), 0), MICRO)
    b -= (a + b) % 2
    if b <= a:
        return None
    return _decimal((a + b) // 2), _decimal(b - a)


def _decimal(millionths: int) -> str:
    return f"{millionths // MICRO}.{millionths % MICRO:06d}"


def _pose(kps: np.ndarray, width: int, height: int, dim: int) -> str:
    """Keypoints as a pose line's tail; one outside the image (v=0) is written 0 0 0, as Ultralytics'."""
    out = []
    for x, y, v in kps:
        if v == 0:
            x = y = 0.0
        out.append(f" {x / width:.6f} {y / height:.6f}" + (f" {int(v)}" if dim == 3 else ""))
    return "".join(out)


# --------------------------------------------------------------------------- conversion into YOLO


def _place(rel: str, split: str) -> str:
    return f"images/{split}/{PurePosixPath(rel).name}"


def _target_codec(names: list[str], splits: list[str]) -> Codec:
    """data.yaml names the splits the output has: no `val:` without a val split (Ultralytics then asks
    for one, where `val: images/train` would have it validate on the training images)."""
    data: dict[str, Any] = {s: f"images/{s}" for s in splits}
    return YoloCodec(list(names), "data.yaml", {**data, "names": list(names)})


def _pose_codec(codec: Codec, count: int, flip: list[int]) -> Codec:
    """The converted dataset is a pose dataset: every line a box and `count` keypoints (x y v)."""
    assert isinstance(codec, YoloCodec)
    codec.data.update(kpt_shape=[count, 3], flip_idx=flip)
    return codec


def _lost(kinds: set[str]) -> dict[str, str]:
    """A line is a box, a polygon, or (pose) a box and keypoints: with keypoints, polygons become boxes."""
    if "keypoints" not in kinds:
        return {}
    why = "a pose line holds a box and keypoints: written as their boxes"
    return {kind: why for kind in kinds & {"polygons", "masks", "oriented boxes"}}


def to_yolo(labels: ImageLabels, names: list[str]) -> ImageLabels:
    index = {name: i for i, name in enumerate(names)}
    out = polygon_objects(labels, names, lambda name: {"class_id": index[name]})
    for obj in out.objects:
        if obj.polygons:  # a segmentation line has no box of its own: the polygon's is the one written
            pts = max(obj.polygons, key=len)
            obj.box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
            obj.box_source = "polygon"
    out.meta = {"had_file": True, "flip_idx": labels.meta.get("flip_idx") or {}}  # left/right swap on a mirror
    return out


# --------------------------------------------------------------------------- the format


class YoloFormat:
    name = "yolo"
    title = "YOLO"
    kinds = frozenset({"boxes", "polygons", "keypoints"})
    priority = 20  # a data.yaml or labels/ of .txt beside images/ is strong evidence, after COCO's JSON
    target = ConversionTarget(
        "images/<split>/ + labels/<split>/, data.yaml", _place, _target_codec, to_yolo, _lost, _pose_codec
    )
    no_conversion = ""

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        images = [f for f in files if is_image(f) and "images" in PurePosixPath(f).parts[:-1]]
        has_labels = any(f.endswith(".txt") and "labels" in PurePosixPath(f).parts[:-1] for f in files)
        data_yaml = next((f for f in files if f in DATA_YAML), None)
        if not images or not (has_labels or data_yaml):
            return None
        data: dict[str, Any] = {}
        if data_yaml:
            loaded = yaml.safe_load(read_text(inputs, data_yaml))
            data = loaded if isinstance(loaded, dict) else {}
        names = data.get("names", [])
        if isinstance(names, dict):
            names = [names[k] for k in sorted(names)]
        label_files = {label_rel(f) for f in images}
        samples = [Sample(rel, split_of(list(PurePosixPath(rel).parts[:-1])), None) for rel in images]
        ignored = [f for f in files if not is_image(f) and f not in label_files and f != data_yaml]
        codec = YoloCodec([str(n) for n in names], data_yaml, data)
        where = data_yaml or "no data.yaml: class ids kept as numbers"
        description = f"{self.title} (images/ + labels/, {where})"
        label_set = LabelSet(self.name, codec, samples, ignored=ignored, description=description)
        return labelled(inputs, label_set)

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        """Label files that exist and are not empty; the first few read for polygons or keypoints."""
        codec = _codec(dataset)
        kinds: set[str] = set()
        count = read = 0
        for sample in dataset.samples:
            txt = label_rel(sample.rel)
            if not dataset.inputs.is_file(txt) or dataset.inputs.size(txt) == 0:
                continue
            count += 1
            kinds.add("boxes")
            if read < SAMPLED_FILES:
                read += 1
                for line in read_text(dataset.inputs, txt).splitlines()[:20]:
                    if len(line.split()) > 5:
                        kinds.add("keypoints" if codec.data.get("kpt_shape") else "polygons")
        return count, kinds

    def class_names(self, dataset: Dataset) -> list[str]:
        """data.yaml's `names`; without them, the class ids the label files use, as text."""
        codec = _codec(dataset)
        if codec.names:
            return list(codec.names)
        top = -1
        for sample in dataset.samples:
            txt = label_rel(sample.rel)
            if dataset.inputs.is_file(txt):
                for line in read_text(dataset.inputs, txt).splitlines():
                    if line.split():
                        top = max(top, int(line.split()[0]))
        return [str(i) for i in range(top + 1)]


def _codec(dataset: Dataset) -> YoloCodec:
    assert dataset.labels is not None and isinstance(dataset.labels.codec, YoloCodec)
    return dataset.labels.codec


FORMAT = YoloFormat()
