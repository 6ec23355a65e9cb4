"""The per-transform mode: each top-level augment step alone with p=1, sampled, then at its range's ends.

It answers "what does this step do at its extremes?", which copies of the whole recipe cannot show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from augcli.preview.model import Row, Source, Tile
from augcli.preview.tiles import Prepared, SourceLabels, copy_tile, prepare, row_title, short_error
from augcli.recipe import Recipe, TransformSpec, format_value
from augcli.render import Processor


def _range_keys(params: Mapping[str, Any]) -> list[str]:
    """The parameters that are numeric (low, high) ranges: `*_range` and `*_limit` pairs."""
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
    """Whether the step or any step inside it has a range whose ends are worth showing."""
    return any(_range_keys(s.params) for s in spec.walk())


def _forced(spec: TransformSpec) -> TransformSpec:
    """The step with p=1 (a composition block too), so that applied alone it always fires."""
    from augcli import registry

    if "p" not in registry.init_parameters(registry.catalogue()[spec.name]):
        return spec
    return dataclasses.replace(spec, params={**spec.params, "p": 1.0})


def _step_title(i: int, spec: TransformSpec) -> str:
    """`augment[i] Name(params) [children]`, saying when p was forced to 1."""
    shown = ", ".join(f"{k}={format_value(v)}" for k, v in spec.params.items() if k != "p")
    kids = f" [{', '.join(c.name for c in spec.children)}]" if spec.children else ""
    p = spec.params.get("p")
    forced = f"  (p={format_value(p)}, forced to 1)" if p is not None and p != 1 else ""
    return f"augment[{i}] {spec.name}({shown}){kids}{forced}"


def build_step_rows(
    processor: Processor, recipe: Recipe, source: Source, samples: int, labels: SourceLabels | None = None
) -> list[Row]:
    """One row per top-level augment step applied alone: N sampled strengths, then its range's ends."""
    prepared = prepare(processor, recipe, source, labels)
    if isinstance(prepared, Tile):
        return [Row(row_title(source), "every step needs this image", [prepared], source)]
    rows = []
    for i, spec in enumerate(recipe.augment):
        tiles: list[Tile | None] = [
            prepared.original,
            *_step_tiles(processor, recipe, prepared, source.sample.rel, spec, samples),
        ]
        rows.append(Row(_step_title(i, spec), "", tiles, source))
    return rows


def _step_tiles(
    processor: Processor, recipe: Recipe, prepared: Prepared, rel: str, spec: TransformSpec, samples: int
) -> list[Tile]:
    """The step alone, `samples` times; then, when it has ranges, once at each end of them."""
    try:
        alone = Processor(recipe, augment=[_forced(spec)], labels=processor.labels)
    except Exception as exc:
        return [Tile.failed("sample 1", f"cannot build: {short_error(exc)}")]
    tiles = [_uncopied(copy_tile(alone, recipe, prepared, rel, k, f"sample {k}")) for k in range(1, samples + 1)]
    if not _has_ranges(spec):
        return tiles
    for end, label in ((0, "low end"), (1, "high end")):
        collapsed, changed = _collapse(_forced(spec), end)
        try:
            at_end = Processor(recipe, augment=[collapsed], labels=processor.labels)
        except Exception as exc:
            tiles.append(Tile.failed(label, f"cannot build at the {label}: {short_error(exc)}"))
            continue
        tile = _uncopied(copy_tile(at_end, recipe, prepared, rel, 1, label))
        if tile.error is None:
            tile.caption = f"{label.split()[0]}: {' '.join(changed)} · {tile.caption}"
        tiles.append(tile)
    return tiles


def _uncopied(tile: Tile) -> Tile:
    """A per-step tile is no file run writes: it has no copy index."""
    tile.copy = None
    return tile
