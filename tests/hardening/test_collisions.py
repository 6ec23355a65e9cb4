"""Two sources, one output name: the run refuses before writing anything, naming both (issue 13, item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import PHOTOS, invoke
from PIL import Image


def _dataset(folder: Path, names: list[str], *, yolo: bool = False) -> Path:
    """The photos under the given names; as a YOLO dataset (images/train, labels/train) when asked."""
    images = folder / "images" / "train" if yolo else folder
    images.mkdir(parents=True)
    for name, src in zip(names, PHOTOS, strict=False):
        if name.lower().endswith(".png"):
            Image.open(src).save(images / name)
        else:
            shutil.copy(src, images / name)
        if yolo:
            label = folder / "labels" / "train" / f"{Path(name).stem}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text("0 0.5 0.5 0.2 0.2\n")
    if yolo:
        (folder / "data.yaml").write_text("names: [thing]\n")
    return folder


@pytest.mark.parametrize(
    ("names", "first", "second"),
    [
        (["x.jpg", "x.JPG"], "x.JPG", "x.jpg"),
        (["a.jpg", "a.png", "a_png.png"], "a.png", "a_png.png"),
        (["b.jpg", "b__aug001.jpg"], "b.jpg", "b__aug001.jpg"),
    ],
)
@pytest.mark.parametrize("to", ["same", "voc"])
def test_colliding_sources_are_refused_before_anything_is_written(
    tmp_path: Path, recipe: Path, names: list[str], first: str, second: str, to: str
) -> None:
    source = _dataset(tmp_path / "in", names, yolo=to != "same")  # a conversion plans other paths
    out = tmp_path / "out"
    result = invoke("run", str(recipe), "-i", str(source), "-o", str(out), "-w", "1", "-q", "--to", to)
    assert result.exit_code == 2, result.output
    message = result.output
    assert "would both be written as" in message
    assert f"{first} and " in message or f"{first} would" in message
    assert f"{second} and " in message or f"{second} would" in message
    assert not out.exists() or not any(p.suffix.lower() in (".jpg", ".png") for p in out.rglob("*"))


def test_sharded_runs_refuse_collisions_across_shards(tmp_path: Path, recipe: Path) -> None:
    source = _dataset(tmp_path / "in", ["x.jpg", "x.JPG"])
    for i in range(2):
        result = invoke("run", str(recipe), "-i", str(source), "-o", str(tmp_path / "out"), "--shard", f"{i}/2", "-q")
        assert result.exit_code == 2 and "would both be written as" in result.output
