"""Microsoft's IMA ADPCM WAV block layout, as the ``data`` chunk of :mod:`audiocodec.adpcm.wav` holds it.

IMA ADPCM WAV block layout (``encode_blocks`` / ``decode_blocks``)
-----------------------------------------------------------------
Microsoft's layout for ``block_align`` bytes and ``spb = (block_align/C - 4)*2 + 1``
samples per channel: per channel a 4-byte header (int16 LE first sample, which is
also the predictor; uint8 step index; a reserved 0 byte), then groups of 8
samples: for each group, for each channel, 4 bytes holding its 8 codes, low
nibble first. The step index carries over from block to block; the predictor is
reset to the block's first sample.

Only whole 8-code groups are decoded, as ffmpeg, sox and libsndfile do; a short
final block yields ``1 + 8 * g`` samples for its ``g`` whole groups per channel
(:func:`decodable_frames` is that rule, for the decoder and the WAV reader).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from audiocodec.adpcm import dual
from audiocodec.adpcm.dual import search_dual_run
from audiocodec.adpcm.kernels import decode_run, greedy_run, method_id
from audiocodec.adpcm.tables import (
    INDEX_TABLE,
    MAG_FFMPEG,
    VARIANTS,
    kernel_tables,
    magnitudes,
)
from audiocodec.errors import FrameError, InputError

__all__ = [
    "block_align_for",
    "block_samples_for",
    "decodable_frames",
    "decode_blocks",
    "encode_blocks",
    "whole_group_samples",
]


def block_samples_for(block_align: int, channels: int) -> int:
    """Samples per channel in a Microsoft IMA ADPCM block of ``block_align`` bytes."""
    return (block_align // channels - 4) * 2 + 1


def block_align_for(block_samples: int, channels: int) -> int:
    """Bytes in a block of ``block_samples`` (``8k + 1``) samples per channel."""
    return channels * (4 + (block_samples - 1) // 2)


def whole_group_samples(block_samples: int) -> int:
    """Samples per channel a full block decodes to: its header sample and whole 8-code groups."""
    return 1 + (block_samples - 1) // 8 * 8


def _short_block_samples(rest: int, channels: int, spb: int) -> int:
    """Samples per channel a final block of ``rest`` bytes decodes to (0 below its headers)."""
    if rest < 4 * channels:
        return 0
    return 1 + min((rest - 4 * channels) // (4 * channels), (spb - 1) // 8) * 8


def decodable_frames(nbytes: int, channels: int, block_align: int, block_samples: int) -> int:
    """Frames that ``nbytes`` of block data decode to (whole blocks, then a short one)."""
    spb = whole_group_samples(block_samples)
    nfull, rest = divmod(nbytes, block_align)
    return nfull * spb + _short_block_samples(rest, channels, spb)


@njit(cache=True)
def _encode_blocks_kernel(x, spb, block_align, idx, method, portable, nsurv, ncand, wmax, keep_index,  # type: ignore[no-untyped-def]
                          out, step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt, mag_ff):
    """Mirrored pair of :func:`_decode_blocks_kernel`: fill ``out`` with whole blocks."""
    total, ch = x.shape
    nblk = total // spb
    ncode = spb - 1
    codes = np.empty(ncode, dtype=np.uint8)
    col = np.empty(ncode, dtype=np.int16)
    for b in range(nblk):
        o = b * block_align
        s0 = b * spb
        for c in range(ch):
            p = np.int32(x[s0, c])
            out[o + 4 * c] = p & 0xFF
            out[o + 4 * c + 1] = (p >> 8) & 0xFF
            out[o + 4 * c + 2] = idx[c]
            out[o + 4 * c + 3] = 0
            for t in range(ncode):
                col[t] = x[s0 + 1 + t, c]
            if method == 0:
                _p, i2 = greedy_run(col, p, idx[c], step, idx_tab, mag, mask, portable, codes)
            else:
                _p, i2 = search_dual_run(col, p, idx[c], idx_tab, mag_ff, lv_val, lv_code, lv_cnt,
                                         nsurv, ncand, wmax, keep_index, codes)
            idx[c] = i2
            for g in range(ncode // 8):
                base = o + 4 * ch + (g * ch + c) * 4
                for j in range(4):
                    out[base + j] = codes[8 * g + 2 * j] | (codes[8 * g + 2 * j + 1] << 4)


@njit(cache=True)
def _decode_blocks_kernel(buf, nblk, block_align, spb, ch, idx_tab, mag, out):  # type: ignore[no-untyped-def]
    """Mirrored pair of :func:`_encode_blocks_kernel`: decode ``nblk`` blocks.

    Returns -1, or the number of the first bad block.
    """
    ncode = spb - 1
    codes = np.empty(ncode, dtype=np.uint8)
    col = np.empty(ncode, dtype=np.int16)
    for b in range(nblk):
        o = b * block_align
        s0 = b * spb
        for c in range(ch):
            p = np.int32(buf[o + 4 * c]) | (np.int32(buf[o + 4 * c + 1]) << 8)
            if p >= 32768:
                p -= 65536
            i = np.int32(buf[o + 4 * c + 2])
            if i > 88:
                return b
            out[s0, c] = p
            for g in range(ncode // 8):
                base = o + 4 * ch + (g * ch + c) * 4
                for j in range(4):
                    byte = buf[base + j]
                    codes[8 * g + 2 * j] = byte & 0xF
                    codes[8 * g + 2 * j + 1] = byte >> 4
            decode_run(codes, p, i, idx_tab, mag, col)
            for t in range(ncode):
                out[s0 + 1 + t, c] = col[t]
    return -1


def encode_blocks(
    x: np.ndarray,
    block_samples: int,
    index: np.ndarray,
    *,
    method: str = "search",
    portable: bool = False,
) -> bytes:
    """Encode whole IMA ADPCM WAV blocks.

    Parameters
    ----------
    x : np.ndarray
        int16 ``(nblocks * block_samples, channels)``.
    block_samples : int
        Samples per channel per block, ``8k + 1`` with ``k >= 1``.
    index : np.ndarray
        int32 ``(channels,)`` step index carried between blocks; updated in place.
    method : {'greedy', 'search'}
    portable : bool
        Use only codes every common decoder reconstructs identically.

    Returns
    -------
    bytes
        ``nblocks * block_align_for(block_samples, channels)`` bytes.
    """
    mid = method_id(method)
    x = np.asarray(x)
    if x.dtype != np.int16 or x.ndim != 2:
        raise InputError(f"x must be int16 (frames, channels), got {x.dtype} {x.shape}")
    if block_samples < 9 or (block_samples - 1) % 8:
        raise InputError(f"block_samples must be 8k + 1 with k >= 1, got {block_samples}")
    if x.shape[0] % block_samples:
        raise InputError(
            f"x must hold whole blocks of {block_samples} frames, got {x.shape[0]}"
        )
    ch = x.shape[1]
    ba = block_align_for(block_samples, ch)
    out = np.empty((x.shape[0] // block_samples) * ba, dtype=np.uint8)
    port = bool(portable)
    _encode_blocks_kernel(  # type: ignore[call-arg]
        x, block_samples, ba, index, mid, port, dual.DUAL_SURVIVORS[port], dual.DUAL_CANDIDATES[port],
        dual.DUAL_WMAX, dual.KEEP_INDEX[port], out, *kernel_tables(port), MAG_FFMPEG,
    )
    return out.tobytes()


def decode_blocks(
    data: bytes | np.ndarray,
    channels: int,
    block_align: int,
    block_samples: int,
    *,
    variant: str = "ima",
) -> np.ndarray:
    """Decode IMA ADPCM WAV blocks, the last of which may be short.

    Parameters
    ----------
    data : bytes or np.ndarray
        Whole blocks of ``block_align`` bytes, then optionally one short block;
        a short block yields ``1 + 8 * g`` samples for its ``g`` whole 4-byte
        groups per channel (as ffmpeg, sox and libsndfile do), none if it is
        shorter than its headers.
    channels, block_align, block_samples : int
        From the WAV ``fmt`` chunk; ``block_samples <= block_samples_for(...)``.
    variant : {'ima', 'ffmpeg'}
        Reconstruction formula (see :mod:`audiocodec.adpcm.tables`).

    Returns
    -------
    np.ndarray
        int16 ``(frames, channels)``.

    Raises
    ------
    FrameError
        A block's step index is above 88.
    """
    if variant not in VARIANTS:
        raise InputError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if channels < 1 or block_align < 4 * channels or block_samples < 1:
        raise InputError(
            f"bad block geometry: channels={channels}, block_align={block_align}, "
            f"block_samples={block_samples}"
        )
    if block_samples > block_samples_for(block_align, channels):
        raise InputError(
            f"{block_samples} samples per block do not fit in {block_align} bytes "
            f"for {channels} channels"
        )
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    mag = magnitudes(variant)
    spb_eff = whole_group_samples(block_samples)
    nfull, rest = divmod(buf.shape[0], block_align)
    tail = _short_block_samples(rest, channels, spb_eff)
    out = np.empty((nfull * spb_eff + tail, channels), dtype=np.int16)
    bad = _decode_blocks_kernel(buf, nfull, block_align, spb_eff, channels, INDEX_TABLE, mag, out)
    if bad < 0 and tail:
        bad2 = _decode_blocks_kernel(
            buf[nfull * block_align :], 1, block_align, tail, channels, INDEX_TABLE, mag,
            out[nfull * spb_eff :],
        )
        bad = -1 if bad2 < 0 else nfull
    if bad >= 0:
        raise FrameError(f"IMA ADPCM block {bad}: step index above 88")
    return out
