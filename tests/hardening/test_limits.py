"""Recipes that validate but would exhaust the machine are refused, naming the value and the limit
(issue 13, item 7)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import invoke

from augcli.recipe import probe
from augcli.recipe.limits import machine_memory


def _check(tmp_path: Path, body: str) -> tuple[int, str, float]:
    path = tmp_path / "r.yaml"
    path.write_text(f"augcli: 1\nname: huge\n{body}", encoding="utf-8")
    started = time.perf_counter()
    result = invoke("validate-recipe", "-q", str(path))
    return result.exit_code, result.output, time.perf_counter() - started


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("copies: 1000000000000\n", "copies: Input should be less than or equal to 10000 (got 1000000000000)"),
        ("class_copies: {cat: 100000}\n", "class_copies.cat: Input should be less than or equal to 10000"),
        (
            "augment:\n  - PadIfNeeded: {min_height: 100000, min_width: 100}\n",
            "PadIfNeeded min_height 100000 is over augcli's limit of 32768 px per side",
        ),
        ("augment:\n  - Resize: {height: 60000, width: 60000}\n", "Resize height 60000 is over augcli's limit"),
        ("augment:\n  - LongestMaxSize: {max_size: 70000}\n", "LongestMaxSize max_size 70000 is over augcli's limit"),
        ("preprocess:\n  - SmallestMaxSize: {max_size: [40000]}\n", "SmallestMaxSize max_size [40000] is over"),
        (
            "augment:\n  - RandomScale: {scale_limit: [100, 200], p: 1}\n",
            "RandomScale scale_limit [100, 200] scales images up to x201; augcli's limit is x4",
        ),
        (
            "augment:\n  - CoarseDropout: {num_holes_range: [100000000, 100000000], p: 1}\n",
            "CoarseDropout num_holes_range [100000000, 100000000] is over augcli's limit of 10000",
        ),
        ("augment:\n  - RandAugment: {num_ops: 100000000}\n", "RandAugment num_ops 100000000 is over augcli's limit"),
        ("augment:\n  - GlassBlur: {iterations: 1000}\n", "GlassBlur iterations 1000 is over augcli's limit of 10"),
    ],
)
def test_values_that_exhaust_the_machine_are_refused_quickly(tmp_path: Path, body: str, expected: str) -> None:
    code, out, seconds = _check(tmp_path, body)
    assert code == 2, out
    assert expected in out and "r.yaml:" in out
    assert seconds < 5


@pytest.mark.skipif(machine_memory() is None, reason="the system does not say its memory")
def test_an_image_larger_than_half_the_memory_is_refused(tmp_path: Path) -> None:
    side = min(32_768, int((machine_memory() or 0) ** 0.5 / 4) + 1)  # 16 bytes a pixel > half the memory
    if side * side * 16 <= (machine_memory() or 0) / 2:
        pytest.skip("a machine this large takes every side under the per-side limit")
    code, out, _ = _check(tmp_path, f"augment:\n  - Resize: {{height: {side}, width: {side}}}\n")
    assert code == 2 and f"Resize makes images of {side * side / 1e6:,.0f} megapixels" in out
    assert "GiB each while processed; this machine has" in out


def test_sizes_under_the_limits_are_valid(tmp_path: Path) -> None:
    body = "preprocess:\n  - LongestMaxSize: {max_size: 4096}\naugment:\n  - RandomScale: {scale_limit: 0.5, p: 1}\n"
    code, out, _ = _check(tmp_path, body + "  - CoarseDropout: {num_holes_range: [1, 8]}\n")
    assert code == 0, out


def test_a_step_slower_than_the_probe_deadline_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "STEP_DEADLINE_S", 0.01)  # Superpixels on a 256x256 image takes longer
    code, out, _ = _check(tmp_path, "augment:\n  - Superpixels: {n_segments: [200, 200], p: 1}\n")
    assert code == 2, out
    assert "Superpixels fails on a test image: it takes over 0.01 s on a 256x256 test image" in out


def test_the_whole_pipeline_has_a_deadline_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "PIPELINE_DEADLINE_S", 0.001)
    code, out, _ = _check(tmp_path, "augment:\n  - Superpixels: {n_segments: [200, 200], p: 1}\n")
    assert code == 0, out
    assert "[pipeline-slow] the pipeline takes over 0.001 s" in out
