"""Where work runs: in-process, or a local process pool. A distributed engine can sit beside these.

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
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any, Protocol

from augcli.errors import AugcliError, ExitCode

_PRELOAD = ["augcli._preload"]
_IN_FLIGHT = 3  # tasks queued per worker: enough to never starve one, few enough to stop promptly


class WorkerError(AugcliError):
    """A worker process died or its setup failed: the run cannot continue (what is done is kept)."""

    exit_code = ExitCode.FAILURES


class Executor(Protocol):
    """Runs `fn` over items after a per-worker `init(*initargs)`; results come in any order."""

    def run(
        self, fn: Callable[[Any], Any], init: Callable[..., None], initargs: tuple[Any, ...], items: Iterable[Any]
    ) -> Iterator[Any]: ...

    def terminate(self) -> None: ...


def _context() -> Any:
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def prestart() -> None:
    """Start the forkserver now (in the background) so its imports overlap the caller's."""
    if sys.platform.startswith("linux"):
        _context()
        from multiprocessing import forkserver

        forkserver.ensure_running()


class InProcessExecutor:
    """One worker: no pool, no pickling; what `--workers 1` and debuggers want."""

    def run(
        self, fn: Callable[[Any], Any], init: Callable[..., None], initargs: tuple[Any, ...], items: Iterable[Any]
    ) -> Iterator[Any]:
        init(*initargs, in_worker=False)
        for item in items:
            yield fn(item)

    def terminate(self) -> None:
        pass


def _worker(tasks: Any, results: Any, fn: Callable[[Any], Any], init: Callable[..., None], initargs: tuple) -> None:
    """A pool process: set up once, then take tasks until the parent sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    try:
        init(*initargs)
    except BaseException as exc:  # report, do not let the parent wait for results that never come
        results.put(("init-failed", _describe(exc)))
        return
    while (item := tasks.get()) is not None:
        try:
            results.put(("ok", fn(item)))
        except BaseException as exc:
            results.put(("failed", _describe(exc)))
            return


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}{where}"


class PoolExecutor:
    """A local process pool; items are small (paths), results are small (records)."""

    def __init__(self, workers: int, *, fork: bool = False):
        self.workers = workers
        self.fork = fork and sys.platform.startswith("linux")
        self._procs: list[Any] = []

    def run(
        self, fn: Callable[[Any], Any], init: Callable[..., None], initargs: tuple[Any, ...], items: Iterable[Any]
    ) -> Iterator[Any]:
        ctx = mp.get_context("fork") if self.fork else _context()
        tasks, results = ctx.SimpleQueue(), ctx.SimpleQueue()
        self._procs = [
            ctx.Process(target=_worker, args=(tasks, results, fn, init, initargs), daemon=True)
            for _ in range(self.workers)
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
        pending = iter(items)
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


def local_executor(workers: int, *, fork: bool = False) -> Executor:
    """In-process for one worker, else a pool; `fork=True` only from a process that has never run an
    OpenCV op with more than one thread (see the module docstring)."""
    return InProcessExecutor() if workers <= 1 else PoolExecutor(workers, fork=fork)
