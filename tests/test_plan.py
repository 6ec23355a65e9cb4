"""Planning: names of outputs, shards, and refusing two sources that would write one file."""

from __future__ import annotations

import pytest

from augcli.datasets import Sample
from augcli.errors import UsageError
from augcli.plan import OutputPlan, check_distinct, in_shard, parse_shard


def _plan(rel: str, base: str, ext: str, copies: int, original: bool = True) -> tuple[Sample, list[OutputPlan]]:
    outs = [OutputPlan(0, f"{base}.{ext}")] if original else []
    outs += [OutputPlan(k, f"{base}__aug{k:03d}.{ext}") for k in range(1, copies + 1)]
    return Sample(rel, "train", None), outs


def test_outputs_differing_only_in_case_are_refused_naming_both_sources() -> None:
    with pytest.raises(UsageError, match=r"x\.JPG and x\.jpg would both be written as"):
        check_distinct([_plan("x.jpg", "x", "jpg", 2), _plan("x.JPG", "X", "jpg", 2)])


def test_a_source_named_like_another_sources_copy_is_refused() -> None:
    with pytest.raises(UsageError, match=r"b\.jpg and b__aug001\.jpg would both be written as b__aug001\.jpg"):
        check_distinct([_plan("b.jpg", "b", "jpg", 3), _plan("b__aug001.jpg", "b__aug001", "jpg", 3)])


def test_names_that_only_look_alike_pass() -> None:
    check_distinct(
        [
            _plan("b.jpg", "b", "jpg", 0),  # no copies: b__aug001 is free
            _plan("b__aug001.jpg", "b__aug001", "jpg", 2),
            _plan("a.jpg", "a_jpg", "jpg", 2),
            _plan("a.png", "a_png", "jpg", 2),
            _plan("c.png", "c", "png", 2),
            _plan("c.jpg", "c", "jpg", 2),  # another extension is another file
            _plan("d__aug1.jpg", "d__aug1", "jpg", 2),  # not a name augcli gives (three digits)
            _plan("d.jpg", "d", "jpg", 2),
        ]
    )


def test_sources_without_common_outputs_may_share_a_base() -> None:
    check_distinct([_plan("v.jpg", "v", "jpg", 0), _plan("V.jpg", "V", "jpg", 2, original=False)])


def test_shards_split_every_sample_exactly_once() -> None:
    samples = [Sample(f"img{i}.jpg", "train", None) for i in range(200)]
    owners = [[i for i in range(4) if in_shard(s, (i, 4))] for s in samples]
    assert all(len(o) == 1 for o in owners)
    assert parse_shard("1/4") == (1, 4)
    with pytest.raises(UsageError, match="--shard takes I/N"):
        parse_shard("4/4")
