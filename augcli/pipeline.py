"""Step specs -> Albumentations objects, and the seeding that makes every output reproducible.

This is the one builder of transforms: recipe validation builds and probes each step with it, `run`,
`preview` and the online pipelines build their Compose objects with it. It knows a recipe's step only
by its shape (`StepSpec`), so it sits below the recipe package, which imports it.

Each output gets its own seed, derived from (recipe seed, source path relative to the dataset
root, copy index), and the whole augment pipeline draws from ONE generator seeded with it.
(Albumentations' own `Compose.set_random_seed` gives every transform an identical generator, so
two flips with p=0.5 would always fire together; `set_random_state` with a shared stream does not.)
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

import augcli  # noqa: F401  (sets NO_ALBUMENTATIONS_UPDATE before albumentations is imported)
from augcli import registry


class StepSpec(Protocol):
    """What building needs of a step (augcli.recipe.TransformSpec): a catalogue name, parameters, inner steps."""

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def children(self) -> Sequence[StepSpec] | None: ...


def build_step(cls: type, params: Mapping[str, Any], children: list[Any] | None) -> Any:
    """Instantiate one step strictly (a misspelled parameter is an error, not a warning)."""
    if children is not None and registry.is_composition(cls):
        return cls(transforms=children, **params)
    if registry.validates_strictly(cls):
        return cls(**params, strict=True)
    return cls(**params)


def build_steps(specs: Sequence[StepSpec]) -> list[Any]:
    """The transforms of validated specs, compositions with their inner steps."""
    out = []
    for spec in specs:
        cls = registry.catalogue()[spec.name]
        children = build_steps(spec.children) if spec.children is not None else None
        out.append(build_step(cls, spec.params, children))
    return out


def build_compose(specs: Sequence[StepSpec], **compose_kwargs: Any) -> Any:
    """An Albumentations Compose of the steps; for no steps, the `Identity` (no Albumentations import).
    Runs of steps that compose exactly are fused (augcli.fused): same draws, records and bytes, less work."""
    if not specs:
        return Identity()
    import albumentations as A

    from augcli.fused import fuse_steps

    return A.Compose(fuse_steps(build_steps(specs)), save_applied_params=True, strict=True, **compose_kwargs)


class Identity:
    """An empty pipeline, standing in for an empty Compose: it returns its inputs. A run whose recipe
    has no steps (a label-format conversion, resizing nothing) never imports Albumentations, a second
    of every worker's start."""

    def __init__(self) -> None:
        self.transforms: tuple[Any, ...] = ()
        self.processors: dict[str, Any] = {}

    def __call__(self, **data: Any) -> dict[str, Any]:
        return dict(data)

    def set_random_state(self, *_generators: Any) -> None:
        pass


@dataclass
class Pipelines:
    """The two halves of a recipe: deterministic preprocess, random augment."""

    preprocess: Any
    augment: Any


def derive_seed(recipe_seed: int, relpath: str, copy_index: int) -> int:
    """A 63-bit seed that depends only on its inputs (not on worker, order or platform)."""
    key = f"{recipe_seed}\x00{relpath}\x00{copy_index}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1


def seed_pipeline(compose: Any, seed: int) -> None:
    """One numpy and one Python generator for the whole pipeline, so its steps draw from one stream."""
    compose.set_random_state(np.random.default_rng(seed), random.Random(seed))


def run_compose(compose: Any, seed: int | None = None, **data: Any) -> dict[str, Any]:
    """Apply a Compose to one sample; with a seed, the result depends on nothing else."""
    if seed is not None:
        seed_pipeline(compose, seed)
    return dict(compose(**data))


def applied_summary(applied: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The transforms that fired with the values that decided their output, JSON-ready.

    Floats keep full precision and arrays up to `_MAX_ELEMENTS` values are kept whole (a geometric
    step's matrix, a blur's kernel, dropout holes), so a record replays its output exactly. Only what
    the input and the recipe already fix is left out (`_STATIC_KEYS`); an array too big for a line (a
    noise map, a displacement field) is recorded as its shape and a digest of its values.
    """
    out = []
    for name, params in applied:
        record: dict[str, Any] = {}
        for key, value in params.items():
            if key in _STATIC_KEYS or (key == "bbox_matrix" and _same(value, params.get("matrix"))):
                continue
            shown = _jsonable(value)
            if shown is _SKIP:
                shown = _digest(value)
            if shown is not _SKIP:
                record[key] = shown
        out.append({"name": name, "params": {**_derived(name, params), **record}})
    return out


# Applied-parameter keys the input image and the recipe already determine.
_STATIC_KEYS = {"shape", "interpolation", "mask_interpolation"}
_MAX_ELEMENTS = 256
_SKIP = object()


def _same(a: Any, b: Any) -> bool:
    return a is not None and b is not None and np.array_equal(np.asarray(a), np.asarray(b))


def _derived(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Readable values Albumentations keeps only inside an array: a rotation's angle in degrees (from its
    matrix), the measured standard deviation of a noise map (in the image's units)."""
    matrix = params.get("matrix")
    if name in ("Rotate", "SafeRotate") and isinstance(matrix, np.ndarray) and matrix.shape[0] >= 2:
        return {"angle": float(np.degrees(np.arctan2(-matrix[1, 0], matrix[0, 0])))}
    noise = params.get("noise_map")
    if isinstance(noise, np.ndarray) and noise.size > _MAX_ELEMENTS:
        return {"noise_std": float(np.std(noise))}
    return {}


def _digest(value: Any) -> Any:
    """Shape, type and a digest of a big array: enough to tell two outputs' draws apart, and to check one."""
    if not isinstance(value, (np.ndarray, list, tuple)):
        return _SKIP
    try:
        data = np.ascontiguousarray(value)
    except ValueError:  # ragged
        return _SKIP
    if data.dtype == object:
        return _SKIP
    digest = hashlib.blake2b(data.tobytes(), digest_size=8).hexdigest()
    return {"array": list(data.shape), "dtype": str(data.dtype), "digest": digest}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bool, int, str, float)) or value is None:
        return value
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, np.ndarray):
        return _SKIP if value.size > _MAX_ELEMENTS else _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return _SKIP if any(v is _SKIP for v in items) or len(items) > _MAX_ELEMENTS else items
    if isinstance(value, dict):
        items2 = {str(k): _jsonable(v) for k, v in value.items()}
        return {k: v for k, v in items2.items() if v is not _SKIP}
    return _SKIP
