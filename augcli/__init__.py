"""augcli: augment image datasets on disk from a YAML recipe."""

import os as _os

# Albumentations 2.0.8 checks PyPI for updates on import unless this is set; augcli never
# touches the network, so it is set before anything can import albumentations (workers included,
# since they import this package first).
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
