"""Contact sheets of what `run` writes, made by the same code path, so tuning by eye can be trusted.

Every tile is the decoded bytes of the file `run` would write for that image and copy index: the
pixels come from `runner.Processor` (same seeds, same `encode_output`), are encoded to the
recipe's output format at its quality, and decoded back. Nothing here writes files: the functions
return PIL images, numpy arrays and an HTML string with its tile files as bytes; the CLI writes them.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from augcli.datasets import LabelSet, Sample, discover, discover_dataset
from augcli.datasets.folders import TRAIN
from augcli.datasets.labels import ImageLabels, sanitize
from augcli.datasets.support import summarize
from augcli.errors import ImageReadError, UsageError
from augcli.imageio import DecodedImage, decode_image, encode_image, suffix_format
from augcli.recipe import Recipe, TransformSpec, format_value
from augcli.render import Processor, encode_output, label_options, output_format, partner_source, recipe_mixes
from augcli.runner import copies_per_sample

DEFAULT_IMAGES = 4
MAX_DEFAULT_COPIES = 8
DEFAULT_TILE = 256
MAX_SHEET_WIDTH = 4096
MIN_TILE = 96  # below this a wide sheet is shrunk as a whole rather than tile by tile

_SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}


# --------------------------------------------------------------------------- captions


@dataclass(frozen=True)
class CaptionContext:
    """What a caption needs beyond the recorded parameters: the pipeline's pixel scale."""

    max_value: float = 255.0  # 255 for uint8 pipelines, 1.0 for float (16-bit sources travel as float)


CaptionFormatter = Callable[[Mapping[str, Any], CaptionContext], str]


@dataclass(frozen=True)
class Show:
    """An abbreviation and, optionally, which recorded parameter to show and how."""

    abbrev: str
    param: str | None = None
    fmt: str = "{}"

    def __call__(self, params: Mapping[str, Any], ctx: CaptionContext) -> str:
        if self.param is None:
            return self.abbrev
        if self.param not in params:
            return generic_caption(self.abbrev, params)
        return f"{self.abbrev} {self.fmt.format(params[self.param])}"


def _box(abbrev: str, key: str) -> CaptionFormatter:
    """A crop shown by its size (x_min, y_min, x_max, y_max recorded)."""

    def fmt(params: Mapping[str, Any], ctx: CaptionContext) -> str:
        box = params.get(key)
        if not (isinstance(box, list) and len(box) == 4):
            return generic_caption(abbrev, params)
        return f"{abbrev} {box[2] - box[0]}x{box[3] - box[1]}"

    return fmt


def _brightness_contrast(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    # beta is recorded in pixel units (limit x max value, or x mean with brightness_by_max false);
    # divided by the pipeline's max value it is the additive shift as a fraction of full scale.
    parts = []
    beta, alpha = params.get("beta", 0.0), params.get("alpha", 1.0)
    if beta:
        parts.append(f"bright {beta / ctx.max_value:+.2f}")
    if alpha != 1:
        parts.append(f"contrast x{alpha:.2f}")
    return " · ".join(parts) or "bright/contrast +0"


def _affine(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    # Translation and shear live only in the matrix, which the manifest drops; they cannot be shown.
    parts = ["affine"]
    rotate = params.get("rotate")
    if isinstance(rotate, (int, float)) and rotate:
        parts.append(f"rot {rotate:+.1f}°")
    scale = params.get("scale")
    if isinstance(scale, dict) and {"x", "y"} <= scale.keys():
        x, y = scale["x"], scale["y"]
        parts.append(f"scale x{x:.2f}" if round(x, 2) == round(y, 2) else f"scale x{x:.2f}/{y:.2f}")
    return " ".join(parts)


def _color_jitter(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    keys = (("brightness", "b", "x{:.2f}"), ("contrast", "c", "x{:.2f}"), ("saturation", "s", "x{:.2f}"))
    parts = [f"{short}{fmt.format(params[k])}" for k, short, fmt in keys if k in params]
    if "hue" in params:
        parts.append(f"h{params['hue']:+.3f}")
    return "jitter " + " ".join(parts)


def _compression(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    kind = "webp" if params.get("image_type") == ".webp" else "jpeg"
    return f"{kind} q{params['quality']}" if "quality" in params else kind


def _kernel(abbrev: str) -> CaptionFormatter:
    """Blurs record their kernel (when small enough to keep); its size is what a reader can judge."""

    def fmt(params: Mapping[str, Any], ctx: CaptionContext) -> str:
        kernel = params.get("kernel")
        if isinstance(kernel, list) and kernel:
            rows = len(kernel)
            cols = len(kernel[0]) if isinstance(kernel[0], list) else rows
            return f"{abbrev} {rows}x{cols}"
        return abbrev

    return fmt


def _hsv(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    keys = (("hue_shift", "h"), ("sat_shift", "s"), ("val_shift", "v"))
    parts = [f"{short}{params[k]:+.1f}" for k, short in keys if params.get(k)]
    return "hsv " + (" ".join(parts) if parts else "+0")


def _pad(params: Mapping[str, Any], ctx: CaptionContext) -> str:
    sides = [params.get(f"pad_{s}", 0) for s in ("top", "bottom", "left", "right")]
    if not any(sides):
        return "pad none"
    return "pad t{} b{} l{} r{}".format(*sides)


# Transform name -> caption formatter. A name not here gets `generic_caption`.
CAPTIONS: dict[str, CaptionFormatter] = {
    "HorizontalFlip": Show("hflip"),
    "VerticalFlip": Show("vflip"),
    "Transpose": Show("transpose"),
    "RandomRotate90": Show("rot90", "factor", "k={}"),
    "SquareSymmetry": Show("d4", "group_element"),
    "D4": Show("d4", "group_element"),
    "RandomBrightnessContrast": _brightness_contrast,
    "SaturationScale": Show("sat", "scale", "x{:.2f}"),
    "RandomCentralCrop": Show("crop", "fraction", "{:.2f}"),
    "FundusCrop": _box("fundus crop", "crop_box"),
    "RandomResizedCrop": _box("rr-crop", "crop_coords"),
    "RandomCrop": _box("crop", "crop_coords"),
    "CenterCrop": _box("center crop", "crop_coords"),
    "Crop": _box("crop", "crop_coords"),
    "Affine": _affine,
    "Rotate": Show("rot", "angle", "{:+.1f}°"),
    "SafeRotate": Show("rot", "angle", "{:+.1f}°"),
    "RandomScale": Show("scale", "scale", "x{:.2f}"),
    "ColorJitter": _color_jitter,
    "HueSaturationValue": _hsv,
    "RandomGamma": Show("gamma", "gamma", "{:.2f}"),
    "CLAHE": Show("clahe", "clip_limit", "{:.1f}"),
    "Downscale": Show("downscale", "scale", "x{:.2f}"),
    "ImageCompression": _compression,
    "GaussNoise": Show("noise"),
    "ISONoise": Show("iso noise"),
    "GaussianBlur": _kernel("blur"),
    "MotionBlur": Show("motion blur"),
    "MedianBlur": Show("median blur"),
    "Blur": Show("blur"),
    "Morphological": _kernel("morph"),
    "RandomFog": Show("fog", "intensity", "{:.2f}"),
    "Perspective": Show("perspective"),
    "ToGray": Show("gray"),
    "Resize": Show("resize"),
    "SmallestMaxSize": Show("resize", "scale", "x{:.3f}"),
    "LongestMaxSize": Show("resize", "scale", "x{:.3f}"),
    "PadIfNeeded": _pad,
}

_GENERIC_SKIP = {"fill", "fill_mask"}


def generic_caption(name: str, params: Mapping[str, Any]) -> str:
    """`Name` plus its first one or two numeric parameters: enough to tell two copies apart."""
    shown = []
    for key, value in params.items():
        if key in _GENERIC_SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        shown.append(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}")
        if len(shown) == 2:
            break
    return " ".join([name, *shown])


def caption_step(name: str, params: Mapping[str, Any], ctx: CaptionContext | None = None) -> str:
    formatter = CAPTIONS.get(name)
    ctx = ctx or CaptionContext()
    if formatter is None:
        return generic_caption(name, params)
    try:
        return formatter(params, ctx)
    except (KeyError, TypeError, ValueError, IndexError):  # an unexpected parameter shape: never fail a sheet
        return generic_caption(name, params)


def caption(applied: Sequence[Mapping[str, Any]], ctx: CaptionContext | None = None) -> str:
    """What fired, in order, from manifest-style records (`[{name, params}]`)."""
    parts = [caption_step(str(t["name"]), t.get("params", {}), ctx) for t in applied]
    return " · ".join(parts) if parts else "nothing fired"


# --------------------------------------------------------------------------- what to show


@dataclass(frozen=True)
class Source:
    """An image to preview: where it is, and the sample `run` would see (its rel is the seed key)."""

    path: Path
    sample: Sample
    run_copies: int | None = None  # copies run writes for it; None when it is not in the dataset


def sample_images(samples: Sequence[Sample], count: int, seed: int) -> list[Sample]:
    """Round-robin over (split, class) groups, so every group shows before any group shows twice."""
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: s.rel):
        groups[(s.split, s.label or "")].append(s)
    order = sorted(groups, key=lambda g: (_SPLIT_ORDER.get(g[0], 9), g[0], g[1]))
    rng = random.Random(f"augcli-preview\x00{seed}")  # a str seed is hashed with SHA-512: stable everywhere
    for key in order:
        rng.shuffle(groups[key])
    picked: list[Sample] = []
    depth = 0
    longest = max((len(v) for v in groups.values()), default=0)
    while len(picked) < count and depth < longest:
        for key in order:
            if depth < len(groups[key]) and len(picked) < count:
                picked.append(groups[key][depth])
        depth += 1
    rank = {key: i for i, key in enumerate(order)}
    return sorted(picked, key=lambda s: (rank[(s.split, s.label or "")], s.rel))  # shown group by group


def _relative_to(path: Path, root: Path | None) -> str | None:
    if root is None:
        return None
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return rel.as_posix()


def find_sources(
    recipe: Recipe, paths: Sequence[Path], *, input: Path | None = None, count: int = DEFAULT_IMAGES, seed: int
) -> list[Source]:
    """The images to show: given files, `count` sampled from each given folder, or from the input.

    Inside the dataset root an image's seed key is its path relative to the root (as in `run`);
    elsewhere it is its path relative to the given folder, or, for a given file, its name.
    """
    root = input or recipe.input
    dataset = (
        discover_dataset(root, label_format=label_options(recipe).format)
        if root is not None and root.is_dir()
        else None
    )
    known = {s.rel: s for s in dataset.samples} if dataset else {}
    run_copies = copies_per_sample(recipe, dataset.samples) if dataset else {}

    def in_root(s: Sample) -> Source:
        assert root is not None
        return Source(root / s.rel, s, run_copies.get(s.rel, 0) if s.augmented else 0)

    if not paths:
        if dataset is None:
            where = f" ({root} is not a folder)" if root is not None else ""
            raise UsageError(f"no images to preview: pass images or folders, or --input, or set `input:`{where}")
        return [in_root(s) for s in sample_images(dataset.samples, count, seed)]
    out: list[Source] = []
    for path in paths:
        if not path.exists():
            raise UsageError("image or folder not found", path)
        rel = _relative_to(path, root) if dataset else None
        if path.is_dir() and rel is not None:
            prefix = "" if rel == "." else rel + "/"
            members = [s for s in known.values() if s.rel.startswith(prefix)]
            out.extend(in_root(s) for s in sample_images(members, count, seed))
        elif path.is_dir():
            found = discover(path)
            out.extend(Source(path / s.rel, s) for s in sample_images(found.samples, count, seed))
        elif rel is not None:
            out.append(in_root(known.get(rel, Sample(rel, TRAIN, None))))
        else:
            out.append(Source(path, Sample(path.name, TRAIN, None)))
    if not out:
        raise UsageError("no images in the given folders (.jpg .png .webp .tif .bmp)")
    unique: dict[str, Source] = {}
    for src in out:
        unique.setdefault(os.path.realpath(src.path), src)
    return list(unique.values())


# --------------------------------------------------------------------------- tiles


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


def as_written(
    recipe: Recipe, rel: str, pixels: np.ndarray, source: DecodedImage, *, unchanged: bool = False
) -> np.ndarray:
    """The pixels a reader gets back from the file `run` writes: the bytes of `encode_output`, decoded."""
    data, _fmt = encode_output(recipe, rel, pixels, source, unchanged=unchanged)
    return decode_image(data, "<encoded output>").pixels


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _context(pre: Mapping[str, Any]) -> CaptionContext:
    image = pre.get("image")
    is_float = isinstance(image, np.ndarray) and image.dtype.kind == "f"
    return CaptionContext(1.0 if is_float else 255.0)


def _display_name(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("../../..") else rel


def _format_for(recipe: Recipe, rel: str) -> str | None:
    if recipe.output_format == "same" and suffix_format(rel) is None:
        return None
    return output_format(recipe, rel)


@dataclass
class _Prepared:
    """A decoded, preprocessed source and the format its outputs are written in."""

    decoded: DecodedImage
    pre: dict[str, Any]
    fmt: str
    original: Tile


@dataclass(frozen=True)
class _Labels:
    """The dataset's labels, when it has them: tiles show them moved exactly as run writes them."""

    root: Path
    label_set: LabelSet

    def read(self, src: Source, width: int, height: int) -> ImageLabels | None:
        if _relative_to(src.path, self.root) != src.sample.rel:
            return None  # an image from outside the dataset has no labels here
        payload = self.label_set.payloads.get(src.sample.rel)
        labels = self.label_set.codec.read(self.root, src.sample.rel, payload, width, height)
        return sanitize(labels, width, height)


def _prepare(processor: Processor, recipe: Recipe, src: Source, labels: _Labels | None = None) -> _Prepared | Tile:
    """Decode and preprocess once (FundusCrop and the like run once per source); an error tile if not."""
    rel = src.sample.rel
    fmt = _format_for(recipe, rel)
    if fmt is None:
        return Tile.failed("original", f"unreadable: run does not read {Path(rel).suffix or 'suffixless'} files", 0)
    try:
        decoded = processor.read(src.path)
    except ImageReadError as exc:
        return Tile.failed("original", f"unreadable: {exc.message}", 0)
    try:
        image_labels = labels.read(src, decoded.pixels.shape[1], decoded.pixels.shape[0]) if labels else None
        pre = processor.preprocess(decoded, rel, image_labels)
        rendered = processor.original(pre)
        pixels = as_written(recipe, rel, rendered.pixels, decoded, unchanged=rendered.unchanged)
    except Exception as exc:
        return Tile.failed("original", f"preprocess failed: {_short_error(exc)}", 0)
    words = ["original", f"{pixels.shape[1]}x{pixels.shape[0]}"]
    if src.sample.augmented and not recipe.keep_original:
        words.append("(not written: keep_original is false)")
    text = " ".join(words)
    if rendered.applied:
        text += " · " + caption(rendered.applied, _context(pre))
    tile = Tile("original", pixels, text, rendered.applied, copy=0, overlays=label_overlays(rendered.labels))
    return _Prepared(decoded, pre, fmt, tile)


def _copy_tile(processor: Processor, recipe: Recipe, prepared: _Prepared, rel: str, k: int, label: str) -> Tile:
    try:
        rendered = processor.copy(prepared.pre, rel, k)
        pixels = as_written(recipe, rel, rendered.pixels, prepared.decoded)
    except Exception as exc:
        return Tile.failed(label, f"failed: {_short_error(exc)}", k)
    text = caption(rendered.applied, _context(prepared.pre))
    return Tile(label, pixels, text, rendered.applied, copy=k, overlays=label_overlays(rendered.labels))


def _row_title(src: Source) -> str:
    s = src.sample
    where = " · ".join(x for x in (s.split, s.label) if x)
    return f"{s.rel}  ({where})"


def build_rows(
    processor: Processor, recipe: Recipe, sources: Sequence[Source], copies: int, labels: _Labels | None = None
) -> list[Row]:
    """One row per source: the preprocessed original, then copies 1..N exactly as run writes them."""
    rows = []
    for src in sources:
        prepared = _prepare(processor, recipe, src, labels)
        notes = []
        if not src.sample.augmented:
            notes.append(f"{src.sample.split}: not augmented")
        elif src.run_copies is not None and src.run_copies < copies:
            notes.append(f"run writes {src.run_copies} cop{'y' if src.run_copies == 1 else 'ies'} of it")
        if isinstance(prepared, Tile):
            rows.append(Row(_row_title(src), " · ".join(notes), [prepared], src))
            continue
        tiles: list[Tile | None] = [prepared.original]
        if src.sample.augmented:
            for k in range(1, copies + 1):
                tiles.append(_copy_tile(processor, recipe, prepared, src.sample.rel, k, f"copy {k}"))
        rows.append(Row(_row_title(src), " · ".join(notes), tiles, src))
    return rows


# --------------------------------------------------------------------------- per-transform mode


def _range_keys(params: Mapping[str, Any]) -> list[str]:
    return [
        k
        for k, v in params.items()
        if (k.endswith("_range") or k.endswith("_limit"))
        and isinstance(v, tuple)
        and len(v) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
    ]


def _collapse(spec: TransformSpec, end: int) -> tuple[TransformSpec, list[str]]:
    """The step with every 2-tuple range (its own and its children's) collapsed to one end."""
    params = dict(spec.params)
    changed = []
    for key in _range_keys(params):
        value = params[key][end]
        params[key] = (value, value)
        changed.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
    children = None
    if spec.children is not None:
        children = []
        for child in spec.children:
            collapsed, more = _collapse(child, end)
            children.append(collapsed)
            changed.extend(f"{child.name}.{c}" for c in more)
    return dataclasses.replace(spec, params=params, children=children), changed


def _has_ranges(spec: TransformSpec) -> bool:
    return any(_range_keys(s.params) for s in spec.walk())


def _forced(spec: TransformSpec) -> TransformSpec:
    """The step with p=1 (a composition block too), so that applied alone it always fires."""
    from augcli import registry

    if "p" not in registry.init_parameters(registry.catalogue()[spec.name]):
        return spec
    return dataclasses.replace(spec, params={**spec.params, "p": 1.0})


def _step_title(i: int, spec: TransformSpec) -> str:
    shown = ", ".join(f"{k}={_value_text(v)}" for k, v in spec.params.items() if k != "p")
    kids = f" [{', '.join(c.name for c in spec.children)}]" if spec.children else ""
    p = spec.params.get("p")
    forced = f"  (p={_value_text(p)}, forced to 1)" if p is not None and p != 1 else ""
    return f"augment[{i}] {spec.name}({shown}){kids}{forced}"


_value_text = format_value


def build_step_rows(
    processor: Processor, recipe: Recipe, source: Source, samples: int, labels: _Labels | None = None
) -> list[Row]:
    """One row per top-level augment step applied alone: N sampled strengths, then its range's ends."""
    prepared = _prepare(processor, recipe, source, labels)
    if isinstance(prepared, Tile):
        return [Row(_row_title(source), "every step needs this image", [prepared], source)]
    rel = source.sample.rel
    rows = []
    for i, spec in enumerate(recipe.augment):
        tiles: list[Tile | None] = [prepared.original]
        try:
            alone = Processor(recipe, augment=[_forced(spec)], labels=processor.labels)
        except Exception as exc:
            tiles.append(Tile.failed("sample 1", f"cannot build: {_short_error(exc)}"))
            rows.append(Row(_step_title(i, spec), "", tiles, source))
            continue
        for k in range(1, samples + 1):
            tile = _copy_tile(alone, recipe, prepared, rel, k, f"sample {k}")
            tile.copy = None
            tiles.append(tile)
        if _has_ranges(spec):
            for end, label in ((0, "low end"), (1, "high end")):
                collapsed, changed = _collapse(_forced(spec), end)
                try:
                    at_end = Processor(recipe, augment=[collapsed], labels=processor.labels)
                except Exception as exc:
                    tiles.append(Tile.failed(label, f"cannot build at the {label}: {_short_error(exc)}"))
                    continue
                tile = _copy_tile(at_end, recipe, prepared, rel, 1, label)
                tile.copy = None
                if tile.error is None:
                    tile.caption = f"{label.split()[0]}: {' '.join(changed)} · {tile.caption}"
                tiles.append(tile)
        rows.append(Row(_step_title(i, spec), "", tiles, source))
    return rows


# --------------------------------------------------------------------------- the core call


@dataclass(frozen=True)
class PreviewOptions:
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
    """A self-contained page: index.html and the tile files it references, all relative to one folder."""

    index: str
    files: dict[str, bytes]


@dataclass
class PreviewResult:
    preview: Preview
    layout: Layout
    sheet: Image.Image
    html: HtmlPage | None = None


def build_preview(recipe: Recipe, paths: Sequence[Path] = (), *, options: PreviewOptions | None = None) -> Preview:
    """The tiles and captions of a preview (no drawing): what `make_preview` renders."""
    options = options or PreviewOptions()
    recipe_seed = recipe.seed
    seed = recipe_seed if options.seed is None else options.seed
    if seed != recipe_seed:
        recipe = dataclasses.replace(recipe, seed=seed)
    copies = options.copies if options.copies is not None else min(recipe.copies, MAX_DEFAULT_COPIES)
    sources = find_sources(recipe, paths, input=options.input, count=options.images, seed=seed)
    root = options.input or recipe.input
    found = discover_dataset(root, label_format=label_options(recipe).format) if root and root.is_dir() else None
    labels = _Labels(root, found.labels) if root and found is not None and found.labels is not None else None
    partners = None
    if found is not None and root is not None and recipe_mixes(recipe):
        label_set = found.labels
        kinds = summary.kinds if label_set is not None and (summary := summarize(found)) is not None else set()
        codec = label_set.codec if label_set is not None and "masks" not in kinds else None  # masks never mix
        payloads = label_set.payloads if label_set is not None else None
        partners = partner_source(root, {s.rel: s.label for s in found.samples if s.augmented}, codec, payloads)
    processor = Processor(recipe, labels=label_options(recipe) if labels else None, partners=partners)
    if options.per_transform:
        rows = build_step_rows(processor, recipe, sources[0], copies, labels) if sources else []
        width = max((len(r.tiles) for r in rows), default=1)
        columns = ["original", *(f"sample {k}" for k in range(1, copies + 1)), "low end", "high end"][:width]
    else:
        rows = build_rows(processor, recipe, sources, copies, labels)
        columns = ["original", *(f"copy {k}" for k in range(1, copies + 1))]
    fmt = recipe.output_format + (f" q{recipe.quality}" if recipe.output_format in ("jpg", "webp", "same") else "")
    seed_note = f"seed {seed}"
    if seed != recipe_seed:
        seed_note += f" (not the recipe's {recipe_seed}: run writes other copies)"
    mode = f"{copies} copies"
    if options.per_transform:
        mode = "each augment step alone with p=1" + (f", on {sources[0].sample.rel}" if sources else "")
    header = f"augcli preview · {recipe.name} · {_display_name(recipe.source)} · {seed_note} · output {fmt} · {mode}"
    return Preview(header, columns, rows, recipe.name, str(recipe.source), recipe.text, seed)


def make_preview(recipe: Recipe, paths: Sequence[Path] = (), *, options: PreviewOptions | None = None) -> PreviewResult:
    """Build the tiles, lay them out and render the sheet (and the HTML page when asked)."""
    options = options or PreviewOptions()
    preview = build_preview(recipe, paths, options=options)
    layout = plan_layout(preview, tile=options.tile, max_width=options.max_width)
    sheet = render_sheet(preview, layout)
    page = render_html(preview) if options.html else None
    return PreviewResult(preview, layout, sheet, page)


# --------------------------------------------------------------------------- display conversion


def _checkerboard(height: int, width: int, square: int = 8) -> np.ndarray:
    yy, xx = np.indices((height, width))
    light = ((yy // square + xx // square) % 2 == 0)[..., None]
    return np.where(light, np.uint8(204), np.uint8(153)).astype(np.float32)


def to_display(pixels: np.ndarray) -> np.ndarray:
    """Any output (gray/RGB/RGBA, 8/16-bit, float) as 8-bit RGB; alpha composited over a checkerboard."""
    arr = pixels
    if arr.dtype == np.uint16:
        arr = ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif arr.dtype.kind == "f":
        arr = np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return np.dstack([arr, arr, arr])
    if arr.shape[2] == 2:
        arr = arr[..., [0, 0, 0, 1]]
    if arr.shape[2] == 4:
        alpha = arr[..., 3:].astype(np.float32) / 255.0
        board = _checkerboard(*arr.shape[:2])
        mixed = arr[..., :3].astype(np.float32) * alpha + board * (1 - alpha)
        return np.round(mixed).astype(np.uint8)
    return np.ascontiguousarray(arr[..., :3])


@dataclass(frozen=True)
class Placement:
    """Where a tile's pixels landed: sheet position of its (0, 0) and the scale applied to it."""

    x: int
    y: int
    scale: float


def letterbox(rgb: np.ndarray, size: int, background: tuple[int, int, int]) -> tuple[np.ndarray, Placement]:
    """Fit into a size x size cell keeping the aspect ratio; area-averaged down, nearest up (no blur invented)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    small = cv2.resize(rgb, (nw, nh), interpolation=interp) if (nw, nh) != (w, h) else rgb
    cell = np.empty((size, size, 3), np.uint8)
    cell[:] = background
    x0, y0 = (size - nw) // 2, (size - nh) // 2
    cell[y0 : y0 + nh, x0 : x0 + nw] = small
    return cell, Placement(x0, y0, scale)


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
    font = _font(11)
    w = font.getlength(name)
    ty = y0 - 13 if y0 >= 13 else y0
    draw.rectangle((x0, ty, x0 + w + 4, ty + 13), fill=(*colour, 200))
    draw.text((x0 + 2, ty), name, font=font, fill=(0, 0, 0))


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
    "keypoints": _draw_keypoints,
}


def label_overlays(labels: ImageLabels | None) -> list[Overlay]:
    """What a tile draws for its labels: masks first, then polygons, boxes and keypoints on top."""
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
        if obj.box is not None:
            out.append(Overlay("box", (obj.box, obj.category)))
        if obj.keypoints is not None:
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


# --------------------------------------------------------------------------- the sheet

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
    return layout


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def _fit(text: str, font: Any, width: int) -> str:
    """Cut a line to width with an ellipsis."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def wrap_caption(text: str, font: Any, width: int, max_lines: int) -> list[str]:
    """Pack a caption's ` · ` parts into lines; parts never split unless one alone is too long."""
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
    if len(lines) > max_lines:
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
    font = _font(layout.font_size)
    bold = _font(layout.font_size + 2)
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


# --------------------------------------------------------------------------- the HTML page

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
td,th{border-top:1px solid #3a3a3a;padding:1px 4px;text-align:left;vertical-align:top;word-break:break-all}
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
    """index.html plus its tile files (names relative to the page's folder); opens from disk, no server."""
    files: dict[str, bytes] = {}
    sections = []
    for r, row in enumerate(preview.rows):
        figures = []
        for c, tile in enumerate(row.tiles):
            if tile is None:
                continue
            label = html.escape(tile.label)
            if tile.pixels is None:
                body = f'<div class="box">{html.escape(tile.error or "error")}</div>'
                cls = "error"
            else:
                name = f"r{r:02d}-c{c:02d}.png"
                files[name] = _tile_file(tile)
                alt = html.escape(f"{row.title} {tile.label}", quote=True)
                h, w = tile.pixels.shape[:2]
                body = f'<a href="{name}"><img src="{name}" alt="{alt}" title="{w}x{h}" loading="lazy"></a>'
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
    return HtmlPage(index, files)


__all__ = [
    "CAPTIONS",
    "OVERLAY_DRAWERS",
    "CaptionContext",
    "HtmlPage",
    "Layout",
    "Overlay",
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
    "label_overlays",
    "make_preview",
    "plan_layout",
    "render_html",
    "render_sheet",
    "sample_images",
    "to_display",
]
