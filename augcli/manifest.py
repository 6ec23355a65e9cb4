"""The run's records: `manifest.jsonl` (one line per output file) and `run.json` (the run summary).

While a run goes, lines are appended to the manifest as a log (a local file flushed per source, or
whole parts on an object store), each only after its file is in place; a killed run therefore
leaves at worst a torn last line, which reading skips. When a run ends the log is rewritten sorted
by output path and de-duplicated (the last record of an output wins), so the manifest is identical
however many workers wrote it. The sort is external (sorted runs merged from temporary files), so
the parent's memory does not grow with the number of outputs.
"""

from __future__ import annotations

import heapq
import json
import tempfile
from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

from augcli.errors import OutputFull
from augcli.store import LogWriter, Store

RUN_FILE = "run.json"
_RUN_LINES = 4_096  # lines sorted in memory at once while finishing (a few MB of records)


def manifest_name(shard: tuple[int, int] | None) -> str:
    return "manifest.jsonl" if shard is None else f"manifest.shard-{shard[0]}-of-{shard[1]}.jsonl"


def lock_name(shard: tuple[int, int] | None) -> str:
    """The output's lock file while a run writes (shards of one output run side by side)."""
    return ".augcli.lock" if shard is None else f".augcli.shard-{shard[0]}-of-{shard[1]}.lock"


def run_name(shard: tuple[int, int] | None) -> str:
    return RUN_FILE if shard is None else f"run.shard-{shard[0]}-of-{shard[1]}.json"


def record_line(record: dict[str, Any]) -> str:
    """One manifest line (no newline): keys sorted, so equal records are equal text."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def _parse(line: str) -> dict[str, Any] | None:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) and isinstance(rec.get("output"), str) else None


def iter_records(store: Store, name: str) -> Iterator[dict[str, Any]]:
    """One manifest's complete records in the order written (torn lines skipped, duplicates kept)."""
    for line in store.read_log(name):
        rec = _parse(line)
        if rec is not None:
            yield rec


def manifest_names(store: Store) -> list[str]:
    return store.glob("manifest*.jsonl")


def iter_all_records(store: Store) -> Iterator[dict[str, Any]]:
    """Every record of every manifest in the folder (all shards), each output once (its last record)."""
    for name in manifest_names(store):
        for line in sorted_lines(store, name):
            rec = _parse(line)
            if rec is not None:
                yield rec


class AllRecords:
    """Every shard's records, re-read on each iteration (a label writer may need several passes)."""

    def __init__(self, store: Store):
        self.store = store

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter_all_records(self.store)


def done_outputs(store: Store, name: str) -> set[str]:
    """Outputs a manifest records, keys only: what a resumed run skips (if the file is still there)."""
    return {rec["output"] for rec in iter_records(store, name)}


def read_run_files(store: Store) -> list[dict[str, Any]]:
    runs = []
    for name in store.glob("run*.json"):
        try:
            runs.append(json.loads(store.read_bytes(name).decode("utf-8")))
        except (OSError, ValueError):
            continue
    return runs


RESERVE = 64 * 1024  # spaces after a running run.json: room to record how it ended, should the disk fill up


def write_run(store: Store, shard: tuple[int, int] | None, summary: dict[str, Any], *, reserve: int = 0) -> None:
    """run.json (one per shard); `reserve` pads it with spaces (JSON ignores them) so that blocks stay
    allocated for `finish_run` to overwrite in place when the disk is full."""
    text = json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n"
    store.put(run_name(shard), text.encode("utf-8") + b" " * reserve)


def finish_run(store: Store, shard: tuple[int, int] | None, summary: dict[str, Any]) -> bool:
    """`write_run`, and on a full disk the record written over the running one, in the room it reserved
    (long lists cut to their first entries if need be). False if even that could not be done."""
    try:
        write_run(store, shard, summary)
        return True
    except OutputFull:
        pass
    path = store.local_path(run_name(shard))
    try:
        room = path.stat().st_size if path is not None else 0
    except OSError:
        return False
    for cut in (None, 10, 0):
        short = summary if cut is None else {**summary, **{k: summary.get(k, [])[:cut] for k in _LISTS}}
        data = (json.dumps(short, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")
        if len(data) <= room and path is not None:
            try:
                with open(path, "r+b") as fh:  # overwrites allocated blocks: needs no free space
                    fh.write(data.ljust(room))
            except OSError:
                return False
            return True
    return False


_LISTS = ("failures", "missing", "warnings", "leaks")


class ManifestLog:
    """The manifest while a run goes: lines appended per source, rewritten sorted by `finish`.

    Workers serialise their records themselves (`record_line`), so the parent, which shares the
    cores with them, only writes text: one write per source image.
    """

    def __init__(self, store: Store, name: str):
        self.store = store
        self.name = name
        self._log: LogWriter | None = None

    def open(self) -> None:
        self._log = self.store.open_log(self.name)

    def add_lines(self, lines: list[tuple[str, str]]) -> None:
        assert self._log is not None
        if lines:
            self._log.write([line for _, line in lines])

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def finish(self) -> None:
        """Sorted by output path, each output once (its last record); replaces the log whole."""
        self.close()
        self.store.replace_log(self.name, (line + "\n" for line in sorted_lines(self.store, self.name)))


def sorted_lines(store: Store, name: str) -> Iterator[str]:
    """The log's complete lines (no newline) sorted by output, the last record of each output kept."""
    with tempfile.TemporaryDirectory(prefix="augcli-manifest-") as tmp:
        runs = _sorted_runs(iter_lines(store, name), Path(tmp))
        merged = heapq.merge(*(_read_run(path) for path in runs))
        for _key, group in groupby(merged, key=lambda item: item[0]):
            *_, last = group
            yield last[2]


def iter_lines(store: Store, name: str) -> Iterator[tuple[str, int, str]]:
    """(output, position, line) for each complete record of the log, in the order written."""
    for position, line in enumerate(store.read_log(name)):
        text = line.rstrip("\n")
        rec = _parse(text)
        if rec is not None:
            yield rec["output"], position, text


def _sorted_runs(items: Iterable[tuple[str, int, str]], folder: Path) -> list[Path]:
    runs: list[Path] = []
    chunk: list[tuple[str, int, str]] = []

    def spill() -> None:
        chunk.sort()
        path = folder / f"run-{len(runs):05d}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for output, position, text in chunk:
                fh.write(json.dumps([output, position, text], ensure_ascii=False) + "\n")
        runs.append(path)
        chunk.clear()

    for item in items:
        chunk.append(item)
        if len(chunk) >= _RUN_LINES:
            spill()
    if chunk or not runs:
        spill()
    return runs


def _read_run(path: Path) -> Iterator[tuple[str, int, str]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            output, position, text = json.loads(line)
            yield output, position, text


def missing_outputs(store: Store, name: str) -> tuple[int, list[str]]:
    """(records, files they list that the store does not hold): a run checks what it is about to call
    complete (a folder deleted or emptied while it ran). One listing per folder, a few folders cached,
    so an object store answers a listing per folder rather than a request per output."""
    listings: dict[str, set[str]] = {}
    records = 0
    missing: list[str] = []
    for rec in iter_records(store, name):
        records += 1
        for rel in [rec["output"], *rec.get("labels", {}).get("files", [])]:
            folder, _, leaf = rel.rpartition("/")
            if folder not in listings:
                if len(listings) >= 8:
                    listings.pop(next(iter(listings)))
                listings[folder] = set(store.listdir(folder))
            if leaf not in listings[folder]:
                missing.append(rel)
    return records, missing
