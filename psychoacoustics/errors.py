"""The one error type of the psychoacoustic model.

``psychoacoustics`` must not import ``audiocodec`` (the decoder never needs the model, and the
model must stay usable on its own), so it cannot derive from ``audiocodec.errors.CodecError``.
:class:`PsychoacousticsError` is a ``ValueError`` so callers that catch ``ValueError`` (numpy /
soundfile convention, and ``audiocodec.errors.InputError``'s base) catch it too.
"""

from __future__ import annotations


class PsychoacousticsError(ValueError):
    """Bad configuration or input handed to the psychoacoustic model."""
