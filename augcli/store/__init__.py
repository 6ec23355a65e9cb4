"""Stores: where bytes are read and written (`open_store(location)`); the local disk is built in.

URL schemes (s3://, gs://, az://, memory://, any other fsspec protocol) are registered here too, but
fsspec and the cloud packages are imported only when such a URL is opened.
"""

from augcli.store import fsspec as _fsspec  # noqa: F401  (registers URL schemes, imports nothing heavy)
from augcli.store import local as _local  # noqa: F401  (registers "" and file://)
from augcli.store.base import (
    LogWriter,
    NoLock,
    Store,
    StoreLock,
    as_location,
    is_url,
    open_store,
    register_store,
    scheme_of,
)
from augcli.store.local import path_problem, shown_path
from augcli.store.options import parse_storage_options

__all__ = [
    "LogWriter",
    "NoLock",
    "Store",
    "StoreLock",
    "as_location",
    "is_url",
    "open_store",
    "parse_storage_options",
    "path_problem",
    "register_store",
    "scheme_of",
    "shown_path",
]
