"""The Dask executor: the same bytes as the local pool on any number of workers and any batching, each
worker's context built once, a lost worker retried, a batch that keeps failing reported, Ctrl-C resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import tree_hashes

from augcli.executors import make_executor
from augcli.executors.dask import DaskExecutor
from augcli.recipe import load_recipe
from augcli.runner import RunOptions, run_dataset
from augcli.worker import RunTask

ROOT = Path(__file__).resolve().parents[2]
NATURAL = ROOT / "samples" / "natural"

RECIPE = """\
augcli: 1
name: dask-test
domain: natural
seed: 11
copies: 2
output: {format: jpg, quality: 90}
preprocess:
  - SmallestMaxSize: {max_size: 80}
  - CenterCrop: {height: 80, width: 80}
augment:
  - HorizontalFlip: {p: 0.5}
  - Affine: {rotate: [-20, 20], scale: [0.9, 1.1], p: 0.8}
  - RandomBrightnessContrast: {p: 0.8}
"""


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_run(recipe_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the same recipe run in-process on the local executor."""
    out = tmp_path_factory.mktemp("local") / "out"
    report = run_dataset(load_recipe(recipe_file), RunOptions(input=NATURAL, output=out, workers=1))
    assert report.written >= 20 and not report.failures
    return out


def _same_run(out: Path, reference: Path) -> None:
    assert tree_hashes(out) == tree_hashes(reference)
    assert (out / "manifest.jsonl").read_bytes() == (reference / "manifest.jsonl").read_bytes()


@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_two_workers_any_batch_size_write_the_local_bytes(
    recipe_file: Path, local_run: Path, dask_cluster: Any, tmp_path: Path, batch_size: int | None
) -> None:
    options = {"scheduler": dask_cluster.scheduler_address, "batch_size": batch_size}
    out = tmp_path / "out"
    report = run_dataset(
        load_recipe(recipe_file), RunOptions(input=NATURAL, output=out, executor="dask", executor_options=options)
    )
    assert report.executor == "dask" and not report.failures
    _same_run(out, local_run)
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_a_cluster_of_one_worker_started_for_the_run(recipe_file: Path, local_run: Path, tmp_path: Path) -> None:
    """Without --scheduler augcli starts its own LocalCluster, says where its dashboard is, and closes it."""
    said: list[str] = []
    out = tmp_path / "out"
    run_dataset(
        load_recipe(recipe_file), RunOptions(input=NATURAL, output=out, workers=1, executor="dask"), notice=said.append
    )
    _same_run(out, local_run)
    assert len(said) == 1 and said[0].startswith("dask: 1 workers, 1 threads at tcp://127.0.0.1:")
    assert "dashboard: " in said[0]


@dataclass(frozen=True)
class Tagged:
    """Results carry the id of the context they ran with: one per worker thread, whatever the batches."""

    def setup(self) -> str:
        return uuid.uuid4().hex

    def __call__(self, item: int, context: str) -> tuple[int, str]:
        return item, context


def test_each_worker_builds_its_context_once(dask_cluster: Any) -> None:
    executor = DaskExecutor(2, scheduler=dask_cluster.scheduler_address, batch_size=2)
    results = list(executor.run(Tagged(), range(40)))
    assert sorted(i for i, _ in results) == list(range(40))
    assert len(executor.batch_sizes) == 20
    assert len({ctx for _, ctx in results}) <= 2  # two worker processes, one thread each


def test_batches_grow_to_a_quarter_second_of_work(dask_cluster: Any) -> None:
    """Jobs of ~1 ms are batched a couple of hundred to a task, so scheduling (~1 ms a task) is noise."""
    executor = DaskExecutor(2, scheduler=dask_cluster.scheduler_address)
    results = list(executor.run(Sleeps(0.001), range(1500)))
    assert sorted(results) == list(range(1500))
    assert executor.batch_sizes[0] == 1 and max(executor.batch_sizes) >= 50


@dataclass(frozen=True)
class Sleeps:
    seconds: float

    def setup(self) -> None:
        return None

    def __call__(self, item: int, context: None) -> int:
        time.sleep(self.seconds)
        return item


@dataclass(frozen=True)
class FailsOn:
    """Raises on one item, every time: its batch is retried, then reported as failed jobs."""

    bad: int

    def setup(self) -> None:
        return None

    def __call__(self, item: int, context: None) -> tuple[int, str | None]:
        if item == self.bad:
            raise RuntimeError(f"item {item} cannot be processed")
        return item, None

    def failed(self, item: int, reason: str) -> tuple[int, str]:
        return item, reason


def test_a_batch_failing_on_every_retry_is_reported_as_failed_jobs(dask_cluster: Any) -> None:
    executor = DaskExecutor(2, scheduler=dask_cluster.scheduler_address, batch_size=4)
    results = dict(executor.run(FailsOn(6), range(12)))
    assert sorted(results) == list(range(12))
    failed = {i: reason for i, reason in results.items() if reason}
    assert sorted(failed) == [4, 5, 6, 7]  # the batch holding item 6
    assert failed[6] == "dask: batch failed 3 times: RuntimeError: item 6 cannot be processed"


@dataclass(frozen=True)
class KillsItsWorkerOnce:
    """A run whose worker is killed (what the OOM killer does) the first time it reaches one source."""

    inner: RunTask
    victim: str
    marker: str

    def setup(self) -> Any:
        return self.inner.setup()

    def __call__(self, job: Any, context: Any) -> Any:
        if job.sample.rel == self.victim and not os.path.exists(self.marker):
            Path(self.marker).write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner(job, context)

    def failed(self, job: Any, reason: str) -> Any:
        return self.inner.failed(job, reason)


class KillingExecutor(DaskExecutor):
    """The dask executor, running the run's task wrapped so that one worker dies mid-run."""

    def __init__(self, scheduler: str, victim: str, marker: Path):
        super().__init__(2, scheduler=scheduler, batch_size=2)
        self.victim, self.marker = victim, str(marker)

    def run(self, task: Any, jobs: Any) -> Any:
        return super().run(KillsItsWorkerOnce(task, self.victim, self.marker), jobs)


def test_a_worker_killed_mid_run_is_retried_and_the_bytes_are_the_same(
    recipe_file: Path, local_run: Path, dask_cluster: Any, tmp_path: Path
) -> None:
    victim = sorted(p.relative_to(NATURAL).as_posix() for p in (NATURAL / "train").rglob("*.jpg"))[3]
    marker = tmp_path / "killed"
    out = tmp_path / "out"
    executor = KillingExecutor(dask_cluster.scheduler_address, victim, marker)
    report = run_dataset(load_recipe(recipe_file), RunOptions(input=NATURAL, output=out), executor=executor)
    assert marker.read_text() == "killed"  # a worker did die
    assert not report.failures
    _same_run(out, local_run)
    dask_cluster.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the tests after this one


def test_ctrl_c_leaves_a_run_that_resumes_to_the_same_bytes(
    recipe_file: Path, dask_cluster: Any, tmp_path: Path
) -> None:
    src = tmp_path / "big"
    src.mkdir()
    photos = sorted(NATURAL.rglob("*.jpg"))
    for i in range(60):
        (src / f"img{i:02d}.jpg").write_bytes(photos[i % len(photos)].read_bytes())
    clean = tmp_path / "clean"
    assert not run_dataset(load_recipe(recipe_file), RunOptions(input=src, output=clean, workers=1)).failures
    out = tmp_path / "out"
    args = ["run", str(recipe_file), "-i", str(src), "-o", str(out), "-q", "--executor", "dask"]
    args += ["--scheduler", dask_cluster.scheduler_address, "--batch-size", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "augcli.cli", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while not (manifest.is_file() and manifest.read_text().count("\n") >= 10):
        assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert err.decode().strip().splitlines()[-1].startswith("augcli: error: interrupted after")
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    for line in manifest.read_text().splitlines():
        assert (out / json.loads(line)["output"]).is_file()
    resumed = subprocess.run([sys.executable, "-m", "augcli.cli", *args], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    _same_run(out, clean)


def test_options_an_executor_does_not_take_are_refused(recipe_file: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from augcli.cli import app

    args = ["run", str(recipe_file), "-i", str(NATURAL), "-o", str(tmp_path / "o"), "--scheduler", "tcp://h:8786"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip() == "augcli: error: the local executor does not take --scheduler"
    assert isinstance(make_executor("dask", workers=2, scheduler="tcp://h:8786"), DaskExecutor)
