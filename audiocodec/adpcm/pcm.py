"""Sample conversion between the public float32 edge and the int16 the codes model.

Encoders take float32 ``(frames, channels)`` in [-1, 1). A sample becomes
``clip(rint(x * 32768), -32768, 32767)`` as int16 (``rint`` rounds half to even;
values beyond +-1 clip, they never wrap). Decoders return ``int16 / 32768`` as
float32, which is exact.
"""

from __future__ import annotations

import numpy as np

from audiocodec.adpcm.kernels import to_int16
from audiocodec.errors import InputError

__all__ = ["check_pcm", "float_to_int16", "int16_to_float"]


def check_pcm(pcm: object, name: str = "pcm") -> np.ndarray:
    """``pcm`` as a 2-D float32 or float64 array; InputError for another shape or dtype."""
    a = np.asarray(pcm)
    if a.ndim != 2:
        raise InputError(f"{name} must be 2-D (frames, channels), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise InputError(f"{name} must be float32 (frames, channels), got dtype {a.dtype}")
    if a.dtype != np.float32 and a.dtype != np.float64:
        a = a.astype(np.float32)
    return a


def float_to_int16(pcm: np.ndarray) -> np.ndarray:
    """Convert float audio to int16 as the encoders do.

    Parameters
    ----------
    pcm : np.ndarray
        float ``(frames, channels)``; values beyond +-1 are clipped.

    Returns
    -------
    np.ndarray
        int16 ``(frames, channels)``, ``clip(rint(pcm * 32768), -32768, 32767)``.
    """
    a = check_pcm(pcm)
    out = np.empty(a.shape, dtype=np.int16)
    if not to_int16(a, out):
        raise InputError("pcm holds NaN or infinite samples")
    return out


def int16_to_float(x: np.ndarray) -> np.ndarray:
    """int16 ``(frames, channels)`` to float32 ``x / 32768`` (exact)."""
    return np.asarray(x, dtype=np.int16).astype(np.float32) * np.float32(1.0 / 32768.0)
