"""Without fsspec (a plain `pip install augcli`): help and local runs work, URLs name the extra to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "natural"

RECIPE = """\
augcli: 1
name: no-fsspec
domain: natural
seed: 3
copies: 1
preprocess:
  - SmallestMaxSize: {max_size: 64}
augment:
  - HorizontalFlip: {p: 0.5}
"""


@pytest.fixture()
def without_fsspec(tmp_path: Path) -> dict[str, str]:
    """An environment where `import fsspec` (and the cloud packages) fail as if never installed."""
    shim = tmp_path / "shim"
    for package in ("fsspec", "s3fs", "gcsfs", "adlfs"):
        (shim / package).mkdir(parents=True)
        (shim / package / "__init__.py").write_text(f'raise ImportError("no module named {package}")\n')
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])}


def _augcli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "augcli.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_help_and_a_local_run_need_no_fsspec(without_fsspec: dict[str, str], tmp_path: Path) -> None:
    probe = subprocess.run([sys.executable, "-c", "import fsspec"], env=without_fsspec, capture_output=True)
    assert probe.returncode != 0  # the shim works
    assert _augcli(without_fsspec, "--help").returncode == 0
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    out = tmp_path / "out"
    done = _augcli(without_fsspec, "run", str(recipe), "-i", str(SAMPLES), "-o", str(out), "-w", "1", "-q")
    assert done.returncode == 0, done.stderr
    sources = sorted(p.relative_to(SAMPLES) for p in (SAMPLES / "train").rglob("*.jpg"))
    assert sources
    for rel in sources:
        assert (out / rel.parent / f"{rel.stem}__aug001.jpg").is_file()
    assert (out / "manifest.jsonl").is_file()


def test_a_url_without_fsspec_names_the_extra(without_fsspec: dict[str, str]) -> None:
    code = (
        "from augcli.errors import AugcliError\n"
        "from augcli.store import open_store\n"
        "for url in ('s3://bucket/in', 'gs://bucket/in', 'az://box/in', 'memory://in'):\n"
        "    try:\n"
        "        open_store(url)\n"
        "    except AugcliError as exc:\n"
        "        print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=without_fsspec, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "s3:// locations need s3fs: pip install 'augcli[s3]' (s3://bucket/in)",
        "gs:// locations need gcsfs: pip install 'augcli[gcs]' (gs://bucket/in)",
        "az:// locations need adlfs: pip install 'augcli[azure]' (az://box/in)",
        "memory:// locations need fsspec: pip install 'augcli[fsspec]' (memory://in)",
    ]
