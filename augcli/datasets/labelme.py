"""LabelMe: one JSON per image, beside it (LabelMe's default) or in a sibling folder (`labelme
--output labels/`: `images/x.jpg` + `labels/x.json`, its `imagePath` `../images/x.jpg`).

Each shape is one object: `rectangle` a box, `polygon` a polygon, `point` a keypoint, `line` and
`linestrip` an open strip (its vertices move as keypoints and it is cut to the image when written),
and X-AnyLabeling's `rotation` (four corners) an oriented box. Every other key of the JSON and of
each shape (`group_id`, `flags`, `description`, ...) is written back; `imagePath`, `imageHeight`,
`imageWidth` are the output's, `imageData` is null (the image is the file beside it). A point that
leaves the image, or a strip with nothing left inside, is not written and counts as dropped.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from augcli.datasets.base import (
    Codec,
    ConversionTarget,
    Dataset,
    LabelReadError,
    LabelSet,
    Sample,
    is_image,
    labelled,
    nothing_lost,
    split_of,
)
from augcli.datasets.labels import ImageLabels, LabelObject, objects_record
from augcli.datasets.oriented import bounds
from augcli.datasets.polyline import clip_polyline
from augcli.datasets.shapes import polygon_objects
from augcli.store import Store

SHAPES = ("rectangle", "polygon", "point", "line", "linestrip", "rotation")
_LINES = ("line", "linestrip")
VERSION = "5.5.0"  # what a converted JSON says it is (LabelMe's own field)


def _xy(points: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(points).reshape(-1, 2)]


@dataclass
class LabelmeCodec:
    folders: dict[str, str] = field(default_factory=dict)  # image folder -> its JSON folder (when not beside)

    def json_rel(self, image_rel: str) -> str:
        p = PurePosixPath(image_rel)
        folder = p.parent.as_posix()
        folder = self.folders.get(folder, folder)
        return (PurePosixPath(folder) / (p.stem + ".json")).as_posix().removeprefix("./")

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        labels = ImageLabels(meta={"had_file": payload is not None})
        if payload is None:
            return labels
        where = inputs.where(payload)
        try:
            doc = json.loads(inputs.read_bytes(payload).decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LabelReadError(f"invalid LabelMe JSON: {exc}", where) from None
        shapes = doc.get("shapes") if isinstance(doc, dict) else None
        if not isinstance(shapes, list):
            raise LabelReadError("not a LabelMe JSON (no `shapes` list)", where)
        labels.meta["doc"] = {k: v for k, v in doc.items() if k not in ("shapes", "imageData")}
        for n, shape in enumerate(shapes, start=1):
            obj = _object(shape, n, where)
            if obj is None:
                labels.counts.invalid += 1
            else:
                labels.objects.append(obj)
        return labels

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        shapes: list[dict[str, Any]] = []
        used_groups = {o.extra.get("labelme", {}).get("group_id") for o in labels.objects} - {None}
        next_group = max((g for g in used_groups if isinstance(g, int)), default=0) + 1
        kept = []
        for obj in labels.objects:
            made = _shapes(obj, width, height)
            if obj.extra.get("labelme", {}).get("shape_type") in _LINES and obj.keypoints is not None:
                # A strip's vertices outside were counted as hidden keypoints; the strip is cut instead.
                labels.counts.hidden_keypoints -= int((obj.keypoints[:, 2] == 0).sum())
            if not made:
                labels.counts.dropped += 1
                continue
            if len(made) > 1 and all(s.get("group_id") is None for s in made):
                for s in made:  # LabelMe's way of saying several shapes are one object
                    s["group_id"] = next_group
                next_group += 1
            shapes.extend(made)
            kept.append(obj)
        labels.objects = kept
        files = []
        if shapes or labels.meta.get("had_file", True):
            rel = self.json_rel(image_rel)
            doc = {"version": VERSION, "flags": {}, **labels.meta.get("doc", {})}
            doc.update(
                shapes=shapes,
                imagePath=posixpath.relpath(image_rel, posixpath.dirname(rel) or "."),
                imageData=None,
                imageHeight=height,
                imageWidth=width,
            )
            outputs.put(rel, (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
            files.append(rel)
        return {"objects": objects_record(labels), "files": files}

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        return []


def _object(shape: Any, n: int, where: Any) -> LabelObject | None:
    """One shape as an object; None for a degenerate one (counted as invalid)."""
    try:
        kind = str(shape.get("shape_type") or "polygon")
        pts = np.asarray(shape["points"], np.float64).reshape(-1, 2)
        label = str(shape["label"])
    except (AttributeError, KeyError, TypeError, ValueError):
        raise LabelReadError(f"shape {n}: needs a label and points [[x, y], ...]", where) from None
    if kind not in SHAPES:
        raise LabelReadError(f"shape {n}: shape_type '{kind}' is not supported (supported: {', '.join(SHAPES)})", where)
    obj = LabelObject(label, extra={"labelme": {k: v for k, v in shape.items() if k != "points"}})
    if kind == "rectangle":
        if len(pts) < 2:
            return None
        obj.box = bounds(pts)
    elif kind == "polygon":
        if len(pts) < 3:
            return None
        obj.polygons, obj.box = [pts], bounds(pts)
    elif kind == "rotation":
        if len(pts) != 4:
            raise LabelReadError(f"shape {n}: a rotation shape has 4 corners, not {len(pts)}", where)
        obj.corners, obj.box = pts, bounds(pts)
    else:  # point, line, linestrip: vertices that move as keypoints
        if len(pts) < (1 if kind == "point" else 2):
            return None
        obj.keypoints = np.column_stack([pts, np.full(len(pts), 2.0)])
    return obj


def _shapes(obj: LabelObject, width: int, height: int) -> list[dict[str, Any]]:
    """The LabelMe shapes an object is written as (none when nothing of it is left in the image)."""
    base = dict(obj.extra.get("labelme", {"group_id": None, "description": "", "flags": {}}))
    base["label"] = obj.category
    kind = base.get("shape_type")

    def shape(shape_type: str, points: np.ndarray) -> dict[str, Any]:
        return {**base, "points": _xy(points), "shape_type": shape_type}

    if kind in _LINES and obj.keypoints is not None:
        return [shape(str(kind), piece) for piece in clip_polyline(obj.keypoints[:, :2], width, height)]
    out = []
    if obj.corners is not None:
        out.append(shape("rotation" if kind == "rotation" else "polygon", obj.corners))
    elif obj.polygons:
        out.extend(shape("polygon", p) for p in obj.polygons)
    elif obj.box is not None:
        x0, y0, x1, y1 = obj.box
        out.append(shape("rectangle", np.array([[x0, y0], [x1, y1]])))
    if obj.keypoints is not None:
        out.extend(shape("point", kp[None, :2]) for kp in obj.keypoints if kp[2] > 0)
    return out


# --------------------------------------------------------------------------- detection


def _is_labelme(inputs: Store, rel: str) -> bool:
    try:
        doc = json.loads(inputs.read_bytes(rel).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("shapes"), list) and "imagePath" in doc


def _pairs(files: list[str]) -> dict[str, str]:
    """image -> its JSON: the JSON of the same stem beside it, else in a folder that differs from the
    image's in one name (`images/x.jpg` and `labels/x.json`; `train/images` and `train/labels`)."""
    jsons: dict[tuple[str, int], list[PurePosixPath]] = {}
    for f in files:
        if f.lower().endswith(".json"):
            p = PurePosixPath(f)
            jsons.setdefault((p.stem, len(p.parts)), []).append(p)
    out = {}
    for f in files:
        if not is_image(f):
            continue
        p = PurePosixPath(f)
        found = jsons.get((p.stem, len(p.parts)), [])
        beside = [j for j in found if j.parent == p.parent]
        near = [j for j in found if sum(a != b for a, b in zip(j.parts[:-1], p.parts[:-1], strict=True)) == 1]
        match = beside or near
        if match:
            out[f] = match[0].as_posix()
    return out


def _label_set(inputs: Store, files: list[str]) -> LabelSet | None:
    pairs = _pairs(files)
    if not pairs or not _is_labelme(inputs, next(iter(pairs.values()))):
        return None
    folders = {}
    for image, js in pairs.items():
        image_dir, json_dir = PurePosixPath(image).parent.as_posix(), PurePosixPath(js).parent.as_posix()
        if image_dir != json_dir:
            folders[image_dir] = json_dir
    images = [f for f in files if is_image(f)]
    samples = [Sample(rel, split_of(list(PurePosixPath(rel).parts[:-1])), None) for rel in images]
    used = set(images) | set(pairs.values())
    ignored = [f for f in files if f not in used]
    where = "JSON beside each image" if not folders else "JSON in " + ", ".join(sorted(set(folders.values())))
    return LabelSet(FORMAT.name, LabelmeCodec(folders), samples, dict(pairs), ignored, f"{FORMAT.title} ({where})")


# --------------------------------------------------------------------------- conversion into LabelMe


def _place(rel: str, split: str) -> str:
    return f"{split}/{PurePosixPath(rel).name}"


def _target_codec(names: list[str], splits: list[str]) -> Codec:
    return LabelmeCodec()


def to_labelme(labels: ImageLabels, names: list[str]) -> ImageLabels:
    """Boxes, polygons (a mask's outline, an oriented box's corners) and keypoints as LabelMe shapes."""
    out = polygon_objects(labels, names, lambda name: {})
    out.meta = {"had_file": True}
    return out


# --------------------------------------------------------------------------- the format


class LabelmeFormat:
    name = "labelme"
    title = "LabelMe"
    kinds = frozenset({"boxes", "oriented boxes", "polygons", "keypoints"})
    priority = 25  # a JSON per image: after COCO's JSON and YOLO's labels/, before VOC's XML
    target = ConversionTarget("<split>/ with a JSON beside each image", _place, _target_codec, to_labelme, nothing_lost)
    no_conversion = ""

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        found = _label_set(inputs, files)
        return labelled(inputs, found) if found is not None else None

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        """Images with a JSON; the kinds from the shapes of the first few."""
        assert dataset.labels is not None
        kinds: set[str] = set()
        payloads = dataset.labels.payloads
        for js in list(payloads.values())[:50]:
            try:
                shapes = json.loads(dataset.inputs.read_bytes(js).decode("utf-8")).get("shapes", [])
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
                continue
            for shape in shapes if isinstance(shapes, list) else []:
                kind = shape.get("shape_type") if isinstance(shape, dict) else None
                kinds.add(_KIND.get(str(kind or "polygon"), "polygons"))
        return len(payloads), kinds

    def class_names(self, dataset: Dataset) -> list[str]:
        """Shape labels in order of first appearance, image by image."""
        assert dataset.labels is not None
        names: dict[str, None] = {}
        for js in sorted(dataset.labels.payloads.values()):
            try:
                shapes = json.loads(dataset.inputs.read_bytes(js).decode("utf-8")).get("shapes", [])
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
                continue
            names.update((str(s.get("label")), None) for s in shapes if isinstance(s, dict) and "label" in s)
        return list(names)


_KIND = {"rectangle": "boxes", "polygon": "polygons", "rotation": "oriented boxes", "point": "keypoints"}
_KIND.update({k: "keypoints" for k in _LINES})

FORMAT = LabelmeFormat()
