"""Shared fixtures; the signals themselves live in :mod:`support`."""

from __future__ import annotations

import numpy as np
import pytest
from support import SHARED_AUDIO, music_like, shared_files, snr_db

__all__ = ["SHARED_AUDIO", "music_like", "shared_files", "snr_db"]


@pytest.fixture
def music() -> np.ndarray:
    return music_like()
