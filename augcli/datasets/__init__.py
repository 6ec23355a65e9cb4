"""Dataset layouts and label formats: discover samples, and where their outputs go."""

from augcli.datasets.folders import LAYOUTS, Dataset, Sample, discover

__all__ = ["LAYOUTS", "Dataset", "Sample", "discover"]
