"""The channel mask of multichannel WAV output, so that players route the channels.

A WAV file of more than two channels says which speaker each channel feeds in
the ``dwChannelMask`` of a ``WAVE_FORMAT_EXTENSIBLE`` fmt chunk (Microsoft,
"Multiple channel audio data and WAVE files"): ``"fmt "`` chunk data of 40
bytes, ``wFormatTag`` = 0xFFFE, ``cbSize`` = 22, and at byte 20 of the chunk
data the u32 mask (little-endian) whose set bits, lowest first, name the
channels in file order (FL 0x1, FR 0x2, FC 0x4, LFE 0x8, BL 0x10, BR 0x20, BC
0x100, SL 0x200, SR 0x400). libsndfile writes that chunk (format ``WAVEX``) but
with its own mask (0 for 3.0, FLC/FRC for 7.1) and soundfile cannot set it,
so :func:`write_channel_mask` patches the field in the written file. The
masks are :data:`audiocodec.multistream.layout.LAYOUTS`'s.
"""

from __future__ import annotations

import os
import struct

from .errors import StreamError
from .multistream.layout import LAYOUTS

WAVE_FORMAT_EXTENSIBLE = 0xFFFE
MASK_OFFSET = 20  # in the fmt chunk's data
MAX_CHUNKS = 64  # chunks before "fmt " a writer may put (libsndfile puts none)


def wav_format(fmt: str, channels: int) -> str:
    """The soundfile format to write: ``WAVEX`` (extensible, masked) for WAV beyond stereo."""
    return "WAVEX" if fmt.upper() == "WAV" and channels > 2 else fmt


def channel_mask(channels: int) -> int:
    """The WAV/SMPTE speaker mask of ``channels`` (1..8) in the codec's channel order."""
    return LAYOUTS[channels].mask


def write_channel_mask(path: str | os.PathLike[str], channels: int) -> None:
    """Set ``dwChannelMask`` of the extensible WAV at ``path`` (written by soundfile as WAVEX)."""
    with open(path, "r+b") as f:
        riff = f.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:] != b"WAVE":
            raise StreamError(f"{path}: not a RIFF WAVE file")
        pos = 12
        for _ in range(MAX_CHUNKS):
            f.seek(pos)
            head = f.read(8)
            if len(head) < 8:
                break
            cid, size = head[:4], struct.unpack("<I", head[4:])[0]
            if cid == b"fmt ":
                body = f.read(min(size, 40))
                if size < 40 or struct.unpack_from("<H", body)[0] != WAVE_FORMAT_EXTENSIBLE:
                    raise StreamError(f"{path}: fmt chunk is not WAVE_FORMAT_EXTENSIBLE")
                f.seek(pos + 8 + MASK_OFFSET)
                f.write(struct.pack("<I", channel_mask(channels)))
                return
            pos += 8 + size + (size & 1)
        raise StreamError(f"{path}: no fmt chunk")
