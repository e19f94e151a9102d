"""Standard IMA ADPCM WAV files (WAVE_FORMAT_IMA_ADPCM, 0x0011), streamed.

File layout written here (all little-endian)::

    "RIFF" u32 riff_size "WAVE"
    "fmt " u32 20  u16 0x0011  u16 channels  u32 sample_rate
                   u32 avg_bytes_per_sec = sample_rate * block_align // block_samples
                   u16 block_align  u16 bits_per_sample = 4
                   u16 cbSize = 2   u16 block_samples
    "fact" u32 4   u32 frames           (the true length, before block padding)
    "data" u32 data_size  block, block, ...

Each block holds ``block_samples = 8k + 1`` frames in ``block_align =
channels * (4 + 4k)`` bytes, in Microsoft's layout (see :mod:`audiocodec.adpcm.blocks`).
The default is ``block_align = 512 * channels``, i.e. 1017 samples per block at
any channel count: the Microsoft ACM choice for 22-48 kHz material and ffmpeg's
for stereo (ffmpeg uses 1024 bytes at any channel count, sox ``256 * channels``,
libsndfile 2048 bytes at 48 kHz). The final block is padded to full size by
repeating the last sample, as all three tools pad theirs; ``fact`` holds the
true frame count.

Reading follows the chunks (``LIST`` and other chunks are skipped, odd sizes
are padded, a data size beyond the file end is clamped) and decodes a short
final block to its whole 8-sample groups. ffmpeg, sox and libsndfile all ignore
``fact`` and return every decoded sample, padding included; sox writes the true
length in ``fact``, ffmpeg the padded one, and libsndfile the padded one divided
by the channel count. So :class:`ImaWavReader` trims to ``fact`` only when
``fact`` falls inside the last block and is not libsndfile's value
(``use_fact=True``, default); ``use_fact=False`` returns exactly what the tools
return.

Decoders disagree: sox and libsndfile follow the IMA reference reconstruction,
ffmpeg uses its own rounding (see :mod:`audiocodec.adpcm.tables`), so one file decodes
to slightly different samples in ffmpeg. Reading uses the reference
(``variant="ima"``, sample-exact with sox and libsndfile); ``variant="ffmpeg"``
is sample-exact with ffmpeg. The search encoder follows both decoders at once
(:mod:`audiocodec.adpcm.dual`) and bounds the worse one's error, so a file plays at
the same SNR (within 0.05 dB) in ffmpeg, sox and libsndfile, though not to the
identical samples; ``portable=True`` restricts the codes to those both formulas
agree on, so every decoder yields the identical samples, at 2.6-3.1 dB lower SNR.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from types import TracebackType
from typing import IO, BinaryIO, Self, cast

import numpy as np

from audiocodec.adpcm.blocks import (
    block_align_for,
    block_samples_for,
    decodable_frames,
    decode_blocks,
    encode_blocks,
    whole_group_samples,
)
from audiocodec.adpcm.kernels import METHODS
from audiocodec.adpcm.pcm import float_to_int16, int16_to_float
from audiocodec.adpcm.tables import VARIANTS
from audiocodec.errors import HeaderError, InputError, StreamError, UnsupportedError

__all__ = [
    "WAVE_FORMAT_IMA_ADPCM",
    "ImaWavReader",
    "ImaWavWriter",
    "default_block_samples",
    "is_ima_wav",
    "read_ima_wav",
    "write_ima_wav",
]

WAVE_FORMAT_IMA_ADPCM = 0x0011
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_HEADER_SIZE = 12 + 8 + 20 + 8 + 4 + 8  # RIFF/WAVE, fmt, fact, data header
_RIFF_MAX = 0xFFFFFFFF

PathOrFile = str | os.PathLike[str] | BinaryIO | IO[bytes]


def default_block_samples(channels: int) -> int:
    """Default samples per block: ``block_align = 512 * channels``, i.e. 1017."""
    return block_samples_for(512 * channels, channels)


def _open(path_or_file: PathOrFile, mode: str) -> tuple[BinaryIO, bool]:
    if isinstance(path_or_file, str | os.PathLike):
        try:
            f = cast(BinaryIO, open(path_or_file, mode))  # noqa: SIM115 - closed by owner
            return f, True
        except OSError as exc:
            raise InputError(f"cannot open {os.fspath(path_or_file)!r}: {exc}") from None
    return path_or_file, False  # type: ignore[return-value]


class _ClosesOnExit:
    """``with`` support for the reader and writer: ``__exit__`` calls ``close()``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -------------------------------------------------------------------------- writer


class ImaWavWriter(_ClosesOnExit):
    """Write an IMA ADPCM WAV in pieces of any size; memory does not grow.

    Parameters
    ----------
    path_or_file : str, os.PathLike or binary file
        Destination; a file object must be writable and seekable (sizes are
        patched at close).
    sample_rate : int
        1..2**32-1 Hz.
    channels : int
        1..255.
    block_samples : int, optional
        Samples per channel per block, ``8k + 1`` with ``k >= 1`` and
        ``block_align <= 65535``; default :func:`default_block_samples`.
    encoder : {'search', 'greedy'}
        Code choice; ``'search'`` (trellis) has the lower error.
    portable : bool
        Use only codes that ffmpeg's decoder reconstructs exactly like the IMA
        reference (sox, libsndfile, this reader); costs about 3 dB SNR.

    Examples
    --------
    >>> with ImaWavWriter("out.wav", 48000, 2) as w:  # doctest: +SKIP
    ...     for block in blocks:
    ...         w.write(block)  # float32 (n, 2)
    """

    def __init__(
        self,
        path_or_file: PathOrFile,
        sample_rate: int,
        channels: int,
        *,
        block_samples: int | None = None,
        encoder: str = "search",
        portable: bool = False,
    ) -> None:
        if not isinstance(sample_rate, int | np.integer) or not 1 <= sample_rate < 2**32:
            raise InputError(f"sample_rate must be an integer 1..2**32-1, got {sample_rate!r}")
        if not isinstance(channels, int | np.integer) or not 1 <= channels <= 255:
            raise InputError(f"channels must be 1..255, got {channels!r}")
        if encoder not in METHODS:
            raise InputError(f"encoder must be one of {METHODS}, got {encoder!r}")
        spb = default_block_samples(int(channels)) if block_samples is None else block_samples
        if not isinstance(spb, int | np.integer) or spb < 9 or (spb - 1) % 8:
            raise InputError(f"block_samples must be 8k + 1 with k >= 1, got {spb!r}")
        ba = block_align_for(int(spb), int(channels))
        if ba > 65535:
            raise InputError(
                f"block_samples={spb} with {channels} channels needs block_align {ba} > 65535"
            )
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.block_samples = int(spb)
        self.block_align = ba
        self.encoder = encoder
        self.portable = bool(portable)
        self.frames = 0
        self._index = np.zeros(self.channels, dtype=np.int32)
        self._pending = np.empty((self.block_samples, self.channels), dtype=np.int16)
        self._fill = 0
        self._data_bytes = 0
        self._closed = False
        self._f, self._own = _open(path_or_file, "wb")
        try:
            seekable = self._f.seekable()
        except (AttributeError, OSError, ValueError):
            seekable = False
        if not seekable:
            if self._own:
                self._f.close()
            raise InputError("ImaWavWriter needs a seekable file (sizes are patched at close)")
        self._start = self._f.tell()
        self._f.write(self._header(0, 0))

    def _header(self, frames: int, data_bytes: int) -> bytes:
        riff = min(_HEADER_SIZE - 8 + data_bytes, _RIFF_MAX)
        byte_rate = self.sample_rate * self.block_align // self.block_samples
        return (
            b"RIFF" + struct.pack("<I", riff) + b"WAVE"
            + b"fmt " + struct.pack(
                "<IHHIIHHHH", 20, WAVE_FORMAT_IMA_ADPCM, self.channels, self.sample_rate,
                byte_rate, self.block_align, 4, 2, self.block_samples,
            )
            + b"fact" + struct.pack("<II", 4, min(frames, _RIFF_MAX))
            + b"data" + struct.pack("<I", min(data_bytes, _RIFF_MAX))
        )  # fmt: skip

    def _emit(self, x: np.ndarray) -> None:
        data = encode_blocks(
            x, self.block_samples, self._index, method=self.encoder, portable=self.portable
        )
        self._f.write(data)
        self._data_bytes += len(data)

    def write(self, pcm: np.ndarray) -> None:
        """Append float32 ``(frames, channels)`` audio (any number of frames)."""
        if self._closed:
            raise InputError("write() on a closed ImaWavWriter")
        x = float_to_int16(pcm)
        if x.shape[1] != self.channels:
            raise InputError(f"pcm must have {self.channels} channels, got {x.shape[1]}")
        n = x.shape[0]
        self.frames += n
        spb = self.block_samples
        pos = 0
        if self._fill:
            take = min(spb - self._fill, n)
            self._pending[self._fill : self._fill + take] = x[:take]
            self._fill += take
            pos = take
            if self._fill < spb:
                return
            self._emit(self._pending)
            self._fill = 0
        whole = (n - pos) // spb * spb
        if whole:
            self._emit(x[pos : pos + whole])
            pos += whole
        rest = n - pos
        if rest:
            self._pending[:rest] = x[pos:]
            self._fill = rest

    def close(self) -> None:
        """Flush the padded final block, patch the sizes and ``fact``, close."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._fill:
                self._pending[self._fill :] = self._pending[self._fill - 1]
                self._emit(self._pending)
                self._fill = 0
            end = self._f.tell()
            self._f.seek(self._start)
            self._f.write(self._header(self.frames, self._data_bytes))
            self._f.seek(end)
            self._f.flush()
        finally:
            if self._own:
                self._f.close()


# -------------------------------------------------------------------------- reader


class _Fmt:
    __slots__ = ("channels", "sample_rate", "block_align", "block_samples")

    def __init__(self, channels: int, sample_rate: int, block_align: int, block_samples: int):
        self.channels = channels
        self.sample_rate = sample_rate
        self.block_align = block_align
        self.block_samples = block_samples


def _read_exact(f: BinaryIO, n: int) -> bytes:
    out = f.read(n)
    return out if out is not None else b""


def _skip(f: BinaryIO, n: int, seekable: bool) -> None:
    if seekable:
        f.seek(n, io.SEEK_CUR)
        return
    while n > 0:
        got = _read_exact(f, min(n, 1 << 16))
        if not got:
            return
        n -= len(got)


def _parse_fmt(body: bytes) -> _Fmt:
    if len(body) < 16:
        raise HeaderError(f"fmt chunk is {len(body)} bytes, need at least 16")
    tag, ch, sr, _br, ba, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == WAVE_FORMAT_EXTENSIBLE and len(body) >= 40:
        tag = struct.unpack("<H", body[24:26])[0]  # first 2 bytes of the SubFormat GUID
    if tag != WAVE_FORMAT_IMA_ADPCM:
        raise UnsupportedError(f"not an IMA ADPCM WAV: format tag 0x{tag:04x}, expected 0x0011")
    if bits != 4:
        raise UnsupportedError(f"IMA ADPCM with {bits} bits per sample; only 4 is supported")
    if ch < 1:
        raise HeaderError("fmt chunk: 0 channels")
    if sr < 1:
        raise HeaderError("fmt chunk: sample rate 0")
    if ba < 8 * ch or ba % (4 * ch):
        raise HeaderError(
            f"fmt chunk: block_align {ba} is not a multiple of {4 * ch} of at least {8 * ch}"
        )
    cap = block_samples_for(ba, ch)
    spb = cap
    if len(body) >= 20:
        cb, hdr_spb = struct.unpack("<HH", body[16:20])
        if cb >= 2 and hdr_spb:
            if hdr_spb > cap:
                raise HeaderError(
                    f"fmt chunk: {hdr_spb} samples per block do not fit in block_align {ba}"
                )
            spb = hdr_spb
    return _Fmt(ch, sr, ba, spb)


def _check_riff_head(head: bytes) -> None:
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        raise HeaderError("not a RIFF/WAVE file")
    if head[:4] == b"RIFX":
        raise UnsupportedError("big-endian RIFX files are not supported")


def _frames_to_return(decodable: int, spb: int, channels: int, fact: int | None, use_fact: bool) -> int:
    """``fact`` when it trims the last block's padding and is trustworthy, else ``decodable``.

    ``spb`` is the samples a full block decodes to.
    """
    # libsndfile writes padded_frames // channels as fact for multichannel
    # files, which can fall inside the last block: never trust that value.
    libsndfile_fact = channels > 1 and fact == decodable // channels
    if use_fact and fact is not None and decodable - spb < fact <= decodable:
        if not libsndfile_fact:
            return fact
    return decodable


class ImaWavReader(_ClosesOnExit):
    """Read an IMA ADPCM WAV block by block.

    Parameters
    ----------
    path_or_file : str, os.PathLike or binary file
        Source; file objects need not be seekable (then a ``fact`` chunk after
        ``data`` is not seen, and a truncated ``data`` simply ends).
    variant : {'ima', 'ffmpeg', 'auto'}
        Decoder formula: the IMA reference (sox, libsndfile) or ffmpeg's.
    use_fact : bool
        Trim the final block's padding to the ``fact`` frame count when that
        count falls inside the last block.

    Attributes
    ----------
    sample_rate, channels, frames : int
    block_align, block_samples : int
    declared_data_size, missing_bytes : int
        The ``data`` chunk's size field, and how much of it the file lacks (a truncated
        copy; 0 for a non-seekable source, where the end is not known in advance).
    expected_frames : int
        ``frames`` had the file been complete.
    """

    def __init__(
        self, path_or_file: PathOrFile, *, variant: str = "ima", use_fact: bool = True
    ) -> None:
        if variant not in (*VARIANTS, "auto"):
            raise InputError(f"variant must be one of {(*VARIANTS, 'auto')}, got {variant!r}")
        self.variant = variant
        self.writer_is_ffmpeg = False
        self.declared_data_size = self.missing_bytes = 0
        self._f, self._own = _open(path_or_file, "rb")
        try:
            self._parse(use_fact)
        except BaseException:
            self.close()
            raise

    def _parse(self, use_fact: bool) -> None:
        f = self._f
        try:
            seekable = bool(f.seekable())
        except (AttributeError, OSError, ValueError):
            seekable = False
        self._seekable = seekable
        _check_riff_head(_read_exact(f, 12))
        fmt, fact, data_pos, data_size = self._walk_chunks(seekable)
        if self.variant == "auto":
            self.variant = "ffmpeg" if self.writer_is_ffmpeg else "ima"
        if fmt is None:
            raise HeaderError("no fmt chunk")
        if data_size < 0:
            raise HeaderError("no data chunk")
        if seekable:
            f.seek(data_pos)
        self.channels = fmt.channels
        self.sample_rate = fmt.sample_rate
        self.block_align = fmt.block_align
        self.block_samples = fmt.block_samples
        self.data_size = data_size
        self._fact = fact
        # a data chunk that runs past the end of the file: truncated (a copy cut short)
        self.missing_bytes = self.declared_data_size - data_size
        spb = whole_group_samples(fmt.block_samples)
        decodable = decodable_frames(data_size, fmt.channels, fmt.block_align, fmt.block_samples)
        self.decodable_frames = decodable
        self.frames = _frames_to_return(decodable, spb, fmt.channels, fact, use_fact)
        whole = decodable_frames(self.declared_data_size, fmt.channels, fmt.block_align,
                                 fmt.block_samples)
        self.expected_frames = _frames_to_return(whole, spb, fmt.channels, fact, use_fact)

    def _walk_chunks(self, seekable: bool) -> tuple[_Fmt | None, int | None, int, int]:
        """Read chunks up to ``data`` (or past it, for a later ``fact``).

        Returns ``(fmt, fact, data_pos, data_size)``; ``data_size`` is -1 without a
        ``data`` chunk. Sets ``writer_is_ffmpeg`` from a ``LIST`` chunk.
        """
        f = self._f
        file_end = None
        if seekable:
            here = f.tell()
            file_end = f.seek(0, io.SEEK_END)
            f.seek(here)
        fmt: _Fmt | None = None
        fact: int | None = None
        data_pos = data_size = -1
        while True:
            ck = _read_exact(f, 8)
            if len(ck) < 8:
                break
            cid, size = ck[:4], struct.unpack("<I", ck[4:])[0]
            if cid == b"fmt ":
                if size > 4096:
                    raise HeaderError(f"fmt chunk of {size} bytes; expected at most 4096")
                body = _read_exact(f, size)
                if len(body) < size:
                    raise HeaderError("fmt chunk is truncated")
                fmt = _parse_fmt(body)
                if size & 1:
                    _skip(f, 1, seekable)
            elif cid == b"fact" and size >= 4:
                body = _read_exact(f, 4)
                if len(body) == 4:
                    fact = struct.unpack("<I", body)[0]
                _skip(f, size - 4 + (size & 1), seekable)
            elif cid == b"data":
                if fmt is None:
                    raise HeaderError("data chunk comes before the fmt chunk")
                data_pos = f.tell() if seekable else 0
                data_size = self.declared_data_size = size
                if file_end is not None:
                    data_size = min(size, file_end - data_pos)
                if not seekable or fact is not None:
                    break
                # Look on for a fact chunk written after the data.
                f.seek(data_pos + size + (size & 1))
                if file_end is None or data_pos + size >= file_end:
                    break
            elif cid == b"LIST" and size <= 4096:
                body = _read_exact(f, size)
                # ffmpeg tags its files (INFO/ISFT "Lavf..."); its decoder rounds differently
                self.writer_is_ffmpeg = b"ISFT" in body and b"Lavf" in body
                if size & 1:
                    _skip(f, 1, seekable)
            else:
                _skip(f, size + (size & 1), seekable)
        return fmt, fact, data_pos, data_size

    def blocks(self, max_frames: int = 65536) -> Iterator[np.ndarray]:
        """Yield float32 ``(n, channels)`` pieces of ``max_frames`` frames (last shorter).

        Reads from the current position (the start of the data) to ``frames``.
        """
        if not isinstance(max_frames, int | np.integer) or max_frames < 1:
            raise InputError(f"max_frames must be an integer >= 1, got {max_frames!r}")
        for x in self._int16_pieces(int(max_frames)):
            yield int16_to_float(x)

    def _int16_pieces(self, max_frames: int) -> Iterator[np.ndarray]:
        ba = self.block_align
        spb = whole_group_samples(self.block_samples)
        per_read = max(1, -(-max_frames // spb))
        remaining_bytes = self.data_size
        remaining_frames = self.frames
        carry = np.empty((0, self.channels), dtype=np.int16)
        while remaining_frames > 0 and remaining_bytes > 0:
            want = min(per_read * ba, remaining_bytes)
            raw = _read_exact(self._f, want)
            if not raw:
                break
            remaining_bytes -= len(raw)
            if len(raw) % ba and remaining_bytes > 0:
                more = _read_exact(self._f, min(ba - len(raw) % ba, remaining_bytes))
                raw += more
                remaining_bytes -= len(more)
                if not more:
                    remaining_bytes = 0
            x = decode_blocks(raw, self.channels, ba, self.block_samples, variant=self.variant)
            x = x[:remaining_frames]
            remaining_frames -= x.shape[0]
            if carry.shape[0]:
                x = np.concatenate([carry, x])
            k = 0
            while x.shape[0] - k >= max_frames:
                yield x[k : k + max_frames]
                k += max_frames
            carry = x[k:]
        if carry.shape[0]:
            yield carry

    def read(self) -> np.ndarray:
        """All remaining frames as float32 ``(n, channels)``."""
        pieces = list(self._int16_pieces(1 << 20))
        if not pieces:
            return np.zeros((0, self.channels), dtype=np.float32)
        return int16_to_float(np.concatenate(pieces))

    def close(self) -> None:
        """Close the file if this reader opened it."""
        if self._own:
            self._f.close()


# ------------------------------------------------------------------- conveniences


def read_ima_wav(
    path: PathOrFile, *, variant: str = "ima", use_fact: bool = True
) -> tuple[np.ndarray, int]:
    """Read a whole IMA ADPCM WAV: ``(pcm float32 (frames, channels), sample_rate)``."""
    with ImaWavReader(path, variant=variant, use_fact=use_fact) as r:
        return r.read(), r.sample_rate


def write_ima_wav(
    path: PathOrFile,
    pcm: np.ndarray,
    sample_rate: int,
    *,
    block_samples: int | None = None,
    encoder: str = "search",
    portable: bool = False,
) -> None:
    """Write float32 ``(frames, channels)`` ``pcm`` as an IMA ADPCM WAV."""
    a = np.asarray(pcm)
    if a.ndim != 2:
        raise InputError(f"pcm must be 2-D (frames, channels), got shape {a.shape}")
    with ImaWavWriter(
        path, sample_rate, a.shape[1], block_samples=block_samples, encoder=encoder,
        portable=portable,
    ) as w:
        w.write(a)


def is_ima_wav(path: PathOrFile) -> bool:
    """True if ``path`` is a RIFF/WAVE file whose format is IMA ADPCM (0x0011)."""
    pos = None
    if not isinstance(path, str | os.PathLike):
        try:
            pos = path.tell()
        except (AttributeError, OSError, ValueError):
            pos = None
    try:
        with ImaWavReader(path):
            return True
    except (StreamError, InputError, OSError):
        return False
    finally:
        if pos is not None:
            path.seek(pos)  # type: ignore[union-attr]
