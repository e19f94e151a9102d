"""The one error type of the psychoacoustic model.

``psychoacoustics`` must not import ``audiocodec`` (the decoder never needs the model, and the
model must stay usable on its own), so it cannot derive from ``audiocodec.errors.CodecError``.
:class:`PsychoacousticsError` is a ``ValueError`` so callers that catch ``ValueError`` (numpy /
soundfile convention, and ``audiocodec.errors.InputError``'s base) catch it too.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class PsychoacousticsError(ValueError):
    """Bad configuration or input handed to the psychoacoustic model."""


def as_real_finite(a: NDArray[np.generic], name: str) -> NDArray[np.float64]:
    """``a`` as float64, or a :class:`PsychoacousticsError` naming ``name`` when it is not
    real numbers or holds NaN/Inf (the model's one input check after the shape)."""
    if a.dtype == np.float64:
        x: NDArray[np.float64] = a  # type: ignore[assignment]
    elif np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer):
        x = a.astype(np.float64)
    else:
        raise PsychoacousticsError(f"{name} must be real numbers, got dtype {a.dtype}")
    if not np.isfinite(x).all():
        raise PsychoacousticsError(f"{name} holds NaN or infinite values")
    return x
