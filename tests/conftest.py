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
