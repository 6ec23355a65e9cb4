"""The Dask executor: jobs in batches on a `dask.distributed` cluster (an existing one, or a LocalCluster).

The task travels once (scattered to every worker); each worker thread builds its context from it
once per run (held by a worker plugin, which also holds OpenCV to one thread) and reuses it for
every batch. Batches are sized from measured job times so that the scheduler's ~1 ms per task stays
a fraction of a percent of the work, and only a few batches per worker thread are in flight, so the
parent's memory stays flat however many jobs there are. A batch Dask gives up on (its worker died
`allowed-failures` times, or it raised on every retry) comes back as failed jobs, not as a crash.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import dask
from distributed import Client, LocalCluster, as_completed, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from augcli.executors.base import Task, WorkerError

PLUGIN_NAME = "augcli"
TARGET_BATCH_S = 0.25  # seconds of work per task: ~1 ms of scheduling is then 0.4% of it
MAX_BATCH = 256
IN_FLIGHT = 2  # batches queued per worker thread: one running, one ready
RETRIES = 2  # a batch that raised is retried this often before its jobs are reported failed
ALLOWED_FAILURES = 2  # a batch whose worker died this often more is given up (LocalClusters augcli starts)
_KEPT_RUNS = 2  # contexts a worker keeps (per thread): the current run's, and one before it


class AugcliPlugin(WorkerPlugin):
    """Per worker: OpenCV on one thread (the cluster is the parallelism), and each run's context built
    once per worker thread (a pipeline holds its random state, so threads never share one)."""

    name = PLUGIN_NAME

    def __init__(self) -> None:
        self._contexts: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {}  # travels empty: contexts and the lock belong to the worker that builds them

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def setup(self, worker: Any) -> None:
        import cv2

        cv2.setNumThreads(1)

    def teardown(self, worker: Any) -> None:
        self._contexts.clear()

    def context(self, run: str, task: Task) -> Any:
        key = (run, threading.get_ident())
        with self._lock:
            if key in self._contexts:
                return self._contexts[key]
        context = task.setup()  # outside the lock: another thread may set up its own meanwhile
        with self._lock:
            self._contexts[key] = context
            runs = list(dict.fromkeys(r for r, _ in self._contexts))
            for old in runs[:-_KEPT_RUNS]:
                for stale in [k for k in self._contexts if k[0] == old]:
                    del self._contexts[stale]
        return context


def run_batch(run: str, task: Task, jobs: list[Any]) -> tuple[list[Any], float]:
    """On a worker: every job of a batch with this thread's context; returns the results and the seconds
    they took (the parent sizes later batches from it)."""
    plugin = get_worker().plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, AugcliPlugin):  # registered by every run; missing only on a worker that lost it
        plugin = _fallback_plugin()
    context = plugin.context(run, task)
    started = time.perf_counter()
    results = [task(job, context) for job in jobs]
    return results, time.perf_counter() - started


_FALLBACK: list[AugcliPlugin] = []


def _fallback_plugin() -> AugcliPlugin:
    if not _FALLBACK:
        plugin = AugcliPlugin()
        plugin.setup(None)
        _FALLBACK.append(plugin)
    return _FALLBACK[0]


class DaskExecutor:
    """Runs a task's jobs on a Dask cluster: `scheduler` is an existing one's address, else a LocalCluster
    of `workers` processes with `threads` threads each is started and closed with the run."""

    name = "dask"

    def __init__(
        self,
        workers: int,
        *,
        scheduler: str | None = None,
        threads: int = 1,
        batch_size: int | None = None,
        notice: Callable[[str], None] | None = None,
    ):
        self.workers = max(1, workers)
        self.scheduler = scheduler
        self.threads = max(1, threads)
        self.batch_size = batch_size
        self.notice = notice or (lambda line: None)
        self._client: Any = None
        self._cluster: Any = None
        self._futures: dict[Any, list[Any]] = {}
        self.batch_sizes: list[int] = []  # what was sent, for the benchmark and tests

    def run(self, task: Task, jobs: Iterable[Any]) -> Iterator[Any]:
        client = self._connect()
        try:
            client.register_plugin(AugcliPlugin(), name=PLUGIN_NAME)
            scattered = client.scatter(task, broadcast=True, hash=False)
            yield from self._stream(client, scattered, task, iter(jobs))
        finally:
            self.terminate()

    def _stream(self, client: Any, scattered: Any, task: Task, pending: Iterator[Any]) -> Iterator[Any]:
        run = uuid.uuid4().hex[:12]
        size = self.batch_size or 1
        per_job: float | None = None
        slots = IN_FLIGHT * max(1, sum(client.nthreads().values()))
        counter = itertools.count()
        done = as_completed(loop=client.loop)

        def submit() -> bool:
            batch = list(itertools.islice(pending, size))
            if not batch:
                return False
            key = f"augcli-{run}-{next(counter)}"
            future = client.submit(run_batch, run, scattered, batch, key=key, retries=RETRIES, pure=False)
            self._futures[future] = batch
            self.batch_sizes.append(len(batch))
            done.add(future)
            return True

        while len(self._futures) < slots and submit():
            pass
        for future in done:
            batch = self._futures.pop(future)
            try:
                results, seconds = future.result()
            except Exception as exc:
                yield from _failed(task, batch, exc)
            else:
                yield from results
                if self.batch_size is None and results:
                    took = seconds / len(results)
                    per_job = took if per_job is None else 0.7 * per_job + 0.3 * took
                    size = max(1, min(MAX_BATCH, round(TARGET_BATCH_S / max(per_job, 1e-6))))
            while len(self._futures) < slots and submit():
                pass

    def _connect(self) -> Any:
        if self.scheduler is not None:
            try:
                client = Client(self.scheduler, timeout=30, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                from augcli.errors import UsageError

                raise UsageError(f"cannot reach the dask scheduler: {exc}", self.scheduler) from None
            self._client = client
        else:
            with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=self.threads,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            self._client = Client(self._cluster, set_as_default=False)
        try:
            self._client.wait_for_workers(1, timeout=120)
        except TimeoutError:
            address = self._client.scheduler.address
            raise WorkerError("no dask worker joined the scheduler within 120 s", address) from None
        self.notice(_describe(self._client))
        return self._client

    def terminate(self) -> None:
        """Cancel what is queued or running (a running batch finishes its current writes: every put is
        whole) and close the client, and the cluster when this executor started it."""
        client, cluster, futures = self._client, self._cluster, list(self._futures)
        self._client = self._cluster = None
        self._futures = {}
        if client is not None:
            if futures:
                client.cancel(futures, force=True)
            client.close()
        if cluster is not None:
            cluster.close()


def _failed(task: Task, batch: list[Any], exc: BaseException) -> Iterator[Any]:
    """A batch Dask gave up on: each job reported failed when the task knows how, else the run stops."""
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        reason = "dask: the worker running this batch died on every attempt (out of memory?)"
    else:
        text = str(exc).strip().splitlines()
        reason = f"dask: batch failed {RETRIES + 1} times: {type(exc).__name__}: {text[0] if text else ''}"
    failed = getattr(task, "failed", None)
    if failed is None:
        raise WorkerError(reason)
    for job in batch:
        yield failed(job, reason)


def _describe(client: Any) -> str:
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    link = client.dashboard_link if _has_dashboard(client) else "none (pip install bokeh for one)"
    return f"dask: {len(workers)} workers, {threads} threads at {client.scheduler.address}; dashboard: {link}"


def _has_dashboard(client: Any) -> bool:
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:
        return False
    return "dashboard" in services


def dask_executor(
    workers: int,
    *,
    scheduler: str | None = None,
    threads: int = 1,
    batch_size: int | None = None,
    notice: Callable[[str], None] | None = None,
) -> DaskExecutor:
    return DaskExecutor(workers, scheduler=scheduler, threads=threads, batch_size=batch_size, notice=notice)
