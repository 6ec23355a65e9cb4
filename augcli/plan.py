"""Plan a run's outputs: which files each source gives, their names, and which shard it belongs to.

Plans are generated, not stored: a run walks them twice (once to count, once to make jobs), so the
parent's memory does not grow with the number of outputs.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augcli.datasets import Sample
from augcli.errors import UsageError
from augcli.recipe import Recipe
from augcli.render import output_format


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
    return list(iter_plans(recipe, samples))


def iter_plans(recipe: Recipe, samples: list[Sample]) -> Iterator[tuple[Sample, list[OutputPlan]]]:
    """`plan_outputs`, one source at a time."""
    copies = copies_per_sample(recipe, samples)
    stems: Counter[tuple[str, str]] = Counter()
    for s in samples:
        p = Path(s.rel)
        stems[(p.parent.as_posix(), p.stem)] += 1
    for s in samples:
        p = Path(s.rel)
        ext = output_format(recipe, s.rel)
        stem = p.stem
        if stems[(p.parent.as_posix(), p.stem)] > 1:  # a.jpg and a.png in one folder
            stem = f"{p.stem}_{p.suffix.lstrip('.').lower()}"
        base = (p.parent / stem).as_posix()
        outs = []
        if recipe.keep_original or not s.augmented:
            outs.append(OutputPlan(0, f"{base}.{ext}"))
        for k in range(1, copies.get(s.rel, 0) + 1 if s.augmented else 1):
            outs.append(OutputPlan(k, f"{base}__aug{k:03d}.{ext}"))
        yield s, outs


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


def shard_plans(
    plans: Iterable[tuple[Sample, list[OutputPlan]]], shard: tuple[int, int] | None
) -> Iterator[tuple[Sample, list[OutputPlan]]]:
    return ((s, o) for s, o in plans if in_shard(s, shard))


_FORMAT_FACTOR = {("png", "jpg"): 0.3, ("jpg", "png"): 3.0, ("tif", "jpg"): 0.2, ("bmp", "jpg"): 0.1}


def estimate_bytes(source_bytes: int, source_format: str | None, output_format: str) -> int:
    """Rough bytes per output: the source's size, scaled for a format change."""
    return int(source_bytes * _FORMAT_FACTOR.get((source_format or "jpg", output_format), 1.0))


_AUG = re.compile(r"^(.*)__aug(\d{3,})$")


def check_distinct(plans: Iterable[tuple[Sample, list[OutputPlan]]]) -> None:
    """Refuse, before anything is written, two sources whose outputs would share a path, comparing
    paths case-insensitively (`x.jpg` and `x.JPG` are one file on macOS and Windows). Outputs of a
    source are `base.ext` and `base__augNNN.ext`, so sources are indexed by base: memory grows with
    the number of sources, not of outputs."""
    bases: dict[tuple[str, str], tuple[str, int, bool]] = {}  # (base, ext) casefolded -> source, copies, original
    for sample, outs in plans:
        if not outs:
            continue
        key, has_original, copies = _base_of(outs)
        other = bases.get(key)
        if other is not None and ((has_original and other[2]) or min(copies, other[1]) > 0):
            _collide(sample.rel, other[0], outs[0].rel)
        bases[key] = (sample.rel, copies, has_original)
    for (base, ext), (source, _copies, has_original) in bases.items():
        match = _AUG.match(base)
        if not has_original or match is None:
            continue
        owner = bases.get((match[1], ext))
        if owner is not None and int(match[2]) <= owner[1] and f"{int(match[2]):03d}" == match[2]:
            _collide(source, owner[0], f"{base}.{ext}")


def _base_of(outs: list[OutputPlan]) -> tuple[tuple[str, str], bool, int]:
    first = outs[0]
    stem, _, ext = first.rel.rpartition(".")
    if first.copy:
        stem = stem[: -len(f"__aug{first.copy:03d}")]
    copies = max(o.copy for o in outs)
    return (stem.casefold(), ext.casefold()), first.copy == 0, copies


def _collide(a: str, b: str, where: str) -> None:
    first, second = sorted((a, b))
    raise UsageError(
        f"{first} and {second} would both be written as {where} (output names are compared ignoring case); "
        "rename one of them"
    )
