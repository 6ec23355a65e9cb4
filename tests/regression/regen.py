"""Rewrite tests/regression/hashes.json from the current code (`make regression-golden`)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenarios import SCENARIOS, run_scenario


def main() -> None:
    hashes = {}
    for name in SCENARIOS:
        with tempfile.TemporaryDirectory() as tmp:
            hashes[name] = run_scenario(name, Path(tmp))
        print(f"{name}: {len(hashes[name])} files", file=sys.stderr)
    target = Path(__file__).resolve().parent / "hashes.json"
    target.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
