"""Contact sheets of what `run` writes, made by the same code path, so tuning by eye can be trusted.

Every tile is the decoded bytes of the file `run` would write for that image and copy index: the
pixels come from `render.Processor` (same seeds, same `encode_output`), are encoded to the recipe's
output format at its quality, and decoded back. Nothing here writes files: the functions return PIL
images, numpy arrays and an HTML string with its tile files as bytes; the CLI writes them.

Modules, in the order data flows: `model` (the data), `sources` (which images), `tiles` and `steps`
(rendering through `augcli.render`), `captions`, `overlays`, `display`, `sheet`, `html`, and `build`
(the core call, `make_preview`).
"""

from __future__ import annotations

from augcli.preview.build import PreviewResult, build_preview, make_preview
from augcli.preview.captions import CAPTIONS, CaptionContext, Show, caption, generic_caption
from augcli.preview.display import Placement, letterbox, load_font, to_display
from augcli.preview.html import render_html
from augcli.preview.model import (
    DEFAULT_IMAGES,
    DEFAULT_TILE,
    MAX_DEFAULT_COPIES,
    MAX_SHEET_WIDTH,
    MIN_TILE,
    HtmlPage,
    Overlay,
    Preview,
    PreviewOptions,
    Row,
    Source,
    Tile,
)
from augcli.preview.overlays import OVERLAY_DRAWERS, draw_overlays, label_overlays
from augcli.preview.sheet import Layout, plan_layout, render_sheet, render_tile, wrap_caption
from augcli.preview.sources import find_sources, sample_images
from augcli.preview.tiles import as_written

__all__ = [
    "CAPTIONS",
    "DEFAULT_IMAGES",
    "DEFAULT_TILE",
    "MAX_DEFAULT_COPIES",
    "MAX_SHEET_WIDTH",
    "MIN_TILE",
    "OVERLAY_DRAWERS",
    "CaptionContext",
    "HtmlPage",
    "Layout",
    "Overlay",
    "Placement",
    "Preview",
    "PreviewOptions",
    "PreviewResult",
    "Row",
    "Show",
    "Source",
    "Tile",
    "as_written",
    "build_preview",
    "caption",
    "draw_overlays",
    "find_sources",
    "generic_caption",
    "label_overlays",
    "letterbox",
    "load_font",
    "make_preview",
    "plan_layout",
    "render_html",
    "render_sheet",
    "render_tile",
    "sample_images",
    "to_display",
    "wrap_caption",
]
