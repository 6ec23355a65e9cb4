"""Scaling: outputs/s for the local pool and for Dask on 1 and 2 workers, Dask's overhead per task,
the batch size that keeps it under 5%, and the serial parts of a run (listing, planning, manifest).

Runs go through `run_dataset` in this process on bench.py's real recipe and corpus. Dask runs use a
LocalCluster started beforehand (its start is timed on its own) and warmed by a small run, so the
figures are steady-state throughput; the local pool is started by each run, as `augcli run` does.
Prints a markdown section for RESULTS.md. The machine must be quiet for figures worth keeping:

    .venv/bin/python benchmarks/scaling.py --images 400 --rounds 3
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import QUALITY, REAL_RECIPE, WORK, build_corpus, machine

from augcli.datasets import discover_dataset
from augcli.executors.dask import DaskExecutor
from augcli.manifest import ManifestLog
from augcli.plan import iter_plans
from augcli.recipe import load_recipe
from augcli.runner import RunOptions, run_dataset
from augcli.store import open_store


class Noop:
    """A task with no work: what is left of its wall time is scheduling and transport."""

    def setup(self) -> None:
        return None

    def __call__(self, item: int, context: None) -> int:
        return item


def timed_run(recipe: Any, corpus: Path, out: Path, **options: Any) -> tuple[float, int, float]:
    """(seconds, outputs written, parent CPU seconds) for one run into an empty folder."""
    shutil.rmtree(out, ignore_errors=True)
    cpu0 = _own_cpu()
    started = time.perf_counter()
    report = run_dataset(recipe, RunOptions(input=corpus, output=out, **options))
    elapsed = time.perf_counter() - started
    assert not report.failures, report.failures
    return elapsed, report.written, _own_cpu() - cpu0


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_cluster(workers: int) -> tuple[Any, float]:
    from distributed import LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    )
    return cluster, time.perf_counter() - started


def overhead_per_task(address: str, tasks: int) -> float:
    """Seconds of wall time per one-job task of no work on the cluster, through augcli's executor."""
    executor = DaskExecutor(1, scheduler=address, batch_size=1)
    list(executor.run(Noop(), range(50)))  # warm: the plugin, the connection
    executor = DaskExecutor(1, scheduler=address, batch_size=1)
    started = time.perf_counter()
    assert len(list(executor.run(Noop(), range(tasks)))) == tasks
    return (time.perf_counter() - started) / tasks


def serial_parts(recipe: Any, corpus: Path, out: Path) -> dict[str, float]:
    """Seconds per 1000 sources for what only the parent does: list, plan, finish the manifest."""
    started = time.perf_counter()
    dataset = discover_dataset(corpus)
    listing = time.perf_counter() - started
    started = time.perf_counter()
    planned = sum(len(outs) for _sample, outs in iter_plans(recipe, dataset.samples))
    planning = time.perf_counter() - started
    store = open_store(out)
    started = time.perf_counter()
    ManifestLog(store, "manifest.jsonl").finish()  # the sort the run ends with, on the run's manifest
    manifest = time.perf_counter() - started
    per = 1000 / len(dataset.samples)
    return {
        "listing": listing * per,
        "planning": planning * per,
        "manifest": manifest * per,
        "outputs_per_source": planned / len(dataset.samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400, help="source images in the corpus")
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=2000, help="no-op tasks timed for the overhead")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)  # the clusters' closing chatter

    corpus = build_corpus(args.images)
    recipe_file = WORK / "scaling.yaml"
    recipe_file.write_text(REAL_RECIPE.format(copies=args.copies, quality=QUALITY))
    recipe = load_recipe(recipe_file)
    warm = build_corpus(min(8, args.images))
    out = WORK / "scaling-out"

    clusters = {n: start_cluster(n) for n in (1, 2)}
    for cluster, _ in clusters.values():  # workers import albumentations and build the pipeline once
        run_dataset(recipe, _dask(warm, WORK / "warm", cluster))
        shutil.rmtree(WORK / "warm", ignore_errors=True)

    rows: dict[str, list[tuple[float, int, float]]] = {}
    for _ in range(args.rounds):  # interleaved: the machine's speed drifts over minutes
        for workers in (1, 2):
            rows.setdefault(f"local pool, {workers} worker{'s' * (workers > 1)}", []).append(
                timed_run(recipe, corpus, out, workers=workers)
            )
        for n, (cluster, _) in clusters.items():
            options = {"executor": "dask", "executor_options": {"scheduler": cluster.scheduler_address}}
            rows.setdefault(f"dask, {n} worker{'s' * (n > 1)} (LocalCluster)", []).append(
                timed_run(recipe, corpus, out, **options)
            )
    overhead = overhead_per_task(clusters[2][0].scheduler_address, args.tasks)
    serial = serial_parts(recipe, corpus, out)
    for cluster, _ in clusters.values():
        cluster.close()

    local_one = min(t for t, _, _ in rows["local pool, 1 worker"])
    per_job = local_one / args.images  # one job = one source: decode, preprocess, every copy, writes
    batch = max(1, math.ceil(overhead / (0.05 * per_job)))
    print(f"## Scaling (benchmarks/scaling.py, {time.strftime('%Y-%m-%d')})\n")
    print(f"Machine: {machine()}. Corpus: {args.images} photos, {args.copies} copies + the original each, ")
    print(f"bench.py's real recipe; {args.rounds} rounds, interleaved; best and median of the rounds.\n")
    print("| executor | best s | median s | outputs/s (best) | parent CPU s per 1000 outputs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, runs in rows.items():
        times = [t for t, _, _ in runs]
        written = runs[0][1]
        parent = statistics.median(c for _, _, c in runs) / written * 1000
        best, median = min(times), statistics.median(times)
        print(f"| {name} | {best:.2f} | {median:.2f} | {written / best:.0f} | {parent:.2f} |")
    starts = ", ".join(f"{n} worker{'s' * (n > 1)} {s:.1f} s" for n, (_, s) in clusters.items())
    print(f"\n- LocalCluster start (not in the runs above): {starts}; workers then import Albumentations on")
    print("  their first task (the warm-up run).")
    print(f"- Dask's overhead per task (no-op one-job tasks, 2 workers): **{overhead * 1000:.2f} ms**.")
    print(
        f"- A job (one source, {serial['outputs_per_source']:.0f} outputs) takes {per_job * 1000:.0f} ms on one worker:"
    )
    print(f"  batches of **{batch}** job{'s' * (batch > 1)} keep the overhead under 5%; augcli sizes batches")
    print("  to ~0.25 s of measured work (0.4% at 1 ms a task).")
    print(
        f"- Serial, in the parent, per 1000 sources: listing {serial['listing'] * 1000:.0f} ms, planning "
        f"{serial['planning'] * 1000:.0f} ms, manifest sort {serial['manifest'] * 1000:.0f} ms."
    )


def _dask(corpus: Path, out: Path, cluster: Any) -> RunOptions:
    return RunOptions(
        input=corpus, output=out, executor="dask", executor_options={"scheduler": cluster.scheduler_address}
    )


if __name__ == "__main__":
    main()
