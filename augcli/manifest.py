"""The run's records: `manifest.jsonl` (one line per output file) and `run.json` (the run summary).

While a run goes, lines are appended and flushed one by one, each only after its file was renamed
into place; a killed run therefore leaves at worst a torn last line, which reading ignores. When a
run ends the manifest is rewritten sorted by output path, so it is identical however many workers
wrote it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from augcli.store.local import atomic_write_text

RUN_FILE = "run.json"


def manifest_name(shard: tuple[int, int] | None) -> str:
    return "manifest.jsonl" if shard is None else f"manifest.shard-{shard[0]}-of-{shard[1]}.jsonl"


def run_name(shard: tuple[int, int] | None) -> str:
    return RUN_FILE if shard is None else f"run.shard-{shard[0]}-of-{shard[1]}.json"


def read_manifests(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Every complete record in the folder's manifests (all shards), keyed by output path."""
    records: dict[str, dict[str, Any]] = {}
    for path in sorted(out_dir.glob("manifest*.jsonl")):
        records.update(read_manifest(path))
    return records


def read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """One manifest's complete records, keyed by output path (a torn last line is skipped)."""
    records: dict[str, dict[str, Any]] = {}
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and "output" in rec:
                    records[rec["output"]] = rec
    return records


def read_run_files(out_dir: Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(out_dir.glob("run*.json")):
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return runs


def record_line(record: dict[str, Any]) -> str:
    """One manifest line (no newline): keys sorted, so equal records are equal text."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


@dataclass
class ManifestWriter:
    """Appends lines as outputs land; `finish` rewrites the file sorted and de-duplicated.

    Workers serialise their records themselves (`record_line`), so the parent, which shares the
    cores with them, only writes text: one write and one flush per source image.
    """

    path: Path
    existing: dict[str, str] = field(default_factory=dict)  # output path -> its line
    _fh: TextIO | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")

    def add_lines(self, lines: list[tuple[str, str]]) -> None:
        assert self._fh is not None
        if not lines:
            return
        for output, line in lines:
            self.existing[output] = line
        self._fh.write("".join(line + "\n" for _, line in lines))
        self._fh.flush()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.existing.values()]

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self) -> None:
        self.close()
        atomic_write_text(self.path, "".join(self.existing[k] + "\n" for k in sorted(self.existing)))


def write_run(out_dir: Path, shard: tuple[int, int] | None, summary: dict[str, Any]) -> None:
    atomic_write_text(out_dir / run_name(shard), json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
