"""Whole runs with the dataset and the outputs on memory:// and on S3 (moto), locally and on Dask:
the same bytes as a run between two folders, resume after a kill, one-line errors for bad storage."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import tree_hashes
from moto_s3 import REGION, MotoS3
from typer.testing import CliRunner

from augcli.cli import app
from augcli.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
NATURAL = ROOT / "samples" / "natural"

RECIPE = """\
augcli: 1
name: remote
domain: natural
seed: 5
copies: 2
output: {format: jpg, quality: 90}
preprocess:
  - SmallestMaxSize: {max_size: 72}
  - CenterCrop: {height: 72, width: 72}
augment:
  - HorizontalFlip: {p: 0.5}
  - Affine: {rotate: [-20, 20], p: 0.8}
  - RandomBrightnessContrast: {p: 0.8}
"""


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "recipe.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(recipe_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recipe run from folder to folder, in-process."""
    out = tmp_path_factory.mktemp("reference") / "out"
    result = CliRunner().invoke(app, ["run", str(recipe_file), "-i", str(NATURAL), "-o", str(out), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    return out


def upload(folder: Path, store: Store) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            store.put(path.relative_to(folder).as_posix(), path.read_bytes())


def store_hashes(store: Store) -> dict[str, str]:
    """`tree_hashes` for a store: every object but run*.json and manifests, by relative path."""
    return {
        rel: hashlib.sha256(store.read_bytes(rel)).hexdigest()
        for rel in store.walk_files()
        if not rel.rsplit("/", 1)[-1].startswith(("run", "manifest"))
    }


def same_as(store: Store, reference: Path) -> None:
    assert store_hashes(store) == tree_hashes(reference)
    assert store.read_bytes("manifest.jsonl") == (reference / "manifest.jsonl").read_bytes()


def s3_options(server: MotoS3) -> list[str]:
    """Credentials and endpoint as --storage-option: Dask workers started before the test have no
    environment for them, so this also proves the options travel with the task."""
    pairs = [
        f"key={server.key}",
        f"secret={server.secret}",
        f"client_kwargs.endpoint_url={server.endpoint}",
        f"client_kwargs.region_name={REGION}",
    ]
    return [arg for pair in pairs for arg in ("--storage-option", pair)]


def test_memory_in_and_out_writes_what_a_folder_run_writes(recipe_file: Path, reference: Path, memory_url: str) -> None:
    inputs, outputs = f"{memory_url}/in", f"{memory_url}/out"
    upload(NATURAL, open_store(inputs))
    result = CliRunner().invoke(app, ["run", str(recipe_file), "-i", inputs, "-o", outputs, "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    same_as(open_store(outputs), reference)
    run = json.loads(open_store(outputs).read_bytes("run.json"))
    assert run["status"] == "complete" and run["options"]["input"] == inputs


def test_s3_in_s3_out_on_dask_writes_what_a_folder_run_writes(
    recipe_file: Path, reference: Path, s3_url: str, s3_env: MotoS3, dask_cluster: Any
) -> None:
    inputs, outputs = f"{s3_url}/in", f"{s3_url}/out"
    upload(NATURAL, open_store(inputs))
    args = ["run", str(recipe_file), "-i", inputs, "-o", outputs, "-q", *s3_options(s3_env)]
    args += ["--executor", "dask", "--scheduler", dask_cluster.scheduler_address]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = open_store(outputs)
    same_as(out, reference)
    run = out.read_bytes("run.json").decode()
    assert s3_env.secret not in run  # storage options are recorded by name only
    assert json.loads(run)["options"]["storage_options"] == ["client_kwargs", "key", "secret"]
    stats_args = ["stats", inputs, "--json", *s3_options(s3_env)]
    on_dask = CliRunner().invoke(
        app, [*stats_args, "--executor", "dask", "--scheduler", dask_cluster.scheduler_address]
    )
    local = CliRunner().invoke(app, ["stats", str(NATURAL), "--json", "-w", "1"])
    assert on_dask.exit_code == 0 and local.exit_code == 0, on_dask.output
    remote_stats, local_stats = json.loads(on_dask.stdout), json.loads(local.stdout)
    assert remote_stats.pop("root") == inputs and local_stats.pop("root") == str(NATURAL)
    assert remote_stats == local_stats


def test_killed_run_on_s3_resumes_from_the_manifest_parts(
    recipe_file: Path, reference: Path, s3_url: str, s3_env: MotoS3
) -> None:
    inputs, outputs = f"{s3_url}/in", f"{s3_url}/out"
    upload(NATURAL, open_store(inputs))
    out = open_store(outputs)
    args = [sys.executable, "-m", "augcli.cli", "run", str(recipe_file), "-i", inputs, "-o", outputs, "-w", "2", "-q"]
    env = {**os.environ, **s3_env.env()}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while sum(1 for _ in out.read_log("manifest.jsonl")) < 6:
        assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads(out.read_bytes("run.json"))["status"] == "running"
    assert out.listdir("manifest.jsonl.augcli-parts")  # the manifest is still in parts
    resumed = subprocess.run([*args[:-3], "-w", "1", "-q"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    run = json.loads(out.read_bytes("run.json"))
    assert run["status"] == "complete" and run["counts"]["skipped_done"] >= 6
    same_as(out, reference)


def test_storage_problems_are_one_line_errors(recipe_file: Path, s3_url: str, s3_env: MotoS3, tmp_path: Path) -> None:
    def run(*args: str) -> tuple[int, list[str]]:
        done = subprocess.run(
            [sys.executable, "-m", "augcli.cli", "run", str(recipe_file), *args, "-w", "1", "-q"],
            env={**os.environ, **s3_env.env()},
            capture_output=True,
            text=True,
            timeout=300,
        )
        return done.returncode, done.stderr.splitlines()

    inputs = f"{s3_url}/in"
    upload(NATURAL / "val", open_store(inputs))
    missing = "s3://augcli-no-such-bucket/out"
    assert run("-i", inputs, "-o", missing) == (
        2,
        [f"augcli: error: cannot write: not found: The specified bucket does not exist ({missing}/run.json)"],
    )
    assert run("-i", "s3://augcli-no-such-bucket/in", "-o", str(tmp_path / "o")) == (
        2,
        ["augcli: error: input folder does not exist (s3://augcli-no-such-bucket/in)"],
    )
    wrong = ["--storage-option", "key=AKIAWRONGWRONGWRONG1", "--storage-option", "secret=nope"]
    code, lines = run("-i", inputs, "-o", str(tmp_path / "o2"), *wrong)
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("augcli: error: cannot read: access denied, check the credentials and permissions")
    assert run("-i", "gs://bucket/in", "-o", str(tmp_path / "o3")) == (
        2,
        ["augcli: error: gs:// locations need gcsfs: pip install 'augcli[gcs]' (gs://bucket/in)"],
    )
    assert run("-i", inputs, "-o", f"{inputs}/out") == (
        2,
        [f"augcli: error: output is inside the input; augcli never writes into its input ({inputs}/out)"],
    )
