"""Errors augcli reports to a user, and the exit codes the CLI maps them to."""

from __future__ import annotations

import enum
import errno
import os


class ExitCode(enum.IntEnum):
    """What a shell sees; named so that no command hard-codes a number."""

    OK = 0
    FAILURES = 1  # the job ran but something failed (or, with --strict, warned)
    INVALID = 2  # bad recipe, bad option, missing file: nothing was done
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM (128 + 15), handled like Ctrl-C


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be (the `augcli` command installs the handler), so a run
    stopped by `kill`, a job scheduler or a container runtime ends as cleanly as one stopped by Ctrl-C."""


def raise_terminated(signum: int, frame: object) -> None:
    """The SIGTERM handler of the `augcli` command."""
    raise Terminated()


class AugcliError(Exception):
    """Base of every error augcli reports to a user: one line, naming the file."""

    exit_code = ExitCode.INVALID

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None):
        super().__init__(message)
        self.message = message
        self.path = None if path is None else os.fspath(path)

    def __str__(self) -> str:
        return f"{self.message} ({self.path})" if self.path else self.message


class UsageError(AugcliError):
    """The command line asks for something impossible (missing input, output inside input, ...)."""


class RecipeError(AugcliError):
    """A recipe is invalid; carries every located problem so they can all be shown at once."""

    def __init__(self, path: str | os.PathLike[str], problems: list):  # list[Problem]
        self.problems = problems
        first = problems[0].format() if problems else "invalid recipe"
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)
        self.path = os.fspath(path)

    def __str__(self) -> str:
        return self.message


class ImageReadError(AugcliError):
    """An input image is unreadable, corrupt or of an unsupported kind."""

    exit_code = ExitCode.FAILURES


class ImageWriteError(AugcliError):
    """An output could not be written."""

    exit_code = ExitCode.FAILURES


class OutputFull(ImageWriteError):
    """The output's disk (or quota) is full: no further output can be written, so a run stops."""


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def first_line(exc: object, *, typed: bool = False) -> str:
    """An exception's (or warning's) first line, for one-line messages; its type's name when it has no text.

    `typed` prefixes the type ("KeyError: 'x'"), for errors whose text alone says little.
    """
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    line = text.splitlines()[0]
    return f"{type(exc).__name__}: {line}" if typed else line


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as messages show it: relative to the working folder, or absolute when that is far off."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith(os.path.join(os.pardir, os.pardir, os.pardir)) else rel


class StoreError(AugcliError):
    """Storage refused a request or kept failing after retries: credentials, a missing bucket, a dead endpoint.

    Raised before a run starts, nothing was done (exit 2); raised while writing an output, the run records
    that output as failed like any other.
    """


class Stopped(AugcliError):
    """Ctrl-C or SIGTERM reached a command: one line, exit 130 (143 for SIGTERM), what is done kept."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None, *, terminated: bool = False):
        super().__init__(message, path)
        self.exit_code = ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED

    @classmethod
    def by(cls, exc: BaseException, what: str = "", path: str | os.PathLike[str] | None = None) -> Stopped:
        """`interrupted`/`terminated` (as the signal was), followed by `what`."""
        terminated = isinstance(exc, Terminated)
        return cls(("terminated" if terminated else "interrupted") + what, path, terminated=terminated)
