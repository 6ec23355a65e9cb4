"""`augcli run` end to end on real images: layouts, splits, determinism, resume, bad files."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import tree_hashes
from PIL import Image
from typer.testing import CliRunner

from augcli.cli import app
from augcli.datasets import discover
from augcli.imageio import read_image
from augcli.plan import Job, OutputPlan, plan_outputs
from augcli.recipe import load_recipe
from augcli.worker import RunTask

ROOT = Path(__file__).resolve().parents[1]
NATURAL = ROOT / "samples" / "natural"
DATA = Path(__file__).resolve().parent / "data"
runner = CliRunner()

RECIPE = """\
augcli: 1
name: test
domain: natural
seed: 7
copies: 3
output: {{format: {fmt}, quality: 90}}
preprocess:
  - SmallestMaxSize: {{max_size: 96}}
  - CenterCrop: {{height: 96, width: 96}}
augment:
  - HorizontalFlip: {{p: 0.5}}
  - Affine: {{rotate: [-20, 20], scale: [0.9, 1.1], p: 0.8}}
  - RandomBrightnessContrast: {{p: 0.8}}
  - GaussianBlur: {{blur_limit: [3, 5], p: 0.3}}
"""


def write_recipe(folder: Path, fmt: str = "same", extra: str = "") -> Path:
    path = folder / "recipe.yaml"
    path.write_text(RECIPE.format(fmt=fmt) + extra, encoding="utf-8")
    return path


def run_cli(*args: str) -> object:
    result = runner.invoke(app, ["run", *args, "--quiet"])
    return result


@pytest.fixture()
def natural(tmp_path: Path) -> Path:
    dst = tmp_path / "natural"
    shutil.copytree(NATURAL, dst)
    return dst


def test_split_layout_mirrored_and_val_never_augmented(natural: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path)
    out = tmp_path / "out"
    result = run_cli(str(recipe), "--input", str(natural), "--output", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    train_src = sorted(p.relative_to(natural) for p in (natural / "train").rglob("*.jpg"))
    val_src = sorted(p.relative_to(natural) for p in (natural / "val").rglob("*.jpg"))
    for rel in train_src:
        assert (out / rel).is_file()
        for k in (1, 2, 3):
            assert (out / rel.parent / f"{rel.stem}__aug{k:03d}.jpg").is_file()
    for rel in val_src:
        assert (out / rel).is_file()
        assert not list((out / rel.parent).glob(f"{rel.stem}__aug*"))
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 4 * len(train_src) + len(val_src)
    for rec in records:
        names = [t["name"] for t in rec["transforms"]]
        if rec["split"] == "val":
            assert rec["copy"] == 0 and set(names) <= {"SmallestMaxSize", "CenterCrop"}
        assert rec["class"] == rec["source"].split("/")[1]
    # val output pixels are exactly the preprocessed source (no augmentation slipped in)
    val_out = read_image(out / val_src[0]).pixels
    assert val_out.shape == (96, 96, 3)
    assert "train: " in result.output and "val: " in result.output


NO_PREPROCESS = """\
augcli: 1
name: no-preprocess
seed: 3
copies: 2
output: {{format: {fmt}, quality: 90}}
augment:
  - HorizontalFlip: {{p: 1.0}}
"""


def test_without_preprocess_originals_and_val_are_the_source_files_unchanged(natural: Path, tmp_path: Path) -> None:
    """No preprocess: val/test and the kept originals are copied byte for byte (re-encoding a JPEG
    would lose quality); a different output format, or an EXIF turn to bake in, re-encodes."""
    shutil.copy(DATA / "hopper_orientation_6.jpg", natural / "train" / "person" / "turned.jpg")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(NO_PREPROCESS.format(fmt="same"))
    out = tmp_path / "out"
    assert run_cli(str(recipe), "-i", str(natural), "-o", str(out), "-w", "1").exit_code == 0
    records = {r["output"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    for src in sorted(natural.rglob("*.jpg")):
        rel = src.relative_to(natural).as_posix()
        same = (out / rel).read_bytes() == src.read_bytes()
        assert same == (src.name != "turned.jpg"), rel
        assert records[rel].get("unchanged", False) == same
        copy = out / rel.replace(".jpg", "__aug001.jpg")
        assert not copy.is_file() or copy.read_bytes() != src.read_bytes()
    turned = read_image(out / "train/person/turned.jpg")
    assert (
        not turned.exif_rotated
        and turned.pixels.shape[:2] == read_image(natural / "train/person/turned.jpg").pixels.shape[:2]
    )

    recipe.write_text(NO_PREPROCESS.format(fmt="png"))
    as_png = tmp_path / "png"
    assert run_cli(str(recipe), "-i", str(natural), "-o", str(as_png), "-w", "1").exit_code == 0
    val = read_image(as_png / "val/animal/squirrel.png")
    assert val.format == "PNG"
    assert np.array_equal(val.pixels, read_image(natural / "val/animal/squirrel.jpg").pixels)  # lossless: same pixels


def test_same_bytes_whatever_workers_and_shards(natural: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, fmt="png")
    one, two = tmp_path / "w1", tmp_path / "w2"
    assert run_cli(str(recipe), "-i", str(natural), "-o", str(one), "--workers", "1").exit_code == 0
    assert run_cli(str(recipe), "-i", str(natural), "-o", str(two), "--workers", "2").exit_code == 0
    assert tree_hashes(one) == tree_hashes(two)
    assert (one / "manifest.jsonl").read_bytes() == (two / "manifest.jsonl").read_bytes()
    threads = tmp_path / "threads"  # a job needs only its context: threads give the same bytes
    args = ("-i", str(natural), "-o", str(threads), "--workers", "3", "--executor", "threads")
    assert run_cli(str(recipe), *args).exit_code == 0
    assert tree_hashes(threads) == tree_hashes(one)
    assert (threads / "manifest.jsonl").read_bytes() == (one / "manifest.jsonl").read_bytes()
    sharded = tmp_path / "sharded"
    for i in range(3):
        result = run_cli(str(recipe), "-i", str(natural), "-o", str(sharded), "--workers", "1", "--shard", f"{i}/3")
        assert result.exit_code == 0, result.output
    assert tree_hashes(sharded) == tree_hashes(one)
    # copies differ from each other and from the original (the seed varies per copy)
    first = sorted((one / "train" / "object").glob("coffee*"))
    assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in first}) == len(first) == 4


def test_recipe_seed_changes_outputs_and_other_recipe_needs_overwrite(natural: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path)
    out = tmp_path / "out"
    assert run_cli(str(recipe), "-i", str(natural), "-o", str(out), "-w", "1").exit_code == 0
    before = tree_hashes(out)
    recipe.write_text(recipe.read_text().replace("seed: 7", "seed: 8"))
    result = run_cli(str(recipe), "-i", str(natural), "-o", str(out), "-w", "1")
    assert result.exit_code == 2
    assert "different recipe" in result.output and "--overwrite" in result.output
    assert tree_hashes(out) == before  # nothing touched
    result = run_cli(str(recipe), "-i", str(natural), "-o", str(out), "-w", "1", "--overwrite")
    assert result.exit_code == 0, result.output
    after = tree_hashes(out)
    assert after.keys() == before.keys() and after != before


def test_resume_skips_finished_outputs(natural: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path)
    out = tmp_path / "out"
    assert run_cli(str(recipe), "-i", str(natural), "-o", str(out), "-w", "1").exit_code == 0
    full = tree_hashes(out)
    victim = next(iter(sorted(full)))
    (out / victim).unlink()
    result = run_cli(str(recipe), "-i", str(natural), "-o", str(out), "-w", "1")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 written, ")
    assert tree_hashes(out) == full


def _dataset_for_kill(tmp_path: Path, n: int = 24) -> Path:
    src = tmp_path / "big"
    src.mkdir()
    photos = sorted(NATURAL.rglob("*.jpg"))
    for i in range(n):
        shutil.copy(photos[i % len(photos)], src / f"img{i:02d}.jpg")
    return src


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "augcli.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


def _wait_for_lines(manifest: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if manifest.is_file() and manifest.read_text().count("\n") >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"run ended before it could be interrupted: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        time.sleep(0.02)
    pytest.fail("run made no progress")


def test_command_forks_workers_that_write_the_same_bytes(natural: Path, tmp_path: Path) -> None:
    """The `augcli` command forks its workers from itself (the library path uses a forkserver):
    the same files, byte for byte, and the same manifest as an in-process run."""
    recipe = write_recipe(tmp_path)
    one = tmp_path / "one"
    assert run_cli(str(recipe), "-i", str(natural), "-o", str(one), "-w", "1").exit_code == 0
    two = tmp_path / "two"
    command = [sys.executable, "-m", "augcli.cli", "run", str(recipe), "-i", str(natural), "-o", str(two), "-w", "2"]
    proc = subprocess.run([*command, "-q"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert tree_hashes(two) == tree_hashes(one)
    assert (two / "manifest.jsonl").read_bytes() == (one / "manifest.jsonl").read_bytes()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers through /proc")
def test_killed_worker_fails_the_run_cleanly_and_resume_completes_it(tmp_path: Path) -> None:
    """A worker killed mid-run (what the OOM killer does) ends the run with exit 1 and a reason,
    never a hang; what was written is kept and a second run completes it, byte for byte."""
    src = _dataset_for_kill(tmp_path, n=80)
    recipe = write_recipe(tmp_path)
    clean = tmp_path / "clean"
    assert run_cli(str(recipe), "-i", str(src), "-o", str(clean), "-w", "2").exit_code == 0
    out = tmp_path / "out"
    proc = _spawn(["run", str(recipe), "-i", str(src), "-o", str(out), "-w", "2", "-q"])
    _wait_for_lines(out / "manifest.jsonl", 10, proc)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert children, "the run has no worker processes"
    os.kill(int(children[0]), signal.SIGKILL)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr
    assert "a worker process was killed by signal 9 (out of memory?)" in stderr.decode()
    assert "run again to resume" in stderr.decode()
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    result = run_cli(str(recipe), "-i", str(src), "-o", str(out), "-w", "2")
    assert result.exit_code == 0, result.output
    assert tree_hashes(out) == tree_hashes(clean)
    assert (out / "manifest.jsonl").read_bytes() == (clean / "manifest.jsonl").read_bytes()


def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path: Path) -> None:
    src = _dataset_for_kill(tmp_path)
    recipe = write_recipe(tmp_path, extra="copies: 6\n".replace("copies: 6\n", ""))
    clean = tmp_path / "clean"
    assert run_cli(str(recipe), "-i", str(src), "-o", str(clean), "-w", "2").exit_code == 0
    killed = tmp_path / "killed"
    proc = _spawn(["run", str(recipe), "-i", str(src), "-o", str(killed), "-w", "2", "-q"])
    _wait_for_lines(killed / "manifest.jsonl", 10, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # whatever was left is either a complete image or a hidden temp file, never a truncated output
    for p in killed.rglob("*.jpg"):
        read_image(p)
    result = run_cli(str(recipe), "-i", str(src), "-o", str(killed), "-w", "2")
    assert result.exit_code == 0, result.output
    assert tree_hashes(killed) == tree_hashes(clean)
    assert not [p for p in killed.rglob(".*.tmp")]
    assert (killed / "manifest.jsonl").read_bytes() == (clean / "manifest.jsonl").read_bytes()


def test_ctrl_c_exits_130_with_consistent_manifest(tmp_path: Path) -> None:
    src = _dataset_for_kill(tmp_path)
    recipe = write_recipe(tmp_path)
    out = tmp_path / "out"
    proc = _spawn(["run", str(recipe), "-i", str(src), "-o", str(out), "-w", "2", "-q"])
    _wait_for_lines(out / "manifest.jsonl", 5, proc)
    started = time.time()
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert time.time() - started < 10
    assert err.decode().strip().splitlines()[-1].startswith("augcli: error: interrupted")
    for line in (out / "manifest.jsonl").read_text().splitlines():
        rec = json.loads(line)
        assert (out / rec["output"]).is_file()
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"


def _odd_dataset(tmp_path: Path) -> Path:
    src = tmp_path / "odd"
    src.mkdir()
    photo = Image.open(NATURAL / "train" / "object" / "coffee.jpg")
    photo.save(src / "café photo ü.jpg", quality=90)
    photo.convert("L").save(src / "gray.png")
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    rgba.save(src / "alpha.png")
    arr = np.asarray(photo).astype(np.uint16) * 257
    import cv2

    cv2.imwrite(str(src / "deep16.png"), cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.jpg").write_text("this is not an image\n")
    shutil.copy(DATA / "truncated_jpeg.jpg", src / "truncated.jpg")
    shutil.copy(DATA / "hopper_orientation_6.jpg", src / "rotated.jpg")
    for name in ("i_trns.png", "p_trns_single.png", "transparent.webp"):
        shutil.copy(DATA / name, src / name)
    photo.convert("CMYK").save(src / "cmyk.jpg", quality=90)
    (src / "README.txt").write_text("not an image, ignored\n")
    return src


def test_odd_files_are_reported_and_the_rest_written(tmp_path: Path) -> None:
    src = _odd_dataset(tmp_path)
    before = tree_hashes(src, skip=())
    recipe = write_recipe(tmp_path)
    out = tmp_path / "out"
    result = run_cli(str(recipe), "-i", str(src), "-o", str(out), "-w", "2")
    assert result.exit_code == 1, result.output
    failed = {line.split(": ")[1] for line in result.output.splitlines() if line.strip().startswith("failed:")}
    assert failed == {"empty.jpg", "notes.jpg", "truncated.jpg"}
    assert "ignored 1 non-image files: README.txt" in result.output
    summary = json.loads((out / "run.json").read_text())
    assert {f["source"] for f in summary["failures"]} == failed
    import albumentations

    assert summary["versions"]["albumentations"] == albumentations.__version__
    assert summary["cpu_s"] > 0 and summary["peak_worker_rss_mb"] > 0
    if sys.platform.startswith("linux"):  # private memory comes from /proc
        assert 0 < summary["peak_worker_private_mb"] < summary["peak_worker_rss_mb"]
    assert (out / "café photo ü__aug003.jpg").is_file()
    gray = read_image(out / "gray__aug001.png")
    assert gray.pixels.ndim == 2
    alpha = read_image(out / "alpha__aug001.png")
    assert alpha.pixels.shape[2] == 4 and alpha.pixels[..., 3].min() < 50
    deep = read_image(out / "deep16__aug002.png")
    assert deep.pixels.dtype == np.uint16
    assert len(np.unique(deep.pixels)) > 256  # 16-bit precision survived, not 8-bit data scaled up
    assert read_image(out / "cmyk__aug001.jpg").pixels.shape[2] == 3
    assert read_image(out / "p_trns_single__aug001.png").pixels.shape[2] == 4  # palette transparency kept
    assert read_image(out / "transparent__aug001.webp").pixels.shape[2] == 4
    assert read_image(out / "i_trns__aug001.png").pixels.dtype == np.uint16  # 16-bit gray with a colour key
    assert tree_hashes(src, skip=()) == before  # inputs never modified


@pytest.mark.parametrize(
    "where",
    ["same", "inside", "parent"],
)
def test_refuses_output_overlapping_input(natural: Path, tmp_path: Path, where: str) -> None:
    recipe = write_recipe(tmp_path)
    out = {"same": natural, "inside": natural / "aug", "parent": tmp_path}[where]
    result = run_cli(str(recipe), "-i", str(natural), "-o", str(out))
    assert result.exit_code == 2
    assert result.output.startswith("augcli: error: output folder")
    assert len(result.output.strip().splitlines()) == 1


def test_dry_run_writes_nothing(natural: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path)
    out = tmp_path / "out"
    result = run_cli(str(recipe), "-i", str(natural), "-o", str(out), "--dry-run")
    assert result.exit_code == 0, result.output
    assert not out.exists()
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert "train 24 outputs (animal 4, object 12, person 8)" in lines  # 6 images x (original + 3 copies)
    assert "val 2 outputs (animal 1, person 1)" in lines
    assert any(line.startswith("total 26 outputs from 8 images") for line in lines)


def test_missing_input_or_output_is_a_usage_error(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path)
    result = run_cli(str(recipe))
    assert result.exit_code == 2
    assert result.output.strip() == "augcli: error: no input folder: set `input:` in the recipe or pass --input"


def test_leakage_between_splits_is_reported(natural: Path, tmp_path: Path) -> None:
    shutil.copy(natural / "train" / "object" / "rocket.jpg", natural / "val" / "animal" / "rocket_again.jpg")
    recipe = write_recipe(tmp_path)
    result = run_cli(str(recipe), "-i", str(natural), "-o", str(tmp_path / "out"), "-w", "1")
    assert result.exit_code == 0
    assert "leakage" in result.output
    assert "train:train/object/rocket.jpg" in result.output and "val:val/animal/rocket_again.jpg" in result.output


def test_balance_and_class_copies(natural: Path, tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path, extra="balance: true\n"))
    plans = plan_outputs(recipe, discover(natural).samples)
    per_class: dict[str, int] = {}
    for sample, outs in plans:
        if sample.split == "train":
            per_class[sample.label or ""] = per_class.get(sample.label or "", 0) + len(outs)
    # largest class (object, 3 images) x (1 original + 3 copies) = 12 for every class
    assert per_class == {"animal": 12, "object": 12, "person": 12}
    recipe = load_recipe(write_recipe(tmp_path, extra="class_copies: {person: 0}\n"))
    plans = plan_outputs(recipe, discover(natural).samples)
    person = [outs for s, outs in plans if s.label == "person" and s.split == "train"]
    assert all([o.copy for o in outs] == [0] for outs in person)


def test_work_sent_to_workers_pickles(natural: Path, tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path))
    sample = discover(natural).samples[0]
    job = Job(sample, (OutputPlan(1, "x__aug001.jpg"),))
    assert pickle.loads(pickle.dumps(job)) == job
    again = pickle.loads(pickle.dumps(recipe))
    assert again.hash == recipe.hash and again.augment[0].name == "HorizontalFlip"
    task = RunTask(recipe, str(natural), str(tmp_path / "out"))
    copy = pickle.loads(pickle.dumps(task))
    assert copy == task
    result = copy(Job(sample, (OutputPlan(1, "x__aug001.jpg"),)), copy.setup())  # a job needs only its context
    assert result.failure is None and (tmp_path / "out" / "x__aug001.jpg").is_file()


def test_name_collisions_get_distinct_outputs(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    photo = Image.open(NATURAL / "train" / "object" / "coffee.jpg")
    photo.save(src / "a.jpg")
    photo.save(src / "a.png")
    recipe = write_recipe(tmp_path, fmt="jpg")
    result = run_cli(str(recipe), "-i", str(src), "-o", str(tmp_path / "out"), "-w", "1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "a_jpg.jpg").is_file() and (tmp_path / "out" / "a_png__aug001.jpg").is_file()


def test_invalid_recipe_lists_located_errors_then_one_summary(natural: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("name: bad\ncopies: 0\naugment:\n  - HorizontalFlp: {}\n", encoding="utf-8")
    result = run_cli(str(recipe), "-i", str(natural), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].endswith("bad.yaml:2:1: error: copies: copies must be a positive whole number, got 0")
    assert "augment[0]: unknown transform 'HorizontalFlp'; did you mean HorizontalFlip?" in lines[1]
    assert lines[-1] == f"augcli: error: invalid recipe: 2 errors, listed above ({recipe})"
    assert not (tmp_path / "out").exists()
