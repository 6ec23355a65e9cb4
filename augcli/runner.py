"""Plan a run's outputs, execute them on an executor (a local process pool today), report.

Workers get paths, not pixels: each decodes its source once, preprocesses once, makes all its
copies from that result and writes them atomically. Every output's seed comes from (recipe seed,
source path relative to the dataset root, copy index), so results do not depend on the number of
workers, the order they finish in, or how the dataset is sharded.
"""

from __future__ import annotations

import hashlib
import os
import platform
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from augcli import __version__
from augcli.datasets import Dataset, Sample, discover_dataset
from augcli.datasets.convert import CONVERTED, converter, relocate
from augcli.datasets.formats import Codec
from augcli.datasets.labels import (
    LabelCounts,
)
from augcli.datasets.support import summarize
from augcli.errors import AugcliError, ExitCode, ImageReadError, UsageError
from augcli.executor import Executor, WorkerError, local_executor
from augcli.imageio import suffix_format
from augcli.manifest import (
    ManifestWriter,
    manifest_name,
    read_manifest,
    read_manifests,
    read_run_files,
    record_line,
    write_run,
)
from augcli.mixing import (
    labels_csv,
    soft_label,
)
from augcli.pipeline import derive_seed
from augcli.recipe import Recipe
from augcli.render import (
    Processor,
    Rendered,
    encode_output,
    label_options,
    output_format,
    partner_source,
    read_labels,
    recipe_mixes,
)
from augcli.store.local import atomic_write_bytes, atomic_write_text


class RunInterrupted(AugcliError):
    exit_code = ExitCode.INTERRUPTED


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class OutputPlan:
    copy: int  # 0 = the (preprocessed) original
    rel: str  # POSIX path under the output root


@dataclass(frozen=True)
class Job:
    """One source image and the outputs still to make from it."""

    sample: Sample
    outputs: tuple[OutputPlan, ...]
    payload: Any = None  # this image's labels when the format keeps them in one file (COCO)


@dataclass(frozen=True)
class RunOptions:
    input: Path
    output: Path
    workers: int = 0  # 0 = all cores
    shard: tuple[int, int] | None = None
    resume: bool = True
    overwrite: bool = False
    dry_run: bool = False
    layout: str = "auto"
    to: str = "same"  # label format to write: same, voc, coco, yolo


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
    per_split: dict[str, int] = field(default_factory=dict)
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

    @property
    def throughput(self) -> float:
        return self.written / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILURES if self.failures else ExitCode.OK


def copies_per_sample(recipe: Recipe, samples: list[Sample]) -> dict[str, int]:
    """Augmented copies for each training sample: recipe copies, per-class overrides, or balance."""
    train = [s for s in samples if s.augmented]
    out: dict[str, int] = {}
    if recipe.balance:
        by_class: dict[str | None, list[Sample]] = defaultdict(list)
        for s in train:
            by_class[s.label].append(s)
        largest = max((len(v) for v in by_class.values()), default=0)
        target = largest * (recipe.copies + 1)  # originals + copies of the largest class
        for members in by_class.values():
            base, extra = divmod(target, len(members))
            for i, s in enumerate(sorted(members, key=lambda s: s.rel)):
                out[s.rel] = max(0, base + (1 if i < extra else 0) - 1)
        return out
    for s in train:
        out[s.rel] = recipe.class_copies.get(s.label or "", recipe.copies)
    return out


def plan_outputs(recipe: Recipe, samples: list[Sample]) -> list[tuple[Sample, list[OutputPlan]]]:
    """Every output file, deterministically named `{stem}__aug{k:03d}.{ext}` beside a mirrored original."""
    copies = copies_per_sample(recipe, samples)
    stems: Counter[tuple[str, str]] = Counter()
    for s in samples:
        p = Path(s.rel)
        stems[(p.parent.as_posix(), p.stem)] += 1
    plans = []
    for s in samples:
        p = Path(s.rel)
        ext = output_format(recipe, s.rel)
        stem = p.stem
        if stems[(p.parent.as_posix(), p.stem)] > 1:  # a.jpg and a.png in one folder
            stem = f"{p.stem}_{p.suffix.lstrip('.').lower()}"
        base = p.parent / stem
        outs = []
        if recipe.keep_original or not s.augmented:
            outs.append(OutputPlan(0, f"{base.as_posix()}.{ext}"))
        for k in range(1, copies.get(s.rel, 0) + 1 if s.augmented else 1):
            outs.append(OutputPlan(k, f"{base.as_posix()}__aug{k:03d}.{ext}"))
        plans.append((s, outs))
    return plans


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard takes I/N with 0 <= I < N, e.g. 0/4; got '{text}'") from None
    if n < 1 or not 0 <= i < n:
        raise UsageError(f"--shard takes I/N with 0 <= I < N, e.g. 0/4; got '{text}'")
    return i, n


def in_shard(sample: Sample, shard: tuple[int, int] | None) -> bool:
    """A stable 1/N of the dataset by hash of the relative path (independent of listing order)."""
    if shard is None:
        return True
    digest = hashlib.blake2b(sample.rel.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % shard[1] == shard[0]


# --------------------------------------------------------------------------- execution


@dataclass
class _WorkerState:
    processor: Processor
    recipe: Recipe
    input: Path
    output: Path
    codec: Codec | None = None


_STATE: _WorkerState | None = None


def init_worker(
    recipe: Recipe,
    input_root: Path,
    output_root: Path,
    codec: Codec | None = None,
    train_classes: dict[str, str | None] | None = None,
    train_payloads: dict[str, Any] | None = None,
    *,
    in_worker: bool = True,
) -> None:
    """Build the pipeline once per worker; OpenCV single-threaded (the pool is the parallelism).
    When mixing a labelled dataset, `train_payloads` are the training images' label payloads (COCO keeps
    them in one file), so a worker can read any partner's labels."""
    import cv2

    global _STATE
    if in_worker:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
        cv2.setNumThreads(1)
    partners = partner_source(input_root, train_classes, codec, train_payloads) if train_classes else None
    processor = Processor(recipe, labels=label_options(recipe) if codec is not None else None, partners=partners)
    _STATE = _WorkerState(processor, recipe, input_root, output_root, codec)


def process_job(job: Job) -> dict[str, Any]:
    """Decode once, preprocess once, write each planned output; failures are returned, not raised."""
    state = _STATE
    assert state is not None, "init_worker was not called"
    sample = job.sample
    src = state.input / sample.rel
    try:
        decoded = state.processor.read(src)
    except ImageReadError as exc:
        return {"rel": sample.rel, "lines": [], "failure": exc.message}
    content = content_key(decoded.pixels)
    records = []
    try:
        labels = None
        if state.codec is not None:
            height, width = decoded.pixels.shape[:2]
            labels = read_labels(state.codec, state.input, sample.rel, job.payload, width, height)
        pre = state.processor.preprocess(decoded, sample.rel, labels)
        for plan in job.outputs:
            rendered = (
                state.processor.original(pre) if plan.copy == 0 else state.processor.copy(pre, sample.rel, plan.copy)
            )
            data, _fmt = encode_output(state.recipe, sample.rel, rendered.pixels, decoded, unchanged=rendered.unchanged)
            pixels = rendered.pixels
            label_record = None
            if state.codec is not None and rendered.labels is not None:
                # Labels first: resume skips an output whose image exists, so the image lands last.
                out_labels = rendered.labels
                label_record = state.codec.write(state.output, plan.rel, out_labels, pixels.shape[1], pixels.shape[0])
                label_record["counts"] = out_labels.counts.to_json()
                label_record["masks"] = sorted(out_labels.masks)
            nbytes = atomic_write_bytes(state.output / plan.rel, data)
            records.append(
                {
                    "output": plan.rel,
                    "source": sample.rel,
                    "split": sample.split,
                    "class": sample.label,
                    "copy": plan.copy,
                    "seed": derive_seed(state.recipe.seed, sample.rel, plan.copy),
                    "transforms": rendered.applied,
                    "size": [int(pixels.shape[1]), int(pixels.shape[0])],
                    "bytes": nbytes,
                    "content": content,
                    **({"unchanged": True} if data is decoded.data else {}),
                    **({"decode_scale": decoded.scale} if decoded.scale != 1 else {}),
                    **({"labels": label_record} if label_record is not None else {}),
                    **_mix_record(state, sample, rendered),
                }
            )
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {
            "rel": sample.rel,
            "lines": [(r["output"], record_line(r)) for r in records],
            "failure": f"{type(exc).__name__}: {reason}",
            "content": content,
        }
    lines = [(r["output"], record_line(r)) for r in records]
    return {"rel": sample.rel, "lines": lines, "failure": None, "content": content, **_usage()}


def _mix_record(state: _WorkerState, sample: Sample, rendered: Rendered) -> dict[str, Any]:
    """The mixing that made this output and, for class datasets, its soft label (sums to 1)."""
    if rendered.mix is None:
        return {}
    partners = state.processor.partners
    assert partners is not None
    classes = partners.class_names
    partner_class = partners.classes.get(rendered.mix["partner"])
    if sample.label is None or partner_class is None:
        return {"mix": rendered.mix}
    weights = soft_label(sample.label, partner_class, rendered.mix["lam"], classes)
    return {"mix": rendered.mix, "soft_label": {k: round(v, 6) for k, v in weights.items() if v}}


_JOBS_DONE = 0


def _usage() -> dict[str, Any]:
    """This process's peak resident memory (Linux reports KiB, macOS bytes), CPU seconds so far and,
    on every 64th job (reading it costs ~3 ms), its private memory: forked workers share the main
    process's pages, which their resident size counts but which cost nothing per worker."""
    import resource

    global _JOBS_DONE
    _JOBS_DONE += 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = round(usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10), 1)
    out: dict[str, Any] = {"rss_mb": rss, "cpu": (os.getpid(), usage.ru_utime + usage.ru_stime)}
    if _JOBS_DONE % 64 == 1:
        private = _private_mb()
        if private is not None:
            out["private_mb"] = private
    return out


def _private_mb() -> float | None:
    """Memory only this process holds (Private_Clean + Private_Dirty), Linux only."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith("Private_"))
    except OSError:
        return None
    return round(sum(int(v.split()[0]) for v in fields.values()) / 1024, 1)


def _cpu_seconds(worker_cpu: dict[int, float]) -> float:
    """CPU time of the whole run: this process (imports and checks included) and every worker."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_utime + usage.ru_stime
    return round(own + sum(cpu for pid, cpu in worker_cpu.items() if pid != os.getpid()), 2)


def content_key(pixels: np.ndarray) -> str:
    """Identity of decoded pixels for the leakage check: shape plus every fourth row.

    Whole rows copy as blocks and SHA-1 runs in hardware: 0.8 ms for a 1.4 MP photo against 7 ms for
    BLAKE2b over every pixel. Two different photos that agree on a quarter of their rows do not occur.
    """
    digest = hashlib.sha1(str(pixels.shape).encode(), usedforsecurity=False)
    digest.update(np.ascontiguousarray(pixels[::4]).data)
    return digest.hexdigest()[:24]


# --------------------------------------------------------------------------- the run


def check_folders(input_root: Path, output_root: Path) -> None:
    inp, out = input_root.resolve(), output_root.resolve()
    if inp == out:
        raise UsageError("output folder is the input folder; augcli never writes into its input", out)
    if out.is_relative_to(inp):
        raise UsageError("output folder is inside the input folder; augcli never writes into its input", out)
    if inp.is_relative_to(out):
        raise UsageError("output folder contains the input folder; choose a separate folder", out)


def _prepare_output(recipe: Recipe, options: RunOptions) -> dict[str, dict[str, Any]]:
    """Decide resume vs fresh; refuse to clobber what is not ours. Returns outputs already done."""
    out = options.output
    if not out.exists():
        return {}
    runs = read_run_files(out)
    if not runs:
        entries = [p for p in out.iterdir() if not p.name.startswith(".")]
        if entries and not options.overwrite:
            raise UsageError(
                "output folder is not empty and holds no augcli run; pass --overwrite to write into it", out
            )
        return {}
    hashes = {r.get("recipe_hash") for r in runs}
    if hashes != {recipe.hash}:
        if not options.overwrite:
            raise UsageError(
                "output folder holds a run of a different recipe (or seed); pass --overwrite to replace it",
                out,
            )
        _remove_previous(out)
        return {}
    if not options.resume:
        _remove_previous(out)
        return {}
    done = read_manifest(out / manifest_name(options.shard))
    return {k: v for k, v in done.items() if (out / k).is_file()}


def _remove_previous(out: Path) -> None:
    for rel, rec in read_manifests(out).items():
        (out / rel).unlink(missing_ok=True)
        for label_file in rec.get("labels", {}).get("files", []):
            (out / label_file).unlink(missing_ok=True)
    for pattern in ("manifest*.jsonl", "run*.json"):
        for p in out.glob(pattern):
            p.unlink()


def _remove_temp_files(out: Path) -> None:
    """Temp files of a killed run (`.name.pid.tmp`); never a finished output."""
    for dirpath, _dirs, files in os.walk(out):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                Path(dirpath, name).unlink(missing_ok=True)


def run_dataset(
    recipe: Recipe,
    options: RunOptions,
    *,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    executor: Executor | None = None,
    fork_workers: bool = False,
) -> RunReport:
    """Augment a dataset as the recipe says; never raises for a bad image (it is in the report).

    `fork_workers=True` forks pool workers from this process (instant start, imports shared): only
    for a process that has never run an OpenCV op with more than one thread (see augcli.executor)."""
    started = time.perf_counter()
    check_folders(options.input, options.output)
    dataset: Dataset = discover_dataset(options.input, options.layout, label_options(recipe).format)
    label_set = dataset.labels
    codec = label_set.codec if label_set is not None else None
    if label_set is not None and recipe_mixes(recipe):
        found = summarize(dataset)
        if found is not None and "masks" in found.kinds:
            raise UsageError(
                "mix: MixUp/CutMix of segmentation masks is not supported (class masks have no blend); "
                "mixing works on class folders and on boxes, polygons and keypoints",
                recipe.source,
            )
    if not dataset.samples:
        raise UsageError("input folder holds no images (.jpg .png .webp .tif .bmp)", options.input)
    convert = converter(dataset, options.to)
    all_plans = plan_outputs(recipe, dataset.samples)
    if convert is not None:
        codec, all_plans = convert, relocate(all_plans, convert.to)
    plans = [(s, o) for s, o in all_plans if in_shard(s, options.shard)]
    report = RunReport(str(options.input), str(options.output), dataset.layout, dry_run=options.dry_run)
    report.ignored = dataset.ignored
    written_as = f", written as {CONVERTED[convert.to]}" if convert is not None else ""
    report.labels = label_set.description + written_as if label_set is not None else None
    for sample, outs in plans:
        report.sources += 1
        report.per_split[sample.split] = report.per_split.get(sample.split, 0) + len(outs)
        by_class = report.per_class.setdefault(sample.split, {})
        by_class[sample.label or "-"] = by_class.get(sample.label or "-", 0) + len(outs)
        report.planned += len(outs)
        report.estimate_bytes += _estimate(options.input / sample.rel, recipe, sample.rel) * len(outs)
    if options.dry_run:
        if label_set is not None:  # counts too: images labelled, and the kinds of labels
            report.labels = f"{summarize(dataset)}{written_as}"
        report.elapsed = time.perf_counter() - started
        return report

    done = _prepare_output(recipe, options)
    options.output.mkdir(parents=True, exist_ok=True)
    _remove_temp_files(options.output)
    jobs = []
    for sample, outs in plans:
        todo = tuple(o for o in outs if o.rel not in done)
        report.skipped += len(outs) - len(todo)
        if todo:
            payload = label_set.payloads.get(sample.rel) if label_set is not None else None
            jobs.append(Job(sample, todo, payload))
    writer = ManifestWriter(options.output / manifest_name(options.shard), {k: record_line(v) for k, v in done.items()})
    summary = _summary(recipe, options, report, status="running")
    write_run(options.output, options.shard, summary)
    workers = options.workers or os.cpu_count() or 1
    executor = executor or local_executor(min(workers, max(1, len(jobs))), fork=fork_workers)
    if on_start:
        on_start(report.planned - report.skipped)
    writer.open()
    try:
        train_classes = {s.rel: s.label for s in dataset.samples if s.augmented} if recipe_mixes(recipe) else None
        train_payloads = None
        if train_classes is not None and label_set is not None and label_set.payloads:
            train_payloads = {rel: label_set.payloads[rel] for rel in train_classes if rel in label_set.payloads}
        initargs = (recipe, options.input, options.output, codec, train_classes, train_payloads)
        for result in executor.run(process_job, init_worker, initargs, jobs):
            writer.add_lines(result["lines"])
            report.written += len(result["lines"])
            report.peak_worker_rss_mb = max(report.peak_worker_rss_mb, result.get("rss_mb", 0.0))
            report.peak_worker_private_mb = max(report.peak_worker_private_mb, result.get("private_mb", 0.0))
            if "cpu" in result:
                report.worker_cpu[result["cpu"][0]] = result["cpu"][1]
            if result["failure"]:
                report.failures.append({"source": result["rel"], "reason": result["failure"]})
            if progress:
                progress(len(result["lines"]) + (1 if result["failure"] else 0))
    except (KeyboardInterrupt, WorkerError) as exc:
        # Ctrl-C, or a worker killed (out of memory?) or crashed: stop, keep what is done, say so.
        executor.terminate()
        writer.close()
        report.elapsed = time.perf_counter() - started
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        write_run(options.output, options.shard, _summary(recipe, options, report, status=status))
        if isinstance(exc, WorkerError):
            message = f"{exc.message}; {report.written} outputs are complete, run again to resume"
            raise WorkerError(message, options.output) from None
        raise RunInterrupted(
            f"interrupted after {report.written} outputs; run again to resume", options.output
        ) from None
    writer.finish()
    final_records = writer.records()
    if codec is not None:
        # Every shard's records so far: the last shard to finish writes the complete COCO JSON.
        all_records = list(read_manifests(options.output).values())
        codec.finish(options.output, all_records)
        report.label_counts = count_labels(final_records)
    if recipe_mixes(recipe) and any(s.label for s in dataset.samples):
        write_labels_csv(options.output, [s.label for s in dataset.samples])
    report.leaks = find_leaks(final_records)
    report.elapsed = time.perf_counter() - started
    write_run(options.output, options.shard, _summary(recipe, options, report, status="complete"))
    return report


def write_labels_csv(out: Path, labels: Iterable[str | None]) -> None:
    """`labels.csv`: one row per output (all shards), one column per class; soft where mixed."""
    classes = sorted({c for c in labels if c is not None})
    rows = []
    for rec in read_manifests(out).values():
        weights = rec.get("soft_label") or ({rec["class"]: 1.0} if rec.get("class") else {})
        rows.append((rec["output"], weights))
    atomic_write_text(out / "labels.csv", labels_csv(rows, classes))


def _estimate(path: Path, recipe: Recipe, rel: str) -> int:
    """Rough bytes per output: the source's size, scaled for a format change."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    src, dst = suffix_format(rel) or "jpg", output_format(recipe, rel)
    factor = {("png", "jpg"): 0.3, ("jpg", "png"): 3.0, ("tif", "jpg"): 0.2, ("bmp", "jpg"): 0.1}.get((src, dst), 1.0)
    return int(size * factor)


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
        total = total.add(LabelCounts(0, 0, counts.dropped, counts.hidden_keypoints))
        on_input[rec["source"]] = (counts.clipped, counts.invalid)
        objects += len(labels.get("objects", []))
        background += not labels.get("objects") and not labels.get("masks")
    total.clipped = sum(c for c, _ in on_input.values())
    total.invalid = sum(i for _, i in on_input.values())
    return {"objects": objects, "background_images": background, **total.to_json()}


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


def _albumentations_version() -> str:
    """From the installed metadata: importing albumentations (1 s) only for its version would put
    that second on every run whose recipe never needs it in this process (an empty augment)."""
    from importlib import metadata

    try:
        return metadata.version("albumentations")
    except metadata.PackageNotFoundError:  # a source checkout on sys.path
        import albumentations

        return str(albumentations.__version__)


def _summary(recipe: Recipe, options: RunOptions, report: RunReport, *, status: str) -> dict[str, Any]:
    import cv2

    return {
        "status": status,
        "recipe_hash": recipe.hash,
        "recipe": recipe.data,
        "recipe_file": str(recipe.source),
        "decode": recipe.decode,
        "options": {**asdict(options), "input": str(options.input), "output": str(options.output)},
        "versions": {
            "augcli": __version__,
            "albumentations": _albumentations_version(),
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
            "per_split": report.per_split,
            "per_class": report.per_class,
            "labels": report.label_counts,
        },
        "labels": report.labels,
        "failures": report.failures,
        "leaks": report.leaks,
        "elapsed_s": round(report.elapsed, 3),
        "throughput_per_s": round(report.throughput, 2),
        "cpu_s": _cpu_seconds(report.worker_cpu),
        "peak_worker_rss_mb": report.peak_worker_rss_mb,
        "peak_worker_private_mb": report.peak_worker_private_mb,
    }
