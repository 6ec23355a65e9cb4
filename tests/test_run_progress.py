"""What a run tells its user while and after it works: outputs counted, written per split, plain lines in logs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from augcli.cli import app
from augcli.recipe import load_recipe
from augcli.runner import JOB_OUTPUTS, RunOptions, run_dataset
from augcli.text import progress_line

ROOT = Path(__file__).resolve().parents[1]
CHELSEA = ROOT / "samples" / "natural" / "train" / "animal" / "chelsea.jpg"
runner = CliRunner()

RECIPE = """\
augcli: 1
name: many
copies: {copies}
output: {{format: png}}
preprocess:
  - Resize: {{height: 32, width: 32}}
augment:
  - HorizontalFlip: {{p: 0.5}}
"""


def _dataset(tmp_path: Path, broken: bool = False) -> Path:
    data = tmp_path / "data"
    for split in ("train", "val"):
        (data / split).mkdir(parents=True)
        shutil.copy(CHELSEA, data / split / f"cat_{split}.jpg")
    if broken:
        (data / "train" / "broken.jpg").write_bytes(b"not a jpeg")
    return data


def test_progress_counts_outputs_as_jobs_of_a_few_land(tmp_path: Path) -> None:
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(RECIPE.format(copies=40), encoding="utf-8")
    ticks: list[int] = []
    totals: list[int] = []
    report = run_dataset(
        load_recipe(recipe_file),
        RunOptions(input=_dataset(tmp_path), output=tmp_path / "out", workers=1),
        progress=ticks.append,
        on_start=totals.append,
    )
    assert totals == [42] and sum(ticks) == 42, "the bar's total and its steps are outputs, not sources"
    assert max(ticks) <= JOB_OUTPUTS and len(ticks) >= 41 // JOB_OUTPUTS + 1
    assert report.written_per_split == {"train": 41, "val": 1}
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 42 and len({r["output"] for r in records}) == 42


def test_summary_prints_written_outputs_per_split_and_a_failed_source_once(tmp_path: Path) -> None:
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(RECIPE.format(copies=20), encoding="utf-8")
    data = _dataset(tmp_path, broken=True)
    result = runner.invoke(app, ["run", str(recipe_file), "-i", str(data), "-o", str(tmp_path / "o"), "-w", "1"])
    assert result.exit_code == 1, result.output
    assert "  train: 21 written of 42 planned\n" in result.stdout
    assert "  val: 1 written\n" in result.stdout
    assert result.stdout.count("failed: train/broken.jpg") == 1
    assert result.stdout.startswith("22 written, 0 already done, 1 failed")


def test_a_log_that_is_not_a_terminal_gets_plain_lines(tmp_path: Path) -> None:
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(RECIPE.format(copies=3), encoding="utf-8")
    result = runner.invoke(app, ["run", str(recipe_file), "-i", str(_dataset(tmp_path)), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("many: 5/5 outputs (100%), ")
    assert progress_line("many", 30, 120, 10.0) == "many: 30/120 outputs (25%), 3.0/s, about 30 s left"
