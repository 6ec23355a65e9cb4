"""Pascal VOC: `JPEGImages/` + `Annotations/*.xml` (+ `SegmentationClass/`, `SegmentationObject/`
palette masks), or an XML file beside each image (DeepForest and many labelling tools).

Each XML is rewritten from the source's: every element is kept (pose, difficult, truncated, ...),
only `filename`, `size` and each object's `bndbox` change, and objects that left the image go.
Coordinates written as integers when the source used integers. Splits come from
`ImageSets/Main/{train,val,test}.txt` when present; the output gets its own lists.

VOC coordinates are 1-based pixel indices, both ends included: `xmin=1, xmax=W` is the whole width.
In augcli's pixel-edge coordinates (COCO's, 0 to W) that box is (xmin - 1, xmax): read subtracts 1
from `xmin`/`ymin`, write adds it back, so VOC -> COCO -> VOC gives the same numbers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from augcli.datasets.base import (
    SPLITS,
    TRAIN,
    Codec,
    ConversionTarget,
    Dataset,
    LabelReadError,
    LabelSet,
    Sample,
    is_image,
    labelled,
    read_mask,
    read_text,
    split_of,
)
from augcli.datasets.labels import ImageLabels, IndexMask, LabelObject, objects_record
from augcli.datasets.shapes import mask_objects, object_shapes, unconverted_masks
from augcli.imageio import encode_index_mask
from augcli.store import Store

IMAGES, ANNOTATIONS = "JPEGImages", "Annotations"
MASK_DIRS = ("SegmentationClass", "SegmentationObject")
_LABEL_DIRS = {ANNOTATIONS, "ImageSets", *MASK_DIRS}
_VOC_SKELETON = "<annotation><folder>JPEGImages</folder><filename /><size><depth>3</depth></size></annotation>"


@dataclass
class VocCodec:
    sibling: bool = False  # XML beside the image instead of JPEGImages/ + Annotations/
    extra_files: dict[str, str] = field(default_factory=dict)  # class_names.txt and the like, copied
    image_sets: bool = False

    def beside(self, rel: str, folder: str, suffix: str) -> str:
        """An image's label file: beside it, or in `folder` in place of JPEGImages."""
        p = PurePosixPath(rel)
        if self.sibling:
            return p.with_suffix(suffix).as_posix()
        parts = list(p.parts)
        parts[0] = folder
        return PurePosixPath(*parts).with_suffix(suffix).as_posix()

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        labels = ImageLabels()
        xml_rel = self.beside(rel, ANNOTATIONS, ".xml")
        if inputs.is_file(xml_rel):
            labels.objects, labels.meta = _read_xml(inputs, xml_rel)
        if not self.sibling:
            for folder in MASK_DIRS:
                mask_rel = self.beside(rel, folder, ".png")
                if inputs.is_file(mask_rel):
                    labels.masks[folder] = IndexMask(*read_mask(inputs, mask_rel))
            if "SegmentationObject" in labels.masks:
                for i, obj in enumerate(labels.objects):  # VOC: instance i+1 is the i-th object
                    obj.instance = i + 1
        return labels

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        files = []
        ints = bool(labels.meta.get("int_coords"))
        kept = []
        for obj in labels.objects:
            if obj.box is not None:
                x0, y0, x1, y1 = (float(round(v)) if ints else round(float(v), 2) for v in obj.box)
                if x1 <= x0 or y1 <= y0:  # rounded to no width or height
                    labels.counts.dropped += 1
                    continue
                obj.box = (x0, y0, x1, y1)
            labels.counts.lost_polygons += bool(obj.polygons)  # a conversion's (--lossy): VOC holds boxes
            labels.counts.lost_keypoints += obj.keypoints is not None
            labels.counts.lost_masks += obj.mask is not None
            labels.counts.lost_orientations += obj.corners is not None
            kept.append(obj)
        labels.objects = kept
        if "xml" in labels.meta:
            ann = ET.fromstring(labels.meta["xml"])
            _set(ann, "filename", PurePosixPath(image_rel).name)
            size = ann.find("size")
            if size is None:
                size = ET.SubElement(ann, "size")
            _set(size, "width", str(width))
            _set(size, "height", str(height))
            for obj in labels.objects:
                el = ET.fromstring(obj.extra["xml"]) if "xml" in obj.extra else _new_object(obj.category)
                bb = el.find("bndbox")
                assert bb is not None and obj.box is not None
                for key, value in zip(("xmin", "ymin", "xmax", "ymax"), _one_based(obj.box), strict=True):
                    _set(bb, key, str(int(value)) if ints else f"{value:g}")
                ann.append(el)
            ET.indent(ann)
            rel = self.beside(image_rel, ANNOTATIONS, ".xml")
            outputs.put(rel, (ET.tostring(ann, "unicode") + "\n").encode("utf-8"))
            files.append(rel)
        for folder, mask in labels.masks.items():
            rel = self.beside(image_rel, folder, ".png")
            outputs.put(rel, encode_index_mask(mask.indices, mask.palette))
            files.append(rel)
        return {"objects": objects_record(labels), "files": files}

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        written = []
        for rel, text in self.extra_files.items():
            outputs.put(rel, text.encode("utf-8"))
            written.append(rel)
        if self.image_sets:
            by_split: dict[str, list[str]] = {}
            for rec in sorted(records, key=lambda r: r["output"]):
                by_split.setdefault(rec["split"], []).append(PurePosixPath(rec["output"]).stem)
            for split, stems in by_split.items():
                rel = f"ImageSets/Main/{split}.txt"
                outputs.put(rel, "".join(s + "\n" for s in stems).encode("utf-8"))
                written.append(rel)
        return written


def _read_xml(inputs: Store, xml_rel: str) -> tuple[list[LabelObject], dict[str, Any]]:
    """The XML's objects with boxes (each keeps its own XML), and the rest of the XML as meta."""
    try:
        ann = ET.fromstring(inputs.read_bytes(xml_rel))
    except ET.ParseError as exc:
        raise LabelReadError(f"invalid VOC XML: {exc}", inputs.where(xml_rel)) from None
    objects = []
    ints = True
    for obj in ann.findall("object"):
        bb = obj.find("bndbox")
        if bb is None:
            continue
        texts = [(bb.findtext(k) or "").strip() for k in ("xmin", "ymin", "xmax", "ymax")]
        try:
            x0, y0, x1, y1 = (float(t) for t in texts)
        except ValueError:
            raise LabelReadError(f"bndbox is not numeric: {texts}", inputs.where(xml_rel)) from None
        ints = ints and all(t.lstrip("-").isdigit() for t in texts)
        name = (obj.findtext("name") or "").strip()
        box = (x0 - 1, y0 - 1, x1, y1)  # 1-based, both ends included: to pixel edges
        objects.append(LabelObject(name, box, extra={"xml": ET.tostring(obj, "unicode")}))
        ann.remove(obj)
    return objects, {"xml": ET.tostring(ann, "unicode"), "int_coords": ints}


def _one_based(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Pixel edges (0..W) to VOC's 1-based, inclusive xmin, ymin, xmax, ymax."""
    x0, y0, x1, y1 = box
    return (round(x0 + 1, 2), round(y0 + 1, 2), x1, y1)


def _set(parent: ET.Element, tag: str, text: str) -> None:
    el = parent.find(tag)
    if el is None:
        el = ET.SubElement(parent, tag)
    el.text = text


def _new_object(name: str) -> ET.Element:
    el = ET.Element("object")
    ET.SubElement(el, "name").text = name
    ET.SubElement(el, "bndbox")
    return el


def _is_voc_xml(inputs: Store, rel: str) -> bool:
    try:
        head = inputs.read_bytes(rel)[:512]
    except OSError:
        return False
    return b"<annotation" in head


_FLAGS = ("-1", "0", "1")  # the second column of VOC's `name flag` lists (per-class sets)


def _image_sets(inputs: Store, stems: set[str]) -> dict[str, str]:
    """Image stem -> split from `ImageSets/Main/{train,val,test}.txt`. A whole line is a name (names
    may hold spaces); a line that names no image but ends in a flag (`2008_000008 -1`) is its name."""
    out: dict[str, str] = {}
    for split in ("train", "val", "test"):
        rel = f"ImageSets/Main/{split}.txt"
        if inputs.is_file(rel):
            for line in read_text(inputs, rel).split("\n"):
                name = line.strip()
                parts = name.rsplit(None, 1)
                if name not in stems and len(parts) == 2 and parts[1] in _FLAGS:
                    name = parts[0]
                if name:
                    out[name] = SPLITS[split]
    return out


# --------------------------------------------------------------------------- conversion into VOC


def _place(rel: str, split: str) -> str:
    return f"{IMAGES}/{PurePosixPath(rel).name}"


def _target_codec(names: list[str], splits: list[str]) -> Codec:
    return VocCodec(image_sets=True)


def to_voc(labels: ImageLabels, names: list[str]) -> ImageLabels:
    """VOC holds boxes only: each object's box (made tight from a polygon or mask as it moves); the writer
    counts the polygons, keypoints and masks it leaves out."""
    objects = []
    counts = unconverted_masks(labels)
    for obj in mask_objects(labels, names):
        if obj.box is None:
            counts.lost_keypoints += obj.keypoints is not None  # a keypoint-only object has nothing to write
            continue
        polygons, mask = object_shapes(labels, obj)
        objects.append(
            LabelObject(
                obj.category, obj.box, polygons=polygons, keypoints=obj.keypoints, mask=mask, corners=obj.corners
            )
        )
    return ImageLabels(objects, {}, {"xml": _VOC_SKELETON, "int_coords": True}, counts)


def _lost(kinds: set[str]) -> dict[str, str]:
    """VOC holds boxes: a polygon's or mask's box is written, keypoints are not."""
    why = {
        "polygons": "written as their boxes",
        "masks": "written as their boxes",
        "keypoints": "dropped",
        "oriented boxes": "written as their upright boxes",
    }
    return {kind: why[kind] for kind in kinds if kind in why}


# --------------------------------------------------------------------------- the format


class VocFormat:
    name = "voc"
    title = "Pascal VOC"
    kinds = frozenset({"boxes", "masks"})
    priority = 30  # after COCO's JSON and YOLO's data.yaml: an XML beside images is weaker evidence
    target = ConversionTarget("JPEGImages/ + Annotations/, ImageSets/Main", _place, _target_codec, to_voc, _lost)
    no_conversion = ""

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        tops = {f.split("/", 1)[0] for f in files if "/" in f}
        if IMAGES in tops and (tops & {ANNOTATIONS, *MASK_DIRS}):
            images = [f for f in files if f.startswith(IMAGES + "/") and is_image(f)]
            sibling = False
        else:
            stems = {f[: -len(".xml")] for f in files if f.lower().endswith(".xml")}
            images = [f for f in files if is_image(f) and str(PurePosixPath(f).with_suffix("")) in stems]
            if not images or not _is_voc_xml(inputs, PurePosixPath(images[0]).with_suffix(".xml").as_posix()):
                return None
            images = [f for f in files if is_image(f)]
            sibling = True
        splits = _image_sets(inputs, {PurePosixPath(rel).stem for rel in images})
        samples = []
        for rel in images:
            split = splits.get(PurePosixPath(rel).stem) if splits else None
            parts = list(PurePosixPath(rel).parts[:-1])
            samples.append(Sample(rel, split or (split_of(parts) if sibling else TRAIN), None))
        extra = {f: read_text(inputs, f) for f in files if f in ("class_names.txt", "labels.txt")}
        used = set(images) | set(extra)
        ignored = [
            f
            for f in files
            if f not in used and f.split("/", 1)[0] not in _LABEL_DIRS and not f.lower().endswith(".xml")
        ]
        kinds = sorted({f.split("/", 1)[0] for f in files if f.split("/", 1)[0] in _LABEL_DIRS} - {"ImageSets"})
        where = "XML beside each image" if sibling else f"{IMAGES}/ with {', '.join(k + '/' for k in kinds)}"
        codec = VocCodec(sibling=sibling, extra_files=extra, image_sets=bool(splits))
        description = f"{self.title} ({where})" + (", splits from ImageSets/Main" if splits else "")
        return labelled(inputs, LabelSet(self.name, codec, samples, ignored=ignored, description=description))

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        codec = _codec(dataset)
        kinds: set[str] = set()
        count = 0
        for sample in dataset.samples:
            xml = dataset.inputs.is_file(codec.beside(sample.rel, ANNOTATIONS, ".xml"))
            masks = not codec.sibling and any(
                dataset.inputs.is_file(codec.beside(sample.rel, d, ".png")) for d in MASK_DIRS
            )
            count += xml or masks
            kinds.update({"boxes"} if xml else set())
            kinds.update({"masks"} if masks else set())
        return count, kinds

    def unconvertible(self, dataset: Dataset) -> dict[str, str]:
        """What no conversion can carry: a class mask without an instance mask has no objects to become."""
        codec = _codec(dataset)
        for sample in dataset.samples if not codec.sibling else ():
            rel, inputs = sample.rel, dataset.inputs
            if inputs.is_file(codec.beside(rel, MASK_DIRS[0], ".png")) and not inputs.is_file(
                codec.beside(rel, MASK_DIRS[1], ".png")
            ):
                return {"masks": "SegmentationClass without SegmentationObject has no objects to become"}
        return {}

    def class_names(self, dataset: Dataset) -> list[str]:
        """class_names.txt (or labels.txt) in its order, then names only the XML files use (sorted)."""
        codec = _codec(dataset)
        names: list[str] = []
        for text in codec.extra_files.values():
            names.extend(line.strip() for line in text.splitlines() if line.strip())
        used: set[str] = set()
        for sample in dataset.samples:
            xml = codec.beside(sample.rel, ANNOTATIONS, ".xml")
            if dataset.inputs.is_file(xml):
                root = ET.fromstring(dataset.inputs.read_bytes(xml))
                used.update((el.text or "").strip() for el in root.findall("object/name"))
        names.extend(sorted(used - set(names)))
        return names


def _codec(dataset: Dataset) -> VocCodec:
    assert dataset.labels is not None and isinstance(dataset.labels.codec, VocCodec)
    return dataset.labels.codec


FORMAT = VocFormat()
