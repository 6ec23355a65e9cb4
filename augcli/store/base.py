"""Where a run's bytes live: one small protocol for reading a dataset and writing a run's outputs.

Paths inside a store are relative POSIX strings (`train/cat/001__aug001.jpg`). The protocol is
shaped for object stores as much as for a disk: a put is a whole object that appears at once under
its final name (no rename, no partial write ever visible), and a growing record (the manifest) is
an append-only log that a store may keep as one appended file or as a series of whole parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class LogWriter(Protocol):
    """Lines added as outputs land; each `write` is durable once it returns (a part, or a flush)."""

    def write(self, lines: list[str]) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Store(Protocol):
    """Bytes under one root. Every method takes a path relative to that root."""

    @property
    def location(self) -> str:
        """The root as the user wrote it (a folder, a URL): for messages and records."""
        ...

    def where(self, rel: str = "") -> Path | str:
        """A path or URL naming `rel` in messages (`file:line` style locations)."""
        ...

    def local_path(self, rel: str = "") -> Path | None:
        """The file on this machine's disk, when there is one (lets decoders skip a copy)."""
        ...

    def exists(self, rel: str = "") -> bool: ...

    def is_file(self, rel: str) -> bool: ...

    def read_bytes(self, rel: str) -> bytes: ...

    def size(self, rel: str) -> int: ...

    def put(self, rel: str, data: bytes) -> int:
        """Store `data` whole under `rel` (creating folders); returns its length. All or nothing."""
        ...

    def put_lines(self, rel: str, lines: Iterable[str]) -> int:
        """`put` for text produced piece by piece (a large sorted manifest): streamed, still all or nothing."""
        ...

    def remove(self, rel: str) -> None:
        """Delete `rel` if it exists."""
        ...

    def listdir(self, rel: str = "") -> list[str]:
        """Names directly under `rel` (files and folders), sorted; [] when it is not a folder."""
        ...

    def glob(self, pattern: str) -> list[str]:
        """Paths of files directly under the root matching a shell pattern (`manifest*.jsonl`), sorted."""
        ...

    def walk_files(self) -> Iterator[str]:
        """Every file under the root, recursively, as relative paths (temporary files excluded)."""
        ...

    def open_log(self, rel: str) -> LogWriter:
        """Append lines to the log `rel` (created if missing)."""
        ...

    def read_log(self, rel: str) -> Iterator[str]:
        """Every line of the log `rel` in the order written (a torn last line included, for the reader to skip)."""
        ...

    def replace_log(self, rel: str, lines: Iterable[str]) -> None:
        """Make the log `rel` hold exactly `lines` (each ending in a newline): one whole object, no parts."""
        ...

    def remove_log(self, rel: str) -> None:
        """Delete the log `rel` and any parts of it."""
        ...

    def remove_temporary(self) -> int:
        """Delete what a killed writer left half-done (never a finished object); returns how many."""
        ...

    def lock(self, rel: str) -> StoreLock:
        """Hold `rel` as this process's exclusive lock (creating the root if need be) until `release()`.
        Another live holder: a UsageError naming it; a holder that died: taken over. A store that cannot
        lock (object stores have no lock every backend honours) returns a lock that holds nothing."""
        ...


class StoreLock(Protocol):
    def release(self) -> None: ...


class NoLock:
    """What a store that cannot lock returns."""

    def release(self) -> None:
        pass


StoreFactory = Callable[[str, Mapping[str, Any]], Store]
"""Builds the store for a location from its storage options (`{}` when none were given)."""

ANY_SCHEME = "*"
"""Registers the factory for every URL scheme that no other factory claims (fsspec knows dozens)."""

_FACTORIES: dict[str, StoreFactory] = {}


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make `scheme://...` locations open with `factory`; "" is a plain path. Names are unique."""
    if scheme in _FACTORIES:
        raise ValueError(f"a store is already registered for '{scheme}'")
    _FACTORIES[scheme] = factory


def scheme_of(location: str | Path) -> str:
    text = str(location)
    head, sep, _ = text.partition("://")
    if not sep or "/" in head or "\\" in head or len(head) < 2:  # C:\ is a path, not a scheme
        return ""
    return head.lower()


def as_location(text: str | Path) -> Path | str:
    """A user's `--input`/`--output` or recipe path: a Path on this machine's disk, or the URL untouched
    (`Path("s3://b/x")` would fold the `//` and lose the scheme)."""
    return text if isinstance(text, Path) or scheme_of(text) else Path(text)


def is_url(location: str | Path) -> bool:
    return bool(scheme_of(location))


def open_store(location: str | Path, storage_options: Mapping[str, Any] | None = None) -> Store:
    """The store for a folder or URL, by its scheme ("" and `file` are this machine's disk).

    `storage_options` go to a remote filesystem as they are (`{"anon": True}`, `{"endpoint_url": ...}`);
    a local folder needs none and ignores them, so one set can serve a run's remote side.
    """
    from augcli.errors import UsageError

    scheme = scheme_of(location)
    factory = _FACTORIES.get(scheme) or (_FACTORIES.get(ANY_SCHEME) if scheme else None)
    if factory is None:
        known = ", ".join(sorted(s + "://" for s in _FACTORIES if s and s != ANY_SCHEME)) or "none"
        raise UsageError(f"no store for '{scheme}://' locations (known: {known})", str(location))
    return factory(str(location), dict(storage_options or {}))
