"""Fuzzing recipes (issue 13): random mutations of valid recipes, at the data level (keys, types, huge,
negative, NaN numbers, unicode, deep nesting) and at the text level (aliases, tags, BOM, CRLF, tabs,
duplicate keys, truncation). Properties: `validate-recipe` exits 0, 1 or 2 only, never with a traceback,
within 5 s; its `--json` report agrees with its text; a recipe it accepts runs on a 3-image dataset
without a traceback, a hang or runaway memory.

CI runs a derandomised profile with a small, fixed number of examples (the whole file well under 60 s);
`make fuzz` runs the `long` profile (AUGCLI_FUZZ=long), random and far longer.
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PHOTOS, SMALL
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from augcli import registry
from augcli.cli import app

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PROFILE = os.environ.get("AUGCLI_FUZZ", "ci")  # applied to these tests only, not loaded for the session
VALIDATE_EXAMPLES = 100 if PROFILE == "ci" else 3000
RUN_EXAMPLES = 40 if PROFILE == "ci" else 1000

RICH = """\
augcli: 1
name: rich
domain: natural
description: a bit of everything
seed: 3
copies: 2
output: {format: png}
labels: {min_visibility: 0.1}
preprocess:
  - LongestMaxSize: {max_size: 64}
  - PadIfNeeded: {min_height: 64, min_width: 64, border_mode: 0}
augment:
  - OneOf:
      transforms:
        - Rotate: {limit: [-10, 10], p: 1}
        - Affine: {scale: [0.9, 1.1], p: 1}
      p: 0.8
  - RandomBrightnessContrast: {brightness_limit: 0.2, contrast_limit: 0.2, p: 0.5}
  - CoarseDropout: {num_holes_range: [1, 4], hole_height_range: [4, 8], hole_width_range: [4, 8], p: 0.5}
  - RandAugment: {num_ops: 2}
mix: {p_mixup: 0.2, mixup_alpha: 0.4}
"""
BASES = [SMALL, RICH]

NUMBERS = [-(2**63), -1, 0, 1, 2, 3, 5, 16, 64, 255, 256, 1000, 10**9, 2**31, 2**63, 10**30]
FLOATS = [0.0, -0.5, 0.5, 1.5, 1e-300, 1e308, -1e308, math.nan, math.inf, -math.inf]
WORDS = ["", "p", "HorizontalFlip", "transforms", "OneOf", "ÿ", "日本語", "\u202e", "a\x00b", "${HOME}", "~", "null"]
values = st.recursive(
    st.one_of(
        st.sampled_from(NUMBERS),
        st.sampled_from(FLOATS),
        st.sampled_from(WORDS),
        st.text(max_size=8),
        st.booleans(),
        st.none(),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(WORDS), inner, max_size=2)),
    max_leaves=6,
)


def _slots(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the tree a value sits (a key of a mapping, an index of a list)."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        found.append((*path, key))
        found.extend(_slots(child, (*path, key)))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def mutated_data(draw: st.DrawFn) -> str:
    data = yaml.safe_load(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(data)
        path = draw(st.sampled_from(slots))
        parent, key = _parent(data, path), path[-1]
        action = draw(st.sampled_from(["replace", "delete", "add", "deepen", "rename", "wrap"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from([*WORDS, "copies", "seed", "p", "limit", "extends", "input"]))] = draw(values)
        elif action == "deepen":
            depth = draw(st.integers(2, 120))
            value: Any = parent[key]
            for _ in range(depth):
                value = [value]
            parent[key] = value
        elif action == "rename" and isinstance(parent, dict) and isinstance(key, str):
            parent[key[:-1] or "x"] = parent.pop(key)
        elif action == "wrap":
            parent[key] = {str(key): parent[key]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


_STEPS = sorted(name for name, cls in registry.catalogue().items() if not registry.is_composition(cls))
plausible = st.one_of(
    st.integers(-3, 300),
    st.floats(-2, 2, allow_nan=False),
    st.tuples(st.integers(-3, 64), st.integers(-3, 64)),
    st.tuples(st.floats(-1, 1), st.floats(-1, 1)),
    st.booleans(),
    st.sampled_from(NUMBERS + FLOATS),
)


@st.composite
def catalogue_recipe(draw: st.DrawFn) -> str:
    """One transform of the catalogue after a small resize, with up to two parameters set to plausible
    (or extreme) values: recipes that validate often, so that `run` is exercised across the catalogue."""
    name = draw(st.sampled_from(_STEPS))
    accepted = [k for k in registry.init_parameters(registry.catalogue()[name]) if k not in ("p", "strict")]
    params: dict[str, Any] = {"p": 1}
    for key in draw(st.lists(st.sampled_from(accepted), max_size=2, unique=True)) if accepted else []:
        params[key] = draw(plausible)
    data = {"augcli": 1, "name": "step", "seed": 1, "copies": 1}
    data |= {"preprocess": [{"SmallestMaxSize": {"max_size": 48}}], "augment": [{name: params}]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _tabs(text: str, line: int) -> str:
    lines = text.split("\n")
    lines[line % len(lines)] = re.sub(r"^  ", "\t", lines[line % len(lines)])
    return "\n".join(lines)


def _duplicate(text: str, line: int) -> str:
    lines = text.split("\n")
    return "\n".join([*lines[: line % len(lines) + 1], lines[line % len(lines)], *lines[line % len(lines) + 1 :]])


def _alias(text: str) -> str:
    """The first step anchored and repeated by an alias at the end of its list."""
    first = re.search(r"^(\s*)- ", text, re.M)
    if first is None:
        return text + "extra: &a [1, *a]\n"
    return text[: first.end()] + "&s " + text[first.end() :] + f"{first.group(1)}- *s\n"


TAGS = ["!!python/object/apply:os.system ['echo hi']", "!!binary aGVsbG8=", "!custom 3", "!!set {a, b}", "!!float x"]


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    text = draw(st.one_of(st.sampled_from(BASES), mutated_data()))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, 10_000))
        kind = draw(st.sampled_from(["bom", "crlf", "tabs", "dup", "alias", "tag", "cut", "insert", "nest"]))
        if kind == "bom":
            text = "\ufeff" + text
        elif kind == "crlf":
            text = text.replace("\n", "\r\n")
        elif kind == "tabs":
            text = _tabs(text, where)
        elif kind == "dup":
            text = _duplicate(text, where)
        elif kind == "alias":
            text = _alias(text)
        elif kind == "tag":
            text = re.sub(r": [^\s{}\[\],]+$", ": " + draw(st.sampled_from(TAGS)), text, count=1, flags=re.M)
        elif kind == "cut":
            text = text[: where % (len(text) + 1)]
        elif kind == "insert":
            at = where % (len(text) + 1)
            text = text[:at] + draw(st.text(max_size=6)) + text[at:]
        elif kind == "nest":
            depth = draw(st.integers(10, 2000))
            text += "extra: " + "[" * depth + "]" * depth + "\n"
    return text


def _invoke(*args: str) -> tuple[int, str, float]:
    """In-process, as a user runs it; an exception escaping the CLI is a failure of the property."""
    started = time.perf_counter()
    result = CliRunner().invoke(app, list(args))
    elapsed = time.perf_counter() - started
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{type(result.exception).__name__} escaped: {result.exception!r}\n{result.output}")
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output, elapsed


def _write(folder: Path, text: str) -> Path:
    path = folder / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


@pytest.fixture(scope="module")
def workdir() -> Any:
    with tempfile.TemporaryDirectory(prefix="augcli-fuzz-") as tmp:
        folder = Path(tmp)
        photos = folder / "in"
        photos.mkdir()
        for src in PHOTOS[:3]:
            shutil.copy(src, photos / src.name)
        yield folder


@settings(settings.get_profile(PROFILE), max_examples=VALIDATE_EXAMPLES)
@given(text=mutated_text())
def test_validate_exits_0_1_or_2_quickly_and_json_agrees(workdir: Path, text: str) -> None:
    path = _write(workdir, text)
    code, out, elapsed = _invoke("validate-recipe", "-q", str(path))
    event(f"validate-recipe exit {code}")
    assert code in (0, 1, 2), out
    assert elapsed < 5, f"validate-recipe took {elapsed:.1f} s"
    json_code, report, _ = _invoke("validate-recipe", "--json", str(path))
    assert json_code == code
    verdict = json.loads(report)["recipes"][0]
    summary = re.search(r": (?:valid|invalid)[^(]*\((\d+) errors?, (\d+) warnings?\)", out)
    assert summary is not None, out
    assert (verdict["errors"], verdict["warnings"]) == (int(summary[1]), int(summary[2]))
    assert verdict["valid"] == (code != 2)
    for problem in verdict["problems"]:
        assert problem["message"] in out


def _runnable(text: str) -> str:
    """The recipe with at most two copies per image, so the run stays a run of seconds (any copies count
    the limits allow is accepted; what is fuzzed here is the pipeline, not the count)."""
    data = yaml.safe_load(text.lstrip("\ufeff"))
    if isinstance(data, dict):
        if isinstance(data.get("copies"), int) and data["copies"] > 2:
            data["copies"] = 2
        if isinstance(data.get("class_copies"), dict):
            data["class_copies"] = {k: min(v, 2) if isinstance(v, int) else v for k, v in data["class_copies"].items()}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@settings(settings.get_profile(PROFILE), max_examples=RUN_EXAMPLES)
@given(text=st.one_of(mutated_data(), catalogue_recipe()))
def test_an_accepted_recipe_runs_without_a_traceback_or_a_hang(workdir: Path, text: str) -> None:
    text = _runnable(text)
    path = _write(workdir, text)
    code, _, _ = _invoke("validate-recipe", "-q", str(path))
    event(f"validate-recipe exit {code}")
    if code == 2:
        return
    target = workdir / "out"
    shutil.rmtree(target, ignore_errors=True)
    run_code, said, elapsed = _invoke("run", str(path), "-i", str(workdir / "in"), "-o", str(target), "-w", "1", "-q")
    event(f"run exit {run_code}")
    assert run_code in (0, 1), said  # whatever validate accepts, run runs (a failed image is exit 1)
    assert elapsed < 60, f"run took {elapsed:.1f} s"
    if run_code == 0:
        assert json.loads((target / "run.json").read_text())["status"] == "complete"
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**30 if sys.platform == "darwin" else 2**20)
    assert peak_gib < 3, f"this process reached {peak_gib:.1f} GiB: runaway memory"
