"""Input folders that fight back: unreadable folders, links to the output, link loops, FIFOs named
like images (issue 13, items 3, 4, 5 and 8)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import PHOTOS, invoke

from augcli.datasets import discovery


def _run(recipe: Path, source: Path, out: Path) -> tuple[int, str]:
    result = invoke("run", str(recipe), "-i", str(source), "-o", str(out), "-w", "1", "-q")
    return result.exit_code, result.output


def test_an_unreadable_folder_is_a_failure_like_an_unreadable_file(
    tmp_path: Path, photos: Path, recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hidden_class = photos / "cats"
    hidden_class.mkdir()
    shutil.copy(PHOTOS[3], hidden_class / "c.jpg")
    real_scandir = os.scandir

    def scandir(path: object) -> object:  # root cannot be refused by chmod: refuse here
        if isinstance(path, (str, os.PathLike)) and Path(path) == hidden_class:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", scandir)
    code, out = _run(recipe, photos, tmp_path / "out")
    assert code == 1, out
    assert "1 failed" in out and "failed: cats/: cannot read folder: Permission denied" in out
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["failures"] == [{"source": "cats/", "reason": "cannot read folder: Permission denied"}]
    assert len(list((tmp_path / "out").glob("*.jpg"))) == 6  # the readable images were all made


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their permissions")
def test_a_folder_without_read_permission_is_reported(tmp_path: Path, photos: Path, recipe: Path) -> None:
    locked = photos / "locked"
    locked.mkdir()
    shutil.copy(PHOTOS[3], locked / "c.jpg")
    locked.chmod(0)
    try:
        code, out = _run(recipe, photos, tmp_path / "out")
    finally:
        locked.chmod(0o755)
    assert code == 1 and "locked/: cannot read folder" in out


@pytest.mark.parametrize("where", ["output", "output parent", "file in output"])
def test_a_link_in_the_input_to_the_output_is_refused(tmp_path: Path, photos: Path, recipe: Path, where: str) -> None:
    out = tmp_path / "work" / "out"
    assert _run(recipe, photos, out)[0] == 0
    target = {"output": out, "output parent": out.parent, "file in output": next(out.glob("*.jpg"))}[where]
    (photos / "link").symlink_to(target)
    before = sorted(out.rglob("*"))
    code, message = _run(recipe, photos, out)
    assert code == 2, message
    assert "the input's link is a link to the output folder" in message
    assert sorted(out.rglob("*")) == before  # nothing re-augmented


def test_link_loops_are_followed_once(tmp_path: Path, photos: Path, recipe: Path) -> None:
    (photos / "self").symlink_to(".")
    sub = photos / "sub"
    sub.mkdir()
    shutil.copy(PHOTOS[3], sub / "d.jpg")
    (sub / "up").symlink_to("..")
    (photos / "again").symlink_to("sub")  # a second way into a folder already read
    out = tmp_path / "out"
    code, message = _run(recipe, photos, out)
    assert code == 0, message
    sources = {json.loads(line)["source"] for line in (out / "manifest.jsonl").read_text().splitlines()}
    assert sources == {p.name for p in PHOTOS[:3]} | {"sub/d.jpg"}


def test_a_linked_folder_outside_the_input_is_read(tmp_path: Path, photos: Path, recipe: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(PHOTOS[3], elsewhere / "e.jpg")
    (photos / "linked").symlink_to(elsewhere)
    out = tmp_path / "out"
    assert _run(recipe, photos, out)[0] == 0
    assert (out / "linked" / "e.jpg").is_file()


def test_a_fifo_named_like_an_image_is_skipped_and_reported(tmp_path: Path, photos: Path, recipe: Path) -> None:
    os.mkfifo(photos / "blocker.jpg")
    (photos / "dangling.png").symlink_to(tmp_path / "missing.png")
    code, out = _run(recipe, photos, tmp_path / "out")  # before: a worker blocked on the FIFO forever
    assert code == 1, out
    assert "failed: blocker.jpg: not a regular file (a FIFO); skipped" in out
    assert "failed: dangling.png: cannot read: No such file or directory" in out
    assert len(list((tmp_path / "out").glob("*.jpg"))) == 6
