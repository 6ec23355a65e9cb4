"""Object storage, and every other filesystem fsspec knows: s3://, gs://, az://, memory://, ...

fsspec and the cloud packages are optional extras imported only when such a URL is opened, so plain
`pip install augcli` and local runs never need them. A put is one whole object (a single PUT: nothing
half-written is ever visible under its name) and a log is a series of whole part objects kept beside
it, `<log>.augcli-parts/<stamp>-<writer>-<seq><suffix>`, so writers on many machines never share an
object and a killed writer loses at most the part it was sending. Listings show a log under its own
name, as one file, exactly like the local store shows its appended file.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from augcli.errors import StoreError, UsageError
from augcli.store.base import ANY_SCHEME, NoLock, register_store, scheme_of
from augcli.store.retry import RetryPolicy, is_transient

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

T = TypeVar("T")

PARTS_SUFFIX = ".augcli-parts"
_READ_BATCH = 64  # parts fetched per request batch when a log is read back (async filesystems overlap them)
_BUGS = (TypeError, AttributeError, NameError, AssertionError)  # never a storage failure: let them surface


@dataclass(frozen=True)
class Backend:
    """What a scheme needs: the extra that installs it, its package, and the options augcli sets for it."""

    extra: str
    package: str
    defaults: Mapping[str, Any] = field(default_factory=dict)


_FRESH_LISTINGS = {"use_listings_cache": False}  # resume must see the parts other workers have written
# One GET per read: with more, s3fs first sends a HEAD to decide whether to fetch ranges in parallel,
# which doubles the latency of an image-sized object and helps only objects over 50 MB.
_S3 = Backend("s3", "s3fs", {**_FRESH_LISTINGS, "max_concurrency": 1})
_GCS = Backend("gcs", "gcsfs", _FRESH_LISTINGS)
_AZURE = Backend("azure", "adlfs", _FRESH_LISTINGS)
_FSSPEC = Backend("fsspec", "fsspec")

BACKENDS: dict[str, Backend] = {
    "s3": _S3,
    "s3a": _S3,
    "gs": _GCS,
    "gcs": _GCS,
    "az": _AZURE,
    "abfs": _AZURE,
    "abfss": _AZURE,
    "memory": _FSSPEC,
}


def open_filesystem(location: str, storage_options: Mapping[str, Any]) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem for `location` and the root path inside it; a missing package is a UsageError."""
    scheme = scheme_of(location)
    backend = BACKENDS.get(scheme, _FSSPEC)
    try:
        import fsspec
    except ImportError:
        if scheme not in BACKENDS:
            raise UsageError(
                f"no store for '{scheme}://' locations (fsspec may know it: pip install 'augcli[fsspec]')", location
            ) from None
        raise UsageError(_install_hint(scheme, backend), location) from None
    for protocol in scheme.split("::"):  # a chained URL (simplecache::s3://...) names several
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError:
            raise UsageError(
                f"no store for '{protocol}://' locations (neither augcli nor fsspec knows it)", location
            ) from None
        except ImportError as exc:
            if protocol in BACKENDS:
                raise UsageError(_install_hint(protocol, BACKENDS[protocol]), location) from None
            raise UsageError(
                f"{protocol}:// locations need a package fsspec cannot import: {_reason(exc)}", location
            ) from None
    try:
        fs, root = fsspec.core.url_to_fs(location, **{**backend.defaults, **storage_options})
    except Exception as exc:  # each filesystem validates its options and credentials its own way
        raise UsageError(f"cannot open {scheme}:// storage: {_reason(exc)}", location) from exc
    return fs, root.rstrip("/")


def _install_hint(scheme: str, backend: Backend) -> str:
    return f"{scheme}:// locations need {backend.package}: pip install 'augcli[{backend.extra}]'"


def _reason(exc: BaseException) -> str:
    text = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class FsspecStore:
    """A root folder (or bucket prefix) on any fsspec filesystem; every call retried on transient failures."""

    def __init__(
        self,
        location: str,
        storage_options: Mapping[str, Any] | None = None,
        *,
        retry: RetryPolicy | None = None,
    ):
        self._location = location
        self._options = dict(storage_options or {})
        self._retry = retry or RetryPolicy()
        self._fs, self._root = open_filesystem(location, self._options)
        self._pid = os.getpid()
        self._url = location if location.endswith("://") else location.rstrip("/")

    @property
    def fs(self) -> AbstractFileSystem:
        """The filesystem, reopened in a forked child: async clients (s3fs, gcsfs) do not survive a fork."""
        if self._pid != os.getpid():
            self._fs, self._root = open_filesystem(self._location, self._options)
            self._pid = os.getpid()
        return self._fs

    def __reduce__(self) -> tuple[Callable[..., FsspecStore], tuple[Any, ...]]:
        """Pickles as its URL and options: a worker opens its own connection (or reuses its cached one)."""
        return functools.partial(FsspecStore, retry=self._retry), (self._location, self._options)

    @property
    def location(self) -> str:
        return self._location

    def where(self, rel: str = "") -> str:
        if not rel:
            return self._url
        return f"{self._url}{rel}" if self._url.endswith("/") else f"{self._url}/{rel}"

    def local_path(self, rel: str = "") -> None:
        return None

    def exists(self, rel: str = "") -> bool:
        return self._info(rel) is not None or (bool(rel) and self._has_parts(rel))

    def is_file(self, rel: str) -> bool:
        info = self._info(rel)
        return info["type"] == "file" if info is not None else self._has_parts(rel)

    def read_bytes(self, rel: str) -> bytes:
        try:
            return self._call("cannot read", rel, self.fs.cat_file, self._path(rel))
        except FileNotFoundError:
            if self._has_parts(rel):
                return "".join(self.read_log(rel)).encode("utf-8")
            raise FileNotFoundError(2, "No such file", self.where(rel)) from None

    def size(self, rel: str) -> int:
        info = self._info(rel)
        if info is not None and info["type"] == "file":
            return int(info["size"])
        parts = self._parts(rel)
        if info is None and not parts:
            raise FileNotFoundError(2, "No such file", self.where(rel))
        return sum(int(p["size"]) for p in parts)

    def put(self, rel: str, data: bytes) -> int:
        try:
            self._call("cannot write", rel, self.fs.pipe_file, self._path(rel), data)
        except FileNotFoundError as exc:  # S3's NoSuchBucket; a parent that is a file on other filesystems
            raise StoreError(f"cannot write: not found: {_reason(exc)}", self.where(rel)) from exc
        return len(data)

    def put_lines(self, rel: str, lines: Iterable[str]) -> int:
        """Streamed into one object (a multipart upload on S3), which appears only when complete."""
        written = 0
        try:
            with self.fs.open(self._path(rel), "wb") as fh:
                for line in lines:
                    data = line.encode("utf-8")
                    fh.write(data)
                    written += len(data)
        except FileNotFoundError as exc:
            raise StoreError(f"cannot write: not found: {_reason(exc)}", self.where(rel)) from exc
        except OSError as exc:
            raise StoreError(f"cannot write: {_reason(exc)}", self.where(rel)) from exc
        return written

    def replace_log(self, rel: str, lines: Iterable[str]) -> None:
        """The log as one whole object, then its parts removed (a reader in between sees duplicates,
        which readers of the manifest resolve: the last record of an output wins)."""
        self.put_lines(rel, lines)
        self._remove_parts(rel)

    def remove(self, rel: str) -> None:
        """Delete `rel`; when it is a log kept in parts, the parts too (as the local store deletes the file)."""
        self._remove_object(rel)
        self._remove_parts(rel)

    def listdir(self, rel: str = "") -> list[str]:
        entries = self._ls(rel)
        return sorted({self._shown_name(e) for e in entries})

    def glob(self, pattern: str) -> list[str]:
        from fnmatch import fnmatchcase

        files = {self._shown_name(e) for e in self._ls("") if e["type"] == "file" or _is_parts_dir(e)}
        return sorted(n for n in files if fnmatchcase(n, pattern))

    def walk_files(self) -> Iterator[str]:
        """Every object under the root in the local store's order (each folder's files, then its folders)."""
        try:
            found = self._call("cannot list", "", self.fs.find, self._root, withdirs=False, detail=False)
        except FileNotFoundError:
            return
        prefix = self._root + "/"
        rels = {_log_name(name[len(prefix) :]) for name in found if name.startswith(prefix)}
        yield from sorted(rels, key=_walk_key)

    def open_log(self, rel: str) -> PartsLog:
        return PartsLog(self, rel)

    def read_log(self, rel: str) -> Iterator[str]:
        try:
            base = self._call("cannot read", rel, self.fs.cat_file, self._path(rel))
        except FileNotFoundError:
            base = b""
        yield from _lines(base.decode("utf-8"))
        names = sorted(p["name"] for p in self._parts(rel))
        for start in range(0, len(names), _READ_BATCH):
            batch = names[start : start + _READ_BATCH]
            got = self._call("cannot read", rel, self.fs.cat, batch, on_error="omit")
            for name in batch:
                if name in got:  # a part removed between the listing and the read is skipped
                    yield from _lines(got[name].decode("utf-8"))

    def remove_log(self, rel: str) -> None:
        self.remove(rel)

    def remove_temporary(self) -> int:
        """Nothing to do: objects appear whole or not at all, and a killed writer leaves no temp object."""
        return 0

    def lock(self, rel: str) -> NoLock:
        """No lock: object stores offer no create-if-absent that every backend honours. Two runs on one
        prefix both do the whole job; each output is written whole, with the same bytes, so the second
        costs time, never correctness."""
        return NoLock()

    def _path(self, rel: str) -> str:
        return f"{self._root}/{rel}" if rel else self._root

    def _call(self, action: str, rel: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args)` with retries; failures other than not-found become one-line StoreErrors."""
        url = self.where(rel)
        try:
            return self._retry.call(functools.partial(fn, *args, **kwargs), key=url)
        except (FileNotFoundError, *_BUGS):
            raise
        except Exception as exc:
            raise _store_error(action, url, exc, self._retry.attempts) from exc

    def _info(self, rel: str) -> dict[str, Any] | None:
        try:
            return self._call("cannot read", rel, self.fs.info, self._path(rel))
        except FileNotFoundError:
            return None

    def _ls(self, rel: str) -> list[dict[str, Any]]:
        path = self._path(rel)
        try:
            entries = self._call("cannot list", rel, self.fs.ls, path, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        if any(e["name"].rstrip("/") == path for e in entries):  # fsspec lists a file as itself
            return []
        return entries

    def _shown_name(self, entry: Mapping[str, Any]) -> str:
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        return name[: -len(PARTS_SUFFIX)] if _is_parts_dir(entry) else name

    def _parts(self, rel: str) -> list[dict[str, Any]]:
        return [e for e in self._ls(rel + PARTS_SUFFIX) if e["type"] == "file"]

    def _has_parts(self, rel: str) -> bool:
        return bool(self._parts(rel))

    def _remove_object(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._call("cannot delete", rel, self.fs.rm_file, self._path(rel))

    def _remove_parts(self, rel: str) -> None:
        names = [p["name"] for p in self._parts(rel)]
        if names:
            with contextlib.suppress(FileNotFoundError):
                self._call("cannot delete", rel, self.fs.rm, names)


class PartsLog:
    """A log writer: each `write` stores one whole new part, named to sort after every part before it."""

    def __init__(self, store: FsspecStore, rel: str):
        self._store = store
        self._rel = rel
        self._writer = uuid.uuid4().hex[:12]
        self._suffix = PurePosixPath(rel).suffix or ".log"
        self._seq = itertools.count(1)
        self._closed = False

    def write(self, lines: list[str]) -> None:
        if self._closed:
            raise ValueError(f"log {self._rel} is closed")
        if lines:
            name = f"{self._rel}{PARTS_SUFFIX}/{_stamp():020d}-{self._writer}-{next(self._seq):06d}{self._suffix}"
            self._store.put(name, "".join(line + "\n" for line in lines).encode("utf-8"))

    def close(self) -> None:
        self._closed = True


_STAMP_LOCK = threading.Lock()
_last_stamp = 0


def _stamp() -> int:
    """Nanoseconds since the epoch, strictly increasing in this process even if the clock steps back."""
    global _last_stamp
    with _STAMP_LOCK:
        _last_stamp = max(time.time_ns(), _last_stamp + 1)
        return _last_stamp


def _is_parts_dir(entry: Mapping[str, Any]) -> bool:
    return entry["type"] == "directory" and entry["name"].rstrip("/").endswith(PARTS_SUFFIX)


def _log_name(rel: str) -> str:
    """`manifest.jsonl.augcli-parts/...` is shown as the log `manifest.jsonl`; other paths as they are."""
    head, sep, _ = rel.partition(PARTS_SUFFIX + "/")
    return head if sep else rel


def _walk_key(rel: str) -> tuple[tuple[int, str], ...]:
    """Sort key giving os.walk's top-down order: a folder's files before its sub-folders, names sorted."""
    *folders, name = rel.split("/")
    return (*((1, f) for f in folders), (0, name))


def _lines(text: str) -> Iterator[str]:
    """Lines with their `\\n`, split on `\\n` only (JSON text may hold U+2028); a torn last line as it is."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def _store_error(action: str, url: str, exc: Exception, attempts: int) -> StoreError:
    reason = _reason(exc)
    if isinstance(exc, PermissionError):
        return StoreError(f"{action}: access denied, check the credentials and permissions: {reason}", url)
    if is_transient(exc):
        return StoreError(f"{action}: {reason} (gave up after {attempts} attempts)", url)
    return StoreError(f"{action}: {type(exc).__name__}: {reason}", url)


def open_fsspec_store(location: str, storage_options: Mapping[str, Any]) -> FsspecStore:
    """The factory registered for URL schemes; fsspec is imported here, when the first URL is opened."""
    return FsspecStore(location, storage_options)


for _scheme in BACKENDS:
    register_store(_scheme, open_fsspec_store)
register_store(ANY_SCHEME, open_fsspec_store)
