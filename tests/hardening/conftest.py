"""Shared pieces of the hostile-input tests: a small real dataset, a recipe writer, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from augcli.cli import app

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = sorted((ROOT / "samples" / "natural" / "train").rglob("*.jpg"))

SMALL = """\
augcli: 1
name: hostile
seed: 1
copies: 1
preprocess:
  - SmallestMaxSize: {max_size: 48}
augment:
  - HorizontalFlip: {p: 0.5}
"""


def invoke(*args: str) -> Any:
    """The CLI as a user runs it; exceptions are the CLI's business (a traceback is a failed test)."""
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    """Three real photos in a flat folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    for src in PHOTOS[:3]:
        shutil.copy(src, folder / src.name)
    return folder


@pytest.fixture()
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path
