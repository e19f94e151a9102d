"""Containers: the AQC stream header and frame framing (:mod:`.aqc`).

The IMA ADPCM WAV file format lives with its mode, in :mod:`audiocodec.adpcm`.
"""

from __future__ import annotations

from . import aqc

__all__ = ["aqc"]
