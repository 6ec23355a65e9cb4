"""Retries for remote storage: which failures are worth another try, and how long to wait between tries.

Client libraries (botocore, gcsfs, the Azure SDK) already retry some failures themselves; this layer
adds a bounded number of tries with exponential backoff on top, the same for every filesystem, so a
connection reset or a throttled request on one object fails that object only after a few patient tries.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_TRANSIENT_ERRNOS = frozenset(
    code
    for code in (
        errno.EAGAIN,
        errno.EBUSY,  # s3fs: SlowDown, ServiceUnavailable, 503
        errno.ETIMEDOUT,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ECONNREFUSED,
        errno.EPIPE,
        getattr(errno, "EREMOTEIO", None),  # s3fs: InternalError, 500
    )
    if code is not None
)
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequests",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "ServerBusy",
        "OperationTimedOut",
    }
)
_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)
_TRANSIENT_NAME_PARTS = ("Timeout", "ConnectionError", "ConnectError", "ServerDisconnected", "IncompleteRead")


def is_transient(exc: BaseException) -> bool:
    """True for failures another try may cure (connections, timeouts, 5xx, throttling); not 403/404."""
    for link in _chain(exc):
        verdict = _http_verdict(link)
        if verdict is None:
            verdict = _type_verdict(link)
        if verdict is not None:
            return verdict
    return False


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it: s3fs turns a botocore error into an OSError `from` it."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen and len(seen) < 8:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _http_verdict(exc: BaseException) -> bool | None:
    response = getattr(exc, "response", None)
    status: object = None
    if isinstance(response, dict):  # botocore's ClientError
        code = response.get("Error", {}).get("Code")
        if code in _TRANSIENT_CODES:
            return True
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    for name in ("status_code", "status", "code"):  # Azure, aiohttp, gcsfs
        if status is None:
            candidate = getattr(exc, name, None)
            status = candidate if isinstance(candidate, int) and 100 <= candidate < 600 else None
    if isinstance(status, int):
        if status == 429 or status >= 500:
            return True
        if status >= 400:
            return False
    return None


def _type_verdict(exc: BaseException) -> bool | None:
    if isinstance(exc, _PERMANENT):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    names = [cls.__name__ for cls in type(exc).__mro__]
    if any(part in name for name in names for part in _TRANSIENT_NAME_PARTS):
        return True  # botocore's EndpointConnectionError, ReadTimeoutError; aiohttp's disconnects
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; the wait doubles from `base_delay` up to `max_delay`, spread per object."""

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, key: str) -> float:
        """Wait after failed try `attempt` (1-based): half fixed, half spread by the object's name.

        The spread keeps many workers throttled at once from retrying in lockstep, without drawing on
        any random generator.
        """
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        digest = hashlib.blake2b(f"{key}\0{attempt}".encode(), digest_size=2).digest()
        return ceiling * (0.5 + 0.5 * int.from_bytes(digest, "big") / 0xFFFF)

    def call(self, fn: Callable[[], T], key: str) -> T:
        """`fn()`, tried again after a transient failure; the last failure is raised as it is."""
        for attempt in range(1, self.attempts):
            try:
                return fn()
            except Exception as exc:
                if not is_transient(exc):
                    raise
            self.sleep(self.delay(attempt, key))
        return fn()
