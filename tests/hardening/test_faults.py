"""Faults while a run goes: the output folder deleted under it, the disk full (issue 13, item 2 and the full disk)."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from augcli import runner
from augcli.store import local


def _run(recipe: Path, source: Path, out: Path) -> tuple[int, str]:
    result = invoke("run", str(recipe), "-i", str(source), "-o", str(out), "-w", "1", "-q")
    return result.exit_code, result.output


@pytest.mark.parametrize("what", ["folder", "images"])
def test_outputs_deleted_mid_run_are_not_reported_complete(
    tmp_path: Path, photos: Path, recipe: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    out = tmp_path / "out"
    add_lines = runner.ManifestLog.add_lines
    calls = []

    def deleting(self: Any, lines: Any) -> None:
        add_lines(self, lines)
        calls.append(1)
        if len(calls) == 2:  # after two of the three sources
            if what == "folder":
                shutil.rmtree(out)
            else:
                for image in out.glob("*.jpg"):
                    image.unlink()

    monkeypatch.setattr(runner.ManifestLog, "add_lines", deleting)
    code, message = _run(recipe, photos, out)
    assert code == 1, message
    assert "6 written" in message
    if what == "folder":
        assert "missing: 6 outputs written are not in the manifest" in message
    else:
        assert "missing: 4 outputs the manifest lists are not in the output" in message
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "incomplete"
    monkeypatch.undo()
    code, message = _run(recipe, photos, out)  # running again makes what is missing
    assert code == 0, message
    assert len(list(out.glob("*.jpg"))) == 6
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


class _FillingDisk:
    """The local store's files on a disk that fills up after `room` images: every write then fails with
    ENOSPC (images, the manifest's appends, run.json), as on a real full disk; what is written stays."""

    def __init__(self, room: int) -> None:
        self.room = room

    def open(self, path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = open(path, mode, *args, **kwargs)  # noqa: SIM115 - returned to the caller's with
        if "w" not in mode:
            return handle
        if ".jpg." in Path(path).name and self.room > 0:
            self.room -= 1
            return handle
        if self.room > 0:
            return handle
        handle.close()
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    def appender(self) -> Any:
        def append(log: Any, lines: list[str]) -> None:
            if self.room <= 0 and lines:
                raise OSError(errno.ENOSPC, "No space left on device")
            _APPEND(log, lines)

        return append


_APPEND = local._AppendLog.write


def test_a_full_disk_ends_with_the_summary_and_a_finished_record(
    tmp_path: Path, photos: Path, recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = _FillingDisk(room=3)
    monkeypatch.setattr(local, "open", disk.open, raising=False)
    monkeypatch.setattr(local._AppendLog, "write", disk.appender())
    out = tmp_path / "out"
    code, message = _run(recipe, photos, out)
    assert code == 1, message
    assert "Traceback" not in message
    assert message.startswith("2 written")  # the summary: the first source's two outputs
    assert "stopped: the output's disk is full (" in message and "No space left on device" in message
    assert "free space and run again to resume" in message
    record = json.loads((out / "run.json").read_text())  # written over the running one, in its room
    assert record["status"] == "failed" and record["counts"]["written"] == 2
    listed = [json.loads(line)["output"] for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(listed) == 2 and all((out / rel).is_file() for rel in listed)
    monkeypatch.undo()  # space freed
    code, message = _run(recipe, photos, out)
    assert code == 0, message
    assert "4 written, 2 already done" in message
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
