"""The codec's one error family.

Every error the library raises on purpose derives from :class:`CodecError`.
Errors about what the caller handed us are also ``ValueError`` so that code
written against numpy/soundfile conventions keeps working. Damage a decoder recovers
from is not an error: :class:`CodecWarning`.
"""

from __future__ import annotations


class CodecError(Exception):
    """Root of every error raised by audiocodec."""


class InputError(CodecError, ValueError):
    """The caller's audio, options or paths are not acceptable."""


class UnsupportedError(InputError):
    """Valid input the codec does not handle (channel count, rate, format)."""


class StreamError(CodecError, ValueError):
    """The bytes handed to a decoder are not a valid AQC stream."""


class HeaderError(StreamError):
    """The stream header is missing, truncated or holds impossible values."""


class FrameError(StreamError):
    """A frame is truncated, fails its CRC or holds impossible values."""


class DeviceError(CodecError):
    """An audio device is missing, busy or failed (live demo only)."""


class CodecWarning(UserWarning):
    """Decoded, but the input was damaged: frames concealed, bytes skipped, or it ends early.

    :func:`audiocodec.decode` issues it through :mod:`warnings` unless the caller passes
    ``report=`` (then the :class:`~audiocodec.oneshot.DecodeReport` says what was lost).
    Turn it into an exception with ``warnings.simplefilter("error", CodecWarning)``.
    """
