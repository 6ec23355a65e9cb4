"""Threads in this process: each thread sets the task up once and runs jobs with its own context.

Useful where processes cannot be started (some notebooks, sandboxes) and as the proof that a job
needs nothing but its context: the same task gives the same bytes here as in a process pool.
OpenCV and NumPy release the GIL in their kernels, so threads overlap the heavy parts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from augcli.executors.base import Task, register_executor

_IN_FLIGHT = 3  # jobs queued per thread, as in the process pool


class ThreadExecutor:
    name = "threads"

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None

    def run(self, task: Task, jobs: Iterable[Any]) -> Iterator[Any]:
        local = threading.local()

        def call(job: Any) -> Any:
            if not hasattr(local, "context"):
                local.context = task.setup()
            return task(job, local.context)

        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="augcli-worker")
        pending: set[Future[Any]] = set()
        try:
            for job in jobs:
                pending.add(self._pool.submit(call, job))
                if len(pending) >= _IN_FLIGHT * self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        finally:
            self.terminate()

    def terminate(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


register_executor("threads", lambda workers=1, **_: ThreadExecutor(workers))
