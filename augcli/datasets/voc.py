"""Pascal VOC: `JPEGImages/` + `Annotations/*.xml` (+ `SegmentationClass/`, `SegmentationObject/`
palette masks), or an XML file beside each image (DeepForest and many labelling tools).

Each XML is rewritten from the source's: every element is kept (pose, difficult, truncated, ...),
only `filename`, `size` and each object's `bndbox` change, and objects that left the image go.
Coordinates written as integers when the source used integers. Splits come from
`ImageSets/Main/{train,val,test}.txt` when present; the output gets its own lists.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augcli.datasets.folders import SPLITS, TRAIN, Sample
from augcli.datasets.formats import LabelSet, is_image, split_of
from augcli.datasets.labels import ImageLabels, IndexMask, LabelObject, objects_record
from augcli.errors import AugcliError
from augcli.imageio import encode_index_mask, read_index_mask
from augcli.store.local import atomic_write_bytes, atomic_write_text

IMAGES, ANNOTATIONS = "JPEGImages", "Annotations"
MASK_DIRS = ("SegmentationClass", "SegmentationObject")
_LABEL_DIRS = {ANNOTATIONS, "ImageSets", *MASK_DIRS}


class LabelReadError(AugcliError):
    pass


@dataclass
class VocCodec:
    name: str = "voc"
    sibling: bool = False  # XML beside the image instead of JPEGImages/ + Annotations/
    extra_files: dict[str, str] = field(default_factory=dict)  # class_names.txt and the like, copied
    image_sets: bool = False

    def _beside(self, rel: str, folder: str, suffix: str) -> str:
        p = Path(rel)
        if self.sibling:
            return p.with_suffix(suffix).as_posix()
        parts = list(p.parts)
        parts[0] = folder
        return Path(*parts).with_suffix(suffix).as_posix()

    def read(self, root: Path, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        labels = ImageLabels()
        xml_path = root / self._beside(rel, ANNOTATIONS, ".xml")
        if xml_path.is_file():
            try:
                tree = ET.parse(xml_path)
            except ET.ParseError as exc:
                raise LabelReadError(f"invalid VOC XML: {exc}", xml_path) from None
            ann = tree.getroot()
            ints = True
            for obj in ann.findall("object"):
                bb = obj.find("bndbox")
                if bb is None:
                    continue
                texts = [(bb.findtext(k) or "").strip() for k in ("xmin", "ymin", "xmax", "ymax")]
                try:
                    x0, y0, x1, y1 = (float(t) for t in texts)
                except ValueError:
                    raise LabelReadError(f"bndbox is not numeric: {texts}", xml_path) from None
                ints = ints and all(t.lstrip("-").isdigit() for t in texts)
                labels.objects.append(
                    LabelObject(
                        (obj.findtext("name") or "").strip(),
                        (x0, y0, x1, y1),
                        extra={"xml": ET.tostring(obj, "unicode")},
                    )
                )
                ann.remove(obj)
            labels.meta = {"xml": ET.tostring(ann, "unicode"), "int_coords": ints}
        if not self.sibling:
            for folder in MASK_DIRS:
                mask_path = root / self._beside(rel, folder, ".png")
                if mask_path.is_file():
                    labels.masks[folder] = IndexMask(*read_index_mask(mask_path))
            if "SegmentationObject" in labels.masks:
                for i, labelled in enumerate(labels.objects):  # VOC: instance i+1 is the i-th object
                    labelled.instance = i + 1
        return labels

    def write(self, out_root: Path, out_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        files = []
        ints = bool(labels.meta.get("int_coords"))
        for obj in labels.objects:
            if obj.box is not None:
                obj.box = tuple(float(round(v)) if ints else round(float(v), 2) for v in obj.box)  # type: ignore[assignment]
        if "xml" in labels.meta:
            ann = ET.fromstring(labels.meta["xml"])
            _set(ann, "filename", Path(out_rel).name)
            size = ann.find("size")
            if size is None:
                size = ET.SubElement(ann, "size")
            _set(size, "width", str(width))
            _set(size, "height", str(height))
            for obj in labels.objects:
                el = ET.fromstring(obj.extra["xml"]) if "xml" in obj.extra else _new_object(obj.category)
                bb = el.find("bndbox")
                assert bb is not None and obj.box is not None
                for key, value in zip(("xmin", "ymin", "xmax", "ymax"), obj.box, strict=True):
                    _set(bb, key, str(int(value)) if ints else f"{value:g}")
                ann.append(el)
            ET.indent(ann)
            rel = self._beside(out_rel, ANNOTATIONS, ".xml")
            atomic_write_text(out_root / rel, ET.tostring(ann, "unicode") + "\n")
            files.append(rel)
        for folder, mask in labels.masks.items():
            rel = self._beside(out_rel, folder, ".png")
            atomic_write_bytes(out_root / rel, encode_index_mask(mask.indices, mask.palette))
            files.append(rel)
        return {"objects": objects_record(labels), "files": files}

    def finish(self, out_root: Path, records: list[dict[str, Any]]) -> list[str]:
        written = []
        for rel, text in self.extra_files.items():
            atomic_write_text(out_root / rel, text)
            written.append(rel)
        if self.image_sets:
            by_split: dict[str, list[str]] = {}
            for rec in sorted(records, key=lambda r: r["output"]):
                by_split.setdefault(rec["split"], []).append(Path(rec["output"]).stem)
            for split, stems in by_split.items():
                rel = f"ImageSets/Main/{split}.txt"
                atomic_write_text(out_root / rel, "".join(s + "\n" for s in stems))
                written.append(rel)
        return written


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


def _is_voc_xml(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return b"<annotation" in head


def detect(root: Path, files: list[str]) -> LabelSet | None:
    tops = {f.split("/", 1)[0] for f in files if "/" in f}
    if IMAGES in tops and (tops & {ANNOTATIONS, *MASK_DIRS}):
        images = [f for f in files if f.startswith(IMAGES + "/") and is_image(f)]
        sibling = False
    else:
        stems = {f[: -len(".xml")] for f in files if f.lower().endswith(".xml")}
        images = [f for f in files if is_image(f) and str(Path(f).with_suffix("")) in stems]
        if not images or not _is_voc_xml(root / Path(images[0]).with_suffix(".xml")):
            return None
        images = [f for f in files if is_image(f)]
        sibling = True
    splits = _image_sets(root)
    samples = []
    for rel in images:
        split = splits.get(Path(rel).stem) if splits else None
        samples.append(Sample(rel, split or (split_of(list(Path(rel).parts[:-1])) if sibling else TRAIN), None))
    extra = {f: (root / f).read_text(encoding="utf-8") for f in files if f in ("class_names.txt", "labels.txt")}
    used = set(images) | set(extra)
    ignored = [
        f for f in files if f not in used and f.split("/", 1)[0] not in _LABEL_DIRS and not f.lower().endswith(".xml")
    ]
    kinds = sorted({f.split("/", 1)[0] for f in files if f.split("/", 1)[0] in _LABEL_DIRS} - {"ImageSets"})
    where = "XML beside each image" if sibling else f"{IMAGES}/ with {', '.join(k + '/' for k in kinds)}"
    return LabelSet(
        "voc",
        VocCodec(sibling=sibling, extra_files=extra, image_sets=bool(splits)),
        samples,
        ignored=ignored,
        description=f"Pascal VOC ({where})" + (", splits from ImageSets/Main" if splits else ""),
    )


def _image_sets(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    folder = root / "ImageSets" / "Main"
    for name in ("train", "val", "test"):
        path = folder / f"{name}.txt"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").split("\n"):
                if line.strip():
                    out[line.split()[0]] = SPLITS[name]
    return out
