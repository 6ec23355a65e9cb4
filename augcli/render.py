"""The one path from decoded source pixels to output pixels and bytes; `run` and `preview` both call it.

A `Processor` preprocesses a source once and renders each copy from that; `encode_output` turns
rendered pixels into the bytes `run` writes (and that preview decodes back), so a preview tile is
pixel-identical to the file of the same source and copy index.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from augcli.datasets import Codec, Dataset, read_labels
from augcli.datasets.labels import (
    ImageLabels,
    LabelOptions,
    compose_params,
    from_targets,
    to_targets,
)
from augcli.datasets.support import summarize
from augcli.errors import ImageReadError, UsageError
from augcli.imageio import DecodedImage, decode_image, encode_image, read_image, suffix_format, unchanged_copy
from augcli.mixing import (
    choose,
    cutmix,
    cutmix_labels,
    mix_rng,
    mixup,
    mixup_labels,
    pick_from_sorted,
    resize_to,
    scale_labels,
)
from augcli.pipeline import Pipelines, applied_summary, build_compose, derive_seed, run_compose
from augcli.recipe import Recipe, TransformSpec
from augcli.shrink import plan_shrink
from augcli.store import Store, open_store

ADDITIONAL_TARGETS = {"alpha": "mask"}  # alpha travels as a mask (colour transforms take 1 or 3 channels)


@dataclass
class Rendered:
    """One output's pixels, ready to encode, its labels moved with them, and what made them."""

    copy: int
    pixels: np.ndarray
    applied: list[dict[str, Any]]
    labels: ImageLabels | None = None
    mix: dict[str, Any] | None = None  # {"mode", "partner", "lam"[, "box"]} when MixUp/CutMix fired
    unchanged: bool = False  # the source's pixels as decoded: no preprocess step touched them


@dataclass(frozen=True)
class Partners:
    """Where MixUp/CutMix partners come from: the training samples (rel -> class) and a loader.

    `load(rel)` returns the partner's decoded pixels; the processor preprocesses and augments them
    itself, so a partner is a training sample as `run` would augment it, never one from val/test.
    `labels(rel, width, height)` reads a partner's labels (detection datasets); without it a processor
    that moves labels does not mix.
    """

    classes: dict[str, str | None]
    load: Callable[[str], DecodedImage]
    labels: Callable[[str, int, int], ImageLabels] | None = None

    @functools.cached_property
    def class_names(self) -> list[str]:
        """The training split's classes, sorted: the soft-label columns (computed once, not per output)."""
        return sorted({c for c in self.classes.values() if c is not None})


class Processor:
    """The one code path from a decoded source to output pixels; `run` and `preview` both use it."""

    def __init__(
        self,
        recipe: Recipe,
        *,
        augment: list[TransformSpec] | Any | None = None,
        labels: LabelOptions | None = None,
        partners: Partners | None = None,
    ):
        """`augment` replaces the recipe's augment steps (specs, or a built Compose): preview's per-step rows.
        With `labels`, boxes, polygons, keypoints and masks move with the pixels through the same Compose."""
        self.recipe = recipe
        self.labels = labels
        self.mix = recipe.mix_model
        can_mix = partners is not None and (labels is None or partners.labels is not None)
        self.partners = partners if self.mix.enabled and can_mix else None
        self._candidates = sorted(set(partners.classes)) if partners is not None else []
        self._partner_cache: dict[str, dict[str, Any]] = {}

        def build(specs: list[TransformSpec]) -> Any:
            with_labels = compose_params(labels) if labels is not None and specs else {}
            return build_compose(specs, additional_targets=ADDITIONAL_TARGETS, **with_labels)

        if augment is None or isinstance(augment, list):
            augment = build(recipe.augment if augment is None else augment)
        self.pipelines = Pipelines(build(recipe.preprocess), augment)
        # Shrink-on-load only without labels: they are read in source pixels, at the source's size.
        self.shrink = plan_shrink(recipe) if labels is None else None

    def read(self, inputs: Store, rel: str) -> DecodedImage:
        """A source decoded for this recipe: JPEGs at a reduced scale where `shrink` allows (run and preview)."""
        return read_source(inputs, rel, shrink=self.shrink)

    def read_file(self, path: Path) -> DecodedImage:
        """`read` for a file given by path (preview of images outside a dataset)."""
        return read_image(path, shrink=self.shrink)

    def preprocess(self, decoded: DecodedImage, rel: str, labels: ImageLabels | None = None) -> dict[str, Any]:
        data = _to_pipeline(decoded.pixels)
        out = self._run(self.pipelines.preprocess, derive_seed(self.recipe.seed, rel, 0), data, labels)
        out["_bits"] = 16 if decoded.pixels.dtype == np.uint16 else 8
        return out

    def original(self, pre: dict[str, Any]) -> Rendered:
        applied = applied_summary(pre.get("applied_transforms", []))
        unchanged = not self.pipelines.preprocess.transforms
        return Rendered(0, _from_pipeline(pre), applied, pre.get("_labels"), unchanged=unchanged)

    def copy(self, pre: dict[str, Any], rel: str, copy: int) -> Rendered:
        data = {k: v for k, v in pre.items() if k in ("image", "alpha")}
        out = self._run(self.pipelines.augment, derive_seed(self.recipe.seed, rel, copy), data, pre.get("_labels"))
        out["_bits"] = pre["_bits"]
        applied = applied_summary(out.get("applied_transforms", []))
        mixed = self._mix(out, rel, copy) if self.partners is not None else None
        if mixed is not None:
            applied.append({"name": "MixUp" if mixed["mode"] == "mixup" else "CutMix", "params": mixed})
        return Rendered(copy, _from_pipeline(out), applied, out.get("_labels"), mixed)

    def _mix(self, out: dict[str, Any], rel: str, copy: int) -> dict[str, Any] | None:
        """MixUp or CutMix with a partner from the training split, all drawn from this output's own
        mixing stream (separate from the augment stream, so adding `mix:` changes no augment draw)."""
        assert self.partners is not None
        rng = mix_rng(derive_seed(self.recipe.seed, rel, copy))
        mode = choose(self.mix, rng)
        partner_rel = pick_from_sorted(rng, self._candidates, rel) if mode else None
        if mode is None or partner_rel is None:
            return None
        pre = self._partner_preprocessed(partner_rel)
        moved = self._run(
            self.pipelines.augment,
            derive_seed(self.recipe.seed, f"{rel}\x00mix\x00{partner_rel}", copy),
            {"image": pre["image"]},
            pre.get("_labels"),
        )
        partner = _match(moved["image"], out["image"])
        own_labels, other_labels = out.get("_labels"), moved.get("_labels")
        if own_labels is not None and other_labels is not None:  # labels scale with the resized partner
            (h0, w0), (h1, w1) = moved["image"].shape[:2], partner.shape[:2]
            other_labels = scale_labels(other_labels, w1 / w0, h1 / h0)
        record: dict[str, Any] = {"mode": mode, "partner": partner_rel}
        if mode == "mixup":
            out["image"], lam = mixup(out["image"], partner, rng, self.mix.mixup_alpha)
            record["lam"] = round(float(lam), 6)
            if own_labels is not None and other_labels is not None:
                out["_labels"], record["weights"] = mixup_labels(own_labels, other_labels, lam)
                record["objects"] = [len(own_labels.objects), len(other_labels.objects)]
            return record
        out["image"], lam, box = cutmix(out["image"], partner, rng, self.mix.cutmix_alpha)
        record["lam"], record["box"] = round(float(lam), 6), list(box)
        if own_labels is not None and other_labels is not None and self.labels is not None:
            size = (int(out["image"].shape[1]), int(out["image"].shape[0]))
            out["_labels"], n_own, n_partner = cutmix_labels(own_labels, other_labels, box, size, self.labels)
            record["objects"] = [n_own, n_partner]
        return record

    def _partner_preprocessed(self, rel: str) -> dict[str, Any]:
        """A partner decoded and preprocessed (deterministic per path), the last few kept: partners
        recur, and preprocess (a fundus crop, a resize of a full photo) costs more than the mixing.
        With labels it is made afresh, since writing an output's labels changes its objects."""
        assert self.partners is not None
        if self.labels is None and rel in self._partner_cache:
            return self._partner_cache[rel]
        decoded = self.partners.load(rel)
        labels = None
        if self.labels is not None and self.partners.labels is not None:
            height, width = decoded.pixels.shape[:2]
            labels = self.partners.labels(rel, width, height)
        pre = self.preprocess(decoded, rel, labels)
        if self.labels is None:
            if len(self._partner_cache) >= 8:
                self._partner_cache.pop(next(iter(self._partner_cache)))
            self._partner_cache[rel] = pre
        return pre

    def _run(self, compose: Any, seed: int, data: dict[str, Any], labels: ImageLabels | None) -> dict[str, Any]:
        labels = labels if labels is not None else ImageLabels()
        if self.labels is None or "bboxes" not in compose.processors:  # no labels, or no steps (Identity)
            out = run_compose(compose, seed=seed, **data)
            if self.labels is not None:
                out["_labels"] = labels
            return out
        targets, slots = to_targets(labels)
        out = run_compose(compose, seed=seed, **data, **targets)
        out["_labels"] = from_targets(out, labels, slots, self.labels)
        return out


def _match(partner: np.ndarray, image: np.ndarray) -> np.ndarray:
    """A partner shaped like the image: same channels (gray <-> RGB), dtype and size."""
    import cv2

    if partner.ndim == 3 and image.ndim == 2:
        partner = cv2.cvtColor(partner, cv2.COLOR_RGB2GRAY)
    elif partner.ndim == 2 and image.ndim == 3:
        partner = np.repeat(partner[..., None], image.shape[2], axis=2)
    if partner.dtype != image.dtype:  # an 8-bit source meets a 16-bit one (float32 in [0, 1] here)
        if image.dtype == np.uint8:
            partner = np.round(np.clip(partner, 0, 1) * 255).astype(np.uint8)
        else:
            partner = partner.astype(np.float32) / 255.0
    if partner.shape[:2] != image.shape[:2]:
        partner = resize_to(partner, image.shape)
    return np.ascontiguousarray(partner)


def _to_pipeline(pixels: np.ndarray) -> dict[str, Any]:
    """16-bit data travels as float32 in [0, 1] (Albumentations' other native type); alpha as a mask."""
    image = pixels.astype(np.float32) / 65535.0 if pixels.dtype == np.uint16 else pixels
    if image.ndim == 3 and image.shape[2] in (2, 4):
        alpha = image[..., -1]
        if alpha.dtype != np.uint8:
            alpha = np.round(alpha * 255).astype(np.uint8)
        return {"image": np.ascontiguousarray(image[..., :-1]), "alpha": np.ascontiguousarray(alpha)}
    return {"image": image}


def _from_pipeline(out: dict[str, Any]) -> np.ndarray:
    image = out["image"]
    if image.dtype != np.uint8:
        if out.get("_bits") == 16:
            image = np.round(np.clip(image, 0, 1) * 65535).astype(np.uint16)
        else:
            image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    alpha = out.get("alpha")
    if alpha is not None:
        if image.dtype == np.uint16:
            alpha = alpha.astype(np.uint16) * 257
        image = np.dstack([image, alpha])
    return image


def encode_output(
    recipe: Recipe, rel: str, pixels: np.ndarray, decoded: DecodedImage, *, unchanged: bool = False
) -> tuple[bytes, str]:
    """The bytes `run` writes for rendered pixels, and their format; preview decodes the same bytes.

    The encoder fits pixels to the format (16 bits only in PNG/TIFF, alpha composited over white
    in JPEG/BMP), so what a preview shows is what the file holds. An `unchanged` original (no
    preprocess) in its own format is the source file's bytes: re-encoding a JPEG would only lose
    quality, and validation data must reach the model as it was.
    """
    fmt = output_format(recipe, rel)
    same = unchanged_copy(fmt, decoded) if unchanged else None
    return (same if same is not None else encode_image(pixels, fmt, recipe.quality, source=decoded)), fmt


def output_format(recipe: Recipe, rel: str) -> str:
    return suffix_format(rel) or "jpg" if recipe.output_format == "same" else recipe.output_format


def read_source(inputs: Store, rel: str, *, shrink: Any = None) -> DecodedImage:
    """A source decoded; a file on this machine is read by path, anything else fetched as bytes.
    `shrink` (augcli.shrink) lets a JPEG decode at a reduced scale where the recipe allows it."""
    local = inputs.local_path(rel)
    if local is not None:
        return read_image(local, shrink=shrink)
    try:
        data = inputs.read_bytes(rel)
    except OSError as exc:
        raise ImageReadError(f"cannot read file: {exc}", inputs.where(rel)) from None
    return decode_image(data, str(inputs.where(rel)), shrink=shrink)


MIX_MASKS = (
    "mix: MixUp/CutMix of segmentation masks is not supported (class masks have no blend); "
    "mixing works on class folders and on boxes, polygons and keypoints"
)


def mixing_partners(recipe: Recipe, dataset: Dataset, codec: Codec | None) -> Partners | None:
    """The partners MixUp/CutMix draws from: the dataset's training split, with classes and, through
    `codec`, labels; None when the recipe does not mix. `run` and `preview` both ask here, so a recipe
    one of them refuses, the other refuses too.

    `codec` reads the partners' labels: the dataset's own, or the converter `run --to` writes with.
    Raises UsageError (at the recipe) when the dataset has segmentation masks, which cannot be blended.
    """
    if not recipe.mix_model.enabled:
        return None
    label_set = dataset.labels
    if label_set is not None and (found := summarize(dataset)) is not None and "masks" in found.kinds:
        raise UsageError(MIX_MASKS, recipe.source)
    train_classes = {s.rel: s.label for s in dataset.samples if s.augmented}
    if not train_classes:
        return None
    payloads = None
    if label_set is not None and label_set.payloads:  # only the training split's: workers are sent these
        payloads = {rel: label_set.payloads[rel] for rel in train_classes if rel in label_set.payloads}
    return partner_source(open_store(dataset.root), train_classes, codec, payloads)


def partner_source(
    inputs: Store,
    train_classes: dict[str, str | None],
    codec: Codec | None = None,
    payloads: dict[str, Any] | None = None,
) -> Partners:
    """Partners decoded on demand and, with a codec, their labels; picklable, so a run can send them
    to its workers as they are."""
    labels = _PartnerLabels(codec, inputs, payloads or {}) if codec is not None else None
    return Partners(dict(train_classes), _PartnerImages(inputs), labels)


@dataclass
class _PartnerImages:
    """A partner's decoded pixels, the last few kept (a partner is often drawn again soon).
    The kept images stay behind when pickled: a worker starts with none."""

    inputs: Store
    keep: int = 8
    _recent: dict[str, DecodedImage] = field(default_factory=dict, repr=False, compare=False)

    def __call__(self, rel: str) -> DecodedImage:
        decoded = self._recent.pop(rel, None)
        if decoded is None:
            decoded = read_source(self.inputs, rel)
        self._recent[rel] = decoded  # most recently used last
        if len(self._recent) > self.keep:
            self._recent.pop(next(iter(self._recent)))
        return decoded

    def __getstate__(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "keep": self.keep, "_recent": {}}


@dataclass(frozen=True)
class _PartnerLabels:
    """A partner's labels, read as `process_job` reads a source's (fresh each time: outputs own them)."""

    codec: Codec
    inputs: Store
    payloads: dict[str, Any]

    def __call__(self, rel: str, width: int, height: int) -> ImageLabels:
        return read_labels(self.codec, self.inputs, rel, self.payloads.get(rel), width, height)
