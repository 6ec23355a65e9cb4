"""Fixtures shared by the transform tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def camera64() -> np.ndarray:
    """camera.png (the cameraman) at 64x64, grayscale HxW."""
    img = cv2.imread(str(DATA / "camera.png"), cv2.IMREAD_GRAYSCALE)
    return cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def dask_cluster():  # type: ignore[no-untyped-def]
    """One LocalCluster of 2 worker processes (1 thread each) for every Dask test: starting workers that
    import albumentations costs seconds, so the tests share them. Its scheduler gives a batch up after
    its worker died 3 times (allowed-failures 2), as the clusters augcli starts do."""
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 2}):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
    yield cluster
    cluster.close()
