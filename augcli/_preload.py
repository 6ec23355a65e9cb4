"""Imported once by the forkserver, so pool workers start with everything loaded."""

import augcli.worker  # noqa: F401
from augcli import registry

registry.catalogue()  # albumentations and augcli's own transforms
