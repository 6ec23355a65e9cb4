"""The local executors: every result once, an error (never a hang) when a worker dies, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import pytest

from augcli.errors import UsageError
from augcli.executors import WorkerError, executor_names, make_executor, register_executor
from augcli.executors.local import InProcessExecutor, PoolExecutor


@dataclass(frozen=True)
class Times:
    """A task whose context (built once per worker) is its factor and the worker's pid."""

    factor: int

    def setup(self) -> Any:
        return {"factor": self.factor, "pid": os.getpid(), "calls": 0}

    def __call__(self, item: int, context: Any) -> tuple[int, int, int]:
        context["calls"] += 1
        return item, item * context["factor"], context["pid"]


@dataclass(frozen=True)
class FailsSetup:
    factor: int

    def setup(self) -> Any:
        raise ValueError(f"cannot build the pipeline for factor {self.factor}")

    def __call__(self, item: int, context: Any) -> int:
        return item


@dataclass(frozen=True)
class KilledOnSeven:
    def setup(self) -> None:
        return None

    def __call__(self, item: int, context: Any) -> int:
        if item == 7:
            os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does
        return item


def test_pool_returns_every_result_once_with_context_built_per_worker() -> None:
    results = list(PoolExecutor(2).run(Times(3), range(50)))
    assert sorted((i, v) for i, v, _ in results) == [(i, 3 * i) for i in range(50)]
    assert os.getpid() not in {pid for *_, pid in results}  # ran in worker processes
    assert [(i, v) for i, v, _ in InProcessExecutor().run(Times(3), range(5))] == [(i, 3 * i) for i in range(5)]


def test_killed_worker_is_an_error_not_a_hang() -> None:
    seen = []
    with pytest.raises(WorkerError, match="killed by signal 9"):
        for result in PoolExecutor(2).run(KilledOnSeven(), range(40)):
            seen.append(result)
    assert 7 not in seen


def test_failing_setup_is_reported_once() -> None:
    with pytest.raises(WorkerError, match="could not start: ValueError: cannot build the pipeline for factor 5"):
        list(PoolExecutor(2).run(FailsSetup(5), range(10)))


def test_pool_processes_are_gone_after_a_run() -> None:
    pool = PoolExecutor(2)
    assert len(list(pool.run(Times(1), range(10)))) == 10
    assert pool._procs == []


def test_executors_by_name_unknown_suggests_and_duplicates_refused() -> None:
    assert {"local", "inprocess"} <= set(executor_names())
    assert isinstance(make_executor("local", workers=1), InProcessExecutor)
    assert isinstance(make_executor("local", workers=2), PoolExecutor)
    with pytest.raises(UsageError, match=r"unknown executor 'locl'.*did you mean local"):
        make_executor("locl", workers=2)
    with pytest.raises(ValueError, match="already registered"):
        register_executor("local", lambda workers: InProcessExecutor())


_ORPHAN_SCRIPT = """
import sys, time
from dataclasses import dataclass
from augcli.executors.local import PoolExecutor

@dataclass(frozen=True)
class Slow:
    def setup(self):
        return None
    def __call__(self, item, context):
        import os
        print(os.getpid(), flush=True)
        time.sleep(60)
        return item

if __name__ == "__main__":
    for _ in PoolExecutor(2).run(Slow(), range(4)):
        pass
"""


def test_workers_die_with_their_parent(tmp_path) -> None:
    """kill -9 of the parent must not leave workers running (and writing) on their own."""
    script = tmp_path / "orphan.py"
    script.write_text(_ORPHAN_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    workers = [int(proc.stdout.readline()) for _ in range(2)]
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _alive(pid)]
        time.sleep(0.05)
    assert not alive, f"workers {alive} outlived their parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_threads_give_every_result_once_with_a_context_per_thread() -> None:
    from augcli.executors.threads import ThreadExecutor

    results = list(ThreadExecutor(3).run(Times(2), range(40)))
    assert sorted((i, v) for i, v, _ in results) == [(i, 2 * i) for i in range(40)]
