"""Tiles made by the code path `run` uses: `render.Processor`, then `render.encode_output`, decoded back.

Every tile is the pixels of the file `run` writes for that image and copy index; a failure becomes a
red tile stating it, never an exception that loses the rest of the sheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from augcli.datasets import LabelSet, read_labels
from augcli.datasets.labels import ImageLabels
from augcli.errors import ImageReadError
from augcli.imageio import DecodedImage, decode_image, suffix_format
from augcli.preview.captions import CaptionContext, caption
from augcli.preview.model import Row, Source, Tile
from augcli.preview.overlays import label_overlays
from augcli.preview.sources import relative_to
from augcli.recipe import Recipe
from augcli.render import Processor, encode_output, output_format
from augcli.store import open_store


def as_written(
    recipe: Recipe, rel: str, pixels: np.ndarray, source: DecodedImage, *, unchanged: bool = False
) -> np.ndarray:
    """The pixels a reader gets back from the file `run` writes: the bytes of `encode_output`, decoded."""
    data, _fmt = encode_output(recipe, rel, pixels, source, unchanged=unchanged)
    return decode_image(data, "<encoded output>").pixels


def short_error(exc: BaseException) -> str:
    """`Kind: first line`: enough to fit in a tile, and to search for."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _context(pre: Mapping[str, Any]) -> CaptionContext:
    """Captions state pixel shifts as fractions of full scale: 255, or 1.0 where pixels travel as float."""
    image = pre.get("image")
    is_float = isinstance(image, np.ndarray) and image.dtype.kind == "f"
    return CaptionContext(1.0 if is_float else 255.0)


def _format_for(recipe: Recipe, rel: str) -> str | None:
    """The format run writes `rel` in; None for a file run would not read (so writes nothing for)."""
    if recipe.output_format == "same" and suffix_format(rel) is None:
        return None
    return output_format(recipe, rel)


@dataclass
class Prepared:
    """A decoded, preprocessed source and its original's tile: every copy starts from here."""

    decoded: DecodedImage
    pre: dict[str, Any]
    original: Tile


@dataclass(frozen=True)
class SourceLabels:
    """The dataset's labels, when it has them: tiles show them moved exactly as run writes them."""

    root: Path
    label_set: LabelSet

    def read(self, src: Source, width: int, height: int) -> ImageLabels | None:
        if relative_to(src.path, self.root) != src.sample.rel:
            return None  # an image from outside the dataset has no labels here
        payload = self.label_set.payloads.get(src.sample.rel)
        return read_labels(self.label_set.codec, open_store(self.root), src.sample.rel, payload, width, height)


def prepare(processor: Processor, recipe: Recipe, src: Source, labels: SourceLabels | None = None) -> Prepared | Tile:
    """Decode and preprocess once (FundusCrop and the like run once per source); an error tile if not."""
    rel = src.sample.rel
    if _format_for(recipe, rel) is None:
        return Tile.failed("original", f"unreadable: run does not read {Path(rel).suffix or 'suffixless'} files", 0)
    try:
        decoded = processor.read_file(src.path)
    except ImageReadError as exc:
        return Tile.failed("original", f"unreadable: {exc.message}", 0)
    try:
        image_labels = labels.read(src, decoded.pixels.shape[1], decoded.pixels.shape[0]) if labels else None
        pre = processor.preprocess(decoded, rel, image_labels)
        rendered = processor.original(pre)
        pixels = as_written(recipe, rel, rendered.pixels, decoded, unchanged=rendered.unchanged)
    except Exception as exc:
        return Tile.failed("original", f"preprocess failed: {short_error(exc)}", 0)
    words = ["original", f"{pixels.shape[1]}x{pixels.shape[0]}"]
    if src.sample.augmented and not recipe.keep_original:
        words.append("(not written: keep_original is false)")
    text = " ".join(words)
    if rendered.applied:
        text += " · " + caption(rendered.applied, _context(pre))
    tile = Tile(
        "original", pixels, text, rendered.applied, copy=0, overlays=label_overlays(rendered.labels, pixels.shape[:2])
    )
    return Prepared(decoded, pre, tile)


def copy_tile(processor: Processor, recipe: Recipe, prepared: Prepared, rel: str, k: int, label: str) -> Tile:
    """Copy `k` of a prepared source as run writes it, captioned with what fired; a red tile if it fails."""
    try:
        rendered = processor.copy(prepared.pre, rel, k)
        pixels = as_written(recipe, rel, rendered.pixels, prepared.decoded)
    except Exception as exc:
        return Tile.failed(label, f"failed: {short_error(exc)}", k)
    text = caption(rendered.applied, _context(prepared.pre))
    return Tile(
        label, pixels, text, rendered.applied, copy=k, overlays=label_overlays(rendered.labels, pixels.shape[:2])
    )


def row_title(src: Source) -> str:
    """The source's seed key, then its split and class."""
    s = src.sample
    where = " · ".join(x for x in (s.split, s.label) if x)
    return f"{s.rel}  ({where})"


def build_rows(
    processor: Processor, recipe: Recipe, sources: Sequence[Source], copies: int, labels: SourceLabels | None = None
) -> list[Row]:
    """One row per source: the preprocessed original, then copies 1..N exactly as run writes them."""
    rows = []
    for src in sources:
        prepared = prepare(processor, recipe, src, labels)
        notes = []
        if not src.sample.augmented:
            notes.append(f"{src.sample.split}: not augmented")
        elif src.run_copies is not None and src.run_copies < copies:
            notes.append(f"run writes {src.run_copies} cop{'y' if src.run_copies == 1 else 'ies'} of it")
        if isinstance(prepared, Tile):
            rows.append(Row(row_title(src), " · ".join(notes), [prepared], src))
            continue
        tiles: list[Tile | None] = [prepared.original]
        if src.sample.augmented:
            for k in range(1, copies + 1):
                tiles.append(copy_tile(processor, recipe, prepared, src.sample.rel, k, f"copy {k}"))
        rows.append(Row(row_title(src), " · ".join(notes), tiles, src))
    return rows
