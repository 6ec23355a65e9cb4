"""The fsspec store's own promises: lazy imports, install hints, retries with backoff, one-line errors."""

from __future__ import annotations

import errno
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import fsspec
import pytest
from conftest import QUICK
from fsspec.implementations.memory import MemoryFileSystem
from fsspec.registry import _registry as fsspec_classes

from augcli.errors import StoreError, UsageError
from augcli.store import open_store
from augcli.store.fsspec import FsspecStore
from augcli.store.retry import RetryPolicy, is_transient


def test_importing_augcli_imports_no_fsspec() -> None:
    code = "import sys, augcli.cli, augcli.store; print(sorted(m for m in ('fsspec', 's3fs') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_urls_open_an_fsspec_store_and_folders_a_local_one(memory_url: str, tmp_path: Any) -> None:
    assert isinstance(open_store(memory_url), FsspecStore)
    assert open_store(tmp_path).local_path() == tmp_path
    assert open_store(tmp_path, {"anon": True}).local_path() == tmp_path  # options are for the remote side
    assert open_store(memory_url).local_path() is None


def test_an_unknown_scheme_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"no store for 'nosuchfs://' locations \(neither augcli nor fsspec"):
        open_store("nosuchfs://bucket/data")


@pytest.mark.parametrize(
    ("url", "package", "extra"),
    [
        ("s3://bucket/in", "s3fs", "s3"),
        ("gs://bucket/in", "gcsfs", "gcs"),
        ("az://container/in", "adlfs", "azure"),
        ("abfs://container/in", "adlfs", "azure"),
    ],
)
def test_a_missing_filesystem_package_names_the_extra(
    url: str, package: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # `import package` now fails as if not installed
    scheme = url.split("://")[0]
    monkeypatch.delitem(fsspec_classes, scheme, raising=False)  # forget a class already imported
    with pytest.raises(UsageError) as caught:
        open_store(url)
    assert str(caught.value) == f"{scheme}:// locations need {package}: pip install 'augcli[{extra}]' ({url})"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bucket/in", "s3:// locations need s3fs: pip install 'augcli[s3]'"),
        ("memory://in", "memory:// locations need fsspec: pip install 'augcli[fsspec]'"),
        ("hf://datasets/x", "no store for 'hf://' locations (fsspec may know it: pip install 'augcli[fsspec]')"),
    ],
)
def test_without_fsspec_the_error_names_the_extra(url: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(UsageError) as caught:
        open_store(url)
    assert str(caught.value) == f"{message} ({url})"


class FlakyFileSystem(MemoryFileSystem):
    """A memory filesystem that raises the queued failures, one per call, before doing the call."""

    protocol = "augcli-flaky"
    store: ClassVar[dict[str, Any]] = {}
    pseudo_dirs: ClassVar[list[str]] = [""]
    failures: ClassVar[list[BaseException]] = []
    calls: ClassVar[list[str]] = []

    def _maybe_fail(self, op: str) -> None:
        self.calls.append(op)
        if self.failures:
            raise self.failures.pop(0)

    def cat_file(self, path: str, *args: Any, **kwargs: Any) -> bytes:
        self._maybe_fail("cat_file")
        return super().cat_file(path, *args, **kwargs)

    def pipe_file(self, path: str, *args: Any, **kwargs: Any) -> None:
        self._maybe_fail("pipe_file")
        super().pipe_file(path, *args, **kwargs)

    def ls(self, path: str, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail("ls")
        return super().ls(path, *args, **kwargs)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        self._maybe_fail("info")
        return super().info(path, **kwargs)


class Naps:
    """Records the backoff waits instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture()
def flaky() -> Iterator[type[FlakyFileSystem]]:
    fsspec.register_implementation(FlakyFileSystem.protocol, FlakyFileSystem, clobber=True)
    yield FlakyFileSystem
    FlakyFileSystem.store.clear()
    FlakyFileSystem.failures.clear()
    FlakyFileSystem.calls.clear()


def _reset() -> ConnectionResetError:
    return ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")


def test_transient_failures_are_retried_with_growing_waits(flaky: type[FlakyFileSystem]) -> None:
    naps = Naps()
    store = FsspecStore("augcli-flaky://bucket/ds", retry=RetryPolicy(attempts=4, sleep=naps))
    flaky.failures[:] = [_reset(), TimeoutError("read timed out")]
    store.put("a.jpg", b"bytes")
    flaky.failures[:] = [_reset(), _reset(), _reset()]
    assert store.read_bytes("a.jpg") == b"bytes"
    assert flaky.calls == ["pipe_file"] * 3 + ["cat_file"] * 4
    first, second, third = naps.waits[2:]
    assert 0.125 <= first <= 0.25 and 0.25 <= second <= 0.5 and 0.5 <= third <= 1.0


def test_retries_are_bounded_and_the_error_names_the_url(flaky: type[FlakyFileSystem]) -> None:
    store = FsspecStore("augcli-flaky://bucket/ds", retry=QUICK)
    flaky.failures[:] = [_reset() for _ in range(10)]
    with pytest.raises(StoreError) as caught:
        store.put("train/a.jpg", b"bytes")
    assert str(caught.value) == (
        "cannot write: Connection reset by peer (gave up after 3 attempts) (augcli-flaky://bucket/ds/train/a.jpg)"
    )
    assert flaky.calls == ["pipe_file"] * 3
    flaky.failures.clear()
    assert not store.exists("train/a.jpg")


def test_the_retried_log_writer_never_duplicates_a_part(flaky: type[FlakyFileSystem]) -> None:
    store = FsspecStore("augcli-flaky://bucket/ds", retry=QUICK)
    log = store.open_log("manifest.jsonl")
    flaky.failures[:] = [_reset()]
    log.write(["one"])
    log.write(["two"])
    assert list(store.read_log("manifest.jsonl")) == ["one\n", "two\n"]


class Refused(OSError):
    """What s3fs raises for an HTTP error, with botocore's response attached."""

    def __init__(self, status: int, code: str = ""):
        super().__init__(errno.EIO, f"{status} {code}".strip())
        self.response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}


@pytest.mark.parametrize(
    ("failure", "tries"),
    [
        (PermissionError("Forbidden"), 1),
        (Refused(403, "AccessDenied"), 1),
        (Refused(400, "InvalidArgument"), 1),
        (Refused(503), 3),
        (Refused(400, "SlowDown"), 3),
        (OSError(errno.EBUSY, "SlowDown"), 3),
    ],
)
def test_only_transient_failures_are_retried(failure: BaseException, tries: int, flaky: type[FlakyFileSystem]) -> None:
    store = FsspecStore("augcli-flaky://bucket/ds", retry=QUICK)
    flaky.failures[:] = [failure] * 5
    with pytest.raises(StoreError) as caught:
        store.put("x.jpg", b"x")
    assert flaky.calls == ["pipe_file"] * tries
    assert "\n" not in str(caught.value) and str(caught.value).endswith("(augcli-flaky://bucket/ds/x.jpg)")


def test_not_found_is_an_answer_not_a_failure(flaky: type[FlakyFileSystem]) -> None:
    store = FsspecStore("augcli-flaky://bucket/ds", retry=QUICK)
    with pytest.raises(FileNotFoundError, match=r"augcli-flaky://bucket/ds/none\.jpg"):
        store.read_bytes("none.jpg")
    assert flaky.calls == ["cat_file", "ls"]  # the object, then whether it is a log kept in parts


def test_access_denied_says_so_in_one_line(flaky: type[FlakyFileSystem]) -> None:
    store = FsspecStore("augcli-flaky://bucket/ds", retry=QUICK)
    flaky.failures[:] = [PermissionError("The AWS Access Key Id you provided does not exist in our records.")]
    with pytest.raises(StoreError) as caught:
        store.exists()
    assert str(caught.value) == (
        "cannot read: access denied, check the credentials and permissions: The AWS Access Key Id you "
        "provided does not exist in our records. (augcli-flaky://bucket/ds)"
    )


class Unhealthy(Exception):
    """Client libraries' own error types: recognised by their HTTP status or by name."""

    def __init__(self, status: int | None = None):
        super().__init__("unhealthy")
        self.status_code = status


class EndpointConnectionError(Exception):
    pass


class ReadTimeoutError(Exception):
    pass


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionResetError(), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (OSError(errno.ETIMEDOUT, "timed out"), True),
        (OSError(errno.EBUSY, "SlowDown"), True),
        (Refused(500, "InternalError"), True),
        (Refused(429), True),
        (Unhealthy(502), True),
        (Unhealthy(404), False),
        (EndpointConnectionError(), True),
        (ReadTimeoutError(), True),
        (FileNotFoundError(), False),
        (PermissionError(), False),
        (Refused(403), False),
        (Refused(404, "NoSuchKey"), False),
        (ValueError("bad"), False),
        (OSError(errno.ENOSPC, "full"), False),
    ],
)
def test_which_failures_are_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_a_translated_error_is_judged_by_its_cause() -> None:
    try:
        try:
            raise Refused(503, "ServiceUnavailable")
        except Refused as cause:
            raise OSError(errno.EIO, "Service Unavailable") from cause
    except OSError as exc:
        assert is_transient(exc)


def test_a_filesystem_that_refuses_its_options_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class NeedsAccount(MemoryFileSystem):
        protocol = "augcli-needs-account"

        def __init__(self, **options: Any):
            raise ValueError("Must provide either a connection_string or account_name with credentials!!")

    fsspec.register_implementation(NeedsAccount.protocol, NeedsAccount, clobber=True)
    with pytest.raises(UsageError) as caught:
        open_store("augcli-needs-account://c/x", {"anon": True})
    assert str(caught.value) == (
        "cannot open augcli-needs-account:// storage: Must provide either a connection_string or "
        "account_name with credentials!! (augcli-needs-account://c/x)"
    )
