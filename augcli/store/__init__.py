"""Stores: where bytes are read and written (`open_store(location)`); the local disk is built in."""

from augcli.store import local as _local  # noqa: F401  (registers "" and file://)
from augcli.store.base import LogWriter, Store, open_store, register_store, scheme_of

__all__ = ["LogWriter", "Store", "open_store", "register_store", "scheme_of"]
