"""Find a dataset under an input store: its images, their splits and classes, and their labels."""

from __future__ import annotations

import os
from pathlib import Path

from augcli.datasets.base import Dataset
from augcli.datasets.registry import AUTO, detection_order, get_format, label_format_choices, unknown_name
from augcli.errors import UsageError
from augcli.store import Store, open_store


def as_store(inputs: Store | str | Path) -> Store:
    """A store for a folder or URL; a store is used as it is."""
    return open_store(inputs) if isinstance(inputs, (str, Path)) else inputs


def list_files(inputs: Store) -> list[str]:
    """Every file under the root as a sorted POSIX relative path, hidden files and folders skipped."""
    local = inputs.local_path()
    if local is not None:
        return _walk(local)
    return sorted(rel for rel in inputs.walk_files() if not any(_is_hidden(p) for p in rel.split("/")))


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(root: Path) -> list[str]:
    """A disk walk that follows linked folders and never enters a hidden one (a dataset's .git, .dvc)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            if not _is_hidden(name):
                out.append((rel_dir / name).as_posix())
    return sorted(out)


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
    files = list_files(store)
    formats = detection_order() if label_format == AUTO else [get_format(label_format)]
    for fmt in formats:
        found = fmt.detect(store, files, layout)
        if found is not None:
            return found
    raise UsageError(f"no {label_format} labels found (see README: label formats and layouts)", store.where())


def discover(inputs: Store | str | Path, layout: str = "auto") -> Dataset:
    """The images and their class folders, label files ignored (format `folders`)."""
    return discover_dataset(inputs, layout, "folders")
