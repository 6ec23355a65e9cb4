"""SIGTERM is Ctrl-C, and Ctrl-C at any moment is one line (issue 13, item 9 and 10).

These start the real command (`python -m augcli`): signals reach a process, not a CliRunner."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _augcli(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def _complete(lines: list[str]) -> list[dict[str, object]]:
    try:
        return [json.loads(line) for line in lines]
    except json.JSONDecodeError:
        return []


def _processes_naming(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_stops_a_run_like_ctrl_c(tmp_path: Path, photos: Path, workers: str) -> None:
    recipe = tmp_path / "slow.yaml"
    recipe.write_text("augcli: 1\nname: slow\nseed: 1\ncopies: 200\naugment:\n  - Rotate: {limit: 30, p: 1}\n")
    out = tmp_path / "out"
    run = ["-m", "augcli", "run", str(recipe), "-i", str(photos), "-o", str(out), "-w", workers, "-q"]
    proc = _augcli(*run)
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 60
    while not (manifest.is_file() and manifest.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("augcli: error: terminated after ")
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    lines = manifest.read_text().splitlines()
    records = [json.loads(line) for line in lines[:-1]] + _complete(lines[-1:])  # a torn last line is skipped
    assert records and all((out / r["output"]).is_file() for r in records)  # consistent: listed = written
    said = re.search(r"terminated after (\d+) outputs", err)
    assert said is not None and abs(int(said[1]) - len(records)) <= 16  # a job's outputs, if caught between
    time.sleep(0.5)
    assert _processes_naming(str(out)) == []  # no worker goes on writing
    resumed = _augcli(*run)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert len(list(out.glob("*.jpg"))) == 3 * 201


@pytest.mark.parametrize("delay", [0.005, 0.03, 0.08, 0.3])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_command_starts_is_one_line(tmp_path: Path, delay: float, signum: int) -> None:
    """Timed from the moment the command's main has started (its first import, augcli.errors, is done;
    before that only Python's own start-up and runpy have run), through the imports, the parsing and
    the command. Timing from the augcli package's import instead left a window of a few ms under load
    (runpy compiling augcli/__main__.py) where SIGTERM's default action killed the process silently."""
    recipe = Path(__file__).resolve().parents[2] / "recipes" / "natural.yaml"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = _augcli("-X", "importtime", "-m", "augcli", "validate-recipe", "-q", str(recipe), env=env)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.rstrip().endswith("| augcli.errors"):
            break
    time.sleep(delay)
    proc.send_signal(signum)
    _, rest = proc.communicate(timeout=60)
    said = [line for line in rest.splitlines() if not line.startswith("import time:")]
    if proc.returncode == 0:  # the command was faster than the signal
        return
    what = "interrupted" if signum == signal.SIGINT else "terminated"
    assert said == [f"augcli: error: {what}"], rest[-2000:]
    # A shell shows 130 (143) for an exit with that code and for a death by SIGINT (SIGTERM) alike.
    assert proc.returncode in ((130, -signal.SIGINT) if signum == signal.SIGINT else (143, -signal.SIGTERM))
