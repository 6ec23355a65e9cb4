"""Locations as users write them: URLs kept as written by recipes and options, checked through their store."""

from __future__ import annotations

from pathlib import Path

import pytest

from augcli.errors import UsageError
from augcli.recipe import check_recipe
from augcli.recipe.validate import Report
from augcli.runner import check_folders
from augcli.store import as_location, open_store

RECIPE = """\
augcli: 1
name: urls
domain: natural
copies: 1
input: {input}
output: {{path: {output}}}
augment:
  - HorizontalFlip: {{p: 0.5}}
"""


def _check(tmp_path: Path, input: str, output: str) -> Report:
    path = tmp_path / "sub" / "recipe.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(RECIPE.format(input=input, output=output), encoding="utf-8")
    return check_recipe(path)


def test_recipe_urls_are_kept_as_written_and_paths_resolved_against_the_recipe(tmp_path: Path, memory_url: str) -> None:
    open_store(f"{memory_url}/in").put("a.jpg", b"x")
    report = _check(tmp_path, f"{memory_url}/in", "../out")
    assert report.errors == []
    recipe = report.recipe
    assert recipe is not None
    assert recipe.input == f"{memory_url}/in"
    assert recipe.output == (tmp_path / "out").resolve()
    (tmp_path / "data").mkdir()
    report = _check(tmp_path, "../data", "s3://bucket/out")
    assert report.recipe is not None
    assert report.recipe.output == "s3://bucket/out"
    assert report.recipe.input == (tmp_path / "data").resolve()


def test_a_missing_url_input_is_reported_like_a_missing_folder(tmp_path: Path, memory_url: str) -> None:
    report = _check(tmp_path, f"{memory_url}/nothing", "../out")
    assert [p.message for p in report.errors] == [f"input folder does not exist: {memory_url}/nothing"]


def test_an_input_its_store_cannot_check_is_a_warning_saying_why(tmp_path: Path) -> None:
    report = _check(tmp_path, "gs://bucket/in", "../out")
    assert report.errors == []
    assert [p.message for p in report.warnings] == [
        "input not checked: gs:// locations need gcsfs: pip install 'augcli[gcs]'"
    ]


def test_as_location_keeps_urls_and_makes_paths() -> None:
    assert as_location("s3://bucket/a//b") == "s3://bucket/a//b"
    assert as_location("data/in") == Path("data/in")
    assert as_location(Path("x")) == Path("x")


@pytest.mark.parametrize(
    ("inp", "out", "message"),
    [
        ("s3://b/data", "s3://b/data/", "output is the input"),
        ("s3://b/data", "s3://b/data/out", "output is inside the input"),
        ("s3://b/data/in", "s3://b/data", "output contains the input"),
    ],
)
def test_urls_that_overlap_are_refused(inp: str, out: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check_folders(inp, out)


def test_urls_that_do_not_overlap_are_accepted(tmp_path: Path) -> None:
    check_folders("s3://b/data", "s3://b/data-out")  # a shared prefix is not a parent
    check_folders("s3://b/data", "gs://b/data/out")
    check_folders(tmp_path / "in", "s3://b/out")
    with pytest.raises(UsageError, match="output folder is inside"):
        check_folders(tmp_path / "in", tmp_path / "in" / "out")
