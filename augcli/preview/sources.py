"""Which images a preview shows: given files, or a seeded sample of a folder or of the dataset.

A dataset image keeps the seed key `run` gives it (its path under the dataset root), so its tiles
are the files `run` writes for it.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from augcli.datasets import Dataset, Sample, discover
from augcli.datasets.folders import TRAIN
from augcli.errors import UsageError
from augcli.imageio import IMAGE_SUFFIX_LIST
from augcli.plan import copies_per_sample
from augcli.preview.model import DEFAULT_IMAGES, Source
from augcli.recipe import Recipe

_SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}  # the order groups are shown in


def sample_images(samples: Sequence[Sample], count: int, seed: int) -> list[Sample]:
    """Round-robin over (split, class) groups, so every group shows before any group shows twice."""
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: s.rel):
        groups[(s.split, s.label or "")].append(s)
    order = sorted(groups, key=lambda g: (_SPLIT_ORDER.get(g[0], 9), g[0], g[1]))
    rng = random.Random(f"augcli-preview\x00{seed}")  # a str seed is hashed with SHA-512: stable everywhere
    for key in order:
        rng.shuffle(groups[key])
    picked: list[Sample] = []
    depth = 0
    longest = max((len(v) for v in groups.values()), default=0)
    while len(picked) < count and depth < longest:
        for key in order:
            if depth < len(groups[key]) and len(picked) < count:
                picked.append(groups[key][depth])
        depth += 1
    rank = {key: i for i, key in enumerate(order)}
    return sorted(picked, key=lambda s: (rank[(s.split, s.label or "")], s.rel))  # shown group by group


def relative_to(path: Path, root: Path | None) -> str | None:
    """`path` under `root` as a POSIX relative path (the seed key `run` uses), or None outside it."""
    if root is None:
        return None
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return rel.as_posix()


def find_sources(
    recipe: Recipe,
    paths: Sequence[Path],
    *,
    root: Path | None,
    dataset: Dataset | None,
    count: int = DEFAULT_IMAGES,
    seed: int,
) -> list[Source]:
    """The images to show: given files, `count` sampled from each given folder, or from the dataset.

    Inside the dataset (found at `root`) an image's seed key is its path relative to the root (as in
    `run`); elsewhere it is its path relative to the given folder, or, for a given file, its name.
    """
    members = _Members.of(recipe, dataset) if dataset is not None else None
    if not paths:
        if members is None:
            where = f" ({root} is not a folder)" if root is not None else ""
            raise UsageError(f"no images to preview: pass images or folders, or --input, or set `input:`{where}")
        return [members.source(s) for s in sample_images(list(members.known.values()), count, seed)]
    out = [src for path in paths for src in _sources_at(path, members, count, seed)]
    if not out:
        raise UsageError(f"no images in the given folders ({IMAGE_SUFFIX_LIST})")
    unique: dict[str, Source] = {}
    for src in out:
        unique.setdefault(os.path.realpath(src.path), src)
    return list(unique.values())


@dataclass(frozen=True)
class _Members:
    """The dataset's samples by seed key, and how many copies `run` writes of each."""

    root: Path
    known: dict[str, Sample]
    run_copies: dict[str, int]

    @classmethod
    def of(cls, recipe: Recipe, dataset: Dataset) -> _Members:
        known = {s.rel: s for s in dataset.samples}
        return cls(Path(dataset.root), known, copies_per_sample(recipe, dataset.samples))

    def source(self, s: Sample) -> Source:
        return Source(self.root / s.rel, s, self.run_copies.get(s.rel, 0) if s.augmented else 0)


def _sources_at(path: Path, members: _Members | None, count: int, seed: int) -> list[Source]:
    """One given file or folder: a dataset member keeps its seed key; anything else gets its own."""
    if not path.exists():
        raise UsageError("image or folder not found", path)
    rel = relative_to(path, members.root) if members is not None else None
    if members is not None and rel is not None:
        if path.is_dir():
            prefix = "" if rel == "." else rel + "/"
            inside = [s for s in members.known.values() if s.rel.startswith(prefix)]
            return [members.source(s) for s in sample_images(inside, count, seed)]
        return [members.source(members.known.get(rel, Sample(rel, TRAIN, None)))]
    if path.is_dir():
        found = discover(path)
        return [Source(path / s.rel, s) for s in sample_images(found.samples, count, seed)]
    return [Source(path, Sample(path.name, TRAIN, None))]
