"""The main process's peak memory must not grow with the number of outputs (issue: flat from 1.5k to 60k).

Builds two corpora of small real-photo crops (300 and 12,000 images), runs `augcli run` on each with
4 copies + the original (1,500 and 60,000 outputs) and reads `peak_parent_rss_mb` from run.json.
Run: `.venv/bin/python benchmarks/parent_memory.py` (appends nothing; `make bench` records it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "parent-memory"
PHOTOS = sorted((HERE.parent / "samples" / "natural").rglob("*.jpg"))

RECIPE = """\
augcli: 1
name: parent-memory
seed: 0
copies: 4
output: {format: jpg, quality: 80}
augment:
  - HorizontalFlip: {p: 0.5}
"""


def corpus(n: int) -> Path:
    """`n` distinct 48x48 crops of the sample photos in 10 class folders (the layout of a real dataset)."""
    root = WORK / f"corpus-{n}"
    if root.is_dir() and sum(1 for _ in root.rglob("*.jpg")) == n:
        return root
    shutil.rmtree(root, ignore_errors=True)
    photos = [cv2.imread(str(p)) for p in PHOTOS]
    rng = np.random.default_rng(0)
    for i in range(n):
        photo = photos[i % len(photos)]
        y = int(rng.integers(0, photo.shape[0] - 48))
        x = int(rng.integers(0, photo.shape[1] - 48))
        folder = root / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), photo[y : y + 48, x : x + 48])
    return root


def measure(n: int) -> dict[str, float]:
    src = corpus(n)
    out = WORK / f"out-{n}"
    shutil.rmtree(out, ignore_errors=True)
    recipe = WORK / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    augcli = Path(sys.executable).parent / "augcli"
    started = time.perf_counter()
    subprocess.run([str(augcli), "run", str(recipe), "-i", str(src), "-o", str(out), "-q"], check=True)
    elapsed = time.perf_counter() - started
    run = json.loads((out / "run.json").read_text())
    shutil.rmtree(out)
    return {"outputs": run["counts"]["written"], "parent_mb": run["peak_parent_rss_mb"], "seconds": elapsed}


def main() -> list[dict[str, float]]:
    WORK.mkdir(parents=True, exist_ok=True)
    rows = [measure(300), measure(12_000)]
    for row in rows:
        print(f"{row['outputs']:>7} outputs: parent peak {row['parent_mb']:.1f} MB ({row['seconds']:.1f} s)")
    growth = rows[1]["parent_mb"] / rows[0]["parent_mb"] - 1
    print(f"growth from {rows[0]['outputs']} to {rows[1]['outputs']} outputs: {growth:+.1%} (limit +20%)")
    return rows


if __name__ == "__main__":
    main()
