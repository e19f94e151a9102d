"""The codec's one error family.

Every error the library raises on purpose derives from :class:`CodecError`.
Errors about what the caller handed us are also ``ValueError`` so that code
written against numpy/soundfile conventions keeps working.
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
