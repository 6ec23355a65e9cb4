"""Find a dataset under an input store: its images, their splits and classes, and their labels."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

from augcli.datasets.base import Dataset, is_image
from augcli.datasets.registry import AUTO, detection_order, get_format, label_format_choices, unknown_name
from augcli.errors import UsageError
from augcli.store import Store, open_store, shown_path


def as_store(inputs: Store | str | Path) -> Store:
    """A store for a folder or URL; a store is used as it is."""
    return open_store(inputs) if isinstance(inputs, (str, Path)) else inputs


@dataclass
class Listing:
    """What a walk of the input found: its files, and what it could not read or followed elsewhere."""

    files: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (rel, why): folders, non-regular images
    links: dict[str, str] = field(default_factory=dict)  # rel -> real path, for each link followed


def list_files(inputs: Store) -> list[str]:
    """Every file under the root as a sorted POSIX relative path, hidden files and folders skipped."""
    return scan(inputs).files


def scan(inputs: Store) -> Listing:
    """`list_files`, with the folders and files it had to skip and the links it followed."""
    local = inputs.local_path()
    if local is not None:
        return _walk(local)
    return Listing(sorted(rel for rel in inputs.walk_files() if not any(_is_hidden(p) for p in rel.split("/"))))


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(root: Path) -> Listing:
    """A disk walk that never enters a hidden folder (a dataset's .git, .dvc) and reads each real folder
    once: a linked folder is followed unless it leads to a folder already read (a loop, `ln -s . self`).
    Only regular files are listed; an unreadable folder, or something named like an image that is not a
    file (a FIFO would block a reader forever, a broken link), is reported instead."""
    out = Listing()
    seen = {os.path.realpath(root)}
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            with os.scandir(root / rel_dir if rel_dir else root) as it:
                entries = sorted((e for e in it if not _is_hidden(e.name)), key=lambda e: e.name, reverse=True)
        except OSError as exc:
            out.unreadable.append((f"{rel_dir}/", f"cannot read folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            kind = _kind(entry)
            if kind in ("folder", "file") and not _is_utf8(entry.name):
                if kind == "folder" or is_image(rel):
                    shown = shown_path(rel) + ("/" if kind == "folder" else "")
                    out.unreadable.append((shown, f"{kind} name is not valid UTF-8; rename it to include it"))
                continue
            if kind == "folder":
                real = os.path.realpath(entry.path)
                if real in seen:
                    continue
                seen.add(real)
                pending.append(rel)
            elif kind == "file":
                out.files.append(rel)
            elif is_image(rel):
                out.unreadable.append((rel, kind))
            if kind in ("folder", "file") and entry.is_symlink():
                out.links[rel] = os.path.realpath(entry.path)
    out.files.sort()
    out.unreadable.sort()
    return out


def _is_utf8(name: str) -> bool:
    """A name the system gave as bytes that are not UTF-8 holds surrogates (os.fsdecode): it could be
    neither recorded (JSON, labels) nor shown faithfully, so such files and folders are reported."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(entry: os.DirEntry[str]) -> str:
    """folder, file, or why it is neither (links followed)."""
    try:
        if entry.is_dir():
            return "folder"
        if entry.is_file():
            return "file"
        mode = os.stat(entry.path).st_mode
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"not a regular file ({what}); skipped"


def discover_dataset(inputs: Store | str | Path, layout: str = "auto", label_format: str = AUTO) -> Dataset:
    """Images and their labels: the named format, or the first format that recognises the files (the
    class-folder layouts, `folders`, when none does)."""
    if label_format not in label_format_choices():
        raise unknown_name("label format", label_format, label_format_choices())
    store = as_store(inputs)
    if not store.exists():
        raise UsageError("input folder does not exist", store.where())
    if store.is_file(""):
        raise UsageError("input is not a folder", store.where())
    listing = scan(store)
    formats = detection_order() if label_format == AUTO else [get_format(label_format)]
    for fmt in formats:
        found = fmt.detect(store, listing.files, layout)
        if found is not None:
            return replace(found, unreadable=listing.unreadable, links=listing.links)
    raise UsageError(f"no {label_format} labels found (see README: label formats and layouts)", store.where())


def discover(inputs: Store | str | Path, layout: str = "auto") -> Dataset:
    """The images and their class folders, label files ignored (format `folders`)."""
    return discover_dataset(inputs, layout, "folders")
