"""Every file a set of runs writes is byte-identical to the hashes recorded before a refactor.

Images and label files must never change without a reason; manifests are compared separately, so a
change to what a record says (not to what a run writes) shows up as its own failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scenarios import SCENARIOS, run_scenario

GOLDEN = json.loads((Path(__file__).resolve().parent / "hashes.json").read_text(encoding="utf-8"))


def _split(hashes: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    manifests = {k: v for k, v in hashes.items() if k.startswith("manifest")}
    return {k: v for k, v in hashes.items() if k not in manifests}, manifests


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_outputs_unchanged(name: str, tmp_path: Path) -> None:
    files, manifests = _split(run_scenario(name, tmp_path))
    want_files, want_manifests = _split(GOLDEN[name])
    assert sorted(files) == sorted(want_files), "a different set of files was written"
    changed = sorted(k for k in files if files[k] != want_files[k])
    assert not changed, f"{len(changed)} files changed bytes, e.g. {changed[:5]}"
    assert manifests == want_manifests, "the manifest's records changed"
