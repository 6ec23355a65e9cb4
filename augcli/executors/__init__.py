"""Executors by name (`--executor`): `local` (a process pool; in-process for one worker) and `threads`."""

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

__all__ = [
    "Executor",
    "Task",
    "WorkerError",
    "executor_names",
    "make_executor",
    "prepare_worker",
    "register_executor",
]
