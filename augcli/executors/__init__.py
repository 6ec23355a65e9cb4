"""Executors by name (`--executor`): `local` (a process pool; in-process for one worker) and `threads`;
`dask` is registered here too, but dask is imported only when it is chosen (it is an extra)."""

from collections.abc import Callable

from augcli.executors import local as _local  # noqa: F401  (registers "local" and "inprocess")
from augcli.executors import threads as _threads  # noqa: F401  (registers "threads")
from augcli.executors.base import (
    Executor,
    Task,
    WorkerError,
    executor_names,
    make_executor,
    prepare_worker,
    register_executor,
)


def _dask(
    workers: int,
    *,
    scheduler: str | None = None,
    threads: int = 1,
    batch_size: int | None = None,
    notice: Callable[[str], None] | None = None,
) -> Executor:
    """`--executor dask`: a missing dask is a one-line error naming the extra."""
    try:
        from augcli.executors.dask import dask_executor
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("dask", "distributed"):
            raise
        from augcli.errors import UsageError

        raise UsageError("--executor dask needs dask.distributed: pip install 'augcli[dask]'") from None
    return dask_executor(workers, scheduler=scheduler, threads=threads, batch_size=batch_size, notice=notice)


register_executor("dask", _dask)

__all__ = [
    "Executor",
    "Task",
    "WorkerError",
    "executor_names",
    "make_executor",
    "prepare_worker",
    "register_executor",
]
