"""Docs that cannot drift: the README names every command, preset, lint rule and own transform."""

from __future__ import annotations

from pathlib import Path

from augcli.cli import app
from augcli.recipe import preset_names
from augcli.recipe.lint import RULES
from augcli.transforms import AUGCLI_TRANSFORMS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_first_lines_are_the_two_fresh_machine_commands() -> None:
    head = README.splitlines()[:6]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_every_command_is_documented() -> None:
    commands = section("Commands")
    for info in app.registered_commands:
        name = info.name or info.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
        assert f"augcli {name}" in commands, name


def test_every_lint_rule_is_documented_with_its_reason() -> None:
    lint = section("Domain lint")
    for rule, why in RULES.items():
        assert f"| `{rule}` | {why} |" in lint, rule


def test_every_preset_and_own_transform_is_documented() -> None:
    presets = section("Presets")
    for name in preset_names():
        assert f"| `{name}` |" in presets, name
    own = section("augcli's own transforms")
    for name in AUGCLI_TRANSFORMS:
        assert f"`{name}`" in own, name
