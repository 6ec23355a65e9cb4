"""The manifest: appended while a run goes, finished sorted and de-duplicated, read back for resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from augcli import manifest
from augcli.manifest import AllRecords, ManifestLog, done_outputs, iter_records, record_line
from augcli.store import open_store


def _line(output: str, copy: int) -> tuple[str, str]:
    return output, record_line({"output": output, "copy": copy, "source": output.split("__")[0]})


def test_finish_sorts_by_output_and_keeps_the_last_record_of_each(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(manifest, "_RUN_LINES", 3)  # force several sorted runs through the merge
    store = open_store(tmp_path)
    log = ManifestLog(store, "manifest.jsonl")
    log.open()
    log.add_lines([_line("c.jpg", 1), _line("a.jpg", 1), _line("e.jpg", 1)])
    log.add_lines([_line("b.jpg", 1), _line("a.jpg", 2), _line("d.jpg", 1), _line("c.jpg", 3)])
    log.finish()
    records = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert [r["output"] for r in records] == ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]
    assert [r["copy"] for r in records] == [2, 1, 3, 1, 1]  # a later record of an output replaces the earlier


def test_a_torn_line_is_skipped_and_the_next_run_appends_on_a_line_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "manifest.jsonl").write_text(_line("a.jpg", 1)[1] + "\n" + '{"output": "b.j', encoding="utf-8")
    store = open_store(tmp_path)
    assert done_outputs(store, "manifest.jsonl") == {"a.jpg"}
    log = ManifestLog(store, "manifest.jsonl")
    log.open()
    log.add_lines([_line("c.jpg", 1)])
    log.finish()
    assert [r["output"] for r in iter_records(store, "manifest.jsonl")] == ["a.jpg", "c.jpg"]


def test_all_records_read_every_shard_and_can_be_read_twice(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for shard, outputs in (("manifest.shard-0-of-2.jsonl", ["b.jpg"]), ("manifest.shard-1-of-2.jsonl", ["a.jpg"])):
        log = ManifestLog(store, shard)
        log.open()
        log.add_lines([_line(o, 1) for o in outputs])
        log.finish()
    records = AllRecords(store)
    assert sorted(r["output"] for r in records) == ["a.jpg", "b.jpg"]
    assert sorted(r["output"] for r in records) == ["a.jpg", "b.jpg"]  # a writer may iterate twice (COCO)


@pytest.mark.parametrize("lines", [0, 1, 10_000])
def test_finish_of_any_length_reads_back_whole(tmp_path: Path, lines: int) -> None:
    store = open_store(tmp_path)
    log = ManifestLog(store, "manifest.jsonl")
    log.open()
    log.add_lines([_line(f"{i:06d}.jpg", 1) for i in reversed(range(lines))])
    log.finish()
    outputs = [r["output"] for r in iter_records(store, "manifest.jsonl")]
    assert outputs == [f"{i:06d}.jpg" for i in range(lines)]
