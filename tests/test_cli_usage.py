"""The command line as a newcomer meets it: the command line wins over the recipe, one meaning per option
name, choices in help, `python -m augcli`, shell completion, and warnings for what export leaves out."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

import augcli
from augcli.cli import app

ROOT = Path(__file__).resolve().parents[1]
CHELSEA = ROOT / "samples" / "natural" / "train" / "animal" / "chelsea.jpg"
runner = CliRunner()


@pytest.fixture
def nowhere_recipe(tmp_path: Path) -> Path:
    """A recipe whose `input:` points at a folder that does not exist (as after moving a project)."""
    recipe = tmp_path / "moved.yaml"
    recipe.write_text(
        "augcli: 1\nname: moved\nextends: torchvision-small\ncopies: 1\ninput: ../gone/data\n", encoding="utf-8"
    )
    return recipe


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(CHELSEA, folder / "chelsea.jpg")
    return folder


def test_input_on_the_command_line_wins_over_a_missing_recipe_input(
    nowhere_recipe: Path, photos: Path, tmp_path: Path
) -> None:
    refused = runner.invoke(app, ["run", str(nowhere_recipe), "-o", str(tmp_path / "o"), "-w", "1", "-q"])
    assert refused.exit_code == 2 and "input folder does not exist" in refused.stderr
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(nowhere_recipe), "-i", str(photos), "-o", str(out), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("chelsea*.jpg"))) == 2, "the original and one copy, from --input"


def test_preview_of_given_images_or_input_does_not_check_the_recipe_input(
    nowhere_recipe: Path, photos: Path, tmp_path: Path
) -> None:
    for extra in (["-i", str(photos)], [str(photos / "chelsea.jpg")]):
        sheet = tmp_path / f"sheet{len(extra[0])}.png"
        result = runner.invoke(app, ["preview", str(nowhere_recipe), *extra, "--copies", "1", "-o", str(sheet)])
        assert result.exit_code == 0, result.output
        assert sheet.is_file()


def test_export_reads_no_dataset_so_a_missing_input_is_fine(nowhere_recipe: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(nowhere_recipe), "--split", "eval", "-o", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["transform"]["transforms"]


def test_export_and_load_pipeline_warn_that_mix_is_left_out(nowhere_recipe: Path) -> None:
    result = runner.invoke(app, ["export", "torchvision-general", "--split", "train"])
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("augcli: warning:")]
    assert "MixUp (p 0.5, alpha 0.2) and CutMix (p 0.5, alpha 1)" in warning
    assert "left out" in warning and "torchvision.transforms.v2.MixUp/CutMix" in warning
    with pytest.warns(UserWarning, match=r"recipe 'moved' mixes images \(MixUp \(p 0.5, alpha 0.2\)\)"):
        augcli.load_pipeline(nowhere_recipe, split="train")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        augcli.load_pipeline(nowhere_recipe, split="eval")  # eval never mixes: nothing is left out
        augcli.load_pipeline("natural", split="train")
    quiet = runner.invoke(app, ["export", "natural", "--split", "train"])
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr


@pytest.mark.parametrize("command", ["preview", "stats", "export", "schema", "run"])
def test_o_means_output_in_every_command(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^  -o, --output\b", result.stdout, flags=re.MULTILINE), result.stdout


def test_help_shows_choices_and_names_not_python_types() -> None:
    shown = {c: runner.invoke(app, [c, "--help"]).stdout for c in ("run", "preview", "stats", "export", "init")}
    assert "--layout [auto|flat|classes|splits|split-classes]" in shown["run"]
    assert "--to [same|voc|coco|yolo|labelme|cvat|yolo-obb|dota]" in shown["run"]
    assert "--split [train|val|test|all]" in shown["stats"]
    assert "--split [train|eval]" in shown["export"]
    assert "IMAGE_OR_FOLDER" in shown["preview"]
    for text in shown.values():
        assert not re.search(r"<[a-z][^>]*>", text), re.findall(r"<[a-z][^>]*>", text)


def test_python_m_augcli_is_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "augcli", "presets"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "fundus"
    bad = subprocess.run([sys.executable, "-m", "augcli", "nosuch"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("augcli: error:")


def test_shell_completion_is_offered() -> None:
    top = runner.invoke(app, ["--help"])
    assert "--install-completion" in top.stdout and "--show-completion" in top.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "augcli", "--show-completion", "bash"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "complete" in shown.stdout and "_AUGCLI_COMPLETE" in shown.stdout.upper()
