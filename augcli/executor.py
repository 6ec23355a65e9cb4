"""Where work runs: in-process, or a local process pool. A distributed engine can sit beside these.

Pool workers fork from a forkserver, a clean process that imports augcli (and albumentations,
~1.3 s) once; `prestart()` launches it at the very start of a command, so that import overlaps the
parent's own. Forking the parent directly would be faster still, but a parent that has run an
OpenCV op (a test suite, a notebook, preview then run) holds OpenCV's thread pool, and a child
forked from it can deadlock.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

_PRELOAD = ["augcli._preload"]


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


class PoolExecutor:
    """A local process pool; items are small (paths), results are small (records)."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: Any = None

    def run(
        self, fn: Callable[[Any], Any], init: Callable[..., None], initargs: tuple[Any, ...], items: Iterable[Any]
    ) -> Iterator[Any]:
        self._pool = _context().Pool(self.workers, initializer=init, initargs=initargs)
        try:
            yield from self._pool.imap_unordered(fn, items, chunksize=1)
            self._pool.close()
        finally:
            self._pool.terminate()
            self._pool.join()

    def terminate(self) -> None:
        if self._pool is not None:
            self._pool.terminate()


def local_executor(workers: int) -> Executor:
    return InProcessExecutor() if workers <= 1 else PoolExecutor(workers)
