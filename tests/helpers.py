"""Helpers shared by the test modules (pytest puts this folder on sys.path)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from augcli.pipeline import seed_pipeline


def seeded(transform: Any, seed: int) -> Any:
    """A transform or Compose given its own stream, the way augcli seeds each output."""
    seed_pipeline(transform, seed)
    return transform


def tree_hashes(
    folder: Path, *, skip: tuple[str, ...] = ("run", "manifest"), suffixes: tuple[str, ...] | None = None
) -> dict[str, str]:
    """SHA-256 of every file under `folder` by relative path, leaving out names starting with `skip`
    (by default run.json and manifests, which hold timings and paths) and keeping only `suffixes`."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not (skip and p.name.startswith(skip)) and (suffixes is None or p.suffix in suffixes)
    }
