"""The core call: a recipe and some images in, a `Preview` (and its sheet and page) out; nothing written.

The CLI writes the results; everything here returns values, so a preview can be made from Python too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from augcli.datasets import discover_dataset
from augcli.preview.html import render_html
from augcli.preview.model import MAX_DEFAULT_COPIES, HtmlPage, Preview, PreviewOptions
from augcli.preview.sheet import Layout, plan_layout, render_sheet
from augcli.preview.sources import find_sources
from augcli.preview.steps import build_step_rows
from augcli.preview.tiles import SourceLabels, build_rows
from augcli.recipe import Recipe
from augcli.render import Processor, mixing_partners


@dataclass
class PreviewResult:
    """A preview as data, its sheet's geometry, the sheet, and the HTML page when asked for."""

    preview: Preview
    layout: Layout
    sheet: Image.Image
    html: HtmlPage | None = None


def make_preview(recipe: Recipe, paths: Sequence[Path] = (), *, options: PreviewOptions | None = None) -> PreviewResult:
    """Build the tiles, lay them out and render the sheet (and the HTML page when asked)."""
    options = options or PreviewOptions()
    preview = build_preview(recipe, paths, options=options)
    layout = plan_layout(preview, tile=options.tile, max_width=options.max_width)
    sheet = render_sheet(preview, layout)
    page = render_html(preview) if options.html else None
    return PreviewResult(preview, layout, sheet, page)


def build_preview(recipe: Recipe, paths: Sequence[Path] = (), *, options: PreviewOptions | None = None) -> Preview:
    """The tiles and captions of a preview (no drawing): what `make_preview` renders."""
    options = options or PreviewOptions()
    recipe_seed = recipe.seed
    seed = recipe_seed if options.seed is None else options.seed
    if seed != recipe_seed:
        recipe = dataclasses.replace(recipe, seed=seed)
    copies = options.copies if options.copies is not None else min(recipe.copies, MAX_DEFAULT_COPIES)
    root = options.input or recipe.input
    root = root if isinstance(root, Path) else None  # preview reads this machine's files (not URLs yet)
    found = discover_dataset(root, label_format=recipe.label_options.format) if root and root.is_dir() else None
    sources = find_sources(recipe, paths, root=root, dataset=found, count=options.images, seed=seed)
    labels = SourceLabels(Path(found.root), found.labels) if found is not None and found.labels is not None else None
    partners = mixing_partners(recipe, found, labels.label_set.codec if labels else None) if found is not None else None
    processor = Processor(recipe, labels=recipe.label_options if labels else None, partners=partners)
    if options.per_transform:
        rows = build_step_rows(processor, recipe, sources[0], copies, labels) if sources else []
        width = max((len(r.tiles) for r in rows), default=1)
        columns = ["original", *(f"sample {k}" for k in range(1, copies + 1)), "low end", "high end"][:width]
        mode = "each augment step alone with p=1" + (f", on {sources[0].sample.rel}" if sources else "")
    else:
        rows = build_rows(processor, recipe, sources, copies, labels)
        columns = ["original", *(f"copy {k}" for k in range(1, copies + 1))]
        mode = f"{copies} copies"
    header = _header(recipe, recipe_seed, mode)
    return Preview(header, columns, rows, recipe.name, str(recipe.source), recipe.text, seed)


def _header(recipe: Recipe, recipe_seed: int, mode: str) -> str:
    """One line: recipe, seed (warning when it is not the one run uses), output format, mode."""
    fmt = recipe.output_format + (f" q{recipe.quality}" if recipe.output_format in ("jpg", "webp", "same") else "")
    seed_note = f"seed {recipe.seed}"
    if recipe.seed != recipe_seed:
        seed_note += f" (not the recipe's {recipe_seed}: run writes other copies)"
    return f"augcli preview · {recipe.name} · {_display_name(recipe.source)} · {seed_note} · output {fmt} · {mode}"


def _display_name(path: Path) -> str:
    """The recipe's path as typed relative to here, unless that climbs out too far."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("../../..") else rel
