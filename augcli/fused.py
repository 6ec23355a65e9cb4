"""Exact fused kernels: consecutive steps that compose exactly run as one operation, with Albumentations' draws.

`fuse_steps` replaces each run of consecutive steps of one family by a `Fused` step. A fused step asks
every member to sample itself (`should_apply`, `get_params`, ...: the same draws, in the same order, from
the same generators) and appends each member's record to `applied_transforms` exactly as `Compose` would,
so later steps, the manifest and captions cannot tell; only the pixel work is merged:

- dihedral (flips, Transpose, RandomRotate90, D4/SquareSymmetry): the composed turn is one OpenCV call
  on the image and each mask; boxes and keypoints are moved by each member's own code, and the label
  filter runs after every member, as in the plain pipeline.
- colour on uint8 (RandomBrightnessContrast, RandomGamma, Posterize, Solarize, InvertImg): one lookup
  table, made by running each member's own `apply` on a ramp of all 256 values; HueSaturationValue as
  one HSV round trip that shifts only the channels it changes (no split/merge, no mask pass).
Other dtypes, targets or states (replay) fall back to the members' own code, one by one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from albucore import add_constant, sz_lut
from albumentations.augmentations.geometric import functional as fgeometric
from albumentations.core.composition import BaseCompose

import augcli  # noqa: F401  (sets NO_ALBUMENTATIONS_UPDATE before albumentations is imported)

# D4 elements (Albumentations' names) that swap height and width.
_SWAPS = frozenset({"r90", "r270", "t", "hvt"})
_LABEL_TARGETS = frozenset({"bboxes", "keypoints"})


class Fused(BaseCompose):
    """Members of one family, sampled one by one as Albumentations would, applied as one operation."""

    supported: frozenset[str] = frozenset()  # target kinds the fused kernel moves itself

    def __init__(self, transforms: list[Any]):
        super().__init__(transforms=transforms, p=1.0)

    def __call__(self, *args: Any, force_apply: bool = False, **data: Any) -> dict[str, Any]:
        if args:
            raise KeyError("You have to pass data to augmentations as named arguments, for example: aug(image=image)")
        targets = self._targets(data)
        members: list[Any] = list(self.transforms)
        if targets is None or any(t.replay_mode or t.deterministic for t in members):
            return self._one_by_one(data)
        return self._fused(data, targets)

    def _fused(self, data: dict[str, Any], targets: dict[str, str]) -> dict[str, Any]:
        raise NotImplementedError

    def _targets(self, data: dict[str, Any]) -> dict[str, str] | None:
        """key -> target kind for what the members transform, or None when a key is not supported."""
        first: Any = self.transforms[0]
        handled = first._key2func
        out = {}
        for key, value in data.items():
            if key not in handled or value is None:
                continue
            kind = self._additional_targets.get(key, key)
            if kind not in self.supported or (kind == "masks" and not isinstance(value, np.ndarray)):
                return None
            out[key] = kind
        return out if "image" in out else None

    def _one_by_one(self, data: dict[str, Any]) -> dict[str, Any]:
        """The members' own code, exactly as Compose runs its steps (the last check is Compose's)."""
        for i, t in enumerate(self.transforms):
            data = t(**data)
            self._track_transform_params(t, data)
            if i < len(self.transforms) - 1:
                data = self.check_data_post_transform(data)
        return data

    def _sample(self, member: Any, view: dict[str, Any]) -> dict[str, Any]:
        """BasicTransform.__call__'s sampling, on a view with the member's input shape and dtype."""
        member.params = {}
        if not member.should_apply():
            return {}
        params = member.get_params()
        params = member.update_transform_params(params=params, data=view)
        params.update(member.get_params_dependent_on_data(params=params, data=view))
        member.params = params
        return params


def _view(shape: tuple[int, ...], dtype: np.dtype) -> dict[str, Any]:
    """An image-shaped stand-in (no memory): the members sample from shape and dtype only."""
    return {"image": np.broadcast_to(np.zeros((), dtype), shape)}


# --------------------------------------------------------------------------- dihedral


class FusedDihedral(Fused):
    """Flips and quarter turns composed into one D4 element, applied once."""

    supported = frozenset({"image", "mask", "masks", "bboxes", "keypoints"})

    def _fused(self, data: dict[str, Any], targets: dict[str, str]) -> dict[str, Any]:
        image = data["image"]
        shape, element = image.shape, "e"
        labels = [k for k, kind in targets.items() if kind in _LABEL_TARGETS]
        checks = bool(self.check_each_transform) and bool(labels)
        last = len(self.transforms) - 1
        for i, member in enumerate(self.transforms):
            params = self._sample(member, _view(shape, image.dtype))
            if params:
                step = _element(member, params)
                element = _compose(element, step)
                if labels:
                    data.update(member.apply_with_params(params, **{k: data[k] for k in labels}))
                if step in _SWAPS:
                    shape = (shape[1], shape[0], *shape[2:])
                self._track_transform_params(member, data)
            if checks and i < last:
                moved = self.check_data_post_transform({**{k: data[k] for k in labels}, **_view(shape, image.dtype)})
                data.update({k: moved[k] for k in labels})
        if element != "e":
            for key, kind in targets.items():
                if kind == "masks":
                    data[key] = np.stack([turn(m, element) for m in data[key]])
                elif kind not in _LABEL_TARGETS:
                    data[key] = turn(data[key], element)
        return data


def _element(member: Any, params: dict[str, Any]) -> str:
    return _ELEMENT_OF[type(member).__name__](params)


_ELEMENT_OF: dict[str, Callable[[dict[str, Any]], str]] = {
    "HorizontalFlip": lambda _: "h",
    "VerticalFlip": lambda _: "v",
    "Transpose": lambda _: "t",
    "RandomRotate90": lambda p: ("e", "r90", "r180", "r270")[int(p["factor"]) % 4],
    "D4": lambda p: str(p["group_element"]),
    "SquareSymmetry": lambda p: str(p["group_element"]),
}


@functools.cache
def _cayley() -> dict[tuple[str, str], str]:
    """(first, then) -> the one element doing both, read off Albumentations' own `d4` on a 2x3 grid."""
    grid = np.arange(6).reshape(2, 3)
    names = ("e", "r90", "r180", "r270", "v", "hvt", "h", "t")
    table = {}
    for a in names:
        for b in names:
            both = fgeometric.d4(fgeometric.d4(grid, a), b)
            table[a, b] = next(c for c in names if np.array_equal(fgeometric.d4(grid, c), both))
    return table


def _compose(first: str, then: str) -> str:
    return _cayley()[first, then]


_CV2_DTYPES = frozenset(np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64))


def turn(img: np.ndarray, element: str) -> np.ndarray:
    """Albumentations' `d4(img, element)` as one OpenCV call (contiguous, same shape rules)."""
    if element == "e":
        return img
    if img.dtype not in _CV2_DTYPES or (img.ndim == 3 and img.shape[2] > 4) or img.ndim > 3:
        return np.ascontiguousarray(fgeometric.d4(img, element))  # type: ignore[arg-type]
    flat = img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img
    out = _CV2_TURNS[element](np.ascontiguousarray(flat))
    return out[..., None] if flat is not img else out


_CV2_TURNS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "h": lambda a: cv2.flip(a, 1),
    "v": lambda a: cv2.flip(a, 0),
    "r180": lambda a: cv2.flip(a, -1),
    "t": cv2.transpose,
    "r90": lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
    "r270": lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    "hvt": lambda a: cv2.flip(cv2.transpose(a), -1),
}


# --------------------------------------------------------------------------- colour


class FusedColour(Fused):
    """Per-value colour steps on uint8 as one lookup table; HueSaturationValue as one HSV round trip."""

    supported = frozenset({"image"})

    def _fused(self, data: dict[str, Any], targets: dict[str, str]) -> dict[str, Any]:
        image = data["image"]
        view = _view(image.shape, image.dtype)
        fired = []
        for member in self.transforms:
            params = self._sample(member, view)
            if params:
                fired.append((member, params))
                self._track_transform_params(member, data)
        data["image"] = _apply_colour(image, fired) if image.dtype == np.uint8 else _one_by_one(image, fired)
        return data


def _apply_colour(image: np.ndarray, fired: list[tuple[Any, dict[str, Any]]]) -> np.ndarray:
    """Runs of lookup members become one table; HueSaturationValue on RGB takes the fast round trip."""
    pending: list[tuple[Any, dict[str, Any]]] = []
    for member, params in [*fired, (None, {})]:
        if member is not None and type(member).__name__ != "HueSaturationValue":
            pending.append((member, params))
            continue
        if pending:
            image = _lookup(image, pending)
            pending = []
        if member is None:
            break
        if image.ndim == 3 and image.shape[2] == 3:
            image = shift_hsv(image, params["hue_shift"], params["sat_shift"], params["val_shift"])
        else:
            image = member.apply_with_params(params, image=image)["image"]
    return image


def _lookup(image: np.ndarray, members: list[tuple[Any, dict[str, Any]]]) -> np.ndarray:
    """The members' composed per-channel table, read off their own `apply` on a ramp of 0..255."""
    channels = image.shape[2] if image.ndim == 3 else 0
    if any(isinstance(params.get("num_bits"), list) and len(params["num_bits"]) != channels for _, params in members):
        return _one_by_one(image, members)  # per-channel bits on other channel counts are not per value
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    if channels:
        ramp = np.ascontiguousarray(np.repeat(ramp[..., None], channels, axis=2))
    table = ramp
    for member, params in members:
        table = member.apply_with_params(params, image=table)["image"]
    if table.dtype != np.uint8 or table.shape != ramp.shape:  # not a per-value map: the members' own code
        return _one_by_one(image, members)
    luts = table.reshape(256, -1)
    if bool((luts == luts[:, :1]).all()):
        return sz_lut(np.ascontiguousarray(image), np.ascontiguousarray(luts[:, 0]), inplace=False)
    if channels <= 4:
        return cv2.LUT(np.ascontiguousarray(image), np.ascontiguousarray(luts.reshape(256, 1, channels)))
    planes = [sz_lut(np.ascontiguousarray(image[..., c]), np.ascontiguousarray(luts[:, c])) for c in range(channels)]
    return np.ascontiguousarray(np.stack(planes, axis=-1))


def _one_by_one(image: np.ndarray, members: list[tuple[Any, dict[str, Any]]]) -> np.ndarray:
    for member, params in members:
        image = member.apply_with_params(params, image=image)["image"]
    return image


_RAMP2D = np.arange(256, dtype=np.uint8).reshape(16, 16)


def shift_hsv(img: np.ndarray, hue_shift: float, sat_shift: float, val_shift: float) -> np.ndarray:
    """Albumentations' `shift_hsv` on uint8 RGB, each channel shift as a table applied in place.

    Same conversions, same per-channel arithmetic (`add_constant` read off a ramp); the saturation
    table keeps 0 at 0, which is what its grayscale mask does.
    """
    if hue_shift == 0 and sat_shift == 0 and val_shift == 0:
        return img
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    if hue_shift != 0:
        _shift_channel(hsv, 0, np.mod(np.arange(0, 256, dtype=np.int16) + hue_shift, 180).astype(np.uint8))
    if sat_shift != 0:
        table = add_constant(_RAMP2D, sat_shift).reshape(256).copy()
        table[0] = 0
        _shift_channel(hsv, 1, table)
    if val_shift != 0:
        _shift_channel(hsv, 2, add_constant(_RAMP2D, val_shift).reshape(256).copy())
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB, dst=hsv)


def _shift_channel(hsv: np.ndarray, channel: int, table: np.ndarray) -> None:
    plane = cv2.extractChannel(hsv, channel)
    cv2.insertChannel(sz_lut(plane, np.ascontiguousarray(table, dtype=np.uint8), inplace=True), hsv, channel)


# --------------------------------------------------------------------------- planner

# Class name -> (family, whether this instance fuses exactly). RandomBrightnessContrast with
# brightness_by_max=False samples from the image's mean, which an earlier member may have changed.
_FAMILIES: dict[str, tuple[type[Fused], Callable[[Any], bool]]] = {
    **{
        name: (FusedDihedral, lambda _: True)
        for name in ("HorizontalFlip", "VerticalFlip", "Transpose", "RandomRotate90", "D4", "SquareSymmetry")
    },
    **{name: (FusedColour, lambda _: True) for name in ("RandomGamma", "Posterize", "Solarize", "InvertImg")},
    "HueSaturationValue": (FusedColour, lambda _: True),
    "RandomBrightnessContrast": (FusedColour, lambda t: bool(t.brightness_by_max)),
}


def family_of(step: Any) -> type[Fused] | None:
    """The fused family an Albumentations step joins (exact class only: a subclass may sample differently)."""
    import albumentations as A

    name = type(step).__name__
    entry = _FAMILIES.get(name)
    if entry is None or type(step) is not getattr(A, name, None) or step.deterministic:
        return None
    cls, exact = entry
    return cls if exact(step) else None


def fuse_steps(steps: list[Any]) -> list[Any]:
    """The steps with every run of consecutive same-family steps replaced by one `Fused` step."""
    out: list[Any] = []
    run: list[Any] = []
    for step in steps:
        family = family_of(step)
        if run and family is not family_of(run[0]):
            out.append(_fused_run(run))
            run = []
        (out if family is None else run).append(step)
    if run:
        out.append(_fused_run(run))
    return out


def _fused_run(run: list[Any]) -> Any:
    family = family_of(run[0])
    assert family is not None
    return family(run)
