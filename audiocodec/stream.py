"""Streaming Encoder and Decoder: the MDCT coding path and the ADPCM packets.

MDCT frame payload (after the container of :mod:`audiocodec.bitstream`)::

    byte 0   info: bit 0 left slope short, bit 1 right slope short,
             bit 2 short blocks (S = 8 interleaved), bit 3 power-law quantizer,
             bit 4 per-band M/S flags present, bit 7 last frame
    [8 bytes total_samples u64 LE, only in the last frame]
    rest     range-coded data, layout in :mod:`audiocodec.entropy`

Timing: the encoder conceptually prepends ``D = (N + L) / 2`` zeros to the
input (``N`` hop, ``L`` overlap) and frame ``t`` windows padded samples
``[tN, tN + 2N)``. After frame ``t`` the decoder has final samples up to
``tN + 3N/2 - L/2``; it emits ``N`` samples per frame and drops the first
``L`` it emits (the header's ``delay``), so decoded output is the input,
sample-aligned, with the stream's exact length. Algorithmic delay is ``N + L``
samples (framing plus overlap).

ADPCM payload::

    byte 0   info (bit 7 last frame)  [8 bytes total_samples if last]
    2 bytes  n, samples per channel in this packet (LE)
    rest     :func:`audiocodec.adpcm.encode_packet` payload
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from . import bitstream as bs
from . import entropy, mdct, quant
from .bands import band_edges
from .errors import FrameError, HeaderError, InputError, StreamError

if TYPE_CHECKING:
    from .quantizers import AdaptiveTuning, Quantizer

SHORT_BLOCKS = 8
INFO_LEFT_SHORT = 0x01
INFO_RIGHT_SHORT = 0x02
INFO_SHORT = 0x04
INFO_POWER_LAW = 0x08
INFO_MS = 0x10

MODES = ("mdct", "adpcm")
MIN_BITRATE = 8_000
MAX_BITRATE_PER_CHANNEL = 320_000
CONCEAL_FADE = 0.7  # gain per concealed frame (about -3 dB)
MAX_GAP_CONCEAL = 32  # frames concealed for one seq gap before resync instead


def default_frame_size(sample_rate: int, low_delay: bool) -> tuple[int, int]:
    """(hop N, overlap L) for a rate: 1024/1024 (512 below 32 kHz); low delay
    uses the power of two nearest 5 ms with half-hop overlap (256/128 at 48 kHz:
    8 ms algorithmic delay; powers of two line up with audio-device periods)."""
    if low_delay:
        n = max(64, 1 << int(round(np.log2(sample_rate * 0.005))))
        return n, n // 2
    n = 1024 if sample_rate >= 32000 else 512
    return n, n


@dataclass(frozen=True)
class MdctConfig:
    """Immutable MDCT coding configuration; builds the tables both sides share."""

    sample_rate: int
    channels: int
    frame_size: int
    overlap: int
    window: str = "kbd"
    block_switching: bool = True

    @property
    def delay(self) -> int:
        return self.overlap

    @property
    def pad(self) -> int:
        return (self.frame_size + self.overlap) // 2

    @property
    def short_size(self) -> int:
        return self.frame_size // SHORT_BLOCKS

    @cached_property
    def edges_long(self) -> NDArray[np.int32]:
        return band_edges(self.sample_rate, self.frame_size)

    @cached_property
    def edges_short(self) -> NDArray[np.int32]:
        return band_edges(self.sample_rate, self.frame_size, SHORT_BLOCKS)

    def edges(self, short: bool) -> NDArray[np.int32]:
        return self.edges_short if short else self.edges_long

    def long_window(self, left_short: bool, right_short: bool) -> NDArray[np.float64]:
        n, s = self.frame_size, self.short_size
        return mdct.window(n, s if left_short else self.overlap, s if right_short else self.overlap,
                           self.window)

    @cached_property
    def short_window(self) -> NDArray[np.float64]:
        m = self.short_size
        return mdct.window(m, m, m, self.window)

    @cached_property
    def short_index(self) -> NDArray[np.intp]:
        """Index array (S, 2M) picking the short blocks out of a 2N frame."""
        n, m = self.frame_size, self.short_size
        start = n // 2 - m // 2
        return start + np.arange(SHORT_BLOCKS)[:, None] * m + np.arange(2 * m)[None, :]

    def analyze(self, seg: NDArray[np.float64], info: int) -> NDArray[np.float64]:
        """MDCT of one frame. seg (C, 2N) -> coefs (C, N), short blocks interleaved."""
        if info & INFO_SHORT:
            blocks = seg[:, self.short_index]  # (C, S, 2M)
            co = mdct.mdct(blocks, self.short_window)  # (C, S, M)
            return np.ascontiguousarray(co.transpose(0, 2, 1).reshape(seg.shape[0], -1))
        w = self.long_window(bool(info & INFO_LEFT_SHORT), bool(info & INFO_RIGHT_SHORT))
        return mdct.mdct(seg, w)

    def synthesize(self, coefs: NDArray[np.float64], info: int) -> NDArray[np.float64]:
        """Inverse of :meth:`analyze`: (C, N) -> windowed (C, 2N) for overlap-add."""
        nch, n = coefs.shape
        if info & INFO_SHORT:
            m = self.short_size
            co = coefs.reshape(nch, m, SHORT_BLOCKS).transpose(0, 2, 1)
            y = mdct.imdct(co, self.short_window)  # (C, S, 2M)
            out = np.zeros((nch, 2 * n))
            start = n // 2 - m // 2
            for j in range(SHORT_BLOCKS):
                out[:, start + j * m : start + j * m + 2 * m] += y[:, j]
            return out
        w = self.long_window(bool(info & INFO_LEFT_SHORT), bool(info & INFO_RIGHT_SHORT))
        return mdct.imdct(coefs, w)


# --------------------------------------------------------------------- helpers


def _check_block(block: Any, channels: int) -> NDArray[np.float64]:
    a = np.asarray(block)
    if a.ndim == 1 and channels == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] != channels:
        raise InputError(f"audio block must have shape (frames, {channels}), got {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise InputError(f"audio block must be float (float32 in -1..1), got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise InputError("audio block holds NaN or Inf samples")
    return a


class _Fifo:
    """Samples waiting to be coded, (frames, channels) float64, in one reused buffer.

    ``push`` appends, ``consume`` drops from the front, ``view`` is the live part
    (a view, valid until the next ``push``). When the end is reached the live part
    moves to the front if it does not overlap its destination (a plain copy, no
    temporary), else the buffer doubles; so a live callback that feeds blocks of a
    steady size stops allocating after its first few calls.
    """

    def __init__(self, channels: int, capacity: int) -> None:
        self._a = np.zeros((max(1, capacity), channels))
        self._start = 0
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    def view(self) -> NDArray[np.float64]:
        return self._a[self._start : self._end]

    def consume(self, n: int) -> None:
        self._start = min(self._end, self._start + n)

    def push(self, x: NDArray[np.floating] | None, zeros: int = 0) -> None:
        """Append ``x`` (or ``zeros`` silent frames when ``x`` is None)."""
        n = zeros if x is None else x.shape[0]
        live = self._end - self._start
        if self._end + n > self._a.shape[0]:
            if live + n <= self._a.shape[0] and self._start >= live:
                self._a[:live] = self._a[self._start : self._end]  # disjoint: no temporary
            else:
                grown = np.zeros((max(2 * self._a.shape[0], 2 * live + n), self._a.shape[1]))
                grown[:live] = self._a[self._start : self._end]
                self._a = grown
            self._start, self._end = 0, live
        if x is None:
            self._a[self._end : self._end + n] = 0.0
        else:
            self._a[self._end : self._end + n] = x
        self._end += n


def _info_tail(last: bool, total: int) -> bytes:
    return struct.pack("<Q", total) if last else b""


# --------------------------------------------------------------------- encoder


@dataclass
class _RateState:
    reservoir: float = 0.0
    ratio: float = 1.0  # actual/estimated bits, tracked to correct the estimator
    last_g: int = 120


class Encoder:
    """Streaming encoder: feed ``(frames, channels)`` float blocks of any size.

    Parameters
    ----------
    sample_rate : int
        8000 .. 48000 Hz.
    channels : int
        1 or 2.
    bitrate : int
        Target bits per second over the whole stream (CBR with a bit reservoir).
    mode : {"mdct", "adpcm"}
    quantizer : {"adaptive", "uniform", "nonuniform"}
        MDCT quantizer. ``adaptive`` uses the psychoacoustic model.
    low_delay : bool
        MDCT with 5 ms hops and 2.5 ms overlap, no block switching (live use).
    quality : float or None
        VBR: a quality 0..10 instead of a bitrate target (MDCT only).
    block_switching : bool
        Let transients switch MDCT frames to 8 short blocks.
    frame_size : int or None
        MDCT hop or ADPCM packet size in samples (None: the mode's default).
    adpcm_method : {"greedy", "search"}
    serial : int or None
        Stream id; random when None (pass one for reproducible bytes).
    total_samples : int or None
        Written into the header when known in advance.
    dither : bool
        TPDF dither before uniform-law rounding (measured to hurt; for comparison).
    tuning : AdaptiveTuning or None
        The adaptive quantizer's tuning, for experiments (None: the measured defaults).
    """

    def __init__(
        self, sample_rate: int, channels: int, *, bitrate: int = 96_000, mode: str = "mdct",
        quantizer: str = "adaptive", low_delay: bool = False, quality: float | None = None,
        block_switching: bool = True, frame_size: int | None = None, adpcm_method: str = "greedy",
        serial: int | None = None, total_samples: int | None = None, dither: bool = False,
        tuning: AdaptiveTuning | None = None,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self.bitrate = int(bitrate)
        self.mode = mode
        self.quantizer = quantizer
        self.low_delay = low_delay
        self.quality = quality
        self.block_switching = block_switching
        self._frame_size_opt = frame_size
        self.adpcm_method = adpcm_method
        self.serial = serial
        self.total_samples = total_samples
        self.dither = dither
        self.tuning = tuning
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not isinstance(self.channels, int | np.integer) or self.channels not in (1, 2):
            raise InputError(f"channels must be 1 or 2, got {self.channels}")
        if not bs.MIN_RATE <= self.sample_rate <= bs.MAX_RATE:
            raise InputError(f"sample rate must be {bs.MIN_RATE}..{bs.MAX_RATE} Hz, got {self.sample_rate}")
        if self.mode == "mdct":
            max_br = MAX_BITRATE_PER_CHANNEL * self.channels
            if self.quality is None and not MIN_BITRATE <= self.bitrate <= max_br:
                raise InputError(f"bitrate must be {MIN_BITRATE}..{max_br} bit/s, got {self.bitrate}")
            if self.quality is not None and not 0 <= self.quality <= 10:
                raise InputError(f"quality must be 0..10, got {self.quality}")
        if adpcm_method not in ("greedy", "search"):
            raise InputError(f"adpcm_method must be 'greedy' or 'search', got {adpcm_method!r}")
        if self.serial is None:
            self.serial = int.from_bytes(os.urandom(4), "little")
        self._seq = 0
        self._in_count = 0
        self._flushed = False
        if self.mode == "mdct":
            self._init_mdct()
        else:
            self._init_adpcm()

    # -- MDCT -------------------------------------------------------------

    def _init_mdct(self) -> None:
        from .quantizers import make_quantizer

        n, ovl = default_frame_size(self.sample_rate, self.low_delay)
        if self._frame_size_opt is not None:
            n = int(self._frame_size_opt)
            if not (64 <= n <= 2048 and n % 8 == 0):
                raise InputError(f"frame size must be a multiple of 8 in 64..2048, got {n}")
            ovl = n // 2 // 2 * 2 if self.low_delay else n
        bsw = self.block_switching and not self.low_delay
        self.config = MdctConfig(self.sample_rate, self.channels, n, ovl, "kbd", bsw)
        equiv = self.bitrate if self.quality is None else 16000.0 * self.channels * (1 + self.quality / 2)
        self._q: Quantizer = make_quantizer(self.quantizer, self.config, equiv, self.tuning)
        self._pending = _Fifo(self.channels, 4 * n + self.config.pad)
        self._pending.push(None, zeros=self.config.pad)
        self._frame_index = 0
        self._short_flags: dict[int, bool] = {}
        self._prev_right_short = False
        self._rate = _RateState()
        cap = bs.MAX_PAYLOAD
        self._buf = np.zeros(cap, dtype=np.uint8)
        self._qbuf = np.zeros((self.channels, n), dtype=np.int32)
        nb = max(len(self.config.edges_long), len(self.config.edges_short)) - 1
        self._sf = np.zeros((self.channels, nb), dtype=np.int32)
        self._nbc = np.zeros(self.channels, dtype=np.int32)
        self.frame_bits: list[int] = []  # bits per frame, for analysis
        self._mag = np.zeros((self.channels, n))
        self._nf_start = int(quant.NF_MIN_HZ / (self.sample_rate / 2.0) * n)
        self._no_dither = np.zeros((self.channels, n))
        self._dither_rng = np.random.default_rng(int(self.serial or 0))

    @property
    def frame_size(self) -> int:
        """Samples per packet (MDCT hop or ADPCM packet)."""
        return self.config.frame_size if self.mode == "mdct" else self._adpcm_n

    @property
    def delay(self) -> int:
        """Samples of algorithmic delay the decoder removes (header field)."""
        return self.config.delay if self.mode == "mdct" else 0

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: framing plus look-ahead."""
        if self.mode == "adpcm":
            return self._adpcm_n
        n = self.config.frame_size
        extra = n if self.config.block_switching else 0
        return n + self.config.overlap + extra

    @property
    def header(self) -> bytes:
        """The stream-header packet; :class:`Decoder` is built from it."""
        return self._header_obj().pack()

    def _header_obj(self) -> bs.StreamHeader:
        total = bs.UNKNOWN_LENGTH if self.total_samples is None else int(self.total_samples)
        br = 0 if self.quality is not None else int(self.bitrate)
        if self.mode == "mdct":
            c = self.config
            return bs.StreamHeader(bs.MODE_MDCT, self.channels, self.sample_rate, c.frame_size,
                                   c.overlap, c.delay, br, total, int(self.serial or 0), 1,
                                   bs.FLAG_BLOCK_SWITCHING if c.block_switching else 0)
        return bs.StreamHeader(bs.MODE_ADPCM, self.channels, self.sample_rate, self._adpcm_n, 0, 0,
                               self._adpcm_bitrate(), total, int(self.serial or 0))

    def encode(self, block: Any) -> list[bytes]:
        """Encode a block of any length; returns the packets completed by it."""
        if self._flushed:
            raise InputError("encoder already flushed")
        a = _check_block(block, self.channels)
        if a.shape[0] == 0:
            return []
        np.clip(a, -1.0, 1.0, out=a)
        self._in_count += a.shape[0]
        self._pending.push(a)
        return self._drain(final=False)

    def flush(self) -> list[bytes]:
        """Encode what is buffered, ending the stream with a last-frame marker."""
        if self._flushed:
            return []
        out = self._drain(final=True)
        self._flushed = True
        return out

    def _drain(self, final: bool) -> list[bytes]:
        if self.mode == "adpcm":
            return self._drain_adpcm(final)
        return self._drain_mdct(final)

    def _need(self) -> int:
        c = self.config
        n = c.frame_size
        return 3 * n if c.block_switching else 3 * n // 2 + c.overlap // 2

    def _drain_mdct(self, final: bool) -> list[bytes]:
        c = self.config
        n = c.frame_size
        need = self._need()
        packets: list[bytes] = []
        if final:
            total_frames = -(-(self._in_count + c.overlap) // n)
            # pad with zeros so every remaining frame has its look-ahead
            have = len(self._pending)
            left = total_frames - self._frame_index
            want = (left - 1) * n + need if left > 0 else 0
            if want > have:
                self._pending.push(None, zeros=want - have)
            for i in range(left):
                packets.append(self._encode_frame(last=(i == left - 1)))
                self._pending.consume(n)
            return packets
        while len(self._pending) >= need:
            packets.append(self._encode_frame(last=False))
            self._pending.consume(n)
        return packets

    def _is_short(self, t: int) -> bool:
        """Transient decision for frame t (cached; frame t's data starts at pending offset)."""
        if not self.config.block_switching:
            return False
        if t not in self._short_flags:
            from .quantizers import frame_has_attack

            n = self.config.frame_size
            off = (t - self._frame_index) * n
            seg = self._pending.view()[off : off + 2 * n]
            self._short_flags[t] = frame_has_attack(seg, self.config)
            for k in [k for k in self._short_flags if k < t - 2]:
                del self._short_flags[k]
        return self._short_flags[t]

    def _encode_frame(self, last: bool) -> bytes:
        c = self.config
        n = c.frame_size
        t = self._frame_index
        seg = self._pending.view()[: 2 * n].T  # (C, 2N)
        if seg.shape[1] < 2 * n:
            # low-overlap windows are zero past 3N/2 + L/2: those samples need not have arrived
            seg = np.concatenate((seg, np.zeros((self.channels, 2 * n - seg.shape[1]))), axis=1)
        short = self._is_short(t)
        next_short = self._is_short(t + 1) if (not last and c.block_switching) else False
        info = 0
        if short:
            info |= INFO_SHORT
        else:
            if self._prev_right_short:
                info |= INFO_LEFT_SHORT
            if next_short:
                info |= INFO_RIGHT_SHORT
        self._prev_right_short = short or next_short
        coefs = c.analyze(np.ascontiguousarray(seg), info)
        payload = self._code_frame(coefs, info, last)
        self._frame_index += 1
        return self._pack(payload)

    def _pack(self, payload: bytes) -> bytes:
        pkt = bs.pack_frame(int(self.serial or 0), self._seq, payload)
        self._seq = (self._seq + 1) & 0xFF
        return pkt

    def _frame_budget(self) -> float:
        """Bits this frame may spend on its payload (CBR with reservoir)."""
        c = self.config
        per_frame = self.bitrate * c.frame_size / c.sample_rate
        overhead = 8 * (bs.FRAME_HEADER_SIZE + 1)
        return per_frame - overhead

    def _code_frame(self, coefs: NDArray[np.float64], info: int, last: bool) -> bytes:
        c = self.config
        short = bool(info & INFO_SHORT)
        edges = c.edges(short)
        nb = len(edges) - 1
        plan = self._q.plan(coefs, short)
        info |= plan.info
        coefs = plan.coefs
        offsets = plan.offsets
        fixed = plan.fixed if plan.fixed is not None else np.full(offsets.shape, -1, np.int32)
        law = quant.LAW_POWER if info & INFO_POWER_LAW else quant.LAW_UNIFORM
        head = bytes([info | (bs.INFO_LAST if last else 0)]) + _info_tail(last, self._in_count)
        sf = self._sf[:, :nb]
        q = self._qbuf
        rs = self._rate
        mag = self._mag
        quant.magnitudes(coefs, law, mag)
        dither = self._dither_for_frame(law)
        if self.quality is not None:
            g = int(round(self._q.quality_to_g(self.quality)))
            quant.make_sf(offsets, g, nb, fixed, sf)
            quant.quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)
            nbytes = self._payload(q, sf, edges, nb, plan)
            self.frame_bits.append(8 * (nbytes + len(head) + bs.FRAME_HEADER_SIZE))
            return head + self._buf[:nbytes].tobytes()
        per_frame = self._frame_budget()
        max_res = 6 * per_frame
        budget = per_frame + plan.demand * rs.reservoir
        budget = max(8.0, budget - 8 * len(head) + 8)
        # binary search on g with the estimator, corrected by the tracked ratio
        target = budget / max(0.5, rs.ratio)
        g = quant.search_g(coefs, mag, dither, offsets, fixed, edges, nb, law, target, rs.last_g, sf, q)
        if self._q.refine(plan, sf, edges):
            offsets = plan.offsets
            g = quant.search_g(coefs, mag, dither, offsets, fixed, edges, nb, law, target, g, sf, q)
        hard_cap = per_frame + max(0.0, rs.reservoir)
        nbytes = 0
        est = 0.0
        for i in range(quant.SF_MAX + 1):
            if i:
                quant.make_sf(offsets, g, nb, fixed, sf)
                quant.quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)
            est = quant.estimate_bits(q, sf, edges, nb)
            nbytes = self._payload(q, sf, edges, nb, plan)
            if (8 * nbytes <= max(hard_cap, 64) and est < 1e29) or g >= quant.SF_MAX:
                break
            g += 1
        used = 8 * (nbytes + len(head))
        if est > 64:
            rs.ratio = 0.9 * rs.ratio + 0.1 * (8 * nbytes / est)
        rs.reservoir = min(max_res, rs.reservoir + per_frame - used)
        rs.last_g = g
        self.frame_bits.append(used + 8 * bs.FRAME_HEADER_SIZE)
        return head + self._buf[:nbytes].tobytes()

    def _dither_for_frame(self, law: int) -> NDArray[np.float64]:
        """TPDF dither in step units (sum of two uniform +-1/2) for the uniform law, else zeros."""
        if not self.dither or law != quant.LAW_UNIFORM:
            return self._no_dither
        shape = self._no_dither.shape
        return self._dither_rng.random(shape) - self._dither_rng.random(shape)

    def _payload(self, q: NDArray[np.int32], sf: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
                 plan: Any) -> int:
        quant.coded_bands(q, edges, nb, self._nbc)
        nf = np.zeros(self.channels, np.int32)
        if plan.noise_fill.any():
            # 1 = level measured after quantization; >= 8 = a fixed level (noise substitution)
            nf[:] = plan.noise_fill == 1
            quant.noise_levels(plan.coefs, q, np.ascontiguousarray(sf), edges, self._nbc,
                               self._nf_start, nf)
            nf = np.where(plan.noise_fill >= 8, plan.noise_fill - 8, nf).astype(np.int32)
        g = np.ascontiguousarray(sf[:, 0]).astype(np.int32)
        mag0, sf0, ms0 = entropy.model_tables()
        r = entropy.encode_payload(
            q, np.ascontiguousarray(sf), g, self._nbc, nf, plan.ms_flags,
            bool(plan.info & INFO_MS), edges, mag0, sf0, ms0, self._buf,
        )
        if r < 0:
            raise FrameError("frame payload exceeds the format's maximum frame size")
        return int(r)

    # -- ADPCM ------------------------------------------------------------

    def _init_adpcm(self) -> None:
        from . import adpcm

        n = self._frame_size_opt or 256
        if not 32 <= int(n) <= 8192:
            raise InputError(f"ADPCM packet size must be 32..8192 samples, got {n}")
        self._adpcm_n = int(n)
        self._adpcm_state = adpcm.AdpcmState(self.channels)
        self._pending = _Fifo(self.channels, 4 * self._adpcm_n)

    def _adpcm_bitrate(self) -> int:
        return 4 * self.sample_rate * self.channels

    def _drain_adpcm(self, final: bool) -> list[bytes]:
        from . import adpcm

        n = self._adpcm_n
        out: list[bytes] = []
        while len(self._pending) >= n or (final and len(self._pending) > 0):
            blk = self._pending.view()[:n]
            self._pending.consume(blk.shape[0])
            last = final and len(self._pending) == 0
            body = adpcm.encode_packet(np.ascontiguousarray(blk, dtype=np.float32),
                                       self._adpcm_state, method=self.adpcm_method)
            head = bytes([bs.INFO_LAST if last else 0]) + _info_tail(last, self._in_count)
            out.append(self._pack(head + struct.pack("<H", blk.shape[0]) + body))
        if final and not out:
            # empty stream: still mark its end
            head = bytes([bs.INFO_LAST]) + _info_tail(True, self._in_count)
            out.append(self._pack(head + struct.pack("<H", 0)))
        return out


# --------------------------------------------------------------------- decoder


class Decoder:
    """Streaming decoder built from a stream-header packet.

    ``decode(packet)`` returns the newly final samples as float32
    ``(frames, channels)``; ``decode(None)`` conceals one lost packet.
    """

    def __init__(self, header: bytes | bs.StreamHeader):
        self.header = header if isinstance(header, bs.StreamHeader) else bs.StreamHeader.unpack(header)
        h = self.header
        self.sample_rate = h.sample_rate
        self.channels = h.channels
        self.frame_size = h.frame_size
        self.delay = h.delay
        self.mode = h.mode_name
        self.frames_decoded = 0
        self.frames_concealed = 0
        self.frames_rejected = 0
        self.last_error: str | None = None
        self.ended = False
        self._expect_seq: int | None = None
        self._emitted = 0  # samples produced (after dropping the delay)
        self._to_drop = h.delay
        self._total = None if h.total_samples == bs.UNKNOWN_LENGTH else h.total_samples
        if h.mode == bs.MODE_MDCT:
            self.config = MdctConfig(h.sample_rate, h.channels, h.frame_size, h.overlap,
                                     bs.WINDOW_NAMES[h.window], bool(h.flags & 1))
            n = h.frame_size
            self._ola = np.zeros((h.channels, 2 * n))
            nb = max(len(self.config.edges_long), len(self.config.edges_short)) - 1
            self._q = np.zeros((h.channels, n), dtype=np.int32)
            self._sf = np.zeros((h.channels, nb), dtype=np.int32)
            self._g = np.zeros(h.channels, dtype=np.int32)
            self._nbc = np.zeros(h.channels, dtype=np.int32)
            self._nf = np.zeros(h.channels, dtype=np.int32)
            self._ms = np.zeros(nb, dtype=np.uint8)
            self._coefs = np.zeros((h.channels, n))
            self._last_coefs = np.zeros((h.channels, n))
            self._last_info = 0
            self._rng = np.random.default_rng(h.serial)  # concealment signs
            self._noise_state = np.array([h.serial], dtype=np.uint64)
            self._nf_start = int(quant.NF_MIN_HZ / (h.sample_rate / 2.0) * h.frame_size)
        else:
            self._adpcm_last = np.zeros(h.channels, dtype=np.float32)

    def reset(self) -> None:
        """Forget the stream position (after a seek or a long gap)."""
        self.__init__(self.header)  # type: ignore[misc]

    # -- public -----------------------------------------------------------

    def decode(self, packet: bytes | memoryview | None) -> NDArray[np.float32]:
        """Decode one packet (None = lost). Raises :class:`FrameError` on a bad packet.

        A bad packet leaves the decoder usable: the next good one decodes.
        A ``seq`` gap is concealed frame by frame before the new packet.
        """
        if packet is None:
            if self._expect_seq is not None:
                self._expect_seq = (self._expect_seq + 1) & 0xFF
            return self._finish(self._conceal())
        try:
            seq, payload = bs.unpack_frame(self.header.serial, packet)
        except FrameError:
            self.frames_rejected += 1
            raise
        return self.decode_payload(seq, payload)

    def decode_payload(self, seq: int, payload: bytes | memoryview) -> NDArray[np.float32]:
        """Decode a payload whose container was already checked."""
        pieces = []
        if self._expect_seq is not None and seq != self._expect_seq:
            gap = (seq - self._expect_seq) & 0xFF
            if gap <= MAX_GAP_CONCEAL:
                for _ in range(gap):
                    pieces.append(self._finish(self._conceal()))
        self._expect_seq = (seq + 1) & 0xFF
        try:
            y = self._decode_payload(bytes(payload))
            self.frames_decoded += 1
        except StreamError as e:
            # the container's CRC passed, so the frame is not damaged in transit but does not
            # decode (a crafted stream): conceal it like a loss and keep the timeline
            self.frames_rejected += 1
            self.last_error = f"frame {seq}: {e}"
            y = self._conceal()
        pieces.append(self._finish(y))
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces)

    # -- internals --------------------------------------------------------

    def _read_info(self, payload: bytes) -> tuple[int, int]:
        if len(payload) < 1:
            raise FrameError("empty payload")
        info = payload[0]
        pos = 1
        if info & bs.INFO_LAST:
            if len(payload) < 9:
                raise FrameError("last frame too short for its sample count")
            (total,) = struct.unpack_from("<Q", payload, 1)
            if self._total is not None and total != self._total:
                raise FrameError(f"last frame says {total} samples, header says {self._total}")
            self._total = total
            self.ended = True
            pos = 9
        return info, pos

    def _decode_payload(self, payload: bytes) -> NDArray[np.float64]:
        if self.mode == "adpcm":
            return self._decode_adpcm(payload)
        info, pos = self._read_info(payload)
        c = self.config
        short = bool(info & INFO_SHORT)
        if short and not c.block_switching:
            raise FrameError("short-block frame in a stream without block switching")
        if info & 0x60:
            raise FrameError(f"reserved info bits set (0x{info:02x})")
        edges = c.edges(short)
        nb = len(edges) - 1
        body = np.frombuffer(payload, dtype=np.uint8, offset=pos)
        ms_on = bool(info & INFO_MS) and self.channels == 2
        if info & INFO_MS and self.channels != 2:
            raise FrameError("M/S flag in a mono stream")
        sf = self._sf[:, :nb]
        mag0, sf0, ms0 = entropy.model_tables()
        r = entropy.decode_payload(body, body.shape[0], self.channels, nb, ms_on, edges, mag0, sf0,
                                   ms0, self._q, sf, self._g, self._nbc, self._nf, self._ms)
        if r != 0:
            raise FrameError("frame payload does not decode (damaged)")
        law = quant.LAW_POWER if info & INFO_POWER_LAW else quant.LAW_UNIFORM
        coefs = self._coefs
        quant.reconstruct(self._q, np.ascontiguousarray(sf), edges, nb, law, self._nf, self._nbc,
                          self._ms, ms_on, self._nf_start, short, self._noise_state, coefs)
        self._last_coefs[:] = coefs
        self._last_info = info
        return self._overlap_add(coefs, info)

    def _overlap_add(self, coefs: NDArray[np.float64], info: int) -> NDArray[np.float64]:
        c = self.config
        n, ovl = c.frame_size, c.overlap
        self._ola += c.synthesize(coefs, info)
        a = n // 2 - ovl // 2
        out = self._ola[:, a : a + n].T.copy()
        self._ola[:, :n] = self._ola[:, n:]
        self._ola[:, n:] = 0.0
        return out

    def _conceal(self) -> NDArray[np.float64]:
        """One frame of concealment: the last spectrum, faded, with random signs."""
        self.frames_concealed += 1
        if self.mode == "adpcm":
            n = self.frame_size
            y = np.repeat(self._adpcm_last[None, :].astype(np.float64), n, axis=0)
            fade = np.linspace(1.0, CONCEAL_FADE, n)[:, None]
            self._adpcm_last = (self._adpcm_last * CONCEAL_FADE).astype(np.float32)
            return y * fade
        self._last_coefs *= CONCEAL_FADE
        signs = np.where(self._rng.random(self._last_coefs.shape) < 0.5, -1.0, 1.0)
        coefs = self._last_coefs * signs
        # a long frame; after a start or short frame its left slope must be short
        info = INFO_LEFT_SHORT if self._last_info & (INFO_SHORT | INFO_RIGHT_SHORT) else 0
        if self._last_info & INFO_SHORT:
            coefs = np.zeros_like(coefs)  # interleaved short spectra do not map onto a long frame
        self._last_info = info
        return self._overlap_add(coefs, info)

    def _finish(self, y: NDArray[np.float64]) -> NDArray[np.float32]:
        """Drop the leading delay, trim at the stream's end, convert to float32."""
        if self._to_drop:
            k = min(self._to_drop, y.shape[0])
            y = y[k:]
            self._to_drop -= k
        if self._total is not None:
            room = max(0, self._total - self._emitted)
            if y.shape[0] > room:
                y = y[:room]
        self._emitted += y.shape[0]
        return y.astype(np.float32)

    def _decode_adpcm(self, payload: bytes) -> NDArray[np.float64]:
        from . import adpcm

        info, pos = self._read_info(payload)
        if info & 0x7F:
            raise FrameError(f"reserved ADPCM info bits set (0x{info:02x})")
        if len(payload) < pos + 2:
            raise FrameError("ADPCM packet too short for its sample count")
        (n,) = struct.unpack_from("<H", payload, pos)
        if n > self.frame_size:
            raise FrameError(f"ADPCM packet claims {n} samples, stream packets hold {self.frame_size}")
        if n == 0:
            return np.zeros((0, self.channels))
        y = adpcm.decode_packet(payload[pos + 2 :], self.channels, n)
        self._adpcm_last = y[-1].copy()
        return y.astype(np.float64)

    def finish(self) -> NDArray[np.float32]:
        """End of input: conceal a lost tail (at most ``MAX_GAP_CONCEAL + 1`` frames).

        Only for streams whose last frame never arrived; the length comes from
        the header, so a hostile header cannot make this loop or allocate
        beyond that bound.
        """
        if self.mode != "mdct" or self.ended or self._total is None:
            return np.zeros((0, self.channels), np.float32)
        n = self.config.frame_size
        missing = self._total - self._emitted
        frames = min(-(-missing // n) + 1, MAX_GAP_CONCEAL + 1) if missing > 0 else 0
        pieces = [self._finish(self._conceal()) for _ in range(frames)]
        return np.concatenate(pieces) if pieces else np.zeros((0, self.channels), np.float32)


def check_header(data: bytes) -> bs.StreamHeader:
    """Parse a stream header (raises :class:`HeaderError`)."""
    try:
        return bs.StreamHeader.unpack(data)
    except HeaderError:
        raise
    except (struct.error, ValueError) as e:  # pragma: no cover - defensive
        raise HeaderError(str(e)) from None
