"""Rewrite tests/recipes/broken/*.expected from what `augcli validate-recipe` prints today.

Run by `make golden`, never by the test suite: a changed message is reviewed in the diff, then committed.
Each golden is the exact stderr of `augcli validate-recipe X.yaml`, run from the broken folder so that
paths in messages stay short and the same on every machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from typer.testing import CliRunner

from augcli.cli import app

BROKEN = Path(__file__).resolve().parent / "recipes" / "broken"
EXIT_INVALID = 2


def main() -> int:
    os.chdir(BROKEN)
    runner = CliRunner()
    recipes = sorted(BROKEN.glob("*.yaml"))
    changed = problems = 0
    for recipe in recipes:
        result = runner.invoke(app, ["validate-recipe", recipe.name])
        if result.exit_code != EXIT_INVALID:
            print(f"{recipe.name}: exit code {result.exit_code}, expected {EXIT_INVALID}", file=sys.stderr)
            problems += 1
            continue
        golden = recipe.with_suffix(".expected")
        old = golden.read_text(encoding="utf-8") if golden.exists() else None
        if old != result.stderr:
            golden.write_text(result.stderr, encoding="utf-8")
            changed += 1
            print(f"updated {golden.relative_to(BROKEN.parent.parent.parent)}")
    for stale in sorted(BROKEN.glob("*.expected")):
        if not stale.with_suffix(".yaml").exists():
            stale.unlink()
            print(f"removed {stale.name} (its recipe is gone)")
    print(f"{len(recipes)} broken recipes, {changed} golden files updated", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
