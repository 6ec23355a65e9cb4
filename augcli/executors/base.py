"""Where jobs run: the Executor protocol, the task a worker runs, and worker set-up in one place.

A task is a small picklable object: `setup()` builds what every job of a run needs (the recipe's
pipelines, the stores) once per worker, and `task(job, context)` processes one job with it. Nothing
a job needs lives in module globals, so the same task runs in a process of a local pool, in this
process, on a thread or on a remote worker, and gives the same bytes everywhere.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from augcli.errors import AugcliError, ExitCode


class WorkerError(AugcliError):
    """A worker died or its set-up failed: the run cannot continue (what is done is kept)."""

    exit_code = ExitCode.FAILURES


class Task(Protocol):
    """What an executor runs: set up once per worker, then one call per job."""

    def setup(self) -> Any: ...

    def __call__(self, job: Any, context: Any, /) -> Any: ...


class Executor(Protocol):
    """Runs a task over jobs; results come back as they finish, in any order."""

    name: str

    def run(self, task: Task, jobs: Iterable[Any]) -> Iterator[Any]: ...

    def terminate(self) -> None:
        """Stop at once (Ctrl-C, a dead worker): jobs in flight are abandoned, never half-written."""
        ...


def prepare_worker(*, in_worker: bool = True) -> None:
    """Every worker process, whatever started it: Ctrl-C is the parent's business, OpenCV runs on one
    thread (the pool is the parallelism; an idle OpenCV pool spins), and it dies with its parent."""
    if not in_worker:  # the caller's own process: its threads and signals are its own business
        return
    import cv2

    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


ExecutorFactory = Callable[..., Executor]

_EXECUTORS: dict[str, ExecutorFactory] = {}


def register_executor(name: str, factory: ExecutorFactory) -> None:
    """Make `--executor NAME` build an executor with `factory(workers=N, notice=fn, **options)`, where
    `notice(line)` tells the user something (a dashboard address) and `options` are the executor's own
    (dask's `scheduler`); names are unique."""
    if name in _EXECUTORS:
        raise ValueError(f"an executor named '{name}' is already registered")
    _EXECUTORS[name] = factory


def executor_names() -> list[str]:
    return sorted(_EXECUTORS)


def make_executor(name: str, *, workers: int, notice: Callable[[str], None] | None = None, **options: Any) -> Executor:
    """The executor called `name`; an unknown name lists the known ones, an option it does not take
    (`scheduler` for `local`) is refused rather than ignored. Options set to None are not given."""
    import difflib
    import inspect

    from augcli.errors import UsageError

    factory = _EXECUTORS.get(name)
    if factory is None:
        close = difflib.get_close_matches(name, _EXECUTORS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(f"unknown executor '{name}' (known: {', '.join(executor_names())}){hint}")
    given = {key: value for key, value in options.items() if value is not None}
    params = inspect.signature(factory).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(given) - set(params))
        if unknown:
            flags = ", ".join("--" + key.replace("_", "-") for key in unknown)
            raise UsageError(f"the {name} executor does not take {flags}")
    return factory(workers=workers, notice=notice, **given)
