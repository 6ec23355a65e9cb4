"""Run a recipe over a dataset: check the folders, plan, execute jobs on an executor, record, report.

Workers get paths, not pixels (see augcli.worker). Every output's seed comes from (recipe seed,
source path relative to the dataset root, copy index), so results do not depend on the executor,
the number of workers, the order they finish in, or how the dataset is sharded. The plan and the
records are streamed, so the parent's memory does not grow with the number of outputs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augcli.datasets import Dataset, discover_dataset
from augcli.datasets.convert import Converter, converter, relocate
from augcli.datasets.support import summarize
from augcli.errors import FULL_ERRNOS, AugcliError, ImageWriteError, OutputFull, Stopped, UsageError
from augcli.executors import Executor, WorkerError, make_executor
from augcli.imageio import IMAGE_SUFFIX_LIST, suffix_format
from augcli.manifest import (
    RESERVE,
    AllRecords,
    ManifestLog,
    done_outputs,
    finish_run,
    iter_records,
    lock_name,
    manifest_name,
    manifest_names,
    missing_outputs,
    read_run_files,
    write_run,
)
from augcli.mixing import labels_csv
from augcli.plan import Job, OutputPlan, check_distinct, estimate_bytes, iter_plans, shard_plans
from augcli.recipe import Recipe
from augcli.render import mixing_partners, output_format
from augcli.report import RunReport, count_labels, find_leaks, run_summary
from augcli.store import Store, StoreLock, is_url, open_store, scheme_of
from augcli.worker import RunTask


@dataclass(frozen=True)
class RunOptions:
    input: Path | str  # a folder, or an fsspec URL (store.as_location)
    output: Path | str
    workers: int = 0  # 0 = all cores
    shard: tuple[int, int] | None = None
    resume: bool = True
    overwrite: bool = False
    dry_run: bool = False
    layout: str = "auto"
    to: str = "same"  # label format to write: same, voc, coco, yolo
    lossy: bool = False  # let --to drop a kind of label its target cannot hold (counted)
    executor: str = "local"
    executor_options: dict[str, Any] = field(default_factory=dict)  # e.g. dask's scheduler, batch_size
    storage_options: dict[str, Any] = field(default_factory=dict)  # for the remote side(s); run.json keeps the keys


Plans = Callable[[], Iterator[tuple[Any, list[OutputPlan]]]]
# Outputs per job at most: a source with `copies: 200` becomes several jobs, so the progress bar moves and
# finished outputs reach the manifest (and survive a Ctrl-C for resume) while the rest are still rendering.
JOB_OUTPUTS = 16


def run_dataset(
    recipe: Recipe,
    options: RunOptions,
    *,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    executor: Executor | None = None,
    notice: Callable[[str], None] | None = None,
) -> RunReport:
    """Augment a dataset as the recipe says; never raises for a bad image (it is in the report).

    `notice` receives the executor's one-line messages for the user (a Dask dashboard address)."""
    started = time.perf_counter()
    check_folders(options.input, options.output)
    inputs = open_store(options.input, options.storage_options)
    dataset = discover_dataset(inputs, options.layout, recipe.label_options.format)
    if not is_url(str(options.output)):
        check_links(dataset, Path(options.output))
    if not dataset.samples:
        raise UsageError(f"input folder holds no images ({IMAGE_SUFFIX_LIST})", options.input)
    codec, plans = _plans(recipe, dataset, options)
    partners = mixing_partners(recipe, dataset, codec)  # refuses mixing masks before anything is written
    report = _planned_report(recipe, dataset, options, plans, codec)
    if options.dry_run:
        report.elapsed = time.perf_counter() - started
        return report

    workers = options.workers or os.cpu_count() or 1
    executor = executor or make_executor(  # first: an executor that cannot be had refuses before any write
        options.executor, workers=min(workers, max(1, report.sources)), notice=notice, **options.executor_options
    )
    outputs = open_store(options.output, options.storage_options)
    lock = _claim(outputs, options, executor)
    try:
        planned = _Planned(dataset, codec, plans, partners, inputs.location)
        return _write(recipe, options, planned, report, executor, outputs, started, progress, on_start)
    finally:
        lock.release()


@dataclass(frozen=True)
class _Planned:
    dataset: Dataset
    codec: Any
    plans: Plans
    partners: Any
    input: str


def _claim(outputs: Store, options: RunOptions, executor: Executor) -> StoreLock:
    """The output's lock (one run per output and shard at a time), or a one-line refusal: another run
    holds it, or the output cannot be written at all (a file in the way, /proc, a read-only disk)."""
    try:
        return outputs.lock(lock_name(options.shard))
    except (AugcliError, OSError) as exc:
        executor.terminate()
        if isinstance(exc, AugcliError):
            raise
        raise UsageError(f"cannot write to the output folder: {exc.strerror or exc}", options.output) from None


def _write(
    recipe: Recipe,
    options: RunOptions,
    planned: _Planned,
    report: RunReport,
    executor: Executor,
    outputs: Store,
    started: float,
    progress: Callable[[int], None] | None,
    on_start: Callable[[int], None] | None,
) -> RunReport:
    """The run proper, under the output's lock: resume or start, execute, finish the records."""
    try:
        done = _prepare_output(outputs, recipe, options)
        outputs.remove_temporary()
        write_run(outputs, options.shard, run_summary(recipe, options, report, status="running"), reserve=RESERVE)
    except (ImageWriteError, OSError) as exc:  # a file in the way, /proc, a read-only or full disk
        executor.terminate()
        if isinstance(exc, ImageWriteError):
            reason = exc.message.removeprefix("cannot write file: ")
        else:
            reason = exc.strerror or str(exc)
        raise UsageError(f"cannot write to the output folder: {reason}", options.output) from None
    dataset, codec, plans = planned.dataset, planned.codec, planned.plans
    leak_check = len({s.split for s in dataset.samples}) > 1  # a leak needs two splits
    task = RunTask(
        recipe, planned.input, outputs.location, codec, planned.partners, options.storage_options, leak_check
    )
    report.skipped = _count_skipped(plans, done)
    report.executor = executor.name
    if on_start:
        on_start(report.planned - report.skipped)
    log = ManifestLog(outputs, manifest_name(options.shard))
    log.open()
    try:
        report.stopped = _execute(executor, task, _jobs(plans, dataset, done), log, report, progress)
        if report.stopped is None:
            log.finish()
            _account(outputs, options, report)
            _finish_labels(recipe, dataset, codec, outputs, options, report)
    except (KeyboardInterrupt, WorkerError) as exc:
        _stop(executor, log, outputs, recipe, options, report, started, exc)
    except OutputFull as exc:
        report.stopped = exc.message
    if report.stopped is not None:  # the disk is full: keep what is done, say so, record how it ended
        executor.terminate()
        log.close()
        report.stopped = f"the output's disk is full ({report.stopped}); free space and run again to resume"
    report.elapsed = time.perf_counter() - started
    status = "failed" if report.stopped else "complete" if report.accounted else "incomplete"
    if not finish_run(outputs, options.shard, run_summary(recipe, options, report, status=status)):
        report.stopped = f"{report.stopped or 'the disk is full'}; run.json could not be updated"
    return report


def _execute(
    executor: Executor, task: RunTask, jobs: Iterator[Job], log: ManifestLog, report: RunReport, progress: Any
) -> str | None:
    """Each result into the manifest and the report, as it comes; why the run must stop early, if it must
    (the output's disk is full: every further output would fail)."""
    for result in executor.run(task, jobs):
        try:
            log.add_lines(result.lines)
        except OSError as exc:
            if exc.errno not in FULL_ERRNOS:
                raise
            return f"cannot write the manifest: {exc.strerror}"
        count = report.add_result(result)
        if progress:
            progress(count)
        if getattr(result, "stop", None):
            return str(result.stop)
    return None


def _account(outputs: Store, options: RunOptions, report: RunReport) -> None:
    """Complete only what can be accounted for: every listed output still there (the folder may have been
    deleted or emptied while the run went) and every output written or skipped still listed."""
    records, report.missing_count, report.missing = missing_outputs(outputs, manifest_name(options.shard))
    report.lost_records = max(0, report.written + report.skipped - records)


def _plans(recipe: Recipe, dataset: Dataset, options: RunOptions) -> tuple[Any, Plans]:
    """The label writer and a re-iterable plan of this shard's outputs (converted layout with --to)."""
    label_set = dataset.labels
    codec = label_set.codec if label_set is not None else None
    convert = converter(dataset, options.to, lossy=options.lossy)
    if convert is None:
        check_distinct(iter_plans(recipe, dataset.samples))  # every shard, so shards never collide either
        return codec, lambda: shard_plans(iter_plans(recipe, dataset.samples), options.shard)
    moved = relocate(list(iter_plans(recipe, dataset.samples)), convert.to)  # refuses colliding paths
    check_distinct(moved)
    return convert, lambda: shard_plans(iter(moved), options.shard)


def _planned_report(recipe: Recipe, dataset: Dataset, options: RunOptions, plans: Plans, codec: Any) -> RunReport:
    report = RunReport(str(options.input), str(options.output), dataset.layout, dry_run=options.dry_run)
    report.ignored = dataset.ignored
    report.failures.extend({"source": rel, "reason": why} for rel, why in dataset.unreadable)
    label_set = dataset.labels
    report.warnings.extend(label_set.warnings if label_set is not None else ())
    written_as = f", written as {codec.written_as}" if isinstance(codec, Converter) else ""
    report.labels = label_set.description + written_as if label_set is not None else None
    inputs = open_store(options.input, options.storage_options) if options.dry_run else None
    for sample, outs in plans():
        report.add_planned(sample.split, sample.label, len(outs))
        if inputs is not None:  # a stat per source: only where the estimate is shown
            report.estimate_bytes += _estimate(inputs, recipe, sample.rel) * len(outs)
    if options.dry_run and label_set is not None:  # counts too: images labelled, and the kinds of labels
        report.labels = f"{summarize(dataset)}{written_as}"
    return report


def _estimate(inputs: Store, recipe: Recipe, rel: str) -> int:
    try:
        size = inputs.size(rel)
    except OSError:
        return 0
    return estimate_bytes(size, suffix_format(rel), output_format(recipe, rel))


def _count_skipped(plans: Plans, done: set[str]) -> int:
    """Outputs already done (resume)."""
    return sum(o.rel in done for _sample, outs in plans() for o in outs) if done else 0


def _jobs(plans: Plans, dataset: Dataset, done: set[str]) -> Iterator[Job]:
    """Jobs for the outputs not done yet, generated as the executor asks for them."""
    payloads = dataset.labels.payloads if dataset.labels is not None else {}
    for sample, outs in plans():
        todo = tuple(o for o in outs if o.rel not in done)
        for start in range(0, len(todo), JOB_OUTPUTS):
            yield Job(sample, todo[start : start + JOB_OUTPUTS], payloads.get(sample.rel))


def _stop(
    executor: Executor,
    log: ManifestLog,
    outputs: Store,
    recipe: Recipe,
    options: RunOptions,
    report: RunReport,
    started: float,
    exc: BaseException,
) -> None:
    """Ctrl-C or SIGTERM, or a worker killed (out of memory?) or crashed: stop, keep what is done, say so."""
    executor.terminate()
    log.close()
    report.elapsed = time.perf_counter() - started
    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    write_run(outputs, options.shard, run_summary(recipe, options, report, status=status))
    if isinstance(exc, WorkerError):
        message = f"{exc.message}; {report.written} outputs are complete, run again to resume"
        raise WorkerError(message, options.output) from None
    raise Stopped.by(exc, f" after {report.written} outputs; run again to resume", options.output) from None


def _finish_labels(
    recipe: Recipe, dataset: Dataset, codec: Any, outputs: Store, options: RunOptions, report: RunReport
) -> None:
    """What needs every output's record: label files that hold a whole split (COCO), counts, labels.csv,
    leakage. Records are streamed back from the manifests (all shards: the last to finish completes them)."""
    records = AllRecords(outputs)
    name = manifest_name(options.shard)
    if codec is not None:
        codec.finish(outputs, records)
        report.label_counts = count_labels(iter_records(outputs, name))
        missing = dataset.labels.missing if dataset.labels is not None else {}
        report.label_counts.update(missing_images=len(missing), missing_objects=sum(missing.values()))
    if recipe.mix_model.enabled and any(s.label for s in dataset.samples):
        write_labels_csv(outputs, [s.label for s in dataset.samples], records)
    if len({s.split for s in dataset.samples}) > 1:  # a leak needs two splits
        report.leaks = find_leaks(iter_records(outputs, name))


def write_labels_csv(outputs: Store, labels: Iterable[str | None], records: Iterable[dict[str, Any]]) -> None:
    """`labels.csv`: one row per output (all shards), one column per class; soft where mixed."""
    classes = sorted({c for c in labels if c is not None})
    rows = []
    for rec in records:
        weights = rec.get("soft_label") or ({rec["class"]: 1.0} if rec.get("class") else {})
        rows.append((rec["output"], weights))
    outputs.put("labels.csv", labels_csv(rows, classes).encode("utf-8"))


def check_folders(input_root: Path | str, output_root: Path | str) -> None:
    """Never write into the input: folders compared resolved, URLs as text (a folder and a URL never meet)."""
    if is_url(input_root) or is_url(output_root):
        _check_urls(str(input_root), str(output_root))
        return
    inp, out = Path(input_root).resolve(), Path(output_root).resolve()
    if inp == out:
        raise UsageError("output folder is the input folder; augcli never writes into its input", out)
    if out.is_relative_to(inp):
        raise UsageError("output folder is inside the input folder; augcli never writes into its input", out)
    if inp.is_relative_to(out):
        raise UsageError("output folder contains the input folder; choose a separate folder", out)


def _check_urls(input_url: str, output_url: str) -> None:
    if scheme_of(input_url) != scheme_of(output_url):
        return
    inp, out = input_url.rstrip("/") + "/", output_url.rstrip("/") + "/"
    if inp == out:
        raise UsageError("output is the input; augcli never writes into its input", output_url)
    if out.startswith(inp):
        raise UsageError("output is inside the input; augcli never writes into its input", output_url)
    if inp.startswith(out):
        raise UsageError("output contains the input; choose a separate location", output_url)


def check_links(dataset: Dataset, output_root: Path) -> None:
    """`check_folders` through links: a linked folder or file in the input that leads into the output
    would make each run read its own outputs."""
    out = output_root.resolve()
    for rel, real in dataset.links.items():
        target = Path(real)
        if target == out or target.is_relative_to(out) or out.is_relative_to(target):
            raise UsageError(
                f"the input's {rel} is a link to the output folder; augcli never reads its own outputs", out
            )


def _prepare_output(outputs: Store, recipe: Recipe, options: RunOptions) -> set[str]:
    """Decide resume vs fresh; refuse to clobber what is not ours. Returns outputs already done."""
    if not outputs.exists():
        return set()
    runs = read_run_files(outputs)
    if not runs:
        entries = [name for name in outputs.listdir() if not name.startswith(".")]
        if entries and not options.overwrite:
            raise UsageError(
                "output folder is not empty and holds no augcli run; pass --overwrite to write into it",
                options.output,
            )
        return set()
    if {r.get("recipe_hash") for r in runs} != {recipe.hash}:
        if not options.overwrite:
            raise UsageError(
                "output folder holds a run of a different recipe (or seed); pass --overwrite to replace it",
                options.output,
            )
        _remove_previous(outputs)
        return set()
    if not options.resume:
        _remove_previous(outputs)
        return set()
    done = done_outputs(outputs, manifest_name(options.shard))
    return {rel for rel in done if outputs.is_file(rel)}


def _remove_previous(outputs: Store) -> None:
    for rec in AllRecords(outputs):
        outputs.remove(rec["output"])
        for label_file in rec.get("labels", {}).get("files", []):
            outputs.remove(label_file)
    for name in manifest_names(outputs):
        outputs.remove_log(name)
    for name in outputs.glob("run*.json"):
        outputs.remove(name)
