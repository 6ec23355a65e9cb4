"""The contact sheet: a header, column headings, then per source a title, its tiles and their captions.

Tiles shrink to fit a maximum width; below `MIN_TILE` the finished sheet is shrunk instead, so text
stays legible and the layout stays predictable (tests check its geometry). Captions wrap onto as
many lines as the longest needs: the explanation is never cut off.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from augcli.preview.display import Placement, letterbox, load_font, to_display
from augcli.preview.model import DEFAULT_TILE, MAX_SHEET_WIDTH, MIN_TILE, Preview, Tile
from augcli.preview.overlays import draw_overlays

_BG = (24, 24, 24)
_CELL = (48, 48, 48)
_TEXT = (235, 235, 235)
_DIM = (170, 170, 170)
_NOTE = (255, 196, 90)
_ERROR = (170, 30, 30)


@dataclass(frozen=True)
class Layout:
    """Geometry of a sheet. Canvas size: width = gap + cols*(tile+gap), height = header + columns + rows*row."""

    rows: int
    cols: int
    tile: int
    gap: int = 8
    font_size: int = 12
    line: int = 15  # text line height
    caption_lines: int = 3
    header_lines: int = 1
    scale: float = 1.0  # the finished canvas is resized by this (only when even MIN_TILE is too wide)

    @property
    def header_h(self) -> int:
        return self.gap + self.header_lines * (self.line + 3) + self.gap

    @property
    def column_h(self) -> int:
        return self.line + 4

    @property
    def title_h(self) -> int:
        return self.line + 4

    @property
    def caption_h(self) -> int:
        return self.caption_lines * self.line + 4

    @property
    def row_h(self) -> int:
        return self.title_h + self.tile + self.caption_h + self.gap

    @property
    def width(self) -> int:
        return self.gap + self.cols * (self.tile + self.gap)

    @property
    def height(self) -> int:
        return self.header_h + self.column_h + self.rows * self.row_h

    @property
    def size(self) -> tuple[int, int]:
        """The finished sheet's size (after the whole-sheet downscale, if any)."""
        return (max(1, round(self.width * self.scale)), max(1, round(self.height * self.scale)))

    def cell(self, row: int, col: int) -> tuple[int, int]:
        """Top-left of a tile's pixels on the canvas."""
        return (
            self.gap + col * (self.tile + self.gap),
            self.header_h + self.column_h + row * self.row_h + self.title_h,
        )


def plan_layout(preview: Preview, *, tile: int = DEFAULT_TILE, max_width: int = MAX_SHEET_WIDTH) -> Layout:
    """Shrink tiles (not text) to fit max_width; below MIN_TILE, shrink the finished sheet instead."""
    cols = max(1, len(preview.columns), *(len(r.tiles) for r in preview.rows))
    rows = max(1, len(preview.rows))
    layout = Layout(rows=rows, cols=cols, tile=tile)
    if layout.width > max_width:
        fitted = (max_width - layout.gap) // cols - layout.gap
        layout = dataclasses.replace(layout, tile=max(MIN_TILE, min(tile, fitted)))
    if layout.width > max_width:
        layout = dataclasses.replace(layout, scale=max_width / layout.width)
    font = load_font(layout.font_size)
    needed = [len(wrap_caption(t.caption, font, layout.tile)) for r in preview.rows for t in r.tiles if t is not None]
    return dataclasses.replace(layout, caption_lines=max([layout.caption_lines, *needed]))


def _fit(text: str, font: Any, width: int) -> str:
    """Cut a line to width with an ellipsis."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def wrap_caption(text: str, font: Any, width: int, max_lines: int | None = None) -> list[str]:
    """Pack a caption's ` · ` parts into lines; parts never split unless one alone is too long.

    `max_lines` cuts the rest with an ellipsis (for text inside a tile); captions get every line.
    """
    lines: list[str] = []
    current = ""
    for part in text.split(" · "):
        trial = f"{current} · {part}" if current else part
        if font.getlength(trial) <= width:
            current = trial
            continue
        if current:
            lines.append(current)
        current = part
        while font.getlength(current) > width:  # break an over-long part at spaces or characters
            cut = len(current)
            while cut > 1 and font.getlength(current[:cut]) > width:
                cut -= 1
            space = current.rfind(" ", 0, cut)
            cut = space if space > 0 else cut
            lines.append(current[:cut])
            current = current[cut:].lstrip()
    if current:
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _fit(" · ".join(lines[max_lines - 1 :]), font, width)]
    return lines


def render_tile(tile: Tile, size: int, font: Any) -> tuple[Image.Image, Placement]:
    """A tile's cell image: letterboxed pixels with overlays, or a red cell stating the error."""
    if tile.pixels is None:
        cell = Image.new("RGB", (size, size), _ERROR)
        draw = ImageDraw.Draw(cell)
        lines = wrap_caption(tile.error or "error", font, size - 12, max(1, (size - 12) // 15))
        for i, line in enumerate(lines):
            draw.text((6, 6 + i * 15), _fit(line, font, size - 12), font=font, fill=(255, 255, 255))
        return cell, Placement(0, 0, 1.0)
    boxed, placement = letterbox(to_display(tile.pixels), size, _CELL)
    image = Image.fromarray(boxed)
    draw_overlays(tile, image, placement)
    return image, placement


def render_sheet(preview: Preview, layout: Layout) -> Image.Image:
    """Draw the sheet: header, column headings, then per row a title line, tiles and captions."""
    font = load_font(layout.font_size)
    bold = load_font(layout.font_size + 2)
    sheet = Image.new("RGB", (layout.width, layout.height), _BG)
    draw = ImageDraw.Draw(sheet)
    draw.text(
        (layout.gap, layout.gap), _fit(preview.header, bold, layout.width - 2 * layout.gap), font=bold, fill=_TEXT
    )
    y_cols = layout.header_h
    for c, name in enumerate(preview.columns[: layout.cols]):
        x, _ = layout.cell(0, c)
        draw.text((x, y_cols + 2), _fit(name, font, layout.tile), font=font, fill=_DIM)
    for r, row in enumerate(preview.rows):
        x0, y_tile = layout.cell(r, 0)
        y_title = y_tile - layout.title_h
        width = layout.width - 2 * layout.gap
        draw.text((x0, y_title + 2), _fit(row.title, font, width), font=font, fill=_TEXT)
        if row.note:
            nx = x0 + min(width, int(font.getlength(row.title + "   ")))
            draw.text((nx, y_title + 2), _fit(row.note, font, max(1, width - nx + x0)), font=font, fill=_NOTE)
        for c, tile in enumerate(row.tiles[: layout.cols]):
            if tile is None:
                continue
            x, y = layout.cell(r, c)
            cell, _ = render_tile(tile, layout.tile, font)
            sheet.paste(cell, (x, y))
            lines = wrap_caption(tile.caption, font, layout.tile, layout.caption_lines)
            for i, line in enumerate(lines):
                color = _NOTE if tile.error else _TEXT
                draw.text((x, y + layout.tile + 2 + i * layout.line), line, font=font, fill=color)
    if layout.scale < 1:
        sheet = sheet.resize(layout.size, Image.Resampling.LANCZOS)
    return sheet
