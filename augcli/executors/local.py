"""The local executors: in-process, or a process pool on this machine's cores.

Pool workers fork from the calling process when it says that is safe (`fork=True`): the `augcli`
command itself, which limits OpenCV to one thread before any OpenCV op, so no OpenCV thread pool
exists to be copied half-locked into a child. The workers start at once with everything the
parent imported (Albumentations: a second or more). Any other caller (a test suite, a notebook
that ran OpenCV, preview then run) gets workers from a forkserver, a clean process that imports
augcli and albumentations once; `prestart()` launches it early so that import overlaps the
caller's own.

The pool is augcli's own, not `multiprocessing.Pool`: that one's worker-handler thread wakes on
every result and polls each worker (a few hundred microseconds apiece under the forkserver), so
on a two-core machine the parent burned a core-second per thousand images; it also hangs forever
when a worker is killed (the OOM killer, a segfault in a codec) and respawns a worker whose
initializer fails in an endless loop. Here the parent keeps a few tasks in flight per worker, does
nothing between results, and turns a dead worker or a failed initializer into an error.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any

from augcli.executors.base import Executor, Task, WorkerError, prepare_worker, register_executor

_PRELOAD = ["augcli._preload"]
_IN_FLIGHT = 3  # tasks queued per worker: enough to never starve one, few enough to stop promptly


def _context() -> Any:
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def prestart() -> None:
    """Start the forkserver now (in the background) so its imports overlap the caller's."""
    if sys.platform.startswith("linux") and not _FORK_SAFE:
        _context()
        from multiprocessing import forkserver

        forkserver.ensure_running()


class InProcessExecutor:
    """One worker: no pool, no pickling; what `--workers 1` and debuggers want."""

    name = "inprocess"

    def run(self, task: Task, jobs: Iterable[Any]) -> Iterator[Any]:
        prepare_worker(in_worker=False)
        context = task.setup()
        for job in jobs:
            yield task(job, context)

    def terminate(self) -> None:
        pass


def _worker(tasks: Any, results: Any, task: Task, parent: int) -> None:
    """A pool process: set up once, then take jobs until the parent sends None."""
    try:
        prepare_worker()
        _die_with(parent)
        context = task.setup()
    except BaseException as exc:  # report, do not let the parent wait for results that never come
        results.put(("init-failed", _describe(exc)))
        return
    while (item := tasks.get()) is not None:
        try:
            results.put(("ok", task(item, context)))
        except BaseException as exc:
            results.put(("failed", _describe(exc)))
            return


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}{where}"


class PoolExecutor:
    """A local process pool; jobs are small (paths), results are small (records)."""

    name = "local"

    def __init__(self, workers: int, *, fork: bool | None = None):
        self.workers = workers
        self.fork = (_FORK_SAFE if fork is None else fork) and sys.platform.startswith("linux")
        self._procs: list[Any] = []

    def run(self, task: Task, jobs: Iterable[Any]) -> Iterator[Any]:
        ctx = mp.get_context("fork") if self.fork else _context()
        tasks, results = ctx.SimpleQueue(), ctx.SimpleQueue()
        parent = os.getpid()
        self._procs = [
            ctx.Process(target=_worker, args=(tasks, results, task, parent), daemon=True) for _ in range(self.workers)
        ]
        if self.fork:
            # Objects made so far move to a generation the collector never visits: a worker's
            # collections would otherwise write to their headers and copy every page they sit on.
            gc.freeze()
        try:
            for proc in self._procs:
                proc.start()
        finally:
            if self.fork:
                gc.unfreeze()
        pending = iter(jobs)
        in_flight = 0
        finished = False
        try:
            for item in pending:  # prime the queue; a few tasks of a few hundred bytes never fill the pipe
                tasks.put(item)
                in_flight += 1
                if in_flight >= _IN_FLIGHT * self.workers:
                    break
            sentinels = {proc.sentinel: proc for proc in self._procs}
            while in_flight:
                kind, payload = _next_result(results, sentinels)
                if kind != "ok":
                    what = "could not start" if kind == "init-failed" else "failed"
                    raise WorkerError(f"a worker process {what}: {payload}")
                in_flight -= 1
                item = next(pending, None)
                if item is not None:
                    tasks.put(item)
                    in_flight += 1
                yield payload
            finished = True
        finally:
            if finished:
                for _ in self._procs:
                    tasks.put(None)
                for proc in self._procs:
                    proc.join(timeout=5)
            self.terminate()
            tasks.close()
            results.close()

    def terminate(self) -> None:
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        self._procs = []


def _next_result(results: Any, sentinels: dict[Any, Any]) -> tuple[str, Any]:
    """The next result; a worker that exits without being asked to is an error, not a hang."""
    while True:
        ready = wait([results._reader, *sentinels])
        if results._reader in ready:
            return results.get()  # type: ignore[no-any-return]
        for sentinel in ready:
            proc = sentinels[sentinel]
            proc.join(timeout=1)
            code = proc.exitcode
            how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited ({code})"
            hint = " (out of memory?)" if code == -signal.SIGKILL else ""
            raise WorkerError(f"a worker process {how}{hint}")


def local_executor(workers: int, *, fork: bool | None = None, notice: Any = None) -> Executor:
    """In-process for one worker, else a pool; `fork=True` only from a process that has never run an
    OpenCV op with more than one thread (see the module docstring; the default asks `claim_process`)."""
    return InProcessExecutor() if workers <= 1 else PoolExecutor(workers, fork=fork)


# The `augcli` command marks its process; its run and stats commands then hold OpenCV to one thread
# before any OpenCV op, and only then may pools fork their workers from it.
_COMMAND = False
_FORK_SAFE = False


def mark_command_process() -> None:
    """Called by the `augcli` entry point (not by library or test callers, who may run OpenCV with threads)."""
    global _COMMAND
    _COMMAND = True


def claim_process() -> None:
    """First thing in a command that runs jobs: in the `augcli` command's own process, OpenCV on one
    thread from the start, so no OpenCV thread pool exists to be inherited half-locked, and pools may
    fork (instant start, Albumentations already imported). Elsewhere workers come from a forkserver."""
    global _FORK_SAFE
    if not _COMMAND or not sys.platform.startswith("linux"):
        return
    import cv2

    cv2.setNumThreads(1)  # also faster for a run's small images: an idle OpenCV pool spins
    _FORK_SAFE = True


def _die_with(parent: int) -> None:
    """End this worker when the process that started the pool dies, so no orphan goes on writing:
    a forked worker asks the kernel (parent-death signal, Linux); one started by the forkserver,
    whose parent is the server, watches the pool owner's pid from a daemon thread."""
    if sys.platform.startswith("linux") and os.getppid() == parent:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
        return
    import threading

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # a pid that exists, owned by another user: not ours, ours is gone
                os._exit(1)

    threading.Thread(target=watch, name="augcli-parent-watch", daemon=True).start()


register_executor("local", local_executor)
register_executor("inprocess", lambda workers=1, notice=None: InProcessExecutor())
