"""MixUp / CutMix of detection labels: the union of both samples' objects, clipped at the pasted box."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from helpers import tree_hashes
from typer.testing import CliRunner

from augcli.cli import app
from augcli.datasets.labels import ImageLabels, LabelObject, LabelOptions, polygon_area
from augcli.mixing import cutmix_labels, mixup_labels, scale_labels

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "labels"
runner = CliRunner()
TOL = 0.51  # VOC writes integer coordinates where the source had them; COCO rounds to 2 decimals

RECIPE = """\
augcli: 1
name: mixdet
seed: 5
copies: 6
output: {format: png}
preprocess:
  - SmallestMaxSize: {max_size: 96}
augment:
  - HorizontalFlip: {p: 0.5}
  - Affine: {scale: [0.8, 1.2], p: 0.5}
mix: {p_mixup: 0.5, p_cutmix: 0.5, mixup_alpha: 0.4, cutmix_alpha: 1.0}
labels: {min_visibility: 0.2}
"""


def _run(tmp_path: Path, fmt: str, out_name: str, workers: str = "1") -> Path:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    out = tmp_path / out_name
    result = runner.invoke(app, ["run", str(recipe), "-i", str(LABELS / fmt), "-o", str(out), "-w", workers, "-q"])
    assert result.exit_code == 0, result.output
    return out


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module", params=["voc", "coco"])
def mixed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    tmp = tmp_path_factory.mktemp(request.param)
    return request.param, _run(tmp, request.param, "out")


def _inside(box: list[float], rect: list[float]) -> bool:
    return box[0] >= rect[0] - TOL and box[1] >= rect[1] - TOL and box[2] <= rect[2] + TOL and box[3] <= rect[3] + TOL


def test_both_modes_fire_and_every_box_lies_in_its_image(mixed: tuple[str, Path]) -> None:
    _, out = mixed
    recs = records(out)
    assert {r["mix"]["mode"] for r in recs if "mix" in r} == {"mixup", "cutmix"}
    for r in recs:
        width, height = r["size"]
        for obj in r["labels"]["objects"]:
            assert _inside(obj["box"], [0, 0, width, height]), (r["output"], obj)
            assert obj["box"][2] > obj["box"][0] and obj["box"][3] > obj["box"][1]


def test_cutmix_keeps_partner_boxes_inside_the_pasted_box_and_own_boxes_outside(mixed: tuple[str, Path]) -> None:
    _, out = mixed
    cut = [r for r in records(out) if r.get("mix", {}).get("mode") == "cutmix"]
    assert cut
    for r in cut:
        n_own, n_partner = r["mix"]["objects"]
        objects = r["labels"]["objects"]
        assert len(objects) == n_own + n_partner
        hole = r["mix"]["box"]
        for obj in objects[n_own:]:
            assert _inside(obj["box"], hole), (r["output"], obj, hole)
        for obj in objects[:n_own]:
            x0, y0, x1, y1 = obj["box"]
            covered = max(0, min(x1, hole[2]) - max(x0, hole[0])) * max(0, min(y1, hole[3]) - max(y0, hole[1]))
            assert covered < (x1 - x0) * (y1 - y0) - 1e-6, (r["output"], obj, hole)  # some of it shows


def test_mixup_output_holds_both_samples_objects_with_weights(mixed: tuple[str, Path]) -> None:
    _, out = mixed
    recs = {r["output"]: r for r in records(out)}
    by_source_copy = {(r["source"], r["copy"]): r for r in recs.values()}
    ups = [r for r in recs.values() if r.get("mix", {}).get("mode") == "mixup"]
    assert ups
    for r in ups:
        n_own, n_partner = r["mix"]["objects"]
        lam = r["mix"]["lam"]
        assert len(r["labels"]["objects"]) == n_own + n_partner
        assert r["mix"]["weights"] == pytest.approx([lam] * n_own + [1 - lam] * n_partner, abs=1e-6)
        assert n_partner > 0
        # MixUp drops nothing of its own: an unmixed copy's objects would be the same own objects
        assert n_own <= len(by_source_copy[(r["source"], 0)]["labels"]["objects"])


def _written(fmt: str, out: Path) -> dict[str, list[tuple[str, list[float]]]]:
    """Every output's boxes as its label files hold them."""
    if fmt == "voc":
        found = {}
        for xml in (out / "Annotations").glob("*.xml"):
            root = ET.parse(xml).getroot()
            boxes = []
            for obj in root.findall("object"):
                bb = obj.find("bndbox")
                assert bb is not None
                x0, y0, x1, y1 = (float(bb.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax"))
                boxes.append((obj.findtext("name") or "", [x0 - 1, y0 - 1, x1, y1]))  # VOC is 1-based
            found[f"JPEGImages/{root.findtext('filename')}"] = boxes
        return found
    doc = json.loads((out / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in doc["categories"]}
    by_image: dict[int, list[tuple[str, list[float]]]] = {i["id"]: [] for i in doc["images"]}
    for ann in doc["annotations"]:
        x, y, w, h = ann["bbox"]
        by_image[ann["image_id"]].append((names[ann["category_id"]], [x, y, x + w, y + h]))
    return {i["file_name"]: by_image[i["id"]] for i in doc["images"]}


def test_label_files_parse_back_to_the_manifest(mixed: tuple[str, Path]) -> None:
    fmt, out = mixed
    written = _written(fmt, out)
    recs = records(out)
    assert set(written) == {r["output"] for r in recs}
    for r in recs:
        expected = [(o["class"], o["box"]) for o in r["labels"]["objects"]]
        got = written[r["output"]]
        assert [c for c, _ in got] == [c for c, _ in expected], r["output"]
        for (_, a), (_, b) in zip(got, expected, strict=True):
            assert a == pytest.approx(b, abs=0.02), r["output"]


def test_mixing_labels_is_deterministic_across_workers(mixed: tuple[str, Path], tmp_path: Path) -> None:
    fmt, out = mixed
    two = _run(tmp_path, fmt, "two", workers="2")

    assert tree_hashes(out, skip=("run",)) == tree_hashes(two, skip=("run",))


def test_mixing_segmentation_masks_is_refused(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    result = runner.invoke(app, ["run", str(recipe), "-i", str(LABELS / "voc_seg"), "-o", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 2
    assert "MixUp/CutMix of segmentation masks is not supported" in result.output


# --------------------------------------------------------------------------- the pure label functions


def _labels(*objects: LabelObject) -> ImageLabels:
    return ImageLabels(objects=list(objects))


def test_cutmix_labels_splits_polygons_shrinks_boxes_and_hides_keypoints() -> None:
    square = np.array([[0, 0], [40, 0], [40, 40], [0, 40]], np.float64)
    own = _labels(
        LabelObject("poly", (0, 0, 40, 40), polygons=[square]),
        LabelObject("box", (30, 0, 60, 20)),  # its left third is under the pasted box
        LabelObject("covered", (5, 5, 15, 15)),  # fully under the pasted box: dropped
        LabelObject("kp", (50, 50, 60, 60), keypoints=np.array([[55, 55, 2], [10, 10, 2]], np.float64)),
    )
    partner = _labels(
        LabelObject("inside", (10, 10, 30, 30)),
        LabelObject("half", (20, 0, 40, 10)),  # 10x10 of 20x10 inside: visible 0.5
        LabelObject("sliver", (25, 0, 60, 10)),  # 5 of 35 wide inside: below min_visibility
    )
    merged, n_own, n_partner = cutmix_labels(own, partner, (0, 0, 30, 30), (64, 64), LabelOptions(min_visibility=0.2))
    assert [o.category for o in merged.objects] == ["poly", "box", "kp", "inside", "half"]
    assert (n_own, n_partner) == (3, 2)
    poly = merged.objects[0]
    assert sum(polygon_area(p) for p in poly.polygons) == pytest.approx(40 * 40 - 30 * 30)
    assert poly.box == (0, 0, 40, 40) and poly.box_source == "polygon"
    assert merged.objects[1].box == (30, 0, 60, 20)
    kps = merged.objects[2].keypoints
    assert kps is not None and kps[:, 2].tolist() == [2, 0]  # the one under the pasted box is hidden
    assert merged.objects[3].box == (10, 10, 30, 30)
    assert merged.objects[4].box == (20, 0, 30, 10)
    assert merged.counts.dropped == 2 and merged.counts.hidden_keypoints == 1


def test_cutmix_labels_shrinks_a_box_cut_along_a_whole_side() -> None:
    own = _labels(LabelObject("box", (10, 10, 50, 50)))
    merged, _, _ = cutmix_labels(own, _labels(), (0, 0, 64, 30), (64, 64), LabelOptions())
    assert merged.objects[0].box == (10, 30, 50, 50)


def test_mixup_labels_weights_and_scale() -> None:
    own = _labels(LabelObject("a", (0, 0, 10, 10)))
    partner = scale_labels(
        _labels(LabelObject("b", (0, 0, 10, 10), polygons=[np.array([[0, 0], [10, 0], [10, 10]], np.float64)])), 2, 0.5
    )
    assert partner.objects[0].box == (0, 0, 20, 5)
    assert partner.objects[0].polygons[0].tolist() == [[0, 0], [20, 0], [20, 5]]
    merged, weights = mixup_labels(own, partner, 0.25)
    assert [o.category for o in merged.objects] == ["a", "b"] and weights == [0.25, 0.75]
