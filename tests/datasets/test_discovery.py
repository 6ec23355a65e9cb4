"""Discovery and label files go through stores: a store without files on this disk finds and reads the same."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from augcli.datasets import Dataset, discover_dataset, read_labels
from augcli.datasets.labels import ImageLabels
from augcli.errors import ImageReadError, UsageError
from augcli.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = DATA / "labels"


class Elsewhere:
    """A folder seen only through the Store protocol, as an object store is: no local paths."""

    def __init__(self, root: Path):
        self._inner = open_store(root)

    def local_path(self, rel: str = "") -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Memory:
    """Outputs kept in a dict: what a codec writes, it writes with `put`."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, rel: str, data: bytes) -> int:
        self.objects[rel] = data
        return len(data)


def _zoo(tmp: Path) -> list[Path]:
    """Every format, and class folders, with a hidden folder and a stray file in each."""
    small = Image.open(DATA / "chelsea.png").convert("RGB").resize((64, 48))
    yolo = tmp / "yolo"
    for split in ("train", "val"):
        (yolo / "images" / split).mkdir(parents=True)
        (yolo / "labels" / split).mkdir(parents=True)
        small.save(yolo / "images" / split / "a.jpg")
        (yolo / "labels" / split / "a.txt").write_text("0 0.5 0.5 0.2 0.2\r\n1 0.1 0.1 0.3 0.1 0.3 0.3\r\n")
    (yolo / "data.yaml").write_text(yaml.safe_dump({"path": "/x", "names": ["a", "b"]}))
    masks = tmp / "masks"
    (masks / "images").mkdir(parents=True)
    (masks / "masks" / "instance").mkdir(parents=True)
    small.save(masks / "images" / "a.jpg")
    small.save(masks / "images" / "b.jpg")
    Image.new("L", (64, 48), 1).save(masks / "masks" / "a.png")
    Image.new("L", (64, 48), 2).save(masks / "masks" / "instance" / "a.png")
    classes = tmp / "classes"
    for split, cls in (("train", "cat"), ("train", "dog"), ("val", "cat")):
        (classes / split / cls).mkdir(parents=True, exist_ok=True)
        small.save(classes / split / cls / "x.png")
    roots = [yolo, masks, classes]
    for name in ("voc", "voc_seg", "satellite", "coco"):
        roots.append(shutil.copytree(LABELS / name, tmp / name))
    for root in roots:
        (root / ".cache").mkdir()
        small.save(root / ".cache" / "thumb.jpg")
        (root / "notes.md").write_text("stray")
    return roots


def _same_labels(a: ImageLabels, b: ImageLabels) -> bool:
    objects = [(o.category, o.box, [p.tolist() for p in o.polygons], o.extra) for o in a.objects]
    masks = {k: (m.indices.tobytes(), m.palette) for k, m in a.masks.items()}
    return (
        objects == [(o.category, o.box, [p.tolist() for p in o.polygons], o.extra) for o in b.objects]
        and masks == {k: (m.indices.tobytes(), m.palette) for k, m in b.masks.items()}
        and a.meta == b.meta
    )


def _read_all(dataset: Dataset) -> list[tuple[ImageLabels, int, int]]:
    """Every sample's labels, and its image's width and height."""
    assert dataset.labels is not None
    out = []
    for sample in dataset.samples:
        with Image.open(io.BytesIO(dataset.inputs.read_bytes(sample.rel))) as im:
            width, height = im.size
        payload = dataset.labels.payloads.get(sample.rel)
        labels = read_labels(dataset.labels.codec, dataset.inputs, sample.rel, payload, width, height)
        out.append((labels, width, height))
    return out


def test_a_store_without_local_files_finds_and_reads_the_same_dataset(tmp_path: Path) -> None:
    for root in _zoo(tmp_path):
        here, there = discover_dataset(root), discover_dataset(Elsewhere(root))  # type: ignore[arg-type]
        assert (there.layout, there.samples, there.ignored) == (here.layout, here.samples, here.ignored), root.name
        assert not any(".cache" in s.rel for s in here.samples) and "notes.md" in here.ignored
        if here.labels is None:
            assert there.labels is None and here.layout == "split-classes"
            continue
        assert there.labels is not None and there.labels.description == here.labels.description
        assert there.labels.payloads == here.labels.payloads
        pairs = zip(_read_all(here), _read_all(there), strict=True)
        assert all(_same_labels(a, b) for (a, _, _), (b, _, _) in pairs), root.name


def _write_all(dataset: Dataset, outputs: Any) -> list[str]:
    """Write every sample's labels as run does (same relative paths), then finish; the files named."""
    assert dataset.labels is not None
    records = []
    for sample, (labels, width, height) in zip(dataset.samples, _read_all(dataset), strict=True):
        record = dataset.labels.codec.write(outputs, sample.rel, labels, width, height)
        records.append({"output": sample.rel, "split": sample.split, "labels": record})
    return dataset.labels.codec.finish(outputs, records) + [f for r in records for f in r["labels"]["files"]]


def test_label_files_are_written_only_with_put(tmp_path: Path) -> None:
    for name in ("voc", "voc_seg", "satellite", "coco"):
        dataset = discover_dataset(Elsewhere(LABELS / name))  # type: ignore[arg-type]
        memory = Memory()
        written = _write_all(dataset, memory)
        assert written and sorted(memory.objects) == sorted(written)
        assert sorted(_write_all(dataset, open_store(tmp_path / name))) == sorted(written)
        assert memory.objects == {rel: (tmp_path / name / rel).read_bytes() for rel in written}


def test_hidden_folders_are_skipped_and_linked_folders_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "dog").mkdir(parents=True)
    shutil.copy(DATA / "chelsea.png", elsewhere / "dog" / "x.png")
    root = tmp_path / "data"
    (root / "cat").mkdir(parents=True)
    shutil.copy(DATA / "chelsea.png", root / "cat" / "x.png")
    (root / ".git" / "objects").mkdir(parents=True)
    shutil.copy(DATA / "chelsea.png", root / ".git" / "objects" / "y.png")
    os.symlink(elsewhere / "dog", root / "dog")
    dataset = discover_dataset(root)
    assert [(s.rel, s.label) for s in dataset.samples] == [("cat/x.png", "cat"), ("dog/x.png", "dog")]


def test_a_mask_that_cannot_be_decoded_is_named_through_any_store(tmp_path: Path) -> None:
    root = _zoo(tmp_path)[1]
    (root / "masks" / "a.png").write_bytes(b"")
    for inputs in (open_store(root), Elsewhere(root)):
        dataset = discover_dataset(inputs)  # type: ignore[arg-type]
        assert dataset.labels is not None
        with pytest.raises(ImageReadError) as caught:
            _read_all(dataset)
        assert (caught.value.message, caught.value.path) == ("empty file", str(root / "masks" / "a.png"))


def test_an_input_that_is_not_a_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        discover_dataset(tmp_path / "missing")
    assert (caught.value.message, caught.value.path) == ("input folder does not exist", str(tmp_path / "missing"))
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(UsageError, match="input is not a folder"):
        discover_dataset(open_store(tmp_path / "file.jpg"))
    with pytest.raises(UsageError, match="no yolo labels found"):
        discover_dataset(LABELS / "voc", label_format="yolo")
