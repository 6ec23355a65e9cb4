"""The HTML page: every tile with its full parameter table, and the recipe; one file, opens from disk.

Tiles are inline PNGs (data: URIs), so the page is the whole preview: nothing beside it to lose.
"""

from __future__ import annotations

import base64
import html
import json

import numpy as np
from PIL import Image

from augcli.imageio import encode_image
from augcli.preview.display import Placement, to_display
from augcli.preview.model import HtmlPage, Preview, Tile
from augcli.preview.overlays import draw_overlays

_HTML_TILE_MAX = 1024  # px, longest side of a tile file (outputs larger than this are area-averaged)

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;background:#181818;color:#eee;margin:16px}
h1{font-size:18px}h2{font-size:15px;margin:18px 0 6px}.note{color:#ffc45a;margin-left:1em}
.tiles{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
figure{margin:0;background:#262626;padding:6px;width:260px}
figure img{width:256px;height:256px;object-fit:contain;background:#303030;image-rendering:auto;display:block}
figure .label{color:#aaa;font-size:12px}figure .caption{font-size:12px;margin:4px 0}
figure.error .box{width:256px;height:256px;background:#aa1e1e;color:#fff;padding:6px;box-sizing:border-box}
table{border-collapse:collapse;font:11px ui-monospace,monospace;width:100%}
td,th{border-top:1px solid #3a3a3a;padding:1px 4px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
pre{background:#222;padding:10px;overflow:auto}
"""


def _param_table(tile: Tile) -> str:
    rows = []
    if tile.error:
        rows.append(f"<tr><td>error</td><td></td><td>{html.escape(tile.error)}</td></tr>")
    for step in tile.applied:
        params = step.get("params", {})
        name = html.escape(str(step["name"]))
        if not params:
            rows.append(f"<tr><td>{name}</td><td>-</td><td></td></tr>")
        for key, value in params.items():
            shown = html.escape(json.dumps(value))
            rows.append(f"<tr><td>{name}</td><td>{html.escape(str(key))}</td><td>{shown}</td></tr>")
    if not rows:
        rows.append("<tr><td>nothing fired</td><td></td><td></td></tr>")
    head = "<thead><tr><th>transform</th><th>parameter</th><th>value</th></tr></thead>"
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _tile_file(tile: Tile) -> bytes:
    """The tile as a PNG of what a viewer shows (8-bit RGB, alpha over a checkerboard), overlays drawn."""
    import cv2

    rgb = to_display(tile.pixels)  # type: ignore[arg-type]
    h, w = rgb.shape[:2]
    scale = min(1.0, _HTML_TILE_MAX / max(h, w))
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    image = Image.fromarray(rgb)
    draw_overlays(tile, image, Placement(0, 0, scale))
    return encode_image(np.asarray(image), "png")


def render_html(preview: Preview) -> HtmlPage:
    """The page as one text: tiles inline as data: URIs, so it opens from disk with nothing beside it."""
    sections = []
    for row in preview.rows:
        figures = []
        for tile in row.tiles:
            if tile is None:
                continue
            label = html.escape(tile.label)
            if tile.pixels is None:
                body = f'<div class="box">{html.escape(tile.error or "error")}</div>'
                cls = "error"
            else:
                uri = "data:image/png;base64," + base64.b64encode(_tile_file(tile)).decode("ascii")
                alt = html.escape(f"{row.title} {tile.label}", quote=True)
                h, w = tile.pixels.shape[:2]
                body = f'<img src="{uri}" alt="{alt}" title="{w}x{h}">'
                cls = "tile"
            figures.append(
                f'<figure class="{cls}"><div class="label">{label}</div>{body}'
                f'<div class="caption">{html.escape(tile.caption)}</div>{_param_table(tile)}</figure>'
            )
        note = f'<span class="note">{html.escape(row.note)}</span>' if row.note else ""
        sections.append(
            f'<section><h2>{html.escape(row.title)}{note}</h2><div class="tiles">{"".join(figures)}</div></section>'
        )
    title = html.escape(f"augcli preview: {preview.recipe_name}")
    index = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{html.escape(preview.header)}</h1>\n"
        f"<p>columns: {html.escape(', '.join(preview.columns))}</p>\n"
        + "\n".join(sections)
        + f"\n<h2>Recipe {html.escape(preview.recipe_file)}</h2>\n<pre>{html.escape(preview.recipe_text)}</pre>\n"
        "</body></html>\n"
    )
    return HtmlPage(index)
