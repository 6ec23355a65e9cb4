"""Dataset layouts and label formats: discover samples, and where their outputs go."""

from augcli.datasets.folders import LAYOUTS, Dataset, Sample, discover
from augcli.datasets.formats import LABEL_FORMATS, LabelSet, discover_dataset

__all__ = ["LABEL_FORMATS", "LAYOUTS", "Dataset", "LabelSet", "Sample", "discover", "discover_dataset"]
