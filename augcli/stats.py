"""Per-channel dataset statistics (mean, std, histogram) for featurewise normalisation.

Workers get chunks of paths and return exact partial sums: per channel, the pixel count, the sum of
the integer pixel values and the sum of their squares, as Python integers, plus a 256-bin
histogram. Integer sums combine exactly in any order, so the result does not depend on the number
of workers or on how the files were chunked, and the variance is computed without cancellation
(N * sum(x^2) - sum(x)^2 is exact before the one division).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from augcli.errors import ImageReadError, UsageError

SPLIT_CHOICES = ("train", "val", "test", "all")
PERCENTILES = (1, 50, 99)
BINS = 256


@dataclass
class Partial:
    """Exact sums over some images; `merge` is associative and commutative."""

    channels: int = 0  # 0 until the first image; 1 (gray) or 3 (colour)
    count: int = 0  # pixels per channel
    sums: list[int] = field(default_factory=list)
    squares: list[int] = field(default_factory=list)
    hist: list[list[int]] = field(default_factory=list)
    scale: int = 255  # the integer that means 1.0 (255, or 65535 for 16-bit sources)
    images: int = 0
    modes: dict[str, int] = field(default_factory=dict)
    widths: tuple[int, int] | None = None
    heights: tuple[int, int] | None = None
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: Partial) -> Partial:
        if other.images and self.images and other.scale != self.scale:
            # Mixed 8- and 16-bit sources: bring both to 16-bit units (x * 257 maps 255 onto 65535 exactly).
            a, b = (self, other) if self.scale == 255 else (other, self)
            return a.rescaled(65535).merge(b)
        a, b = _widen(self, other.channels), _widen(other, self.channels)
        if not a.images:
            a, b = b, a
        if not b.images:  # nothing to add but skipped files
            return replace(a, unreadable=[*a.unreadable, *b.unreadable])
        return Partial(
            channels=a.channels,
            count=a.count + b.count,
            sums=_add(a.sums, b.sums),
            squares=_add(a.squares, b.squares),
            hist=[_add(h, g) for h, g in zip(a.hist, b.hist, strict=True)],
            scale=a.scale,
            images=a.images + b.images,
            modes=dict(Counter(a.modes) + Counter(b.modes)),
            widths=_span(a.widths, b.widths),
            heights=_span(a.heights, b.heights),
            unreadable=[*a.unreadable, *b.unreadable],
        )

    def rescaled(self, scale: int) -> Partial:
        factor = scale // self.scale
        squares = [s * factor * factor for s in self.squares]
        return replace(self, sums=[s * factor for s in self.sums], squares=squares, scale=scale)


def _add(xs: list[int], ys: list[int]) -> list[int]:
    return [x + y for x, y in zip(xs, ys, strict=True)]


def _widen(p: Partial, channels: int) -> Partial:
    """A gray partial counted as three equal channels, when it meets colour images."""
    if p.channels != 1 or channels != 3:
        return p
    return replace(p, channels=3, sums=p.sums * 3, squares=p.squares * 3, hist=p.hist * 3)


def _span(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), max(a[1], b[1]))


def image_partial(pixels: np.ndarray, mode: str) -> Partial:
    """Exact sums for one decoded image; alpha is left out (the pipeline carries it as a mask)."""
    arr = pixels if pixels.ndim == 3 else pixels[..., None]
    if arr.shape[2] in (2, 4):
        arr = arr[..., :-1]
    if arr.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"unsupported pixel type {arr.dtype}")
    scale = 255 if arr.dtype == np.uint8 else 65535
    flat = arr.reshape(-1, arr.shape[2])
    wide = flat.astype(np.uint64)
    sums = [int(v) for v in wide.sum(axis=0)]
    squares = [int(v) for v in (wide * wide).sum(axis=0)]
    binned = flat if scale == 255 else (flat >> 8)
    hist = [np.bincount(binned[:, c], minlength=BINS).tolist() for c in range(flat.shape[1])]
    height, width = pixels.shape[:2]
    return Partial(
        channels=flat.shape[1],
        count=flat.shape[0],
        sums=sums,
        squares=squares,
        hist=hist,
        scale=scale,
        images=1,
        modes={mode: 1},
        widths=(width, width),
        heights=(height, height),
    )


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class StatsTask:
    """Adds up the pixels of chunks of a dataset's files; set up once per worker (its input store)."""

    root: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    def setup(self) -> Any:
        from augcli.store import open_store

        return open_store(self.root, self.storage_options)

    def __call__(self, rels: tuple[str, ...], inputs: Any) -> Partial:
        return chunk_partial(rels, inputs)

    def failed(self, rels: tuple[str, ...], reason: str) -> Partial:
        """A chunk its executor gave up on: its files are reported unreadable, with the reason."""
        return Partial(unreadable=[(rel, reason) for rel in rels])


def chunk_partial(rels: tuple[str, ...], inputs: Any) -> Partial:
    """Decode each file of a chunk and add it up; unreadable files are recorded, not raised."""
    from augcli.render import read_source

    total = Partial()
    for rel in rels:
        try:
            decoded = read_source(inputs, rel)
            one = image_partial(decoded.pixels, decoded.mode)
        except ImageReadError as exc:
            total = total.merge(Partial(unreadable=[(rel, exc.message)]))
            continue
        total = total.merge(one)
    return total


# --------------------------------------------------------------------------- result


@dataclass
class ChannelStats:
    mean: float
    std: float
    percentiles: dict[str, float]


@dataclass
class DatasetStats:
    """What `augcli stats` reports; `mean`/`std` are in [0, 1] units, per channel (R, G, B or gray)."""

    root: str
    split: str
    images: int
    pixels: int
    channels: int
    mean: list[float]
    std: list[float]
    per_channel: list[ChannelStats]
    widths: list[int]
    heights: list[int]
    modes: dict[str, int]
    unreadable: list[list[str]]
    sampled: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def finish(partial: Partial, *, root: Path | str, split: str, sampled: bool) -> DatasetStats:
    if not partial.images:
        raise UsageError("no readable images to compute statistics from", root)
    n, scale = partial.count, partial.scale
    mean = [s / (n * scale) for s in partial.sums]
    # Exact integer variance numerator, then one float division.
    pairs = zip(partial.sums, partial.squares, strict=True)
    std = [float(np.sqrt((n * q - s * s) / (n * n * scale * scale))) for s, q in pairs]
    per_channel = [ChannelStats(m, d, _percentiles(h)) for m, d, h in zip(mean, std, partial.hist, strict=True)]
    assert partial.widths is not None and partial.heights is not None
    return DatasetStats(
        root=str(root),
        split=split,
        images=partial.images,
        pixels=n,
        channels=partial.channels,
        mean=mean,
        std=std,
        per_channel=per_channel,
        widths=list(partial.widths),
        heights=list(partial.heights),
        modes=dict(sorted(partial.modes.items())),
        unreadable=[list(u) for u in sorted(partial.unreadable)],
        sampled=sampled,
    )


def _percentiles(hist: list[int]) -> dict[str, float]:
    """The lower edge of the bin holding each percentile, in [0, 1] units (exact values for 8-bit data)."""
    cumulative = np.cumsum(hist)
    total = int(cumulative[-1])
    out = {}
    for q in PERCENTILES:
        index = int(np.searchsorted(cumulative, q / 100 * total, side="left"))
        out[f"p{q}"] = min(index, BINS - 1) / (BINS - 1)
    return out


# --------------------------------------------------------------------------- entry point


def compute_stats(
    root: Path | str,
    *,
    split: str = "train",
    workers: int = 1,
    sample: int | None = None,
    layout: str = "auto",
    seed: int = 0,
    executor_name: str = "local",
    executor_options: Mapping[str, Any] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    notice: Callable[[str], None] | None = None,
) -> DatasetStats:
    """Mean, std and histogram percentiles per channel over every pixel of a split's images.

    Only the train split by default: featurewise normalisation statistics must come from training
    data, or the validation score has seen the validation set.
    """
    from augcli.datasets import discover_dataset
    from augcli.executors import make_executor
    from augcli.store import open_store

    if split not in SPLIT_CHOICES:
        raise UsageError(f"unknown split '{split}'; splits: {', '.join(SPLIT_CHOICES)}")
    inputs = open_store(root, storage_options)
    dataset = discover_dataset(inputs, layout)
    rels = [s.rel for s in dataset.samples if split == "all" or s.split == split]
    if not rels:
        raise UsageError(f"no images in the {split} split", root)
    sampled = sample is not None and sample < len(rels)
    if sampled:
        rels = sorted(random.Random(seed).sample(rels, sample))  # type: ignore[arg-type]
    n_workers = max(1, min(workers, len(rels)))
    chunks = _chunks(rels, n_workers * 4 if n_workers > 1 else 1)
    executor = make_executor(executor_name, workers=n_workers, notice=notice, **(executor_options or {}))
    task = StatsTask(inputs.location, dict(storage_options or {}))
    total = Partial()
    try:
        for part in executor.run(task, chunks):
            total = total.merge(part)
    finally:
        executor.terminate()
    return finish(total, root=root, split=split, sampled=sampled)


def _chunks(items: list[str], n: int) -> Iterable[tuple[str, ...]]:
    size = max(1, -(-len(items) // n))
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def read_stats(path: Path) -> tuple[list[float], list[float]]:
    """mean and std (in [0, 1] units) from a file `augcli stats --out` wrote."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        mean, std = [float(v) for v in data["mean"]], [float(v) for v in data["std"]]
    except FileNotFoundError:
        raise UsageError("stats file not found", path) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"not a stats file from `augcli stats --out` ({type(exc).__name__}: {exc})", path) from None
    if not mean or len(mean) != len(std) or any(s <= 0 for s in std):
        raise UsageError("stats file needs equal-length `mean` and positive `std` lists", path)
    return mean, std
