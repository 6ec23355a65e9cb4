"""Every broken recipe in tests/recipes/broken fails with exactly the messages in its golden file.

The goldens are the user-visible text of `augcli validate-recipe`; refresh them with `make golden`
(tests/regen_golden.py) and review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from augcli.cli import app

BROKEN = Path(__file__).resolve().parent / "recipes" / "broken"
RECIPES = sorted(p.name for p in BROKEN.glob("*.yaml"))
ONE_MISTAKE = [r for r in RECIPES if r != "many_mistakes.yaml"]

LOCATED = re.compile(r"^(?P<file>[^:\s]+\.yaml):\d+:\d+: (error|warning): \S")
# Words of PyYAML's parser, pydantic's union branches and OpenCV's build paths, which a recipe author cannot act on.
JARGON = ("<block end>", "while parsing", "while scanning", "Input should be", "tuple[", "OpenCV(", "/io/opencv")


@pytest.fixture
def validate(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(BROKEN)
    runner = CliRunner()

    def run(name: str):
        return runner.invoke(app, ["validate-recipe", name])

    return run


def test_the_broken_folder_has_a_golden_for_every_recipe() -> None:
    goldens = sorted(p.name for p in BROKEN.glob("*.expected"))
    assert goldens == [Path(r).with_suffix(".expected").name for r in RECIPES]
    assert len(RECIPES) >= 20


@pytest.mark.parametrize("name", RECIPES)
def test_broken_recipe_matches_golden(validate, name: str) -> None:
    result = validate(name)
    golden = (BROKEN / name).with_suffix(".expected").read_text(encoding="utf-8")
    assert result.exit_code == 2, result.output
    assert result.stderr == golden


@pytest.mark.parametrize("name", RECIPES)
def test_every_problem_names_file_line_and_column(validate, name: str) -> None:
    lines = validate(name).stderr.splitlines()
    problems, verdict = lines[:-1], lines[-1]
    assert verdict.startswith(f"{name}: invalid (")
    assert problems
    for line in problems:
        match = LOCATED.match(line)
        assert match, line
        assert match["file"] in {name, *RECIPES}


@pytest.mark.parametrize("name", ONE_MISTAKE)
def test_one_mistake_gives_one_message(validate, name: str) -> None:
    assert validate(name).stderr.count(": error: ") == 1


def test_many_mistakes_are_all_reported_at_once(validate) -> None:
    result = validate("many_mistakes.yaml")
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 8, result.stderr
    assert result.stderr.splitlines()[-1] == "many_mistakes.yaml: invalid (8 errors, 0 warnings)"


def test_goldens_speak_plainly() -> None:
    for golden in sorted(BROKEN.glob("*.expected")):
        text = golden.read_text(encoding="utf-8")
        assert not [word for word in JARGON if word in text], f"{golden.name}: {text}"
