"""The label formats by name: the one table the recipe's `labels.format`, `run --to` and discovery read.

Adding a format is one new file plus its tests:

1. `augcli/datasets/<name>.py` holds a `Codec` (read one image's labels from the input store,
   write one output's to the output store, finish the dataset-level files) and a format object
   that satisfies `augcli.datasets.base.LabelFormat`: `name`, `title`, the `kinds` of label its
   files hold, a detection `priority`, `detect(inputs, files, layout)` returning the `Dataset`
   when the files are its own (`base.labelled(inputs, LabelSet(...))`), `survey`, `class_names`,
   and a `ConversionTarget` when `run --to <name>` may write it (else `target = None`). It ends
   with `FORMAT = <the object>`, and imports nothing from this module.
2. Import the module here and add its `FORMAT` to `_BUILTIN` below (its place there is its place
   in listings and messages; its `priority` is its place in auto-detection, under folders' 1000).
3. Tests in `tests/datasets/test_<name>.py`: detection, labels moved with the pixels, and files
   that parse back (see `tests/datasets/test_registry.py` for a format defined in a test file).

A format outside augcli registers itself the same way: `register_format(MyFormat())`.
"""

from __future__ import annotations

from augcli import registry as transforms_registry
from augcli.datasets import coco, cvat, dota, folders, labelme, masks, voc, yolo, yolo_obb
from augcli.datasets.base import LABEL_KINDS, LabelFormat
from augcli.errors import UsageError

AUTO = "auto"  # the recipe's "whichever format the files are"
SAME = "same"  # `--to same`: write labels in the format they were read in

_FORMATS: dict[str, LabelFormat] = {}


def register_format(fmt: LabelFormat) -> LabelFormat:
    """Make `fmt` known by its name; a name is registered once (a second one is a mistake, not an override)."""
    if fmt.name in (AUTO, SAME):
        raise ValueError(f"'{fmt.name}' is reserved: `labels.format: auto` and `--to same` mean it")
    if fmt.name in _FORMATS:
        raise ValueError(f"a label format named '{fmt.name}' is already registered")
    unknown = sorted(set(fmt.kinds) - set(LABEL_KINDS))
    if unknown:
        kinds = ", ".join(LABEL_KINDS)
        raise ValueError(f"label format '{fmt.name}': unknown kinds of label {unknown} (kinds: {kinds})")
    _FORMATS[fmt.name] = fmt
    return fmt


def unknown_name(what: str, name: str, choices: tuple[str, ...]) -> UsageError:
    """The error for a name not among `choices`, with the closest one suggested."""
    hint = transforms_registry.suggest(name, list(choices))
    extra = f"; did you mean {hint[0]}?" if hint else ""
    return UsageError(f"unknown {what} '{name}' (formats: {', '.join(choices)}){extra}")


def get_format(name: str) -> LabelFormat:
    fmt = _FORMATS.get(name)
    if fmt is None:
        raise unknown_name("label format", name, format_names())
    return fmt


def format_names() -> tuple[str, ...]:
    """Every registered format, in registration order."""
    return tuple(_FORMATS)


def label_format_choices() -> tuple[str, ...]:
    """What the recipe's `labels.format` accepts: auto, then every format."""
    return (AUTO, *format_names())


def conversion_targets() -> tuple[str, ...]:
    """What `run --to` accepts: same, then every format a conversion can write."""
    return (SAME, *(name for name, fmt in _FORMATS.items() if fmt.target is not None))


def conversion_help() -> str:
    """The `--to` option's help text."""
    *first, last = conversion_targets()
    return f"Label format to write: {', '.join(first)} or {last} (converts)."


def detection_order() -> list[LabelFormat]:
    """The formats auto-detection tries, strongest evidence (lowest priority) first."""
    return sorted(_FORMATS.values(), key=lambda fmt: fmt.priority)


# Display order: the recipe's `labels.format`, `--to` and messages list formats in this order.
_BUILTIN: tuple[LabelFormat, ...] = (
    voc.FORMAT,
    coco.FORMAT,
    yolo.FORMAT,
    labelme.FORMAT,
    cvat.FORMAT,
    yolo_obb.FORMAT,
    dota.FORMAT,
    masks.FORMAT,
    folders.FORMAT,
)

for _fmt in _BUILTIN:
    register_format(_fmt)
