"""Faults while a run goes: the output folder deleted under it (issue 13, item 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from augcli import runner


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
