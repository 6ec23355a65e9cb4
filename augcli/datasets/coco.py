"""COCO: `annotations.json` beside `images/` or `JPEGImages/`; `annotations/instances_<split>.json`
beside `<split>/`; or `<split>/_annotations.coco.json` (Roboflow).

The parent reads the JSON and hands each job only its image's annotations; workers return the
moved annotations in their manifest records, and the parent writes one JSON per input JSON at the
end, with image and annotation ids numbered in output-path order (unique, and the same however
many workers ran). Polygons move vertex by vertex and are clipped to the image; RLE masks (crowd
regions) move as masks and need pycocotools; keypoints that leave the image are kept with v=0.
"""

from __future__ import annotations

import json
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
    read_text,
    split_of,
)
from augcli.datasets.labels import ImageLabels, LabelObject, flip_index, objects_record, polygon_area
from augcli.datasets.shapes import polygon_objects
from augcli.errors import UsageError
from augcli.store import Store

_REWRITTEN = {"id", "image_id", "bbox", "segmentation", "area", "keypoints", "num_keypoints"}


@dataclass
class CocoFile:
    """One annotation JSON: where it is, the folder its file_names are relative to, its split."""

    json_rel: str
    base: str  # folder file_name is relative to ("" = the dataset root)
    split: str
    header: dict[str, Any] = field(default_factory=dict)  # info, licenses, categories, ...


@dataclass
class CocoCodec:
    files: list[CocoFile]

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        image, anns, names = payload["image"], payload["annotations"], payload["categories"]
        labels = ImageLabels(
            meta={
                "json": payload["json"],
                "image": image,
                "skeletons": payload.get("skeletons", {}),
                "flip_idx": payload.get("flips", {}),  # left_*/right_* keypoints swap on a mirror
            }
        )
        for ann in anns:
            extra = {k: v for k, v in ann.items() if k not in _REWRITTEN}
            obj = LabelObject(names.get(ann.get("category_id"), str(ann.get("category_id"))), extra=extra)
            if ann.get("bbox"):
                x, y, w, h = (float(v) for v in ann["bbox"])
                obj.box = (x, y, x + w, y + h)
            seg = ann.get("segmentation")
            if isinstance(seg, list):
                for flat in seg:
                    pts = np.asarray(flat, np.float64).reshape(-1, 2)
                    if len(pts) >= 3:
                        obj.polygons.append(pts)
            elif isinstance(seg, dict):
                obj.mask = _decode_rle(seg, height, width, payload["json"])
            if ann.get("keypoints"):
                kps = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
                obj.keypoints = kps
            if obj.box is None and obj.polygons:
                pts = np.concatenate(obj.polygons)
                obj.box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
            labels.objects.append(obj)
        return labels

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        coco_file = self._file_for(image_rel, labels.meta.get("json"))
        file_name = image_rel[len(coco_file.base) + 1 :] if coco_file.base else image_rel
        image = {**labels.meta.get("image", {}), "file_name": file_name, "width": width, "height": height}
        image.pop("id", None)
        anns = []
        for obj in labels.objects:
            ann: dict[str, Any] = dict(obj.extra)
            if obj.box is not None:
                x0, y0, x1, y1 = (round(float(v), 2) for v in obj.box)
                obj.box = (x0, y0, x1, y1)
                ann["bbox"] = [x0, y0, round(x1 - x0, 2), round(y1 - y0, 2)]
            if obj.polygons:
                ann["segmentation"] = [[round(float(v), 2) for v in p.reshape(-1)] for p in obj.polygons]
                ann["area"] = round(sum(polygon_area(p) for p in obj.polygons), 2)
            elif obj.mask is not None:
                ann["segmentation"], ann["area"] = _encode_rle(obj.mask)
            elif obj.box is not None:
                ann["segmentation"] = []
                ann["area"] = round((obj.box[2] - obj.box[0]) * (obj.box[3] - obj.box[1]), 2)
            if obj.keypoints is not None:
                kps = obj.keypoints.copy()
                kps[kps[:, 2] == 0, :2] = 0  # COCO: an unlabelled (or outside) keypoint is 0,0,0
                ann["keypoints"] = [round(float(v), 2) if i % 3 < 2 else int(v) for i, v in enumerate(kps.reshape(-1))]
                ann["num_keypoints"] = int((kps[:, 2] > 0).sum())
            anns.append(ann)
        return {
            "objects": objects_record(labels),
            "files": [],
            "coco": {"json": coco_file.json_rel, "image": image, "annotations": anns},
        }

    def _file_for(self, image_rel: str, json_rel: str | None) -> CocoFile:
        """Labels read from a JSON go back to its counterpart; converted ones to their split folder's JSON."""
        if json_rel is not None:
            return next(f for f in self.files if f.json_rel == json_rel)
        split_dir = PurePosixPath(image_rel).parts[0]
        return next(f for f in self.files if f.base == split_dir)

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        written = []
        for coco_file in self.files:
            images: list[dict[str, Any]] = []
            annotations: list[dict[str, Any]] = []
            mine = sorted(
                (r for r in records if r.get("labels", {}).get("coco", {}).get("json") == coco_file.json_rel),
                key=lambda r: r["output"],
            )
            for image_id, rec in enumerate(mine, start=1):
                data = rec["labels"]["coco"]
                images.append({"id": image_id, **data["image"]})
                for ann in data["annotations"]:
                    annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
            doc = {**coco_file.header, "images": images, "annotations": annotations}
            outputs.put(coco_file.json_rel, (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8"))
            written.append(coco_file.json_rel)
        return written


def _decode_rle(seg: dict[str, Any], height: int, width: int, where: str) -> np.ndarray:
    try:
        from pycocotools import mask as mask_utils
    except ImportError:
        raise LabelReadError(
            "RLE segmentation (a crowd region or mask) needs pycocotools: pip install pycocotools", where
        ) from None
    rle = seg
    if isinstance(seg.get("counts"), list):
        rle = mask_utils.frPyObjects(seg, *seg["size"])
    mask = mask_utils.decode(rle).astype(bool)
    if mask.shape != (height, width):
        raise LabelReadError(f"RLE size {mask.shape[1]}x{mask.shape[0]} is not the image's {width}x{height}", where)
    return mask


def _encode_rle(mask: np.ndarray) -> tuple[dict[str, Any], float]:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    area = float(mask_utils.area(rle))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}, area


# --------------------------------------------------------------------------- detection


def _coco_files(files: list[str]) -> list[tuple[str, str, str]]:
    """(json, base folder of its file_names, split) for every COCO JSON in a known place."""
    tops = {f.split("/", 1)[0] for f in files if "/" in f}
    found = []
    for f in files:
        p = PurePosixPath(f)
        if f == "annotations.json":
            base = next((d for d in ("images", "JPEGImages") if d in tops), "")
            found.append((f, base, "train"))
        elif (
            len(p.parts) == 2
            and p.parts[0] == "annotations"
            and p.name.startswith("instances_")
            and p.suffix == ".json"
        ):
            split_dir = p.stem[len("instances_") :]
            base = split_dir if split_dir in tops else (f"images/{split_dir}" if "images" in tops else split_dir)
            found.append((f, base, split_of([split_dir])))
        elif len(p.parts) == 2 and p.name == "_annotations.coco.json":
            found.append((f, p.parts[0], split_of([p.parts[0]])))
    return found


def _read_json(inputs: Store, json_rel: str) -> Any:
    try:
        return json.loads(read_text(inputs, json_rel))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read COCO JSON: {exc}", inputs.where(json_rel)) from None


def _image_payloads(doc: dict[str, Any], json_rel: str) -> tuple[dict[Any, Any], dict[str, Any]]:
    """Each image's annotations (by image id), and what every image of this JSON shares."""
    categories = doc.get("categories", [])
    flips = {c["name"]: flip_index(c["keypoints"]) for c in categories if c.get("keypoints")}
    shared = {
        "json": json_rel,
        "categories": {c["id"]: c["name"] for c in categories},
        "skeletons": {c["name"]: c["skeleton"] for c in categories if c.get("skeleton")},
        "flips": {k: v for k, v in flips.items() if v is not None},
    }
    by_image: dict[Any, list[dict[str, Any]]] = {}
    for ann in doc.get("annotations", []):
        by_image.setdefault(ann["image_id"], []).append(ann)
    return by_image, shared


def _label_set(inputs: Store, files: list[str]) -> LabelSet | None:
    candidates = _coco_files(files)
    if not candidates:
        return None
    coco_files, samples, payloads, used = [], [], {}, set()
    on_disk = set(files)
    folded = _by_case(files)
    folded_names = set(folded)
    warnings: list[str] = []
    missing: dict[str, int] = {}
    for json_rel, base, split in candidates:
        doc = _read_json(inputs, json_rel)
        if not isinstance(doc, dict) or "images" not in doc:
            continue
        header = {k: v for k, v in doc.items() if k not in ("images", "annotations")}
        coco_files.append(CocoFile(json_rel, base, split, header))
        used.add(json_rel)
        by_image, shared = _image_payloads(doc, json_rel)
        lost: list[tuple[str, int]] = []
        by_case: list[str] = []
        for image in doc["images"]:
            rel, from_root = _resolve(image["file_name"], base, on_disk)
            if rel is None:
                rel, from_root = _resolve(image["file_name"].lower(), base.lower(), folded_names)
                if rel is not None:
                    rel = folded[rel]
                    by_case.append(f"{image['file_name']} -> {rel}")
            if rel is None:  # listed but missing: nothing to augment, its objects are lost (said, counted)
                lost.append((str(image["file_name"]), len(by_image.get(image["id"], []))))
                missing[f"{json_rel}:{image['file_name']}"] = lost[-1][1]
                continue
            if from_root:
                coco_files[-1].base = ""  # labelme writes file_name from the root ("JPEGImages/x.jpg")
            payloads[rel] = {
                "json": json_rel,
                "image": {k: v for k, v in image.items()},
                "annotations": by_image.get(image["id"], []),
                "categories": shared["categories"],
                "skeletons": shared["skeletons"],
                "flips": shared["flips"],
            }
        warnings.extend(_file_warnings(json_rel, lost, by_case))
        prefix = base + "/" if base else ""
        for f in files:
            if f.startswith(prefix) and is_image(f) and f not in used:
                used.add(f)
                samples.append(Sample(f, split, None))  # images the JSON does not list are background
                payloads.setdefault(f, {"json": json_rel, "image": {}, "annotations": [], "categories": {}})
    if not coco_files:
        return None
    ignored = [f for f in files if f not in used and not is_image(f)]
    where = ", ".join(c.json_rel for c in coco_files)
    return LabelSet(
        FORMAT.name,
        CocoCodec(coco_files),
        sorted(samples, key=lambda s: s.rel),
        payloads,
        ignored,
        f"{FORMAT.title} ({where})",
        warnings,
        missing,
    )


def _by_case(files: list[str]) -> dict[str, str]:
    """Lower-cased path -> the path on disk, for paths no other file shares in lower case."""
    folded: dict[str, list[str]] = {}
    for f in files:
        folded.setdefault(f.lower(), []).append(f)
    return {low: same[0] for low, same in folded.items() if len(same) == 1}


def _file_warnings(json_rel: str, lost: list[tuple[str, int]], by_case: list[str]) -> list[str]:
    """One line each: images a JSON lists that are not on disk (and their objects), names matched by case."""
    out = []
    if lost:
        shown = ", ".join(f"{name} ({n})" for name, n in lost[:5]) + (" ..." if len(lost) > 5 else "")
        objects = sum(n for _, n in lost)
        out.append(
            f"{json_rel} lists {len(lost)} image{'s' * (len(lost) != 1)} not on disk; "
            f"their {objects} object{'s' * (objects != 1)} are not written: {shown}"
        )
    if by_case:
        shown = ", ".join(by_case[:5]) + (" ..." if len(by_case) > 5 else "")
        out.append(
            f"{json_rel}: {len(by_case)} file_name{'s' * (len(by_case) != 1)} matched a file only "
            f"ignoring case (the JSON written uses the name on disk): {shown}"
        )
    return out


def _resolve(file_name: str, base: str, on_disk: set[str]) -> tuple[str | None, bool]:
    """The image's path under the root, and whether file_name was relative to the root, not base."""
    name = file_name.replace("\\", "/").removeprefix("./")
    if base and f"{base}/{name}" in on_disk:
        return f"{base}/{name}", False
    if name in on_disk:
        return name, bool(base)
    return None, False


# --------------------------------------------------------------------------- conversion into COCO


def _json_of(split: str) -> str:
    return f"annotations/instances_{split}.json"


def _place(rel: str, split: str) -> str:
    return f"{split}/{PurePosixPath(rel).name}"


def _target_codec(names: list[str], splits: list[str]) -> Codec:
    """One JSON per split, categories numbered from 1 in class-name order."""
    header = {
        "info": {"description": "converted by augcli"},
        "licenses": [],
        "categories": [{"id": i, "name": n, "supercategory": ""} for i, n in enumerate(names, start=1)],
    }
    return CocoCodec([CocoFile(_json_of(s), s, s, header) for s in splits])


def to_coco(labels: ImageLabels, names: list[str]) -> ImageLabels:
    ids = {name: i for i, name in enumerate(names, start=1)}
    out = polygon_objects(labels, names, lambda name: {"category_id": ids[name], "iscrowd": 0})
    out.meta = {"image": {}, "flip_idx": labels.meta.get("flip_idx") or {}}  # left/right swap on a mirror
    return out


# --------------------------------------------------------------------------- the format


class CocoFormat:
    name = "coco"
    title = "COCO"
    kinds = frozenset({"boxes", "polygons", "keypoints", "masks"})
    priority = 10  # a JSON in a known place is the strongest evidence
    target = ConversionTarget(
        "<split>/ + annotations/instances_<split>.json", _place, _target_codec, to_coco, nothing_lost
    )
    no_conversion = ""

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        found = _label_set(inputs, files)
        return labelled(inputs, found) if found is not None else None

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        """From the annotations already in memory: no file is read."""
        assert dataset.labels is not None
        kinds: set[str] = set()
        count = 0
        for payload in dataset.labels.payloads.values():
            anns = payload.get("annotations", [])
            count += bool(anns)
            for ann in anns:
                kinds.update({"boxes"} if ann.get("bbox") else set())
                seg = ann.get("segmentation")
                kinds.update(
                    {"polygons"} if isinstance(seg, list) and seg else {"masks"} if isinstance(seg, dict) else set()
                )
                kinds.update({"keypoints"} if ann.get("keypoints") else set())
        return count, kinds

    def keypoint_layout(self, dataset: Dataset) -> tuple[int, list[int] | None]:
        """The most keypoints an annotation has, and the left/right swap of a category with that many."""
        assert dataset.labels is not None and isinstance(dataset.labels.codec, CocoCodec)
        anns = (a for p in dataset.labels.payloads.values() for a in p.get("annotations", []))
        count = max((len(a.get("keypoints") or []) // 3 for a in anns), default=0)
        for coco_file in dataset.labels.codec.files:
            for cat in coco_file.header.get("categories", []):
                if len(cat.get("keypoints") or []) == count:
                    return count, flip_index(cat["keypoints"])
        return count, None

    def class_names(self, dataset: Dataset) -> list[str]:
        """Category names in id order, JSON by JSON."""
        assert dataset.labels is not None and isinstance(dataset.labels.codec, CocoCodec)
        names: list[str] = []
        for coco_file in dataset.labels.codec.files:
            for cat in sorted(coco_file.header.get("categories", []), key=lambda c: c["id"]):
                names.append(str(cat["name"]))
        return names


FORMAT = CocoFormat()
