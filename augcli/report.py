"""What a run did: the report the CLI renders, the counts it derives from the records, and run.json."""

from __future__ import annotations

import os
import platform
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from augcli import __version__
from augcli.datasets.labels import LabelCounts
from augcli.errors import ExitCode
from augcli.recipe import Recipe


@dataclass
class RunReport:
    """What a run did; the CLI renders it and picks the exit code from it."""

    input: str
    output: str
    layout: str
    planned: int = 0
    written: int = 0
    skipped: int = 0
    sources: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    per_split: dict[str, int] = field(default_factory=dict)  # planned outputs
    written_per_split: dict[str, int] = field(default_factory=dict)
    per_class: dict[str, dict[str, int]] = field(default_factory=dict)
    leaks: list[list[str]] = field(default_factory=list)
    elapsed: float = 0.0
    estimate_bytes: int = 0
    dry_run: bool = False
    ignored: list[str] = field(default_factory=list)
    peak_worker_rss_mb: float = 0.0
    peak_worker_private_mb: float = 0.0  # sampled: memory a worker does not share with the main process
    worker_cpu: dict[int, float] = field(default_factory=dict)  # CPU seconds per worker process id
    labels: str | None = None  # the label format found, described; None = classification folders
    label_counts: dict[str, int] = field(default_factory=dict)  # objects written, dropped, clipped, ...
    executor: str = "local"
    warnings: list[str] = field(default_factory=list)  # what Albumentations or a decoder warned, each once
    missing: list[str] = field(default_factory=list)  # listed in the manifest, gone at the end (the first 100)
    missing_count: int = 0  # all of them
    lost_records: int = 0  # outputs written whose manifest lines are gone (the manifest removed mid-run)
    stopped: str | None = None  # why the run stopped early and recorded itself (the output's disk is full)

    @property
    def throughput(self) -> float:
        return self.written / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILURES if self.failures or self.stopped or not self.accounted else ExitCode.OK

    @property
    def accounted(self) -> bool:
        """Every output the run wrote or skipped is still listed, and every listed file still exists."""
        return not self.missing_count and not self.lost_records

    def add_planned(self, split: str, label: str | None, outputs: int) -> None:
        self.sources += 1
        self.planned += outputs
        self.per_split[split] = self.per_split.get(split, 0) + outputs
        by_class = self.per_class.setdefault(split, {})
        by_class[label or "-"] = by_class.get(label or "-", 0) + outputs

    def add_result(self, result: Any) -> int:
        """Fold one job's result in; returns how many outputs it accounts for (written, or given up on).

        A source split over several jobs that fails fails in each: it is listed once.
        """
        self.written += len(result.lines)
        split = getattr(result, "split", "")
        self.written_per_split[split] = self.written_per_split.get(split, 0) + len(result.lines)
        usage = result.usage
        self.peak_worker_rss_mb = max(self.peak_worker_rss_mb, usage.get("rss_mb", 0.0))
        self.peak_worker_private_mb = max(self.peak_worker_private_mb, usage.get("private_mb", 0.0))
        if "cpu" in usage:
            pid, seconds = usage["cpu"]
            self.worker_cpu[pid] = seconds
        for message in getattr(result, "warnings", ()):
            if message not in self.warnings:
                self.warnings.append(message)
        if result.failure and all(f["source"] != result.rel for f in self.failures):
            self.failures.append({"source": result.rel, "reason": result.failure})
        return max(getattr(result, "planned", 0), len(result.lines) + (1 if result.failure else 0))


def count_labels(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Objects written, and what happened at the borders, over all outputs."""
    total = LabelCounts()
    objects = background = 0
    on_input: dict[str, tuple[int, int]] = {}  # clipped/invalid belong to the source, not to each output
    for rec in records:
        labels = rec.get("labels")
        if labels is None:
            continue
        counts = LabelCounts(**labels.get("counts", {}))
        total = total.add(replace(counts, clipped=0, invalid=0))
        on_input[rec["source"]] = (counts.clipped, counts.invalid)
        objects += len(labels.get("objects", []))
        background += not labels.get("objects") and not labels.get("masks")
    total.clipped = sum(c for c, _ in on_input.values())
    total.invalid = sum(i for _, i in on_input.values())
    return {"objects": objects, "background_images": background, **total.to_json(every=True)}


def find_leaks(records: Iterable[dict[str, Any]]) -> list[list[str]]:
    """Sources with identical decoded pixels in different splits (a model would be tested on its training data)."""
    by_content: dict[str, dict[str, str]] = defaultdict(dict)
    for rec in records:
        by_content[rec["content"]][rec["source"]] = rec["split"]
    leaks = []
    for sources in by_content.values():
        if len(set(sources.values())) > 1:
            leaks.append(sorted(f"{split}:{src}" for src, split in sources.items()))
    return sorted(leaks)


def cpu_seconds(worker_cpu: dict[int, float]) -> float:
    """CPU time of the whole run: this process (imports and checks included) and every worker."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_utime + usage.ru_stime
    return round(own + sum(cpu for pid, cpu in worker_cpu.items() if pid != os.getpid()), 2)


def parent_peak_mb() -> float:
    """This (the main) process's peak resident memory: flat however many outputs a run has."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def albumentations_version() -> str:
    """From the installed metadata: importing albumentations (1 s) only for its version would put
    that second on every run whose recipe never needs it in this process (an empty augment)."""
    from importlib import metadata

    try:
        return metadata.version("albumentations")
    except metadata.PackageNotFoundError:  # a source checkout on sys.path
        import albumentations

        return str(albumentations.__version__)


def _options_record(options: Any) -> dict[str, Any]:
    """The run's options as run.json keeps them: storage options by name only (they may hold secrets)."""
    record = {**asdict(options), "input": str(options.input), "output": str(options.output)}
    record["storage_options"] = sorted(record.get("storage_options") or {})
    return record


def run_summary(recipe: Recipe, options: Any, report: RunReport, *, status: str) -> dict[str, Any]:
    """run.json: what ran (recipe, options, versions), what came of it, and what it cost."""
    import cv2

    return {
        "status": status,
        "recipe_hash": recipe.hash,
        "recipe": recipe.data,
        "recipe_file": str(recipe.source),
        "decode": recipe.decode,
        "options": _options_record(options),
        "versions": {
            "augcli": __version__,
            "albumentations": albumentations_version(),
            "opencv": cv2.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "counts": {
            "sources": report.sources,
            "planned": report.planned,
            "written": report.written,
            "skipped_done": report.skipped,
            "failed_sources": len(report.failures),
            "missing": report.missing_count,
            "lost_records": report.lost_records,
            "per_split": report.per_split,
            "written_per_split": report.written_per_split,
            "per_class": report.per_class,
            "labels": report.label_counts,
        },
        "labels": report.labels,
        "failures": report.failures,
        "stopped": report.stopped,
        "missing": report.missing,
        "warnings": report.warnings,
        "leaks": report.leaks,
        "elapsed_s": round(report.elapsed, 3),
        "throughput_per_s": round(report.throughput, 2),
        "cpu_s": cpu_seconds(report.worker_cpu),
        "peak_parent_rss_mb": parent_peak_mb(),
        "peak_worker_rss_mb": report.peak_worker_rss_mb,
        "peak_worker_private_mb": report.peak_worker_private_mb,
    }
