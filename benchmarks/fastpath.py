"""Issue 12's workloads S and L: augcli against the floor and the hand-written loop, side by side.

S: photos at 512 px, 4 copies, HorizontalFlip, VerticalFlip, RandomRotate90, RandomBrightnessContrast
   (brightness 0.125, contrast 0), HueSaturationValue (saturation 30 only).
L: photos at 1600 px, preprocess Resize to 512 (INTER_AREA), 8 copies, the same five steps.
Against: the floor (decode once, encode each output, both cores), the hand loop with Albumentations in
one process, and the hand loop split over both cores. Rounds are interleaved; medians are reported
(wall s, CPU s), plus `augcli run` on one image (start-up). Prints a markdown section; figures belong
in RESULTS.md only from a quiet machine:  .venv/bin/python benchmarks/fastpath.py --images 1000 --large 200
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import SHARED, WORK, _cpu_self_and_children, _fresh, machine, run_augcli

QUALITY = 95
STEPS = """\
  - HorizontalFlip: {p: 0.5}
  - VerticalFlip: {p: 0.5}
  - RandomRotate90: {p: 0.5}
  - RandomBrightnessContrast: {brightness_limit: 0.125, contrast_limit: 0, p: 0.5}
  - HueSaturationValue: {hue_shift_limit: 0, sat_shift_limit: 30, val_shift_limit: 0, p: 0.5}
"""
RESIZE = "  - Resize: {height: 512, width: 512, interpolation: 3}\n"
WORKLOADS = {"S": (512, 4, ""), "L": (1600, 8, RESIZE)}  # name -> (source px, copies, preprocess)


def recipe_text(name: str) -> str:
    _size, copies, pre = WORKLOADS[name]
    return (
        f"augcli: 1\nname: bench-{name}\nseed: 0\ncopies: {copies}\nkeep_original: false\n"
        f"output: {{format: jpg, quality: {QUALITY}}}\npreprocess:\n{pre or '  []'}\naugment:\n{STEPS}"
    ).replace("preprocess:\n  []", "preprocess: []")


def corpus(name: str, n: int) -> Path:
    """n real photos scaled so the longest side is the workload's size (JPEG q92), cycled under new names."""
    size = WORKLOADS[name][0]
    folder = WORK / f"{name}-{n}"
    if folder.is_dir() and len(list(folder.iterdir())) == n:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = sorted(p for p in SHARED.glob("*.jpg")) or sorted((WORK.parent.parent / "samples").rglob("*.jpg"))
    for i in range(n):
        img = cv2.imread(str(sources[i % len(sources)]), cv2.IMREAD_COLOR)
        scale = size / max(img.shape[:2])
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / f"img{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return folder


def _floor_files(args: tuple[list[str], str, int]) -> int:
    paths, out, outputs = args
    for src in paths:
        img = cv2.imdecode(np.fromfile(src, np.uint8), cv2.IMREAD_COLOR)
        for k in range(outputs):
            _ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
            Path(out, f"{Path(src).stem}__{k:03d}.jpg").write_bytes(buf.tobytes())
    return len(paths)


def _hand_files(args: tuple[list[str], str, int]) -> int:
    """The loop users write: decode, (resize), one Compose of the five steps per copy, encode."""
    import albumentations as A

    paths, out, name_index = args
    name = list(WORKLOADS)[name_index]
    _size, copies, pre = WORKLOADS[name]
    resize = A.Resize(512, 512, interpolation=cv2.INTER_AREA) if pre else None
    aug = A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomRotate90(p=0.5),
            A.RandomBrightnessContrast(brightness_limit=0.125, contrast_limit=0, p=0.5),
            A.HueSaturationValue(hue_shift_limit=0, sat_shift_limit=30, val_shift_limit=0, p=0.5),
        ],
        seed=0,
    )
    for src in paths:
        img = cv2.cvtColor(cv2.imread(src), cv2.COLOR_BGR2RGB)
        if resize is not None:
            img = resize(image=img)["image"]
        for k in range(copies):
            res = cv2.cvtColor(aug(image=img)["image"], cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(Path(out, f"{Path(src).stem}__{k:03d}.jpg")), res, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    return len(paths)


def loop(kind: str, folder: Path, out: Path, workers: int, name: str) -> tuple[float, float]:
    """A baseline in this (fresh) process: floor or hand loop over `workers` fork processes."""
    import albumentations  # noqa: F401  (imported before the clock and before forking)

    out.mkdir(parents=True)
    paths = [str(p) for p in sorted(folder.iterdir())]
    extra = WORKLOADS[name][1] if kind == "floor" else list(WORKLOADS).index(name)
    work = _floor_files if kind == "floor" else _hand_files
    parts = [(paths[i::workers], str(out), extra) for i in range(workers)]
    cv2.setNumThreads(1)
    cpu, started = _cpu_self_and_children(), time.perf_counter()
    if workers == 1:
        work(parts[0])
    else:
        with get_context("fork").Pool(workers, initializer=cv2.setNumThreads, initargs=(1,)) as pool:
            sum(pool.imap_unordered(work, parts))
    return time.perf_counter() - started, _cpu_self_and_children() - cpu


def in_child(kind: str, folder: Path, workers: int, name: str) -> tuple[float, float]:
    out = WORK / f"out-{kind}"
    _fresh(out)
    cmd = [sys.executable, __file__, "--loop", kind, str(folder), str(out), str(workers), name]
    result = subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds, cpu = json.loads(result.stdout.strip().splitlines()[-1])
    return seconds, cpu


def measure(name: str, n: int, rounds: int, workers: int) -> list[str]:
    folder = corpus(name, n)
    runs = {
        f"floor ({workers} procs)": lambda: in_child("floor", folder, workers, name),
        "hand loop (1 proc)": lambda: in_child("hand", folder, 1, name),
        f"hand loop ({workers} procs)": lambda: in_child("hand", folder, workers, name),
        f"augcli run (-w {workers})": lambda: run_augcli(recipe_text(name), folder, WORK / "out-augcli", workers)[:2],
    }
    wall: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):  # interleaved: drift on a shared machine hits every run alike
        for key, run in runs.items():
            seconds, cpu_s = run()
            wall[key].append(seconds)
            cpu[key].append(cpu_s)
    floor = statistics.median(wall[f"floor ({workers} procs)"])
    outputs = n * WORKLOADS[name][1]
    rows = [
        f"| {name} | {key} | {statistics.median(wall[key]):.2f} | {statistics.median(cpu[key]):.1f} | "
        f"{statistics.median(wall[key]) / floor:.2f}x | {outputs / statistics.median(wall[key]):.0f} |"
        for key in runs
    ]
    return rows


def startup(rounds: int, workers: int) -> float:
    one = corpus("S", 1)
    return statistics.median(run_augcli(recipe_text("S"), one, WORK / "out-one", workers)[0] for _ in range(rounds))


def main() -> None:
    if len(sys.argv) == 7 and sys.argv[1] == "--loop":
        kind, folder, out, workers, name = sys.argv[2:]
        print(json.dumps(loop(kind, Path(folder), Path(out), int(workers), name)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="S corpus size")
    parser.add_argument("--large", type=int, default=200, help="L corpus size")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    WORK.mkdir(exist_ok=True)
    rows = measure("S", args.images, args.rounds, workers) + measure("L", args.large, args.rounds, workers)
    start = startup(args.rounds, workers)
    lines = [
        "## Fast path (issue 12): workloads S and L",
        "",
        f"Machine: {machine()}. S: {args.images} photos at 512 px x {WORKLOADS['S'][1]} copies; L: {args.large} "
        f"photos at 1600 px, Resize 512 (INTER_AREA), x {WORKLOADS['L'][1]} copies; JPEG quality {QUALITY}; "
        f"medians of {args.rounds} interleaved rounds; augcli times include process start and imports.",
        "",
        "| workload | run | wall s | CPU s | vs floor | outputs/s |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"- Start-up: `augcli run` of the S recipe on one image, {start:.2f} s (median of {args.rounds}).",
        "",
    ]
    for folder in WORK.glob("out-*"):
        shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
