"""Labels drawn over a tile (masks, polygons, boxes, keypoints), through a registry of drawers by kind.

Overlays are the labels `run` writes for the output, moved with its pixels, so a misplaced box on the
sheet is a misplaced box in the dataset.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from augcli.datasets.labels import ImageLabels
from augcli.datasets.polyline import clip_polyline, is_line_strip
from augcli.preview.display import Placement, load_font
from augcli.preview.model import Overlay, Tile

OverlayDrawer = Callable[[ImageDraw.ImageDraw, Overlay, Placement], None]


def _colour(name: str) -> tuple[int, int, int]:
    """A stable, saturated colour per class name (the same in every tile and every run)."""
    import colorsys
    import zlib

    hue = (zlib.crc32(name.encode()) % 360) / 360
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return (round(r * 255), round(g * 255), round(b * 255))


def _at(placement: Placement, x: float, y: float) -> tuple[float, float]:
    return (placement.x + x * placement.scale, placement.y + y * placement.scale)


def _draw_box(draw: ImageDraw.ImageDraw, overlay: Overlay, placement: Placement) -> None:
    box, name = overlay.data
    colour = _colour(name)
    x0, y0 = _at(placement, box[0], box[1])
    x1, y1 = _at(placement, box[2], box[3])
    draw.rectangle((x0, y0, x1, y1), outline=colour, width=2)
    _name_tag(draw, name, x0, y0)


def _name_tag(draw: ImageDraw.ImageDraw, name: str, x0: float, y0: float) -> None:
    """The class name on a tag in its colour, above (x0, y0), or below it at the tile's top edge."""
    font = load_font(11)
    w = font.getlength(name)
    ty = y0 - 13 if y0 >= 13 else y0
    draw.rectangle((x0, ty, x0 + w + 4, ty + 13), fill=(*_colour(name), 200))
    draw.text((x0 + 2, ty), name, font=font, fill=(0, 0, 0))


def _draw_oriented(draw: ImageDraw.ImageDraw, overlay: Overlay, placement: Placement) -> None:
    """An oriented box: its outline, a dot on its first corner (DOTA's and YOLO-OBB's order) and its
    class name at its topmost corner."""
    corners, name = overlay.data
    xy = [_at(placement, float(x), float(y)) for x, y in corners]
    draw.polygon(xy, outline=_colour(name), width=2)
    cx, cy = xy[0]
    draw.ellipse((cx - 3, cy - 3, cx + 3, cy + 3), fill=_colour(name))
    _name_tag(draw, name, *min(xy, key=lambda p: (p[1], p[0])))


def _draw_line(draw: ImageDraw.ImageDraw, overlay: Overlay, placement: Placement) -> None:
    """An open line strip (LabelMe line/linestrip, CVAT polyline): its segments, and a dot per vertex."""
    points, name = overlay.data
    colour = _colour(name)
    xy = [_at(placement, float(x), float(y)) for x, y in points]
    draw.line(xy, fill=colour, width=2)
    for cx, cy in xy:
        draw.ellipse((cx - 2, cy - 2, cx + 2, cy + 2), fill=colour)


def _draw_polygon(draw: ImageDraw.ImageDraw, overlay: Overlay, placement: Placement) -> None:
    points, name = overlay.data
    xy = [_at(placement, float(x), float(y)) for x, y in points]
    if len(xy) >= 2:
        draw.polygon(xy, outline=_colour(name), fill=(*_colour(name), 50))


def _draw_mask(draw: ImageDraw.ImageDraw, overlay: Overlay, placement: Placement) -> None:
    """An index mask tinted by its palette (void 255 shown pale); a bool mask in its class colour."""
    mask, palette_or_name = overlay.data
    h, w = mask.shape
    size = (max(1, round(w * placement.scale)), max(1, round(h * placement.scale)))
    values = [1] if mask.dtype == bool else [int(v) for v in np.unique(mask) if v != 0]
    for value in values:
        hit = Image.fromarray(((mask == value) * 255).astype(np.uint8)).resize(size, Image.Resampling.NEAREST)
        if mask.dtype == bool:
            colour = _colour(str(palette_or_name))
        elif value == 255:
            colour = (255, 255, 255)
        elif palette_or_name is not None and len(palette_or_name) >= 3 * value + 3:
            colour = tuple(palette_or_name[3 * value : 3 * value + 3])
        else:
            colour = _colour(str(value))
        alpha = hit.point(lambda v: 110 if v else 0)
        # ImageDraw.bitmap does not blend; pasting a colour through a translucent mask does.
        target: Image.Image = draw._image  # type: ignore[attr-defined]
        target.paste(Image.new("RGB", size, colour), (placement.x, placement.y), alpha)


def _draw_keypoints(draw: ImageDraw.ImageDraw, overlay: Overlay, placement: Placement) -> None:
    kps, skeleton, name = overlay.data
    colour = _colour(name)
    for a, b in skeleton or []:  # COCO numbers keypoints from 1
        if 0 < a <= len(kps) and 0 < b <= len(kps) and kps[a - 1][2] > 0 and kps[b - 1][2] > 0:
            draw.line([_at(placement, *kps[a - 1][:2]), _at(placement, *kps[b - 1][:2])], fill=colour, width=2)
    for x, y, v in kps:
        if v > 0:
            cx, cy = _at(placement, x, y)
            draw.ellipse((cx - 3, cy - 3, cx + 3, cy + 3), fill=colour if v == 2 else None, outline=colour)


# Overlay kind -> drawer: labels drawn over a tile.
OVERLAY_DRAWERS: dict[str, OverlayDrawer] = {
    "mask": _draw_mask,
    "polygon": _draw_polygon,
    "box": _draw_box,
    "oriented": _draw_oriented,
    "keypoints": _draw_keypoints,
    "line": _draw_line,
}


def label_overlays(labels: ImageLabels | None, shape: tuple[int, ...] = (0, 0)) -> list[Overlay]:
    """What a tile of `shape` (height, width) draws for its labels: masks first, then polygons, boxes,
    line strips (cut to the tile, as they are written) and keypoints on top."""
    if labels is None:
        return []
    out = [Overlay("mask", (m.indices, m.palette)) for name, m in labels.masks.items() if name != "SegmentationObject"]
    if not out and "SegmentationObject" in labels.masks:
        m = labels.masks["SegmentationObject"]
        out.append(Overlay("mask", (m.indices, m.palette)))
    skeletons = labels.meta.get("skeletons", {})
    for obj in labels.objects:
        if obj.mask is not None:
            out.append(Overlay("mask", (obj.mask, obj.category)))
        out.extend(Overlay("polygon", (poly, obj.category)) for poly in obj.polygons)
    for obj in labels.objects:
        if obj.corners is not None:
            out.append(Overlay("oriented", (obj.corners, obj.category)))
        elif obj.box is not None:
            out.append(Overlay("box", (obj.box, obj.category)))
        if obj.keypoints is not None and is_line_strip(obj):
            pieces = clip_polyline(obj.keypoints[:, :2], shape[1], shape[0])
            out.extend(Overlay("line", (piece, obj.category)) for piece in pieces)
        elif obj.keypoints is not None:
            out.append(Overlay("keypoints", (obj.keypoints, skeletons.get(obj.category), obj.category)))
    return out


def draw_overlays(tile: Tile, image: Image.Image, placement: Placement) -> None:
    """Draw a tile's labels over its pixels; `placement` maps tile pixel coordinates to `image`."""
    if not tile.overlays:
        return
    draw = ImageDraw.Draw(image, "RGBA")  # translucent fills blend over the pixels
    for overlay in tile.overlays:
        drawer = OVERLAY_DRAWERS.get(overlay.kind)
        if drawer is None:
            raise ValueError(f"no drawer for overlay kind '{overlay.kind}' (known: {', '.join(OVERLAY_DRAWERS)})")
        drawer(draw, overlay, placement)
