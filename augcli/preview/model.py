"""What a preview is made of: its options, the images it shows, and the tiles, rows and page it returns.

Plain data, no drawing: `tiles`/`steps` fill it in, `sheet` and `html` draw it, so the two renderings
can never disagree about what was rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from augcli.datasets import Sample

DEFAULT_IMAGES = 4
MAX_DEFAULT_COPIES = 8
DEFAULT_TILE = 256
MAX_SHEET_WIDTH = 4096
MIN_TILE = 96  # below this a wide sheet is shrunk as a whole rather than tile by tile


@dataclass(frozen=True)
class Source:
    """An image to preview: where it is, and the sample `run` would see (its rel is the seed key)."""

    path: Path
    sample: Sample
    run_copies: int | None = None  # copies run writes for it; None when it is not in the dataset


@dataclass
class Overlay:
    """A label drawn over a tile (boxes, masks, keypoints): `kind` picks the drawer in OVERLAY_DRAWERS."""

    kind: str
    data: Any


@dataclass
class Tile:
    """One cell: the pixels the output file holds (before any display conversion) and what made them."""

    label: str  # e.g. "original", "copy 3", "low end"
    pixels: np.ndarray | None = None  # None for an error tile
    caption: str = ""
    applied: list[dict[str, Any]] = field(default_factory=list)  # every recorded transform and parameter
    error: str | None = None
    copy: int | None = None  # the copy index run uses (0 = original); None for per-transform tiles
    overlays: list[Overlay] = field(default_factory=list)

    @classmethod
    def failed(cls, label: str, error: str, copy: int | None = None) -> Tile:
        """A red tile; the full message is drawn in it, the caption names only the kind."""
        return cls(label, None, error.split(":", 1)[0], [], error, copy)


@dataclass
class Row:
    title: str
    note: str  # e.g. "val: not augmented"
    tiles: list[Tile | None]  # None = an empty cell
    source: Source | None = None


@dataclass
class Preview:
    """Everything a sheet or a page shows, independent of how it is drawn."""

    header: str
    columns: list[str]
    rows: list[Row]
    recipe_name: str
    recipe_file: str
    recipe_text: str
    seed: int


@dataclass(frozen=True)
class PreviewOptions:
    """What to show and how big; the defaults are the CLI's."""

    copies: int | None = None  # None: the recipe's copies, at most MAX_DEFAULT_COPIES
    images: int = DEFAULT_IMAGES
    seed: int | None = None  # None: the recipe's seed (the only seed whose tiles match `run`)
    per_transform: bool = False
    input: Path | None = None
    tile: int = DEFAULT_TILE
    max_width: int = MAX_SHEET_WIDTH
    html: bool = False


@dataclass
class HtmlPage:
    """A self-contained page: one HTML text with every tile inline (data: URIs), to mail or open from disk."""

    text: str
