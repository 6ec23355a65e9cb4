"""Every transform a recipe may name: Albumentations' own plus augcli's, looked up by class name."""

from __future__ import annotations

import difflib
import functools
import inspect
from typing import Any

import augcli  # noqa: F401  (sets NO_ALBUMENTATIONS_UPDATE before albumentations is imported)

# Names a recipe may not use, with the reason a user is told.
FORBIDDEN: dict[str, str] = {
    "Lambda": "it runs arbitrary Python code, which a recipe may not do",
    "Compose": "the recipe's preprocess/augment lists are already Compose blocks; use Sequential",
    "ReplayCompose": "augcli records applied parameters itself; use Sequential",
    "Mosaic": "it needs per-sample metadata that augcli does not supply",
    "OverlayElements": "it needs per-sample metadata that augcli does not supply",
    "TextImage": "it needs per-sample metadata that augcli does not supply",
    "RandomCropNearBBox": "it needs a per-sample cropping_bbox that augcli does not supply",
}
_BASES = {"BaseCompose", "BasicTransform", "DualTransform", "ImageOnlyTransform", "Transform3D", "NoOp"}


@functools.cache
def catalogue() -> dict[str, type]:
    """Name -> class for every transform and composition block a recipe can use."""
    import albumentations as A
    from albumentations.core.composition import BaseCompose
    from albumentations.core.transforms_interface import BasicTransform

    from augcli import transforms as own

    found: dict[str, type] = {}
    for name in dir(A):
        obj = getattr(A, name)
        if not inspect.isclass(obj) or not issubclass(obj, (BasicTransform, BaseCompose)):
            continue
        if name in _BASES or name in FORBIDDEN or "transforms3d" in obj.__module__:
            continue
        if name == "CubicSymmetry":
            continue
        found[name] = obj
    for name, cls in own.AUGCLI_TRANSFORMS.items():
        found[name] = cls
    return found


def is_composition(cls: type) -> bool:
    from albumentations.core.composition import BaseCompose

    return issubclass(cls, BaseCompose)


def suggest(name: str, choices: list[str] | None = None) -> list[str]:
    """Closest valid names, case-insensitively, best first."""
    pool = choices if choices is not None else list(catalogue())
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    return [lowered[h] for h in hits]


def init_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword parameters a class's constructor accepts (without self/strict/transforms)."""
    params = dict(inspect.signature(cls.__init__).parameters)  # type: ignore[misc]
    for skip in ("self", "strict", "args", "kwargs"):
        params.pop(skip, None)
    return params


def default_p(cls: type) -> Any:
    p = init_parameters(cls).get("p")
    return None if p is None or p.default is inspect.Parameter.empty else p.default


def validates_strictly(cls: type) -> bool:
    """True when Albumentations' validating metaclass wraps this class's __init__ (InitSchema + strict).

    A class that defines its own __init__ without its own InitSchema (RandomRotate90, say) takes
    neither `strict` nor schema validation; its signature still rejects unknown parameters.
    """
    return getattr(cls.__init__, "__qualname__", "").endswith("custom_init")  # type: ignore[misc]
