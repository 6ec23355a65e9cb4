"""One run per output at a time: a second is refused naming the first; a dead run's lock is taken over
(issue 13, two runs on one output)."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import invoke

from augcli.store.local import LocalStore


def _run(recipe: Path, source: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = invoke("run", str(recipe), "-i", str(source), "-o", str(out), "-w", "1", "-q", *extra)
    return result.exit_code, result.output


def test_a_second_run_on_a_locked_output_is_refused_naming_the_holder(
    tmp_path: Path, photos: Path, recipe: Path
) -> None:
    out = tmp_path / "out"
    held = LocalStore(out).lock(".augcli.lock")  # the first run, holding the output
    try:
        code, message = _run(recipe, photos, out)
    finally:
        held.release()
    assert code == 2, message
    assert message.startswith(f"augcli: error: another augcli run is writing to this output (pid {os.getpid()} on ")
    assert "wait for it to end, or stop it" in message and len(message.strip().splitlines()) == 1
    assert not list(out.glob("*.jpg"))  # nothing written, nothing removed
    code, message = _run(recipe, photos, out)  # the first run has ended: the output is free
    assert code == 0, message
    assert len(list(out.glob("*.jpg"))) == 6 and not (out / ".augcli.lock").exists()


def test_a_lock_left_by_a_dead_run_is_taken_over(tmp_path: Path, photos: Path, recipe: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".augcli.lock").write_text("pid 999999999 on elsewhere, since 2020-01-01 00:00:00\n")  # killed -9
    code, message = _run(recipe, photos, out)
    assert code == 0, message
    assert len(list(out.glob("*.jpg"))) == 6 and not (out / ".augcli.lock").exists()


def test_shards_of_one_output_run_side_by_side(tmp_path: Path, photos: Path, recipe: Path) -> None:
    out = tmp_path / "out"
    held = LocalStore(out).lock(".augcli.shard-0-of-2.lock")
    try:
        code, message = _run(recipe, photos, out, "--shard", "1/2")
        refused, said = _run(recipe, photos, out, "--shard", "0/2")
    finally:
        held.release()
    assert code == 0, message
    assert refused == 2 and "another augcli run is writing to this output" in said
