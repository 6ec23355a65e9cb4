"""The local process pool: results from every item, and an error (never a hang) when a worker dies."""

from __future__ import annotations

import os
import signal

import pytest

from augcli.executor import InProcessExecutor, PoolExecutor, WorkerError

_FACTOR = 0


def _init(factor: int, *, in_worker: bool = True) -> None:
    global _FACTOR
    _FACTOR = factor


def _init_fails(factor: int, *, in_worker: bool = True) -> None:
    raise ValueError(f"cannot build the pipeline for factor {factor}")


def _times(item: int) -> tuple[int, int]:
    return item, item * _FACTOR


def _killed_on_seven(item: int) -> tuple[int, int]:
    if item == 7:
        os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does
    return item, item


def test_pool_returns_every_result_once() -> None:
    results = list(PoolExecutor(2).run(_times, _init, (3,), range(50)))
    assert sorted(results) == [(i, 3 * i) for i in range(50)]
    assert list(InProcessExecutor().run(_times, _init, (3,), range(5))) == [(i, 3 * i) for i in range(5)]


def test_killed_worker_is_an_error_not_a_hang() -> None:
    seen = []
    with pytest.raises(WorkerError, match="killed by signal 9"):
        for result in PoolExecutor(2).run(_killed_on_seven, _init, (1,), range(40)):
            seen.append(result)
    assert (7, 7) not in seen


def test_failing_initializer_is_reported_once() -> None:
    with pytest.raises(WorkerError, match="could not start: ValueError: cannot build the pipeline for factor 5"):
        list(PoolExecutor(2).run(_times, _init_fails, (5,), range(10)))


def test_pool_processes_are_gone_after_a_run() -> None:
    pool = PoolExecutor(2)
    assert len(list(pool.run(_times, _init, (1,), range(10)))) == 10
    assert pool._procs == []
