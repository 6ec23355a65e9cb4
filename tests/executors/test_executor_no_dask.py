"""Without dask (a plain `pip install augcli`): help and local runs work, `--executor dask` names the extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "natural"

RECIPE = """\
augcli: 1
name: no-dask
domain: natural
seed: 3
copies: 1
preprocess:
  - SmallestMaxSize: {max_size: 64}
augment:
  - HorizontalFlip: {p: 0.5}
"""


@pytest.fixture()
def without_dask(tmp_path: Path) -> dict[str, str]:
    """An environment where `import dask` and `import distributed` fail as if never installed."""
    shim = tmp_path / "shim"
    for package in ("dask", "distributed"):
        (shim / package).mkdir(parents=True)
        (shim / package / "__init__.py").write_text(
            f'raise ImportError("no module named {package}", name="{package}")\n'
        )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])}


def _augcli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "augcli.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_local_runs_need_no_dask_and_dask_runs_name_the_extra(without_dask: dict[str, str], tmp_path: Path) -> None:
    probe = subprocess.run([sys.executable, "-c", "import distributed"], env=without_dask, capture_output=True)
    assert probe.returncode != 0  # the shim works
    assert _augcli(without_dask, "run", "--help").returncode == 0
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    out = tmp_path / "out"
    done = _augcli(without_dask, "run", str(recipe), "-i", str(SAMPLES), "-o", str(out), "-w", "2", "-q")
    assert done.returncode == 0, done.stderr
    assert (out / "manifest.jsonl").is_file()
    other = str(tmp_path / "other")
    refused = _augcli(without_dask, "run", str(recipe), "-i", str(SAMPLES), "-o", other, "--executor", "dask", "-q")
    assert refused.returncode == 2
    assert refused.stderr == "augcli: error: --executor dask needs dask.distributed: pip install 'augcli[dask]'\n"
    assert not Path(other).exists()  # refused before anything was written
    stats = _augcli(without_dask, "stats", str(SAMPLES), "--executor", "dask")
    assert stats.returncode == 2 and "pip install 'augcli[dask]'" in stats.stderr
