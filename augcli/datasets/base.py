"""The vocabulary every dataset format shares: samples, datasets, label sets, and the two protocols.

A `LabelFormat` recognises its files under an input store and returns the `Dataset` they make; a
labelled dataset carries a `LabelSet` whose small, picklable `Codec` reads one image's labels in a
worker, writes one output's, and finishes the dataset (COCO JSON, data.yaml) in the parent. Every
byte goes through a `Store`, so the same format reads a folder on disk or an object store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import numpy as np

from augcli.datasets.labels import ImageLabels, objects_record, sanitize
from augcli.errors import AugcliError
from augcli.imageio import IMAGE_SUFFIXES, decode_index_mask, read_index_mask
from augcli.store import Store

SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
TRAIN = "train"
LABEL_KINDS = (
    "boxes",
    "oriented boxes",
    "polygons",
    "keypoints",
    "masks",
)  # what a format's files can hold, in display order


@dataclass(frozen=True)
class Sample:
    """One source image: where it is, and what split and class its place in the tree says."""

    rel: str  # POSIX path relative to the dataset root: the seed key and the output's place
    split: str  # train / val / test (a flat or class-folder dataset is all train)
    label: str | None  # class folder name, if the layout has classes

    @property
    def augmented(self) -> bool:
        return self.split == TRAIN


class Codec(Protocol):
    """One format's label files for one image, in a worker; the dataset-level files in the parent."""

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels: ...

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        """Write one output's label files; return its manifest record (`objects`, `files`, format data)."""
        ...

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        """Parent side, after every output is written: dataset-level files (COCO JSON, data.yaml)."""
        ...


@dataclass
class LabelSet:
    """What a format found: its samples, per-image data the workers need, and the codec."""

    format: str
    codec: Codec
    samples: list[Sample]
    payloads: dict[str, Any] = field(default_factory=dict)  # rel -> e.g. one image's COCO annotations
    ignored: list[str] = field(default_factory=list)
    description: str = ""
    warnings: list[str] = field(default_factory=list)  # what detection found wrong, for the run summary
    missing: dict[str, int] = field(default_factory=dict)  # images listed but not on disk -> their objects


@dataclass(frozen=True)
class Dataset:
    inputs: Store
    layout: str  # the concrete layout found (never "auto"): a class-folder layout or the format's name
    samples: list[Sample]
    ignored: list[str]  # files under the root that are neither images nor label files
    labels: LabelSet | None = None  # when the images carry boxes/masks/keypoints
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (rel, why) skipped: folders, non-files
    links: dict[str, str] = field(default_factory=dict)  # rel -> real path of each link the walk followed

    @property
    def root(self) -> Path | str:
        """The input root as messages name it (a path, or a URL)."""
        return self.inputs.where()


def labelled(inputs: Store, label_set: LabelSet) -> Dataset:
    """The dataset a label format found: its layout is the format's name."""
    return Dataset(inputs, label_set.format, label_set.samples, label_set.ignored, label_set)


Adapt = Callable[[ImageLabels, list[str]], ImageLabels]


@dataclass(frozen=True)
class ConversionTarget:
    """How `run --to FORMAT` writes another format's labels in this one."""

    layout: str  # what the run summary says is written: "JPEGImages/ + Annotations/, ImageSets/Main"
    place: Callable[[str, str], str]  # (source image rel, split) -> where the image goes
    codec: Callable[[list[str], list[str]], Codec]  # (class names, splits) -> the codec that writes
    adapt: Adapt  # one image's labels reshaped into what this format holds (a module-level function: it pickles)
    # The kinds of label (of those a source has) this format cannot write, each with what becomes of it
    # ("written as their boxes"); None: the kinds not in the format's `kinds`. `run --to` refuses to lose
    # any without --lossy, and the writer counts what it did not write (LabelCounts.lost_*).
    lost: Callable[[set[str]], dict[str, str]] | None = None
    # For a format that holds a fixed number of keypoints per object (YOLO pose): the codec made to write
    # `count` of them, with `flip` (the index that swaps left and right on a mirror).
    keypoints: Callable[[Codec, int, list[int]], Codec] | None = None


class LabelReadError(AugcliError):
    """A label file a format cannot read: one line naming the file and what is wrong."""


def put_text_labels(outputs: Store, rel: str, lines: list[str], labels: ImageLabels) -> dict[str, Any]:
    """Write one image's label lines as the text file `rel` (YOLO, YOLO-OBB, DOTA), or no file when it has
    no lines and the source had none (a background image stays without one); the output's record."""
    files = []
    if lines or labels.meta.get("had_file", True):
        outputs.put(rel, "".join(line + "\n" for line in lines).encode("utf-8"))
        files.append(rel)
    return {"objects": objects_record(labels), "files": files}


def nothing_lost(kinds: set[str]) -> dict[str, str]:
    """`ConversionTarget.lost` of a format that carries every kind: masks as their outlines' polygons,
    oriented boxes as their own (or as the polygon of their corners, with the upright box, in COCO)."""
    return {}


class LabelFormat(Protocol):
    """A dataset format, registered once by name (`augcli.datasets.registry.register_format`).

    Optional, asked for by `run --to` where a format has them: `keypoint_layout(dataset)` -> (keypoints
    per object, left/right flip index or None), for a target that needs a fixed count (YOLO pose);
    `unconvertible(dataset)` -> {kind: why} for labels its files hold that no conversion can carry."""

    @property
    def name(self) -> str:
        """What the recipe's `labels.format` and `--to` say."""
        ...

    @property
    def title(self) -> str:
        """For people: "Pascal VOC"."""
        ...

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of label (LABEL_KINDS) its files can hold."""
        ...

    @property
    def priority(self) -> int:
        """Auto-detection tries lower first (stronger evidence); class folders, the fallback, are 1000."""
        ...

    @property
    def target(self) -> ConversionTarget | None:
        """How `run --to <name>` writes it; None when it cannot be written by a conversion."""
        ...

    @property
    def no_conversion(self) -> str:
        """Why its labels cannot be converted to another format ("" when they can)."""
        ...

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        """The dataset, when `files` (every file under the root, sorted) are this format's; else None."""
        ...

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        """Cheaply: how many images have labels, and the kinds of label found."""
        ...

    def class_names(self, dataset: Dataset) -> list[str]:
        """Every class name, the format's own order first (a conversion numbers classes by it)."""
        ...


# --------------------------------------------------------------------------- shared helpers


def split_of(parts: list[str]) -> str:
    """The split a path's folders name (train/val/valid/validation/test, also train2017), else train."""
    for part in parts:
        low = part.lower().rstrip("0123456789")
        if low in SPLITS:
            return SPLITS[low]
    return TRAIN


def is_image(rel: str) -> bool:
    return PurePosixPath(rel).suffix.lower() in IMAGE_SUFFIXES


def read_text(inputs: Store, rel: str) -> str:
    """A UTF-8 text file with universal newlines (as `Path.read_text`): CRLF files read as LF."""
    return inputs.read_bytes(rel).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def read_mask(inputs: Store, rel: str) -> tuple[np.ndarray, list[int] | None]:
    """A label mask (indices and palette); a file on this disk is read by imageio itself, for its messages."""
    local = inputs.local_path(rel)
    if local is not None:
        return read_index_mask(local)
    return decode_index_mask(inputs.read_bytes(rel), inputs.where(rel))


def read_labels(codec: Codec, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
    """One image's labels as its codec reads them, clipped to the image (counted, never a crash)."""
    return sanitize(codec.read(inputs, rel, payload, width, height), width, height)
