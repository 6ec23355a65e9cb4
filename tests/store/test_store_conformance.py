"""Every Store method behaves the same on the local disk, on memory:// and on S3 (moto)."""

from __future__ import annotations

import os
import pickle
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from augcli.errors import AugcliError
from augcli.store import Store, open_store
from augcli.store.base import LogWriter

DATA = Path(__file__).resolve().parents[1] / "data"
CAMERA = (DATA / "camera.png").read_bytes()


def test_put_then_read_back_the_same_bytes(store: Store) -> None:
    assert not store.exists()
    assert store.put("train/cat/camera.png", CAMERA) == len(CAMERA)
    assert store.exists() and store.exists("train") and store.exists("train/cat/camera.png")
    assert store.is_file("train/cat/camera.png") and not store.is_file("train")
    assert store.read_bytes("train/cat/camera.png") == CAMERA
    assert store.size("train/cat/camera.png") == len(CAMERA)


def test_put_replaces_an_object_whole(store: Store) -> None:
    store.put("a.txt", b"first version, longer than the second")
    store.put("a.txt", b"second")
    assert store.read_bytes("a.txt") == b"second"


def test_missing_objects(store: Store) -> None:
    store.put("here.txt", b"x")
    assert not store.exists("gone.txt") and not store.is_file("gone.txt")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("gone.txt")
    with pytest.raises(FileNotFoundError):
        store.size("gone.txt")
    store.remove("gone.txt")  # nothing to delete is not an error
    assert store.listdir("gone") == []
    assert store.listdir("here.txt") == []  # a file is not a folder


def test_listing_walk_and_glob(store: Store) -> None:
    for rel in ["b.jpg", "a/x.jpg", "a/sub/y.jpg", "a/sub/z.jpg", "c/w.jpg", "manifest.jsonl", "run.json"]:
        store.put(rel, rel.encode())
    assert store.listdir() == ["a", "b.jpg", "c", "manifest.jsonl", "run.json"]
    assert store.listdir("a") == ["sub", "x.jpg"]
    assert list(store.walk_files()) == [
        "b.jpg",
        "manifest.jsonl",
        "run.json",
        "a/x.jpg",
        "a/sub/y.jpg",
        "a/sub/z.jpg",
        "c/w.jpg",
    ]
    assert store.glob("*.json*") == ["manifest.jsonl", "run.json"]
    assert store.glob("*") == ["b.jpg", "manifest.jsonl", "run.json"]  # files only, like the local store


def test_a_sibling_with_a_longer_name_is_not_inside_the_root(store: Store) -> None:
    store.put("in.txt", b"x")
    sibling = open_store(str(store.location) + "-other")
    sibling.put("out.txt", b"y")
    assert list(store.walk_files()) == ["in.txt"]
    assert store.listdir() == ["in.txt"]


def test_remove(store: Store) -> None:
    store.put("d/one.txt", b"1")
    store.put("d/two.txt", b"2")
    store.remove("d/one.txt")
    assert list(store.walk_files()) == ["d/two.txt"]
    assert store.remove_temporary() == 0


def test_a_failed_put_leaves_no_object_and_keeps_the_old_one(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.put("kept.txt", b"old")
    if store.local_path() is not None:
        monkeypatch.setattr(os, "replace", _fail_replace)
    else:
        monkeypatch.setattr(store.fs, "pipe_file", _drop_connection)  # type: ignore[attr-defined]
    with pytest.raises(AugcliError) as caught:
        store.put("new.txt", b"never seen")
    with pytest.raises(AugcliError):
        store.put("kept.txt", b"new")
    monkeypatch.undo()
    assert str(store.where("new.txt")) in str(caught.value)
    assert list(store.walk_files()) == ["kept.txt"]
    assert store.read_bytes("kept.txt") == b"old"
    assert store.remove_temporary() == 0  # the local store removed its temp file on the way out


def _fail_replace(src: object, dst: object) -> None:
    raise OSError(28, "No space left on device")


def _drop_connection(*args: object, **kwargs: object) -> None:
    raise ConnectionResetError(104, "Connection reset by peer")


def test_log_lines_come_back_in_write_order(store: Store) -> None:
    log = store.open_log("manifest.jsonl")
    assert isinstance(log, LogWriter)
    log.write(['{"output": "a"}', '{"output": "b"}'])
    log.write([])
    log.write(['{"output": "c", "note": "line\u2028separator"}'])
    log.close()
    assert list(store.read_log("manifest.jsonl")) == [
        '{"output": "a"}\n',
        '{"output": "b"}\n',
        '{"output": "c", "note": "line\u2028separator"}\n',
    ]


def test_two_writers_on_one_log_interleave_in_write_order(store: Store) -> None:
    first, second = store.open_log("manifest.jsonl"), store.open_log("manifest.jsonl")
    first.write(["1"])
    second.write(["2", "3"])
    first.write(["4"])
    second.write(["5"])
    first.close()
    second.close()
    assert [line.strip() for line in store.read_log("manifest.jsonl")] == ["1", "2", "3", "4", "5"]


def test_a_log_shows_as_one_file(store: Store) -> None:
    log = store.open_log("manifest.shard-1-of-2.jsonl")
    log.write(["x", "y"])
    log.write(["z"])
    log.close()
    store.put("image.png", CAMERA)
    name = "manifest.shard-1-of-2.jsonl"
    assert store.listdir() == ["image.png", name]
    assert store.glob("manifest*.jsonl") == [name]
    assert list(store.walk_files()) == ["image.png", name]
    assert store.exists(name) and store.is_file(name)
    assert store.read_bytes(name) == b"x\ny\nz\n"
    assert store.size(name) == 6


def test_a_log_appends_after_lines_already_there(store: Store) -> None:
    store.put("manifest.jsonl", b"from before\n")
    log = store.open_log("manifest.jsonl")
    log.write(["added"])
    log.close()
    assert list(store.read_log("manifest.jsonl")) == ["from before\n", "added\n"]


def test_a_torn_last_line_is_returned_for_the_reader_to_skip(store: Store) -> None:
    store.put("manifest.jsonl", b'{"output": "a"}\n{"outp')
    assert list(store.read_log("manifest.jsonl")) == ['{"output": "a"}\n', '{"outp']


def test_remove_log_and_remove_delete_every_part(store: Store) -> None:
    for name in ("manifest.jsonl", "manifest.shard-0-of-2.jsonl"):
        log = store.open_log(name)
        log.write(["a"])
        log.write(["b"])
        log.close()
    store.remove_log("manifest.jsonl")
    store.remove("manifest.shard-0-of-2.jsonl")
    assert list(store.read_log("manifest.jsonl")) == []
    assert not store.exists("manifest.jsonl")
    assert list(store.walk_files()) == []


def test_a_new_line_after_a_torn_one_starts_on_its_own_line(store: Store) -> None:
    store.put("manifest.jsonl", b'{"output": "a"}\n{"outp')
    log = store.open_log("manifest.jsonl")
    log.write(['{"output": "b"}'])
    log.close()
    assert [line.strip() for line in store.read_log("manifest.jsonl")][-1] == '{"output": "b"}'


def test_replace_log_leaves_exactly_the_given_lines_in_one_object(store: Store) -> None:
    log = store.open_log("manifest.jsonl")
    log.write(["b", "a"])
    log.write(["c"])
    log.close()
    store.replace_log("manifest.jsonl", (line + "\n" for line in ["a", "b", "c"]))
    assert list(store.read_log("manifest.jsonl")) == ["a\n", "b\n", "c\n"]
    assert store.read_bytes("manifest.jsonl") == b"a\nb\nc\n"
    assert list(store.walk_files()) == ["manifest.jsonl"]


def test_put_lines_streams_one_object(store: Store) -> None:
    assert store.put_lines("sub/labels.csv", iter(["x,1\n", "y,2\n"])) == 8
    assert store.read_bytes("sub/labels.csv") == b"x,1\ny,2\n"


def test_a_missing_log_reads_as_empty(store: Store) -> None:
    assert list(store.read_log("manifest.jsonl")) == []


def test_store_pickles_and_reopens_the_same_root(store: Store) -> None:
    store.put("a/b.txt", b"payload")
    copy = pickle.loads(pickle.dumps(open_store(store.location)))
    assert copy.location == store.location
    assert copy.read_bytes("a/b.txt") == b"payload"


_NAMES = st.sampled_from(["a", "b", "a.jpg", "b.png", "A.jpg", "a b.jpg", "z", "_x.txt", "é.jpg"])


def _no_file_is_a_folder(paths: list[str]) -> bool:
    folders = {"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)}
    return not folders & set(paths)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_NAMES, min_size=1, max_size=3).map("/".join), min_size=1, max_size=8, unique=True))
def test_memory_lists_any_tree_as_the_local_disk_does(paths: list[str]) -> None:
    assume(_no_file_is_a_folder(paths))
    with tempfile.TemporaryDirectory() as tmp:
        local = open_store(tmp)
        memory = open_store(f"memory://augcli-hypothesis-{uuid.uuid4().hex[:8]}")
        for rel in paths:
            local.put(rel, rel.encode())
            memory.put(rel, rel.encode())
        assert list(memory.walk_files()) == list(local.walk_files())
        folders = {"", *("/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1))}
        for folder in sorted(folders):
            assert memory.listdir(folder) == local.listdir(folder)
        assert memory.glob("*.jpg") == local.glob("*.jpg")
        for rel in paths:
            memory.remove(rel)
        assert list(memory.walk_files()) == []
