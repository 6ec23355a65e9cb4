"""Against a real S3 API (moto's server on 127.0.0.1, checking credentials) through s3fs."""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from multiprocessing.queues import Queue
from typing import Any

import pytest
from conftest import QUICK
from moto_s3 import REGION, MotoS3, free_port

from augcli.errors import StoreError
from augcli.store import Store, open_store, parse_storage_options
from augcli.store.fsspec import FsspecStore


def test_credentials_and_endpoint_from_the_environment(s3_url: str) -> None:
    store = open_store(s3_url)
    assert isinstance(store, FsspecStore)
    store.put("train/cat/001.jpg", b"\xff\xd8jpeg")
    log = store.open_log("manifest.jsonl")
    log.write(['{"output": "train/cat/001__aug001.jpg"}'])
    log.close()
    again = open_store(s3_url)
    assert list(again.walk_files()) == ["manifest.jsonl", "train/cat/001.jpg"]
    assert again.read_bytes("train/cat/001.jpg") == b"\xff\xd8jpeg"
    assert list(again.read_log("manifest.jsonl")) == ['{"output": "train/cat/001__aug001.jpg"}\n']


def test_credentials_and_endpoint_as_storage_options(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in moto_s3.env():
        monkeypatch.delenv(name, raising=False)
    options = parse_storage_options(
        [
            f"key={moto_s3.key}",
            f"secret={moto_s3.secret}",
            f"client_kwargs.endpoint_url={moto_s3.endpoint}",
            f"client_kwargs.region_name={REGION}",
        ]
    )
    store = open_store(f"s3://{moto_s3.bucket}/{uuid.uuid4().hex[:8]}", options)
    store.put("a.txt", b"via options")
    assert store.read_bytes("a.txt") == b"via options"
    store.remove("a.txt")
    assert not store.exists("a.txt")


def test_a_missing_bucket_is_empty_to_read_and_a_one_line_error_to_write(s3_env: MotoS3) -> None:
    store = open_store("s3://augcli-no-such-bucket/in")
    assert not store.exists()
    assert list(store.walk_files()) == []
    with pytest.raises(StoreError) as caught:
        store.put("a.jpg", b"x")
    assert str(caught.value) == (
        "cannot write: not found: The specified bucket does not exist (s3://augcli-no-such-bucket/in/a.jpg)"
    )


def test_bad_credentials_are_a_one_line_error_naming_the_url(s3_env: MotoS3) -> None:
    store = open_store(f"s3://{s3_env.bucket}/in", {"key": "AKIAWRONGWRONGWRONG1", "secret": "not-the-secret"})
    with pytest.raises(StoreError) as caught:
        store.exists()
    assert str(caught.value) == (
        f"cannot read: access denied, check the credentials and permissions: Forbidden (s3://{s3_env.bucket}/in)"
    )
    with pytest.raises(StoreError) as caught:
        store.put("a.jpg", b"x")
    assert str(caught.value) == (
        "cannot write: access denied, check the credentials and permissions: The AWS Access Key Id you provided "
        f"does not exist in our records. (s3://{s3_env.bucket}/in/a.jpg)"
    )


def test_an_unreachable_endpoint_gives_up_after_bounded_retries(s3_env: MotoS3) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    options = {"endpoint_url": dead, "config_kwargs": {"retries": {"max_attempts": 1}}}
    store = FsspecStore(f"s3://{s3_env.bucket}/in", options, retry=QUICK)
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        store.read_bytes("a.jpg")
    assert time.monotonic() - started < 30
    assert str(caught.value) == (
        f'cannot read: Could not connect to the endpoint URL: "{dead}/{s3_env.bucket}/in/a.jpg" '
        f"(gave up after 3 attempts) (s3://{s3_env.bucket}/in/a.jpg)"
    )


def test_parts_written_by_another_process_are_seen_at_once(s3_url: str) -> None:
    """Listings are not cached: resume reads the parts every worker wrote, not a listing from before."""
    reader = open_store(s3_url)
    writer = FsspecStore(s3_url, {"skip_instance_cache": True})  # its own client, as on another machine
    log = writer.open_log("manifest.jsonl")
    log.write(["early"])
    reader.put("image.jpg", b"x")
    assert list(reader.read_log("manifest.jsonl")) == ["early\n"]
    assert reader.listdir() == ["image.jpg", "manifest.jsonl"]
    log.write(["late"])
    writer.put("other.jpg", b"y")
    assert list(reader.read_log("manifest.jsonl")) == ["early\n", "late\n"]
    assert reader.listdir() == ["image.jpg", "manifest.jsonl", "other.jpg"]


def _read_in_child(store: Store, rel: str, answer: Queue[bytes | str]) -> None:
    try:
        answer.put(store.read_bytes(rel))
    except Exception as exc:
        answer.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="fork is a POSIX start method")
def test_a_store_inherited_by_a_forked_worker_still_works(s3_url: str) -> None:
    """The local pool forks its workers: a store opened in the parent must work in them."""
    store = open_store(s3_url)
    store.put("a.jpg", b"from the parent")
    ctx = mp.get_context("fork")
    answer: Queue[bytes | str] = ctx.Queue()
    child = ctx.Process(target=_read_in_child, args=(store, "a.jpg", answer))
    child.start()
    got = answer.get(timeout=60)
    child.join(timeout=60)
    assert got == b"from the parent"


def test_a_read_and_a_put_are_one_request_each(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-object cost is what bounds throughput on object storage: no HEAD before a GET."""
    store = open_store(s3_url)
    store.put("a.jpg", b"x" * 50_000)
    fs: Any = store.fs  # type: ignore[attr-defined]
    sent: list[str] = []
    original = fs._call_s3

    async def counted(method: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(method)
        return await original(method, *args, **kwargs)

    monkeypatch.setattr(fs, "_call_s3", counted)
    assert store.read_bytes("a.jpg") == b"x" * 50_000
    store.put("b.jpg", b"y" * 50_000)
    assert sent == ["get_object", "put_object"]
