"""Dataset layouts and label formats: discover samples, read their labels, write them where outputs go."""

from augcli.datasets.base import Codec, Dataset, LabelFormat, LabelSet, Sample, read_labels
from augcli.datasets.discovery import discover, discover_dataset
from augcli.datasets.folders import LAYOUTS
from augcli.datasets.registry import (
    conversion_help,
    conversion_targets,
    format_names,
    get_format,
    label_format_choices,
    register_format,
)

__all__ = [
    "LAYOUTS",
    "Codec",
    "Dataset",
    "LabelFormat",
    "LabelSet",
    "Sample",
    "conversion_help",
    "conversion_targets",
    "discover",
    "discover_dataset",
    "format_names",
    "get_format",
    "label_format_choices",
    "read_labels",
    "register_format",
]
