"""audiocodec: a real-time perceptual audio codec (AQC) and IMA ADPCM, in Python.

Public API (``(frames, channels)`` float32 at every edge)::

    import audiocodec
    data = audiocodec.encode(pcm, 48000, bitrate=96000)      # bytes
    pcm2, rate = audiocodec.decode(data)
    audiocodec.encode_file("in.wav", "out.aqc", bitrate=96000)
    audiocodec.decode_file("out.aqc", "back.wav")
    enc = audiocodec.Encoder(48000, 2, bitrate=64000)          # streaming
    dec = audiocodec.Decoder(enc.header)

Heavy modules load on first use so ``audiocodec --help`` starts fast; ``dir(audiocodec)``
lists ``__all__``, the lazy names included.

Damaged input: :func:`decode` conceals what it can and issues a :class:`CodecWarning`
(pass ``report=DecodeReport()`` to get the details instead of the warning).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    CodecError,
    CodecWarning,
    DeviceError,
    FrameError,
    HeaderError,
    InputError,
    StreamError,
    UnsupportedError,
)

__all__ = [
    "CodecError", "CodecWarning", "DeviceError", "FrameError", "HeaderError", "InputError", "StreamError",
    "UnsupportedError", "Encoder", "Decoder", "encode", "decode", "encode_file", "decode_file",
    "info", "__version__",
]

if TYPE_CHECKING:
    from typing import Any

_LAZY = {
    "Encoder": "stream", "Decoder": "stream", "encode": "oneshot", "decode": "oneshot",
    "encode_file": "files", "decode_file": "files", "info": "files",
}


def _package_version() -> str:
    """The version from the package metadata (one home: pyproject.toml); read on first use,
    since importlib.metadata costs ~30 ms at import."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("audiocodec")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that is not installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = value = _package_version()
        return value
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'audiocodec' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


del annotations, TYPE_CHECKING  # dir() and the namespace show the API only
