"""augcli: augment image datasets on disk from a YAML recipe."""

import os as _os

# Albumentations 2.0.8 checks PyPI for updates on import unless this is set; augcli never
# touches the network, so it is set before anything can import albumentations (workers included,
# since they import this package first).
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"

_LAZY = {"load_pipeline": "augcli.api", "tta_variants": "augcli.api", "invert_tta": "augcli.api"}


def __getattr__(name: str) -> object:
    """`augcli.load_pipeline` and friends, imported on first use so `import augcli` stays light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'augcli' has no attribute {name!r}")
