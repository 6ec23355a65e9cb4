"""Limits no real recipe comes near, so that no recipe can exhaust the machine by a typo or on purpose.

Albumentations accepts `Resize` to 60000 px or `CoarseDropout` with 1e8 holes: valid, and a worker
that asks for 20 GB or runs for minutes per image. These checks run before a step is built or tried,
and each error names the value and the limit. Pure: it reads the parameters only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

MAX_COPIES = 10_000  # outputs per source image (copies, class_copies)
MAX_SIDE = 32_768  # pixels: any height, width or size a step makes or pads to
MAX_SCALE = 4.0  # RandomScale's largest factor (scale_limit up to 3)
MAX_COUNT = 10_000  # holes, masks, segments, control points, grid cells... (num_*, n_* parameters)
MAX_OPS = 100  # RandAugment's num_ops (torchvision's table has 14 ops; 2 is the default)
MAX_ITERATIONS = 10  # GlassBlur: it draws a displacement per pixel per iteration (the default is 2)
BYTES_PER_PIXEL = 16  # measured: ~9 for an 8-bit RGB image while resized, rotated and encoded; room kept
MEMORY_SHARE = 0.5  # of this machine's memory, for one image of one worker

# Parameters that are a side in pixels of what the step makes (or pads, or tiles) to.
SIDE_KEYS = {
    "height",
    "width",
    "size",
    "max_size",
    "max_size_hw",
    "min_height",
    "min_width",
    "min_max_height",
    "pad_height_divisor",
    "pad_width_divisor",
    "plasma_size",
}
_HEIGHT_ONLY = {"height", "min_height", "pad_height_divisor", "min_max_height"}
_WIDTH_ONLY = {"width", "min_width", "pad_width_divisor"}


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, (tuple, list)):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def machine_memory() -> int | None:
    """This machine's physical memory in bytes, when the system says."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def step_limits(name: str, params: dict[str, Any]) -> Iterator[tuple[str | None, str]]:
    """(parameter, message) for each value over a limit; parameter None for the step as a whole."""
    heights, widths = [0.0], [0.0]
    for key, value in params.items():
        numbers = list(_numbers(value))
        if key in SIDE_KEYS:
            big = max(numbers, default=0)
            if big > MAX_SIDE:
                yield key, f"{name} {key} {_shown(value)} is over augcli's limit of {MAX_SIDE} px per side"
                continue
            if key not in _WIDTH_ONLY:
                heights.append(big)
            if key not in _HEIGHT_ONLY:
                widths.append(big)
        elif key == "num_ops" and max(numbers, default=0) > MAX_OPS:
            yield key, f"{name} num_ops {_shown(value)} is over augcli's limit of {MAX_OPS}"
        elif key == "iterations" and max(numbers, default=0) > MAX_ITERATIONS:
            yield key, f"{name} iterations {_shown(value)} is over augcli's limit of {MAX_ITERATIONS}"
        elif key.startswith(("num_", "n_")) and max(numbers, default=0) > MAX_COUNT:
            yield key, f"{name} {key} {_shown(value)} is over augcli's limit of {MAX_COUNT}"
        elif name == "RandomScale" and key == "scale_limit" and numbers:
            factor = 1 + (max(numbers) if isinstance(value, (tuple, list)) else abs(numbers[0]))
            if factor > MAX_SCALE:
                yield (
                    key,
                    (
                        f"RandomScale scale_limit {_shown(value)} scales images up to x{factor:g}; "
                        f"augcli's limit is x{MAX_SCALE:g} (scale_limit up to {MAX_SCALE - 1:g})"
                    ),
                )
    yield from _memory(name, max(heights) * max(widths))


def _memory(name: str, pixels: float) -> Iterator[tuple[str | None, str]]:
    total = machine_memory()
    need = pixels * BYTES_PER_PIXEL
    if total and need > MEMORY_SHARE * total:
        yield (
            None,
            (
                f"{name} makes images of {pixels / 1e6:,.0f} megapixels, about {need / 2**30:.1f} GiB each while "
                f"processed; this machine has {total / 2**30:.1f} GiB (augcli allows an image {MEMORY_SHARE:.0%} of it)"
            ),
        )


def _shown(value: Any) -> str:
    return str(list(value)) if isinstance(value, tuple) else str(value)
