"""Trying a recipe on a test image: each step alone (validation), then the whole pipeline (lint).

Albumentations validates types and ranges, not every combination it cannot run, and a pipeline can
fail where each step works (a crop bigger than what preprocess leaves): running them says so before
`run` meets the first real image.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from augcli import registry
from augcli.pipeline import build_compose, build_step, run_compose
from augcli.recipe.messages import describe_exception
from augcli.recipe.model import Recipe
from augcli.recipe.problems import Finding

# Each step is applied once (a few draws when cheap) to a small test image; crops get one as large as they need.
PROBE_SIDE = 64
PROBE_MAX_SIDE = 1024
PROBE_DRAWS = 3
PROBE_BUDGET_S = 0.02
EMPIRICAL_BUDGET_S = 0.15  # once augment has shown it varies, stop sampling (a RandomFog draw takes 0.3 s)

STEP_DEADLINE_S = 2.0  # a step that runs longer on a test image of at most 1024x1024 is refused
PIPELINE_DEADLINE_S = 3.0  # the whole pipeline's lint run, before it is reported as too slow to check

_TRANSPOSING = {"Transpose", "RandomRotate90", "D4", "SquareSymmetry"}  # augcli's own transforms never do


@functools.lru_cache(maxsize=8)
def _probe_pixels(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    disc = ((yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (min(height, width) * 0.45) ** 2).astype(np.float32)
    noise = np.random.default_rng(0).integers(0, 40, (height, width), dtype=np.uint8).astype(np.float32)
    r = 40 + 150 * disc * xx / width + noise
    g = 30 + 120 * disc * yy / height + noise
    b = 20 + 60 * disc + noise
    pixels = np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8)
    pixels.flags.writeable = False
    return pixels


def probe_image(height: int = 480, width: int = 640) -> np.ndarray:
    """A deterministic RGB test image (gradients, a bright disc, noise) that crops and colour ops all change."""
    return _probe_pixels(height, width).copy()


class ProbeTimeout(BaseException):
    """The probe ran out of time (a BaseException, so no `except Exception` in a transform swallows it)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise ProbeTimeout in this thread after `seconds` (a timer signal: the main thread only, and only
    between Python bytecodes; elsewhere nothing is bounded). Limits on sizes and counts come first
    (augcli.recipe.limits); this catches what they cannot foresee."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    armed = [True]

    def expire(signum: int, frame: object) -> None:
        if armed[0]:
            raise ProbeTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- one step


def _probe_side(params: dict[str, Any]) -> int | None:
    """Side of a square probe big enough for the sizes a step names (a 512 crop needs a 512 image), or None."""
    sizes = [0]

    def ints(value: Any) -> None:
        if isinstance(value, (tuple, list)):
            for v in value:
                ints(v)
        elif isinstance(value, int) and not isinstance(value, bool):
            sizes.append(value)

    for key, value in params.items():
        if any(word in key for word in ("height", "width", "size")) or key in ("x_min", "x_max", "y_min", "y_max"):
            ints(value)
    if max(sizes) > PROBE_MAX_SIDE:
        return None  # too big to try cheaply: building it was the check
    return min(PROBE_MAX_SIDE, max(PROBE_SIDE, 2 * max(sizes)))


def probe_step(cls: type, params: dict[str, Any]) -> str | None:
    """Apply one step, alone and for sure (p=1), to a test image; what it raised, if anything.

    GaussianBlur(blur_limit=-3) builds, then fails on every image.
    """
    accepted = registry.init_parameters(cls)
    defaults = {k: v.default for k, v in accepted.items() if v.default is not inspect.Parameter.empty}
    side = _probe_side({**defaults, **params})
    if side is None:
        return None
    try:
        with deadline(STEP_DEADLINE_S):
            return _try_step(cls, params, accepted, side)
    except ProbeTimeout:
        return f"it takes over {STEP_DEADLINE_S:g} s on a {side}x{side} test image; lower its sizes or counts"


def _try_step(cls: type, params: dict[str, Any], accepted: dict[str, Any], side: int) -> str | None:
    forced = {**params, "p": 1.0} if "p" in accepted else params
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            step = build_step(cls, forced, None)
            # A few draws on a small image, since one can happen to sample the one value that works;
            # a slow step (Superpixels) gets one.
            for seed in range(PROBE_DRAWS if side <= 2 * PROBE_SIDE else 1):
                if seed and time.perf_counter() - started > PROBE_BUDGET_S:
                    break
                step.set_random_seed(seed)
                step(image=probe_image(side, side))
        except Exception as exc:
            if _needs_other_targets(exc):
                return None  # it wants masks/boxes/metadata: whether it gets them is the dataset's business
            return describe_exception(exc)
    return None


def _needs_other_targets(exc: Exception) -> bool:
    text = str(exc)
    return isinstance(exc, KeyError) or bool(re.search(r"requires \[.*\] missing keys|can ?not find mask", text, re.I))


# --------------------------------------------------------------------------- the whole pipeline


def pipeline_findings(recipe: Recipe) -> Iterator[Finding]:
    """Run the pipeline on a probe image: does it run, does augment vary, does it keep the size?

    Each step already ran alone in validation; what fails here is a combination (a crop bigger
    than what preprocess leaves) or a draw the single-step check did not make.
    """
    try:
        with deadline(PIPELINE_DEADLINE_S):
            findings = list(_pipeline_findings(recipe))
    except ProbeTimeout:
        message = f"the pipeline takes over {PIPELINE_DEADLINE_S:g} s on a 640x480 test image; not checked further"
        findings = [("pipeline-slow", (), message)]
    yield from findings


def _pipeline_findings(recipe: Recipe) -> Iterator[Finding]:
    try:
        base = run_compose(build_compose(recipe.preprocess), seed=0, image=probe_image())["image"]
    except Exception as exc:
        yield "pipeline-fails", ("preprocess",), f"preprocess fails on a 640x480 test image: {describe_exception(exc)}"
        return
    yield from _non_square(recipe, base)
    if not recipe.augment:
        yield (
            "no-randomness",
            ("augment",),
            "augment is empty: every copy would equal the preprocessed original",
        )
        return
    yield from _augment_findings(recipe, base)


def _augment_findings(recipe: Recipe, base: np.ndarray) -> Iterator[Finding]:
    """Augment on the preprocessed probe, seed after seed, until it has shown it varies (or failed)."""
    shown = f"{base.shape[0]}x{base.shape[1]}"
    first = None
    sizes = set()
    started = time.perf_counter()
    varied = False
    for seed in range(32):
        try:
            if first is None:
                augment = build_compose(recipe.augment)
            out = run_compose(augment, seed=seed, image=base)["image"]
        except Exception as exc:
            message = f"augment fails on a {shown} test image (seed {seed}): {describe_exception(exc)}"
            yield "pipeline-fails", ("augment",), message
            return
        if first is None:
            first = out
        sizes.add(out.shape[:2])
        varied = varied or out.shape != first.shape or not np.array_equal(out, first)
        if varied and (seed >= 8 or time.perf_counter() - started > EMPIRICAL_BUDGET_S):
            break
    if not varied:
        yield "no-randomness", ("augment",), "nothing in augment is random: every copy would be identical"
    if sizes != {base.shape[:2]}:
        got = ", ".join(f"{h}x{w}" for h, w in sorted(sizes))
        yield (
            "size-change",
            ("augment",),
            f"augment turns {shown} images into {got}; end augment with a Resize",
        )


def _non_square(recipe: Recipe, base: np.ndarray) -> Iterator[Finding]:
    """Satellite tiles that preprocess leaves non-square change shape under a 90-degree turn or transpose."""
    height, width = base.shape[:2]
    if recipe.domain != "satellite" or height == width:
        return
    if recipe.preprocess:
        tiles = f"the {height}x{width} tiles preprocess makes"
        fix = "make preprocess end with square tiles (e.g. CenterCrop with equal height and width)"
    else:
        tiles = "non-square tiles, and nothing in preprocess makes tiles square"
        fix = "add e.g. PadIfNeeded + CenterCrop with equal sides to preprocess"
    for spec in recipe.augment:
        for sub in spec.walk():
            if sub.name in _TRANSPOSING:
                yield (
                    "satellite-non-square",
                    sub.path,
                    f"{sub.name} swaps the height and width of {tiles}, so outputs would come in two sizes; {fix}",
                )
