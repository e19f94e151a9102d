"""The AQC ADPCM packet payload and the per-stream encoder state.

AQC packet layout (``encode_packet`` / ``decode_packet``)
---------------------------------------------------------
::

    offset          size  field
    3*c             2     predictor of channel c before the packet, int16 LE
    3*c + 2         1     step index of channel c before the packet, uint8 0..88
    3*C + k//2      -     code k in the low (k even) or high (k odd) nibble,
                          k = frame * C + channel, frames 0..n-1
    (if n*C is odd, the last high nibble is padding and must be 0)

    packet_size(C, n) = 3*C + ceil(n*C / 2)

Every packet carries the decoder state it starts from, so decoding can start at
any packet; ``n`` and ``C`` come from the container. A packet encodes all ``n``
samples of each channel (the header predictor is not a sample), so consecutive
packets from one :class:`AdpcmState` decode seamlessly. A valid packet has
exactly ``packet_size(C, n)`` bytes, every step index <= 88 and a zero padding
nibble; the codes themselves are all valid.

Latency
-------
The decoder has no look-ahead and the encoder's search only looks inside the
packet it is given: ``ALGORITHMIC_LATENCY_SAMPLES == 0`` beyond the packet
buffering itself (output sample ``i`` reconstructs input sample ``i``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from audiocodec.adpcm.kernels import decode_run, encode_channel, method_id
from audiocodec.adpcm.pcm import check_pcm, float_to_int16, int16_to_float
from audiocodec.adpcm.tables import INDEX_TABLE, MAG_IMA, SEARCH_CANDIDATES, SEARCH_SURVIVORS, kernel_tables
from audiocodec.errors import FrameError, InputError

__all__ = [
    "ALGORITHMIC_LATENCY_SAMPLES",
    "MAX_PACKET_FRAMES",
    "AdpcmState",
    "decode_packet",
    "encode_packet",
    "packet_size",
]

ALGORITHMIC_LATENCY_SAMPLES: int = 0
MAX_PACKET_FRAMES = 65535


class AdpcmState:
    """Per-stream encoder state: one predictor and step index per channel.

    Parameters
    ----------
    channels : int
        Number of channels, >= 1.

    Attributes
    ----------
    predictor : np.ndarray
        int32 ``(channels,)``, the last reconstructed sample (int16 range).
    index : np.ndarray
        int32 ``(channels,)``, step index 0..88.
    """

    def __init__(self, channels: int) -> None:
        if not isinstance(channels, int | np.integer) or channels < 1:
            raise InputError(f"channels must be an integer >= 1, got {channels!r}")
        self.channels = int(channels)
        self.predictor = np.zeros(self.channels, dtype=np.int32)
        self.index = np.zeros(self.channels, dtype=np.int32)

    def reset(self) -> None:
        """Return to the start-of-stream state (predictor 0, step index 0)."""
        self.predictor[:] = 0
        self.index[:] = 0

    def __repr__(self) -> str:
        return (
            f"AdpcmState(channels={self.channels}, predictor={self.predictor.tolist()}, "
            f"index={self.index.tolist()})"
        )


def packet_size(channels: int, n: int) -> int:
    """Bytes in a packet of ``n`` frames of ``channels`` channels.

    ``3 * channels + ceil(n * channels / 2)``.
    """
    if channels < 1 or n < 0:
        raise InputError(f"need channels >= 1 and n >= 0, got channels={channels}, n={n}")
    return 3 * channels + (n * channels + 1) // 2


@njit(cache=True)
def _encode_packet_kernel(x, pred, idx, method, nsurv, ncand, out,  # type: ignore[no-untyped-def]
                          step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt):
    """Mirrored pair of :func:`_decode_packet_kernel`: fill ``out`` with one packet."""
    n, ch = x.shape
    codes = np.empty(n, dtype=np.uint8)
    col = np.empty(n, dtype=np.int16)
    hdr = 3 * ch
    for k in range(hdr, out.shape[0]):
        out[k] = 0
    for c in range(ch):
        p = pred[c]
        out[3 * c] = p & 0xFF
        out[3 * c + 1] = (p >> 8) & 0xFF
        out[3 * c + 2] = idx[c]
        for t in range(n):
            col[t] = x[t, c]
        p2, i2 = encode_channel(col, p, idx[c], method, False, nsurv, ncand, codes,
                                step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt)
        pred[c] = p2
        idx[c] = i2
        for t in range(n):
            k = t * ch + c
            if k & 1:
                out[hdr + (k >> 1)] |= codes[t] << 4
            else:
                out[hdr + (k >> 1)] |= codes[t]


@njit(cache=True)
def _decode_packet_kernel(buf, ch, n, idx_tab, mag, out):  # type: ignore[no-untyped-def]
    """Mirrored pair of :func:`_encode_packet_kernel`: one packet into int16 ``out`` (n, ch)."""
    hdr = 3 * ch
    codes = np.empty(n, dtype=np.uint8)
    col = np.empty(n, dtype=np.int16)
    for c in range(ch):
        p = np.int32(buf[3 * c]) | (np.int32(buf[3 * c + 1]) << 8)
        if p >= 32768:
            p -= 65536
        i = np.int32(buf[3 * c + 2])
        for t in range(n):
            k = t * ch + c
            b = buf[hdr + (k >> 1)]
            codes[t] = (b >> 4) if k & 1 else (b & 0xF)
        decode_run(codes, p, i, idx_tab, mag, col)
        for t in range(n):
            out[t, c] = col[t]


def encode_packet(pcm: np.ndarray, state: AdpcmState, *, method: str = "greedy") -> bytes:
    """Encode one packet and advance ``state``.

    Parameters
    ----------
    pcm : np.ndarray
        float32 ``(n, channels)``, ``1 <= n <= 65535``; values beyond +-1 clip.
    state : AdpcmState
        Encoder state for this stream; its channel count must match ``pcm``.
    method : {'greedy', 'search'}
        ``'greedy'`` picks each code on its own (fastest, for the live loop);
        ``'search'`` runs a trellis over the packet to lower the squared error.

    Returns
    -------
    bytes
        ``packet_size(channels, n)`` bytes, laid out as in the module docstring.
    """
    mid = method_id(method)
    a = check_pcm(pcm)
    n, ch = a.shape
    if not 1 <= n <= MAX_PACKET_FRAMES:
        raise InputError(f"packet must hold 1..{MAX_PACKET_FRAMES} frames, got {n}")
    if not isinstance(state, AdpcmState) or state.channels != ch:
        got = getattr(state, "channels", type(state).__name__)
        raise InputError(f"state must be an AdpcmState with {ch} channels, got {got}")
    x = float_to_int16(a)
    out = np.empty(packet_size(ch, n), dtype=np.uint8)
    _encode_packet_kernel(
        x, state.predictor, state.index, mid, SEARCH_SURVIVORS, SEARCH_CANDIDATES, out,
        *kernel_tables(False),
    )
    return out.tobytes()


def decode_packet(payload: bytes, channels: int, n: int) -> np.ndarray:
    """Decode one packet.

    Parameters
    ----------
    payload : bytes
        Exactly ``packet_size(channels, n)`` bytes.
    channels, n : int
        Channel count and frame count (from the container), ``1 <= n <= 65535``.

    Returns
    -------
    np.ndarray
        float32 ``(n, channels)``.

    Raises
    ------
    FrameError
        Wrong length, a step index above 88, a non-zero padding nibble, or
        impossible ``channels``/``n``. Nothing else is raised for any bytes.
    """
    if not isinstance(channels, int | np.integer) or not 1 <= channels <= 255:
        raise FrameError(f"ADPCM packet: channels must be 1..255, got {channels!r}")
    if not isinstance(n, int | np.integer) or not 1 <= n <= MAX_PACKET_FRAMES:
        raise FrameError(f"ADPCM packet: n must be 1..{MAX_PACKET_FRAMES}, got {n!r}")
    try:
        buf = np.frombuffer(payload, dtype=np.uint8)
    except (TypeError, ValueError) as exc:
        raise FrameError(f"ADPCM packet: payload is not bytes ({exc})") from None
    want = packet_size(int(channels), int(n))
    if buf.shape[0] != want:
        raise FrameError(
            f"ADPCM packet of {n} frames x {channels} channels needs {want} bytes, "
            f"got {buf.shape[0]}"
        )
    hdr_idx = buf[2 : 3 * channels : 3]
    if hdr_idx.max() > 88:
        c = int(np.argmax(hdr_idx > 88))
        raise FrameError(f"ADPCM packet: step index of channel {c} is {hdr_idx[c]}, max 88")
    if (n * channels) & 1 and buf[-1] >> 4:
        raise FrameError("ADPCM packet: padding nibble is not zero")
    out = np.empty((n, channels), dtype=np.int16)
    _decode_packet_kernel(buf, int(channels), int(n), INDEX_TABLE, MAG_IMA, out)
    return int16_to_float(out)
