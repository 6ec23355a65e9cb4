"""Stores under test: the local folder, fsspec's memory://, and S3 served by moto on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem
from moto_s3 import MotoS3, start_moto_s3

from augcli.store import Store, open_store
from augcli.store.fsspec import FsspecStore
from augcli.store.retry import RetryPolicy

KINDS = ["local", "memory", "s3"]


def no_sleep(seconds: float) -> None:
    """Backoff without the wait, so a test of retries takes no time."""


QUICK = RetryPolicy(attempts=3, sleep=no_sleep)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = start_moto_s3()
    yield server
    server.stop()


@pytest.fixture()
def s3_env(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> MotoS3:
    """Credentials and endpoint the way a user gives them: environment variables only."""
    for name, value in moto_s3.env().items():
        monkeypatch.setenv(name, value)
    return moto_s3


@pytest.fixture()
def memory_url() -> Iterator[str]:
    """A memory:// root no other test uses, emptied afterwards (the memory filesystem is process-wide)."""
    top = f"augcli-{uuid.uuid4().hex[:8]}"
    yield f"memory://{top}/root"
    for key in [k for k in MemoryFileSystem.store if k.startswith(f"/{top}/")]:
        del MemoryFileSystem.store[key]


@pytest.fixture()
def s3_url(s3_env: MotoS3) -> Iterator[str]:
    top = f"{s3_env.bucket}/{uuid.uuid4().hex[:8]}"
    yield f"s3://{top}/root"
    store = FsspecStore(f"s3://{top}")
    if store.fs.exists(top):
        store.fs.rm(top, recursive=True)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """The same tests on every kind of store: what a caller sees must not depend on where bytes live."""
    if request.param == "local":
        return open_store(tmp_path / "root")
    url = request.getfixturevalue("memory_url" if request.param == "memory" else "s3_url")
    return FsspecStore(url, retry=QUICK)
