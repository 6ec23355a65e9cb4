"""CVAT for images 1.1: one `annotations.xml` at the root, an `<image>` element per image (its `name`
relative to `images/`, as CVAT exports, or to the root), the images beside it.

`<box>` is a box, or an oriented box when it has a `rotation` (degrees clockwise about its centre);
`<polygon>` a polygon; `<points>` keypoints; `<polyline>` an open strip (its vertices move as
keypoints and it is cut to the image when written). Each shape keeps its attributes (`occluded`,
`z_order`, `group_id`, ...) and `<attribute>` children; `<tag>`s are kept; the `<meta>` header is
copied. The parent reads the XML and hands each job its image's element; workers return the moved
element, and the parent writes one `annotations.xml` with ids in output-path order. A point that
leaves the image, or a strip with nothing left inside, is not written and counts as dropped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
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
from augcli.datasets.oriented import bounds, from_rotated, to_rotated
from augcli.datasets.polyline import clip_polyline
from augcli.datasets.shapes import mask_objects, mask_polygons, object_shapes
from augcli.errors import UsageError
from augcli.store import Store

XML = "annotations.xml"
SHAPES = ("box", "polygon", "points", "polyline")
_GEOMETRY = {"xtl", "ytl", "xbr", "ybr", "rotation", "points"}
_HEADER = "<annotations><version>1.1</version><meta /></annotations>"


def _num(v: float) -> str:
    return f"{round(float(v), 2):.2f}"


def _points_text(points: np.ndarray) -> str:
    return ";".join(f"{_num(x)},{_num(y)}" for x, y in np.asarray(points).reshape(-1, 2))


def _parse_points(text: str) -> np.ndarray:
    return np.array([[float(v) for v in pair.split(",")] for pair in text.strip().split(";") if pair], np.float64)


@dataclass
class CvatCodec:
    base: str  # the folder image names are relative to ("images", or "" for the root)
    header: str = _HEADER  # <annotations> with everything but its <image> elements

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        labels = ImageLabels(meta={"cvat": {}})
        if payload is None:
            return labels
        image = ET.fromstring(payload["xml"])
        labels.meta["cvat"] = {k: v for k, v in image.attrib.items() if k not in ("id", "name", "width", "height")}
        labels.meta["cvat_tags"] = [ET.tostring(el, "unicode") for el in image if el.tag == "tag"]
        where = inputs.where(payload["file"])
        for el in image:
            if el.tag == "tag":
                continue
            if el.tag not in SHAPES:
                name = image.get("name")
                raise LabelReadError(
                    f"image {name}: <{el.tag}> is not supported (supported: {', '.join(SHAPES)})", where
                )
            labels.objects.append(_object(el, where))
        return labels

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        prefix = self.base + "/" if self.base else ""
        name = image_rel[len(prefix) :] if image_rel.startswith(prefix) else image_rel
        image = ET.Element("image", {"id": "0", "name": name, "width": str(width), "height": str(height)})
        image.attrib.update(labels.meta.get("cvat", {}))
        groups = {o.extra.get("cvat", {}).get("attrib", {}).get("group_id") for o in labels.objects}
        next_group = max((int(g) for g in groups if g and str(g).isdigit()), default=0) + 1
        kept = []
        for obj in labels.objects:
            made = _elements(obj, width, height)
            if not made:
                labels.counts.dropped += 1
                continue
            if obj.extra.get("cvat", {}).get("tag") == "polyline" and obj.keypoints is not None:
                # A strip's vertices outside were counted as hidden keypoints; the strip is cut instead.
                labels.counts.hidden_keypoints -= int((obj.keypoints[:, 2] == 0).sum())
            if len(made) > 1 and all("group_id" not in el.attrib for el in made):
                for el in made:  # CVAT's way of saying several shapes are one object
                    el.set("group_id", str(next_group))
                next_group += 1
            image.extend(made)
            kept.append(obj)
        labels.objects = kept
        for tag in labels.meta.get("cvat_tags", []):
            image.append(ET.fromstring(tag))
        return {"objects": objects_record(labels), "files": [], "cvat": ET.tostring(image, "unicode")}

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        root = ET.fromstring(self.header)
        mine = sorted((r for r in records if "cvat" in r.get("labels", {})), key=lambda r: r["output"])
        for i, rec in enumerate(mine):
            image = ET.fromstring(rec["labels"]["cvat"])
            image.set("id", str(i))
            root.append(image)
        ET.indent(root)
        outputs.put(XML, (ET.tostring(root, "unicode", xml_declaration=True) + "\n").encode("utf-8"))
        return [XML]


def _object(el: ET.Element, where: Any) -> LabelObject:
    attrib = {k: v for k, v in el.attrib.items() if k not in _GEOMETRY}
    children = [ET.tostring(child, "unicode") for child in el]
    obj = LabelObject(el.get("label", ""), extra={"cvat": {"tag": el.tag, "attrib": attrib, "children": children}})
    try:
        if el.tag == "box":
            x0, y0, x1, y1 = (float(el.get(k, "")) for k in ("xtl", "ytl", "xbr", "ybr"))
            rotation = float(el.get("rotation", "0")) % 360.0
            if rotation:
                obj.corners = from_rotated(x0, y0, x1, y1, rotation)
                obj.box = bounds(obj.corners)
            else:
                obj.box = (x0, y0, x1, y1)
            return obj
        pts = _parse_points(el.get("points", ""))
    except ValueError:
        raise LabelReadError(f"<{el.tag} label={obj.category!r}>: coordinates are not numbers", where) from None
    if el.tag == "polygon" and len(pts) >= 3:
        obj.polygons, obj.box = [pts], bounds(pts)
    elif el.tag in ("points", "polyline") and len(pts):
        obj.keypoints = np.column_stack([pts, np.full(len(pts), 2.0)])
    else:
        raise LabelReadError(f"<{el.tag} label={obj.category!r}>: too few points ({len(pts)})", where)
    return obj


def _elements(obj: LabelObject, width: int, height: int) -> list[ET.Element]:
    """The CVAT shapes an object is written as (none when nothing of it is left in the image)."""
    info = obj.extra.get("cvat", {"tag": None, "attrib": {"occluded": "0", "source": "manual", "z_order": "0"}})
    tag = info["tag"]

    def element(kind: str, **geometry: str) -> ET.Element:
        el = ET.Element(kind, {"label": obj.category, **info["attrib"], **geometry})
        el.extend(ET.fromstring(child) for child in info.get("children", []))
        el.attrib["label"] = obj.category
        return el

    if tag == "polyline" and obj.keypoints is not None:
        pieces = clip_polyline(obj.keypoints[:, :2], width, height)
        return [element("polyline", points=_points_text(p)) for p in pieces]
    out = []
    if obj.corners is not None:
        x0, y0, x1, y1, rotation = to_rotated(obj.corners)
        geometry = {"xtl": _num(x0), "ytl": _num(y0), "xbr": _num(x1), "ybr": _num(y1)}
        out.append(element("box", **geometry, rotation=_num(rotation)))
    elif obj.polygons:
        out.extend(element("polygon", points=_points_text(p)) for p in obj.polygons)
    elif obj.box is not None:
        x0, y0, x1, y1 = obj.box
        out.append(element("box", xtl=_num(x0), ytl=_num(y0), xbr=_num(x1), ybr=_num(y1)))
    if obj.keypoints is not None:
        visible = obj.keypoints[obj.keypoints[:, 2] > 0, :2]
        if len(visible):
            out.append(element("points", points=_points_text(visible)))
    return out


# --------------------------------------------------------------------------- detection


def _resolve(name: str, subset: str | None, base: str, on_disk: set[str]) -> str | None:
    name = name.replace("\\", "/").removeprefix("./")
    tries = [f"{base}/{name}" if base else name, name]
    if subset:
        tries.append(f"{base}/{subset}/{name}" if base else f"{subset}/{name}")
    return next((t for t in tries if t in on_disk), None)


def _label_set(inputs: Store, files: list[str]) -> LabelSet | None:
    if XML not in files:
        return None
    try:
        root = ET.fromstring(inputs.read_bytes(XML))
    except ET.ParseError as exc:
        raise UsageError(f"invalid CVAT XML: {exc}", inputs.where(XML)) from None
    if root.tag != "annotations":
        return None
    on_disk = set(files)
    base = "images" if any(f.startswith("images/") for f in files) else ""
    payloads: dict[str, Any] = {}
    splits: dict[str, str] = {}
    for image in root.findall("image"):
        subset = image.get("subset")
        rel = _resolve(image.get("name", ""), subset, base, on_disk)
        if rel is None:
            continue  # listed but not here: nothing to augment
        payloads[rel] = {"file": XML, "xml": ET.tostring(image, "unicode")}
        splits[rel] = split_of([subset]) if subset else split_of(list(PurePosixPath(rel).parts[:-1]))
        root.remove(image)
    prefix = base + "/" if base else ""
    images = [f for f in files if is_image(f) and f.startswith(prefix)]
    samples = [Sample(f, splits.get(f) or split_of(list(PurePosixPath(f).parts[:-1])), None) for f in images]
    ignored = [f for f in files if f != XML and not (is_image(f) and f.startswith(prefix))]
    header = ET.tostring(root, "unicode")
    where = f"{XML}, images in {base}/" if base else XML
    return LabelSet(FORMAT.name, CvatCodec(base, header), samples, payloads, ignored, f"{FORMAT.title} ({where})")


# --------------------------------------------------------------------------- conversion into CVAT


def _place(rel: str, split: str) -> str:
    return f"images/{split}/{PurePosixPath(rel).name}"


def _target_codec(names: list[str], splits: list[str]) -> Codec:
    root = ET.fromstring(_HEADER)
    meta = root.find("meta")
    assert meta is not None
    labels = ET.SubElement(ET.SubElement(meta, "task"), "labels")
    for name in names:
        ET.SubElement(ET.SubElement(labels, "label"), "name").text = name
    return CvatCodec("images", ET.tostring(root, "unicode"))


def to_cvat(labels: ImageLabels, names: list[str]) -> ImageLabels:
    """Boxes, oriented boxes (rotated boxes), polygons (also a mask's outline) and keypoints."""
    objects = []
    for obj in mask_objects(labels, names):
        polygons, mask = object_shapes(labels, obj)
        if not polygons and mask is not None:
            polygons = mask_polygons(mask)
        objects.append(LabelObject(obj.category, obj.box, polygons, obj.keypoints, corners=obj.corners))
    return ImageLabels(objects, {}, {}, labels.counts)


# --------------------------------------------------------------------------- the format


class CvatFormat:
    name = "cvat"
    title = "CVAT for images"
    kinds = frozenset({"boxes", "oriented boxes", "polygons", "keypoints"})
    priority = 12  # one XML in a known place, right after COCO's JSON
    target = ConversionTarget(f"images/<split>/ + {XML}", _place, _target_codec, to_cvat, nothing_lost)
    no_conversion = ""

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        found = _label_set(inputs, files)
        return labelled(inputs, found) if found is not None else None

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        """From the elements already in memory: no file is read."""
        assert dataset.labels is not None
        kinds: set[str] = set()
        count = 0
        for payload in dataset.labels.payloads.values():
            image = ET.fromstring(payload["xml"])
            shapes = [el for el in image if el.tag in SHAPES]
            count += bool(shapes)
            for el in shapes:
                rotated = el.tag == "box" and float(el.get("rotation", "0") or 0) % 360.0
                kinds.add("oriented boxes" if rotated else _KIND[el.tag])
        return count, kinds

    def class_names(self, dataset: Dataset) -> list[str]:
        """The labels `<meta>` declares, in its order, then any other label the shapes use."""
        assert dataset.labels is not None and isinstance(dataset.labels.codec, CvatCodec)
        header = ET.fromstring(dataset.labels.codec.header)
        names = {(el.text or "").strip(): None for el in header.iterfind(".//labels/label/name")}
        for payload in dataset.labels.payloads.values():
            names.update((el.get("label", ""), None) for el in ET.fromstring(payload["xml"]) if el.tag in SHAPES)
        return [n for n in names if n]


_KIND = {"box": "boxes", "polygon": "polygons", "points": "keypoints", "polyline": "keypoints"}

FORMAT = CvatFormat()
