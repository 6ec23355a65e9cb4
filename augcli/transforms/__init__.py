"""augcli's own transforms, built like Albumentations' and named in recipes the same way.

Importing this package registers every class with Albumentations' serialization registry (its
metaclass does it), which is how `albumentations.load` finds them in an exported pipeline.
"""

from __future__ import annotations

import augcli  # noqa: F401  (sets NO_ALBUMENTATIONS_UPDATE before albumentations is imported)
from augcli.transforms import fundus, keras, policies

_MODULES = (fundus, keras, policies)

AUGCLI_TRANSFORMS: dict[str, type] = {name: getattr(module, name) for module in _MODULES for name in module.__all__}

__all__ = ["AUGCLI_TRANSFORMS"]
