"""Segmentation masks in a folder of their own, paired with the images by file stem.

The last `images` folder of an image's path becomes `masks`; the mask has the image's stem and is a
`.png`, `.tif`/`.tiff` or `.bmp` (the image may be any format):

    images/x.jpg          + masks/x.png
    images/train/x.jpg    + masks/train/x.png
    train/images/x.jpg    + train/masks/x.png

Several masks per image: one subfolder of that masks folder per kind of mask, named as you like
(`masks/class/x.png`, `masks/instance/x.png`); a plain `masks/x.png` may sit beside them.

A mask is a palette PNG (indices and palette kept) or an 8-bit grayscale image (kept grayscale);
16-bit masks are read when every value is at most 255 and written 8-bit (above 255 the image fails
with a clear message). Masks move as VOC's do (`labels.py`): nearest neighbour, and padding becomes
255, the void value, never background. Masks are always written as PNG, beside the output image's
place: `images/x__aug001.jpg` gets `masks/x__aug001.png` (`masks/<kind>/x__aug001.png`). An image
without a mask is a background image and stays one: no mask is written for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from augcli.datasets.base import Dataset, LabelSet, Sample, is_image, labelled, read_mask, split_of
from augcli.datasets.labels import ImageLabels, IndexMask, objects_record
from augcli.imageio import encode_index_mask
from augcli.store import Store

IMAGES, MASKS = "images", "masks"
MASK_SUFFIXES = (".png", ".tif", ".tiff", ".bmp")  # preferred in this order when a stem has several
SINGLE = "mask"  # the name (manifest `labels.masks`) of the one mask in the masks folder itself


def mask_folder(image_rel: str) -> str:
    """The masks folder of an image: its folder with the last `images` part renamed `masks`."""
    parts = list(PurePosixPath(image_rel).parts[:-1])
    where = [k for k, p in enumerate(parts) if p == IMAGES]
    if where:
        parts[where[-1]] = MASKS
    else:  # an output placed outside an images folder: masks/ mirrors its folder
        parts.insert(0, MASKS)
    return PurePosixPath(*parts).as_posix()


def mask_rel(image_rel: str, kind: str) -> str:
    """Where an image's mask of `kind` is written (always PNG)."""
    stem = PurePosixPath(image_rel).stem
    folder = mask_folder(image_rel)
    return f"{folder}/{stem}.png" if kind == SINGLE else f"{folder}/{kind}/{stem}.png"


@dataclass
class MaskCodec:
    """Reads the masks the detector paired with an image (its payload: (kind, mask path) pairs)."""

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        labels = ImageLabels()
        for kind, path in payload or ():
            labels.masks[kind] = IndexMask(*read_mask(inputs, path))
        return labels

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        files = []
        for kind, mask in labels.masks.items():
            rel = mask_rel(image_rel, kind)
            outputs.put(rel, encode_index_mask(mask.indices, mask.palette))
            files.append(rel)
        return {"objects": objects_record(labels), "files": files}

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        return []


def _rank(rel: str) -> int:
    return MASK_SUFFIXES.index(PurePosixPath(rel).suffix.lower())


def _mask_files(files: list[str]) -> dict[str, dict[str, str]]:
    """Folder -> stem -> mask path, for every mask under a `masks` folder (the preferred suffix)."""
    by_folder: dict[str, dict[str, str]] = {}
    for f in files:
        p = PurePosixPath(f)
        if p.suffix.lower() in MASK_SUFFIXES and MASKS in p.parts[:-1]:
            stems = by_folder.setdefault(p.parent.as_posix(), {})
            if p.stem not in stems or _rank(f) < _rank(stems[p.stem]):
                stems[p.stem] = f
    return by_folder


def _pairs(images: list[str], by_folder: dict[str, dict[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Image -> its (kind, mask path) pairs; images without a mask are left out."""
    bases = {mask_folder(f) for f in images}
    kinds: dict[str, list[str]] = {}  # masks folder -> its kind subfolders (not another image folder's masks)
    for folder in sorted(by_folder):
        parent, _, name = folder.rpartition("/")
        if parent in bases and folder not in bases:
            kinds.setdefault(parent, []).append(name)
    payloads: dict[str, list[tuple[str, str]]] = {}
    for rel in images:
        base, stem = mask_folder(rel), PurePosixPath(rel).stem
        pairs = []
        single = by_folder.get(base, {}).get(stem)
        if single is not None:
            pairs.append((SINGLE, single))
        for kind in kinds.get(base, []):
            path = by_folder[f"{base}/{kind}"].get(stem)
            if path is not None:
                pairs.append((kind, path))
        if pairs:
            payloads[rel] = pairs
    return payloads


class MasksFormat:
    name = "masks"
    title = "masks"
    kinds = frozenset({"masks"})
    priority = 40  # last of the label formats: COCO, YOLO or VOC labels beside a masks/ folder win
    target = None
    no_conversion = "generic masks have no objects to convert (masks would be lost)"

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        images = [
            f
            for f in files
            if is_image(f) and IMAGES in PurePosixPath(f).parts[:-1] and MASKS not in PurePosixPath(f).parts[:-1]
        ]
        if not images:
            return None
        by_folder = _mask_files(files)
        if not by_folder:
            return None
        payloads = _pairs(images, by_folder)
        if not payloads:
            return None
        samples = [Sample(rel, split_of(list(PurePosixPath(rel).parts[:-1])), None) for rel in images]
        used = set(images) | {path for pairs in payloads.values() for _, path in pairs}
        ignored = [f for f in files if f not in used]
        found_kinds = {kind for pairs in payloads.values() for kind, _ in pairs}
        where = ", ".join(f"{MASKS}/" if k == SINGLE else f"{MASKS}/{k}/" for k in sorted(found_kinds))
        description = f"{self.title} ({IMAGES}/ with {where})"
        label_set = LabelSet(self.name, MaskCodec(), samples, payloads, ignored, description)
        return labelled(inputs, label_set)

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        """Images with a mask, and the kind of label (masks)."""
        assert dataset.labels is not None
        payloads = dataset.labels.payloads
        count = sum(1 for s in dataset.samples if payloads.get(s.rel))
        return count, {"masks"} if count else set()

    def class_names(self, dataset: Dataset) -> list[str]:
        return []  # a mask's indices have no names


FORMAT = MasksFormat()
