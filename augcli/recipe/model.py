"""What a recipe is: the strict schema of its YAML, and the resolved `Recipe` the rest of augcli reads.

Pure data: nothing here validates steps or runs anything, so every other part can import it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from augcli.datasets.labels import LabelOptions
from augcli.datasets.registry import label_format_choices
from augcli.mixing import MixModel, MixSpec
from augcli.recipe.limits import MAX_COPIES
from augcli.yamlloc import Location, YamlPath

FORMAT_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class OutputModel(_Strict):
    path: str | None = None
    format: Literal["same", "jpg", "png", "webp", "tif", "bmp"] = "same"
    quality: int = Field(95, ge=1, le=100)


if TYPE_CHECKING:
    LabelFormatName = str
else:  # the registry's formats, as the recipe accepts them (adding a format adds it here)
    LabelFormatName = Literal[label_format_choices()]


class LabelsModel(_Strict):
    """Where a dataset's labels are and how strictly objects that leave the image are dropped."""

    format: LabelFormatName = "auto"
    min_visibility: float = Field(0.0, ge=0, le=1)
    min_area: float = Field(1.0, ge=0)


class SilenceModel(_Strict):
    rule: str
    reason: str = Field(min_length=1)


class RecipeModel(_Strict):
    augcli: Literal[1] = 1  # = FORMAT_VERSION (a Literal default must be written out)
    name: str
    domain: Literal["generic", "natural", "fundus", "xray", "medical", "ocr", "document", "satellite"] = "generic"
    description: str = ""
    extends: str | None = None
    seed: int = Field(0, ge=0)
    copies: int = Field(4, ge=1, le=MAX_COPIES)
    class_copies: dict[str, Annotated[int, Field(le=MAX_COPIES)]] = Field(default_factory=dict)
    balance: bool = False
    keep_original: bool = True
    input: str | None = None
    output: OutputModel = Field(default_factory=OutputModel)
    decode: Literal["fast", "exact"] = "fast"  # fast: shrink-on-load where preprocess allows (augcli.shrink)
    preprocess: list[Any] = Field(default_factory=list)
    augment: list[Any] = Field(default_factory=list)
    silence: list[SilenceModel] = Field(default_factory=list)
    labels: LabelsModel = Field(default_factory=LabelsModel)
    mix: MixModel = Field(default_factory=MixModel)


TOP_LEVEL_KEYS = list(RecipeModel.model_fields)
# The models of the nested sections, for "valid keys" in an unknown-key message.
SECTION_MODELS: dict[str, type[BaseModel]] = {
    "output": OutputModel,
    "silence": SilenceModel,
    "labels": LabelsModel,
    "mix": MixModel,
}


@dataclass
class TransformSpec:
    """One validated step: an Albumentations (or augcli) class and its parameters."""

    name: str
    params: dict[str, Any]
    path: YamlPath
    children: list[TransformSpec] | None = None

    def to_data(self) -> dict[str, Any]:
        params = dict(self.params)
        if self.children is not None:
            params["transforms"] = [c.to_data() for c in self.children]
        return {self.name: params}

    def walk(self) -> list[TransformSpec]:
        out = [self]
        for child in self.children or []:
            out.extend(child.walk())
        return out


@dataclass
class Recipe:
    """A validated, fully resolved recipe (extends applied, paths absolute)."""

    name: str
    domain: str
    description: str
    seed: int
    copies: int
    class_copies: dict[str, int]
    balance: bool
    keep_original: bool
    input: Path | str | None  # a folder, or an fsspec URL (str) kept as written
    output: Path | str | None
    output_format: str
    quality: int
    preprocess: list[TransformSpec]
    augment: list[TransformSpec]
    silence: dict[str, str]
    source: Path
    chain: list[Path]
    data: dict[str, Any]
    text: str
    locations: dict[YamlPath, Location] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)  # the `labels:` section with its defaults
    mix: dict[str, Any] = field(default_factory=dict)  # the `mix:` section (MixUp/CutMix) with its defaults
    decode: str = "fast"  # "exact" turns shrink-on-load off

    @property
    def hash(self) -> str:
        """Identity of everything that decides output pixels (not names, paths or lint silences)."""
        keep = {k: v for k, v in self.data.items() if k not in {"name", "description", "input", "silence"}}
        keep["output"] = {k: v for k, v in self.data.get("output", {}).items() if k != "path"}
        keep.pop("extends", None)
        blob = json.dumps(keep, sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @functools.cached_property
    def mix_model(self) -> MixSpec:
        """The `mix:` section as the plain, picklable `MixSpec` the renderer draws from (built once).

        The spec rather than the pydantic MixModel: every user wants `.enabled` and the chances, and
        the spec is what crosses to pool workers. An empty `mix` (a Recipe built by hand) is no mixing.
        """
        return MixModel(**self.mix).to_spec()

    @functools.cached_property
    def label_options(self) -> LabelOptions:
        """The `labels:` section as `LabelOptions` (built once); an empty `labels` gives the defaults."""
        return LabelOptions(**self.labels)
