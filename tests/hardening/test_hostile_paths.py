"""Paths no system accepts, output folders that cannot be made, file names that are not UTF-8
(issue 13, item 10)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import PHOTOS, invoke

LONG = "x" * 300  # one component over NAME_MAX (255 bytes)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        (f"extends: {LONG}/base.yaml", "r.yaml:3:"),
        (f"input: {LONG}", "r.yaml:3:"),
        (f"output: {{path: {LONG}/o}}", "r.yaml:3:"),
    ],
)
def test_a_recipe_path_over_255_bytes_is_a_located_error(tmp_path: Path, line: str, where: str) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"augcli: 1\nname: long\n{line}\naugment: [HorizontalFlip]\n", encoding="utf-8")
    for command in (["validate-recipe", "-q"], ["run", "-w", "1", "-q"]):
        result = invoke(*command, str(recipe))
        assert result.exit_code == 2, result.output
        assert "a path component is 300 bytes long" in result.output and where in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("option", ["-i", "-o"])
def test_a_command_line_path_over_255_bytes_is_one_line(
    tmp_path: Path, photos: Path, recipe: Path, option: str
) -> None:
    other = ("-o", str(tmp_path / "out")) if option == "-i" else ("-i", str(photos))
    result = invoke("run", str(recipe), option, str(tmp_path / LONG), *other, "-q")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("augcli: error: a path component is 300 bytes long")
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("target", ["afile/sub", "/dev/null", "/proc/out"])
def test_an_output_folder_that_cannot_be_made_is_one_line(
    tmp_path: Path, photos: Path, recipe: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if target.startswith("/proc") and not Path("/proc").is_dir():
        pytest.skip("no /proc")
    monkeypatch.chdir(tmp_path)
    Path("afile").write_text("a file, not a folder")
    result = invoke("run", str(recipe), "-i", str(photos), "-o", target, "-w", "1", "-q")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("augcli: error: cannot write to the output folder: ")
    assert result.output.rstrip().endswith(f"({target})") and len(result.output.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the permissions")
def test_an_output_under_a_read_only_folder_is_one_line(tmp_path: Path, photos: Path, recipe: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        result = invoke("run", str(recipe), "-i", str(photos), "-o", str(parent / "out"), "-q")
    finally:
        parent.chmod(0o755)
    assert result.exit_code == 2 and "cannot write to the output folder: Permission denied" in result.output


def test_names_that_are_not_utf8_are_reported_and_the_rest_is_made(tmp_path: Path, photos: Path, recipe: Path) -> None:
    shutil.copy(PHOTOS[3], os.fsdecode(bytes(photos) + b"/caf\xe9.jpg"))
    folder = os.fsdecode(bytes(photos) + b"/d\xff")
    os.mkdir(folder)
    shutil.copy(PHOTOS[4], os.path.join(folder, "x.jpg"))
    out = tmp_path / "out"
    result = invoke("run", str(recipe), "-i", str(photos), "-o", str(out), "-w", "1", "-q")
    assert result.exit_code == 1, result.output
    assert "failed: caf\\xe9.jpg: file name is not valid UTF-8; rename it to include it" in result.output
    assert "failed: d\\xff/: folder name is not valid UTF-8" in result.output
    assert "UnicodeEncodeError" not in result.output
    assert len(list(out.glob("*.jpg"))) == 6  # the three others, each with its copy
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert {f["source"] for f in record["failures"]} == {"caf\\xe9.jpg", "d\\xff/"}
    stats = invoke("stats", str(photos), "--split", "all")
    assert "UnicodeEncodeError" not in stats.output and "Traceback" not in stats.output


def test_an_output_the_system_refuses_to_make_is_one_line(
    tmp_path: Path, photos: Path, recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a read-only or foreign folder does for a user without root (root makes folders anywhere)."""
    parent = tmp_path / "ro"
    parent.mkdir()
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self.is_relative_to(parent):
            raise PermissionError(13, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", mkdir)
    result = invoke("run", str(recipe), "-i", str(photos), "-o", str(parent / "out"), "-w", "1", "-q")
    assert result.exit_code == 2, result.output
    assert result.output == f"augcli: error: cannot write to the output folder: Permission denied ({parent / 'out'})\n"
