"""`augcli preview` as a user runs it: the sheet shows exactly what `run` writes, captioned honestly."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from augcli import preview as pv
from augcli.cli import app
from augcli.datasets import Sample, discover_dataset
from augcli.errors import UsageError
from augcli.imageio import read_image
from augcli.recipe import load_recipe

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DATA = ROOT / "tests" / "data"
LABELS = DATA / "labels"
CAT = SAMPLES / "natural" / "train" / "animal" / "chelsea.jpg"
COFFEE = SAMPLES / "natural" / "train" / "object" / "coffee.jpg"
SQUIRREL = SAMPLES / "natural" / "val" / "animal" / "squirrel.jpg"
RETINA = SAMPLES / "fundus" / "retina.jpg"

runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    """Two training images in two classes and one validation image: a split-classes layout."""
    root = tmp_path / "data"
    for src, rel in ((CAT, "train/cat/chelsea.jpg"), (COFFEE, "train/cup/coffee.jpg"), (SQUIRREL, "val/cat/sq.jpg")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / rel)
    return root


def natural_recipe(tmp_path: Path, fmt: str, extra: str = "") -> Path:
    return write(
        tmp_path / f"natural_{fmt}.yaml",
        f"""\
        # a <b>bold</b> & "quoted" comment, to check that the page escapes the recipe text
        augcli: 1
        name: tiny-{fmt}
        extends: natural
        copies: 2
        input: data
        output: {{path: out_{fmt}, format: {fmt}}}
        """
        + extra,
    )


# --------------------------------------------------------------------------- geometry


def test_sheet_is_header_plus_rows_of_original_and_copies(tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    result = runner.invoke(
        app,
        [
            "preview",
            str(ROOT / "recipes" / "natural.yaml"),
            str(CAT),
            str(COFFEE),
            *("--copies", "3", "--tile", "128"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)

    made = pv.make_preview(
        load_recipe(ROOT / "recipes" / "natural.yaml"), [CAT, COFFEE], options=pv.PreviewOptions(copies=3, tile=128)
    )
    layout = made.layout
    assert (layout.rows, layout.cols, layout.tile, layout.scale) == (2, 4, 128, 1.0)
    assert made.preview.columns == ["original", "copy 1", "copy 2", "copy 3"]
    assert [len(r.tiles) for r in made.preview.rows] == [4, 4]
    assert layout.width == layout.gap + 4 * (128 + layout.gap)
    assert layout.height == layout.header_h + layout.column_h + 2 * layout.row_h
    assert layout.row_h == layout.title_h + 128 + layout.caption_h + layout.gap
    with Image.open(out) as sheet:
        assert sheet.size == (layout.width, layout.height) == made.sheet.size


def test_wide_sheets_shrink_tiles_then_the_whole_sheet() -> None:
    rows = [pv.Row("r", "", [pv.Tile("t", np.zeros((8, 8), np.uint8))] * 9)]
    wide = pv.Preview("h", ["c"] * 9, rows, "n", "f", "", 0)
    fitted = pv.plan_layout(wide, tile=256, max_width=1000)
    assert fitted.width <= 1000 and fitted.tile < 256 and fitted.scale == 1.0
    tiny = pv.plan_layout(wide, tile=256, max_width=500)
    assert tiny.tile == pv.MIN_TILE and tiny.scale < 1 and tiny.size[0] <= 500
    assert pv.render_sheet(wide, tiny).size == tiny.size


def test_sampling_is_seeded_and_shows_every_group_before_repeating() -> None:
    samples = [
        Sample(f"{s}/{c}/{i}.jpg", s, c)
        for s, c, n in (("train", "a", 5), ("train", "b", 1), ("val", "a", 3))
        for i in range(n)
    ]
    four = pv.sample_images(samples, 4, seed=0)
    per_group = Counter((s.split, s.label) for s in four)
    assert set(per_group) == {("train", "a"), ("train", "b"), ("val", "a")}
    assert sorted(per_group.values()) == [1, 1, 2]
    assert pv.sample_images(samples, 4, seed=0) == four
    assert len(pv.sample_images(samples, 100, seed=0)) == len(samples)


def test_given_images_in_the_dataset_keep_runs_seed_keys_and_others_their_own(tmp_path: Path, dataset: Path) -> None:
    recipe = load_recipe(natural_recipe(tmp_path, "jpg"))
    loose = tmp_path / "loose" / "cup.jpg"
    loose.parent.mkdir()
    shutil.copy(COFFEE, loose)
    found = discover_dataset(dataset)
    paths = [dataset / "train", dataset / "val" / "cat" / "sq.jpg", loose, loose.parent]
    sources = pv.find_sources(recipe, paths, root=dataset, dataset=found, count=10, seed=0)
    # run writes 2 copies of each training image and none of a validation image; loose files are not run's
    assert [(s.sample.rel, s.run_copies) for s in sources] == [
        ("train/cat/chelsea.jpg", 2),
        ("train/cup/coffee.jpg", 2),
        ("val/cat/sq.jpg", 0),
        ("cup.jpg", None),
    ]
    with pytest.raises(UsageError, match="image or folder not found"):
        pv.find_sources(recipe, [tmp_path / "nope.jpg"], root=dataset, dataset=found, seed=0)


# --------------------------------------------------------------------------- identity with run


def run_records(recipe: Path, out: Path, *args: str) -> dict[tuple[str, int], dict]:
    """`augcli run` with one worker; its manifest by (source, copy)."""
    done = runner.invoke(app, ["run", str(recipe), *args, "--workers", "1", "--quiet"])
    assert done.exit_code == 0, done.output
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return {(rec["source"], rec["copy"]): rec for rec in map(json.loads, lines)}


def assert_tiles_are_run_outputs(rows: list[pv.Row], out: Path, manifest: dict[tuple[str, int], dict]) -> int:
    """Every tile holds the pixels of the file run wrote for its source and copy, and what made them."""
    checked = 0
    for row in rows:
        assert row.source is not None
        rel = row.source.sample.rel
        for tile in row.tiles:
            assert tile is not None and tile.error is None and tile.copy is not None, tile
            rec = manifest[(rel, tile.copy)]
            on_disk = read_image(out / rec["output"]).pixels
            assert tile.pixels is not None
            assert tile.pixels.dtype == on_disk.dtype and tile.pixels.shape == on_disk.shape
            assert np.array_equal(tile.pixels, on_disk), (rel, tile.copy)
            assert tile.applied == rec["transforms"]
            if tile.copy:
                assert tile.caption == pv.caption(rec["transforms"])
            checked += 1
    return checked


@pytest.mark.parametrize(("fmt", "extra"), [("jpg", ""), ("png", ""), ("jpg", "preprocess: []\n")])
def test_tiles_are_the_files_run_writes_and_captions_match_the_manifest(
    tmp_path: Path, dataset: Path, fmt: str, extra: str
) -> None:
    """Also with no preprocess, where run writes each original as the source file's own bytes."""
    recipe_path = natural_recipe(tmp_path, fmt, extra)
    out = tmp_path / f"out_{fmt}"
    manifest = run_records(recipe_path, out)

    recipe = load_recipe(recipe_path)
    # Sampled from the input folder, and given explicitly: both use the path under the root as seed key.
    sampled = pv.build_preview(recipe, options=pv.PreviewOptions(images=10))
    given = pv.build_preview(recipe, [dataset / "train" / "cat" / "chelsea.jpg"], options=pv.PreviewOptions())
    rows = [*sampled.rows, *given.rows]
    checked = assert_tiles_are_run_outputs(rows, out, manifest)
    assert checked == (1 + 2) * 2 + 1 + (1 + 2)  # two train rows, one val row, the given image again
    for row in rows:
        for tile in row.tiles:
            assert tile is not None and row.source is not None
            unchanged = manifest[(row.source.sample.rel, tile.copy)].get("unchanged", False)
            assert unchanged == (extra != "" and tile.copy == 0)
    val = next(r for r in sampled.rows if r.source is not None and r.source.sample.split == "val")
    assert val.note == "val: not augmented" and len(val.tiles) == 1


# --------------------------------------------------------------------------- mixing: the partners run draws

MIX = "mix: {p_mixup: 0.5, p_cutmix: 0.5}\n"

DETECTION_MIX = """\
augcli: 1
name: mixdet
seed: 5
copies: 3
output: {format: png}
preprocess:
  - SmallestMaxSize: {max_size: 96}
augment:
  - HorizontalFlip: {p: 0.5}
  - Affine: {scale: [0.8, 1.2], p: 0.5}
mix: {p_mixup: 0.5, p_cutmix: 0.5}
labels: {min_visibility: 0.2}
"""


def mixed_tiles(rows: list[pv.Row]) -> list[pv.Tile]:
    return [t for r in rows for t in r.tiles if t is not None and t.applied and t.applied[-1]["name"] in MIXERS]


MIXERS = ("MixUp", "CutMix")


def test_mixed_tiles_are_the_files_run_writes_with_training_partners(tmp_path: Path, dataset: Path) -> None:
    recipe_path = natural_recipe(tmp_path, "png", MIX)
    out = tmp_path / "out_png"
    manifest = run_records(recipe_path, out)

    made = pv.build_preview(load_recipe(recipe_path), options=pv.PreviewOptions(images=10))
    assert assert_tiles_are_run_outputs(made.rows, out, manifest) == (1 + 2) * 2 + 1
    mixed = mixed_tiles(made.rows)
    assert mixed, "the recipe mixes every copy; preview showed none mixed"
    assert {t.applied[-1]["params"]["partner"] for t in mixed} <= {"train/cat/chelsea.jpg", "train/cup/coffee.jpg"}


def test_mixed_detection_tiles_carry_the_boxes_run_writes(tmp_path: Path) -> None:
    recipe_path = write(tmp_path / "mix.yaml", DETECTION_MIX)
    out = tmp_path / "out"
    manifest = run_records(recipe_path, out, "-i", str(LABELS / "voc"), "-o", str(out))

    options = pv.PreviewOptions(input=LABELS / "voc", images=3)
    made = pv.build_preview(load_recipe(recipe_path), options=options)
    assert assert_tiles_are_run_outputs(made.rows, out, manifest) == 3 * (1 + 3)
    assert mixed_tiles(made.rows)
    for row in made.rows:
        for tile in row.tiles:
            assert tile is not None and row.source is not None
            written = manifest[(row.source.sample.rel, tile.copy)]["labels"]["objects"]
            shown = [o.data for o in tile.overlays if o.kind == "box"]
            assert [name for _, name in shown] == [obj["class"] for obj in written]
            for (box, _), obj in zip(shown, written, strict=True):
                assert list(box) == pytest.approx(obj["box"], abs=0.01)


def test_mixing_segmentation_masks_is_refused_by_preview_as_by_run(tmp_path: Path) -> None:
    recipe = write(tmp_path / "mix.yaml", DETECTION_MIX)
    seg = str(LABELS / "voc_seg")
    ran = runner.invoke(app, ["run", str(recipe), "-i", seg, "-o", str(tmp_path / "o"), "-q"])
    shown = runner.invoke(app, ["preview", str(recipe), "-i", seg, "--out", str(tmp_path / "s.png")])
    assert (ran.exit_code, shown.exit_code) == (2, 2), shown.output
    assert "mix: MixUp/CutMix of segmentation masks is not supported" in shown.stderr
    assert shown.stderr == ran.stderr
    assert not (tmp_path / "s.png").exists()


def test_captions_use_the_registry_and_fall_back_to_name_and_numbers() -> None:
    applied = [
        {"name": "HorizontalFlip", "params": {}},
        {"name": "RandomRotate90", "params": {"factor": 3}},
        {"name": "RandomBrightnessContrast", "params": {"alpha": 1.0, "beta": 22.95}},
        {"name": "SaturationScale", "params": {"scale": 1.3104}},
        {"name": "RandomCentralCrop", "params": {"crop_coords": [0, 0, 9, 9], "fraction": 0.9112}},
        {"name": "Sharpen", "params": {"fill": 0.0, "alpha": 0.31, "lightness": 1.1, "sharpening_matrix": [1]}},
    ]
    expected = (
        "flip left-right · turn 270° · brightness +0.09 · saturation x1.31 · central crop 0.91 · "
        "Sharpen alpha=0.31 lightness=1.1"
    )
    assert pv.caption(applied) == expected
    assert pv.caption([]) == "nothing fired"
    # 16-bit sources travel as float in [0, 1], where beta is already a fraction of full scale.
    assert pv.caption(applied[2:3], pv.CaptionContext(max_value=1.0)) == "brightness +22.95"


def test_captions_leave_out_steps_that_changed_nothing_and_use_plain_words() -> None:
    unchanged = [
        {"name": "RandomRotate90", "params": {"factor": 0}},
        {"name": "SquareSymmetry", "params": {"group_element": "e"}},
        {"name": "HueSaturationValue", "params": {"hue_shift": 0.0, "sat_shift": 0.0, "val_shift": 0.0}},
        {"name": "PadIfNeeded", "params": {"pad_top": 0, "pad_bottom": 0, "pad_left": 0, "pad_right": 0}},
    ]
    assert pv.caption(unchanged) == "nothing changed"
    jitter = {"brightness": 0.81, "contrast": 0.9, "saturation": 0.96, "hue": -0.03}
    changed = [
        *unchanged,
        {"name": "D4", "params": {"group_element": "hvt"}},
        {"name": "ColorJitter", "params": jitter},
        {"name": "HueSaturationValue", "params": {"hue_shift": 2.0, "sat_shift": 0.0, "val_shift": -3.0}},
    ]
    assert pv.caption(changed) == (
        "anti-transpose · brightness x0.81 contrast x0.90 saturation x0.96 hue -0.030 · hue +2.0 value -3.0"
    )


def test_long_captions_wrap_onto_more_lines_instead_of_being_cut() -> None:
    recipe = load_recipe(ROOT / "recipes" / "natural.yaml")
    made = pv.build_preview(recipe, [CAT], options=pv.PreviewOptions(copies=1, tile=64))
    long = " · ".join(["brightness x0.81 contrast x0.90 saturation x0.96 hue -0.030"] * 3 + ["MixUp lam=0.31"])
    made.rows[0].tiles[1].caption = long  # type: ignore[union-attr]
    layout = pv.plan_layout(made, tile=64)
    font = pv.load_font(layout.font_size)
    lines = pv.wrap_caption(long, font, layout.tile)
    assert layout.caption_lines == len(lines) > 3
    assert "…" not in "".join(lines) and "".join(lines).replace(" ", "") == long.replace(" ", "").replace("·", "")
    assert "".join(lines).endswith("MixUplam=0.31") or lines[-1].endswith("lam=0.31")


# --------------------------------------------------------------------------- HTML page


def test_html_page_is_one_self_contained_file_with_recipe_and_tables(
    tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe_path = natural_recipe(tmp_path, "jpg")
    page = tmp_path / "page.html"
    monkeypatch.chdir(tmp_path)
    only = runner.invoke(app, ["preview", str(recipe_path), "--html", str(page), "--copies", "1"])
    assert only.exit_code == 0, only.output
    assert only.stdout.splitlines() == [str(page)]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == sorted(["page.html", recipe_path.name])
    assert not (tmp_path / "preview.png").exists(), "the page alone was asked for"
    result = runner.invoke(
        app, ["preview", str(recipe_path), "--html", str(page), "--output", str(tmp_path / "s.jpg"), "--copies", "1"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(tmp_path / "s.jpg"), str(page)]
    assert runner.invoke(app, ["preview", str(recipe_path), "--html", str(tmp_path / "dir")]).exit_code == 2
    text = page.read_text(encoding="utf-8")
    assert "break-all" not in text, "words in table cells break only where they must"
    assert "# a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; comment" in text
    assert "<b>bold</b>" not in text
    # train rows: original + 1 copy; the val row: original only
    assert text.count("<table>") == 2 + 2 + 1
    assert "<th>parameter</th>" in text and ">crop_coords<" in text and ">SmallestMaxSize<" in text
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert len(sources) == 5
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as im:
            assert im.mode == "RGB"


# --------------------------------------------------------------------------- bad input


def test_unreadable_image_gets_a_red_tile_and_the_sheet_still_succeeds(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.jpg", "this is not a JPEG\n")
    out = tmp_path / "sheet.png"
    recipe = ROOT / "recipes" / "natural.yaml"
    result = runner.invoke(app, ["preview", str(recipe), str(bad), str(CAT), "--copies", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output

    made = pv.make_preview(load_recipe(recipe), [bad, CAT], options=pv.PreviewOptions(copies=1))
    first = made.preview.rows[0].tiles[0]
    assert first is not None and first.pixels is None
    assert first.error == "unreadable: not an image (cannot identify format)"
    x, y = made.layout.cell(0, 0)
    with Image.open(out) as sheet:
        assert sheet.getpixel((x + made.layout.tile - 3, y + made.layout.tile - 3)) == (170, 30, 30)
    assert made.preview.rows[1].tiles[1] is not None and made.preview.rows[1].tiles[1].error is None


def test_invalid_recipe_is_reported_at_file_line_col_with_exit_2(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.yaml",
        """\
        augcli: 1
        name: bad
        copeis: 3
        augment:
          - HorizontalFlap: {p: 0.5}
        """,
    )
    result = runner.invoke(app, ["preview", str(bad), str(CAT), "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert all(re.match(r"^\S*bad\.yaml:\d+:\d+: error: ", line) for line in lines[:2]), result.stderr
    assert "copeis" in lines[0] and "HorizontalFlap" in lines[1]
    assert lines[2].startswith("augcli: error: ") and len(lines) == 3
    assert not (tmp_path / "s.png").exists()


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    recipe = str(ROOT / "recipes" / "natural.yaml")
    assert runner.invoke(app, ["preview", recipe, str(tmp_path / "nope.jpg")]).exit_code == 2
    assert runner.invoke(app, ["preview", recipe, "--out", str(tmp_path / "s.gif")]).exit_code == 2


# --------------------------------------------------------------------------- odd sources


def test_sixteen_bit_alpha_and_gray_sources_render() -> None:
    sources = [DATA / "i_trns.png", DATA / "transparent.webp", DATA / "camera.png"]
    made = pv.make_preview(load_recipe(ROOT / "recipes" / "xray.yaml"), sources, options=pv.PreviewOptions(copies=1))
    tiles = [t for row in made.preview.rows for t in row.tiles if t is not None]
    assert len(tiles) == 6 and all(t.error is None for t in tiles)
    assert made.preview.rows[0].tiles[0].pixels.dtype == np.uint16  # type: ignore[union-attr]
    for t in tiles:
        shown = pv.to_display(t.pixels)  # type: ignore[arg-type]
        assert shown.dtype == np.uint8 and shown.ndim == 3 and shown.shape[2] == 3


# --------------------------------------------------------------------------- per-transform


def test_per_transform_has_one_row_per_step_with_range_ends(tmp_path: Path) -> None:
    recipe_path = ROOT / "recipes" / "fundus.yaml"
    result = runner.invoke(
        app,
        [
            "preview",
            str(recipe_path),
            str(RETINA),
            "--per-transform",
            *("--copies", "2", "--tile", "96"),
            "--out",
            str(tmp_path / "steps.png"),
        ],
    )
    assert result.exit_code == 0, result.output

    recipe = load_recipe(recipe_path)
    made = pv.build_preview(recipe, [RETINA], options=pv.PreviewOptions(per_transform=True, copies=2))
    assert len(made.rows) == len(recipe.augment) == 6
    labels = {row.title.split()[1].split("(")[0]: [t.label for t in row.tiles if t] for row in made.rows}
    assert labels["HorizontalFlip"] == ["original", "sample 1", "sample 2"]
    assert labels["SaturationScale"] == ["original", "sample 1", "sample 2", "low end", "high end"]
    saturation = next(r for r in made.rows if "SaturationScale" in r.title)
    low, high = saturation.tiles[3], saturation.tiles[4]
    assert low is not None and high is not None
    assert low.applied == [{"name": "SaturationScale", "params": {"scale": 0.5}}]
    assert high.applied == [{"name": "SaturationScale", "params": {"scale": 1.5}}]
    assert low.caption == "low: scale_range=0.5 · saturation x0.50"
    flips = next(r for r in made.rows if "HorizontalFlip" in r.title)
    assert all(t is not None and t.applied == [{"name": "HorizontalFlip", "params": {}}] for t in flips.tiles[1:])


def test_per_transform_treats_a_composition_block_as_one_row() -> None:
    recipe = load_recipe(ROOT / "recipes" / "natural.yaml")
    made = pv.build_preview(recipe, [CAT], options=pv.PreviewOptions(per_transform=True, copies=1))
    assert len(made.rows) == len(recipe.augment) == 7
    one_of = next(r for r in made.rows if " OneOf(" in r.title)
    assert [t.label for t in one_of.tiles if t] == ["original", "sample 1", "low end", "high end"]
    fired = one_of.tiles[1]
    assert fired is not None and fired.applied and fired.applied[0]["name"] in ("GaussianBlur", "MotionBlur")


# --------------------------------------------------------------------------- overlays hook


def test_overlays_are_drawn_by_registered_drawers(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, pv.Placement]] = []
    monkeypatch.setitem(
        pv.OVERLAY_DRAWERS, "box", lambda draw, overlay, placement: seen.append((overlay.data, placement))
    )
    tile = pv.Tile("copy 1", np.zeros((50, 100, 3), np.uint8), overlays=[pv.Overlay("box", "b1")])
    image, placement = pv.render_tile(tile, 100, pv.load_font(12))
    assert image.size == (100, 100)
    assert seen == [("b1", pv.Placement(0, 25, 1.0))] and placement == seen[0][1]


def test_line_strips_are_drawn_joined_and_cut_at_the_tile_edge() -> None:
    """A LabelMe linestrip (or CVAT polyline) is a line, not dots; the part past the tile is not drawn
    (it would land on the next tile of the sheet), as the writer cuts it; an oriented box gets its name."""
    from augcli.datasets.labels import ImageLabels, LabelObject
    from augcli.preview.overlays import label_overlays

    strip = LabelObject("road", None, keypoints=np.array([[10.0, 25, 2], [90, 25, 2], [150, 25, 0]]))
    strip.extra = {"labelme": {"shape_type": "linestrip"}}
    turned = LabelObject("car", None, corners=np.array([[60.0, 5], [80, 10], [75, 30], [55, 25]]))
    overlays = label_overlays(ImageLabels([strip, turned], {}, {}), (50, 100))
    assert [o.kind for o in overlays] == ["line", "oriented"]
    assert np.asarray(overlays[0].data[0]).tolist() == [[10, 25], [90, 25], [100, 25]]
    tile = pv.Tile("copy 1", np.zeros((50, 100, 3), np.uint8), overlays=overlays)
    image, placement = pv.render_tile(tile, 100, pv.load_font(12))
    pixels = np.asarray(image.convert("RGB")).astype(int)
    row = placement.y + 25
    assert (pixels[row, 30:50].sum(axis=1) > 100).all()  # joined between the vertices, not two dots
    tag = pixels[placement.y + 5 - 13 : placement.y + 5, 61:70]  # the name's tag above the topmost corner
    assert (tag.sum(axis=2) > 100).mean() > 0.5
