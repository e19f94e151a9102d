"""The live loop: the stream callback that runs Encoder -> lossy channel -> Decoder, and its planning.

Real-time rules the callback keeps:

* it only moves data between buffers allocated before the stream starts
  (:class:`~audiocodec_app.ring.RingBuffer`); the codec itself returns a few
  small packets and one hop of PCM per packet, nothing larger;
* it never blocks, sleeps, takes a lock, prints or touches a file: reading
  ``--input-file`` and writing ``--record`` happen in their own threads
  (:mod:`audiocodec_app.files`), which exchange data with the callback through
  bounded rings;
* it checks ``status`` every time and counts what it reports;
* the codec's numba kernels are compiled by a warm-up run before the stream
  opens, and the same warm-up measures how much output buffering the chosen
  block size needs (see :func:`plan_buffering`).

Latency. The decoder hands out PCM one hop at a time and only after the
codec's own delay, so the output FIFO is primed with ``P`` frames of silence,
the smallest value for which it never runs dry at this block size
(``P = codec delay + framing slack``). What reaches the speaker is therefore
the offline decode of the input delayed by exactly ``P`` frames inside the
program, plus the device's input and output latency outside it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

import audiocodec
from audiocodec.errors import CodecError

from .ring import RingBuffer

__all__ = ["LOAD_SLOTS", "LOSS_SLOTS", "MAX_FRAMES", "LiveLoop", "make_codec", "plan_buffering",
           "start_lateness"]

MAX_FRAMES = 16384  # largest callback block we preallocate for
LOAD_SLOTS = 1 << 17  # per-callback load history (about 12 min at 256 frames, 48 kHz)
LOSS_SLOTS = 1 << 16  # length of the precomputed (cycled) packet-loss pattern


def make_codec(
    mode: str, samplerate: int, channels: int, bitrate: int, frame_size: int | None = None
) -> tuple[Any, Any]:
    enc = audiocodec.Encoder(samplerate, channels, bitrate=bitrate, mode=mode, low_delay=(mode == "mdct"),
                             frame_size=frame_size)
    dec = audiocodec.Decoder(enc.header)
    return enc, dec


def plan_buffering(enc: Any, dec: Any, blocksize: int, *, seed: int = 0) -> int:
    """Run a fresh encoder/decoder pair as the callback would and return the FIFO priming.

    Feeds ``blocksize``-frame blocks of seeded noise through ``enc``/``dec`` for
    one full period of the block/hop pattern plus the codec's start-up, and
    returns the smallest ``P`` such that after every block at least
    ``(k + 1) * blocksize - P`` decoded frames exist: prime the output FIFO
    with ``P`` frames of silence and it never runs dry. This also compiles the
    codec's numba kernels (and the concealment path) before any stream opens,
    so ``enc``/``dec`` are spent afterwards.
    """
    hop = int(enc.frame_size)
    channels = int(dec.channels)
    cycles = math.lcm(blocksize, hop) // blocksize + math.ceil((int(enc.delay) + 4 * hop) / blocksize)
    cycles = min(cycles + 2, 4000)
    rng = np.random.default_rng(seed)
    produced = 0
    need = 0
    for k in range(cycles):
        block = (0.1 * rng.standard_normal((blocksize, channels))).astype(np.float32)
        for packet in enc.encode(block):
            produced += len(dec.decode(packet))
        need = max(need, (k + 1) * blocksize - produced)
    dec.decode(None)  # compile the concealment path too
    return need




def start_lateness(starts: np.ndarray, period_s: float, window: int = 513) -> np.ndarray:
    """How late each callback started, in periods, from the times it started (seconds).

    A device clock calls back once a period: the ``k``-th start is due at ``t0 + k * T``, ``T``
    the period on the device's clock, which drifts against ``perf_counter``'s and is measured as
    the median gap between starts. ``starts - k * T`` is then constant plus each callback's
    lateness (the driver's wake-up, the scheduler, the GIL); the lateness is taken against the
    earliest start within ``window`` callbacks around it, so what drift is left cancels and an
    on-time callback scores 0. A callback that starts most of a period late leaves little of it
    for the work, whatever the codec costs: that, not the callback's own load, tells a
    scheduling xrun from one of ours."""
    from scipy.ndimage import minimum_filter1d

    t = np.asarray(starts, dtype=np.float64)
    if len(t) < 2:
        return np.zeros(len(t))
    r = t - np.arange(len(t)) * float(np.median(np.diff(t)))
    return (r - minimum_filter1d(r, size=window, mode="nearest")) / period_s


class LiveLoop:
    """State of the live loop and the stream callback that drives it.

    Everything the callback touches is allocated here. Counters are plain ints
    read (never written) by the status thread.
    """

    def __init__(
        self,
        *,
        samplerate: int,
        channels: int,
        blocksize: int,
        encoder: Any | None,
        decoder: Any | None,
        prime_frames: int = 0,
        loss: float = 0.0,
        seed: int = 0,
        source: RingBuffer | None = None,
        record: RingBuffer | None = None,
        stop_after_frames: int | None = None,
        stop_exception: type[BaseException] = StopIteration,
    ) -> None:
        self.samplerate = samplerate
        self.channels = channels
        self.blocksize = blocksize
        self.enc = encoder
        self.dec = decoder
        self.bypass = encoder is None
        self.prime_frames = prime_frames
        self.source = source
        self.source_eof = False  # set by the feeder thread when the file has ended
        self.record = record
        self.stop_after_frames = stop_after_frames
        self._stop_exception = stop_exception
        hop = int(encoder.frame_size) if encoder is not None else 0
        # frames of silence to push through after the file ends, so its tail is decoded
        self._tail_frames = prime_frames + 2 * hop + blocksize
        self._inbuf = np.zeros((MAX_FRAMES, channels), dtype=np.float32)
        fifo_frames = max(4 * blocksize, 4 * hop) + prime_frames + MAX_FRAMES
        self.fifo = RingBuffer(fifo_frames, channels)
        self.fifo.write_zeros(prime_frames)
        if loss > 0.0:
            rng = np.random.default_rng(seed)
            self._loss_pattern: np.ndarray | None = rng.random(LOSS_SLOTS) < loss
        else:
            self._loss_pattern = None
        self._loss_index = 0
        self.loads = np.zeros(LOAD_SLOTS, dtype=np.float64)
        self.starts = np.zeros(LOAD_SLOTS, dtype=np.float64)  # perf_counter() at each callback's start

        self.callbacks = 0
        self.frames_done = 0
        self.input_overflows = 0
        self.output_underflows = 0
        self.other_status = 0
        self.packets = 0
        self.packets_lost = 0
        self.payload_bytes = 0
        self.fifo_underruns = 0
        self.fifo_overruns = 0
        self.file_underruns = 0
        self.record_overruns = 0
        self.codec_errors = 0
        self.oversize_blocks = 0
        self.finished = False

    # The stream callback. Keep it to copies between preallocated arrays and
    # the codec calls; see the module docstring.
    def callback(
        self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any, status: Any
    ) -> None:
        t0 = time.perf_counter()
        self.starts[self.callbacks % LOAD_SLOTS] = t0
        self.callbacks += 1
        if status:
            if status.input_overflow:
                self.input_overflows += 1
            if status.output_underflow:
                self.output_underflows += 1
            if not (status.input_overflow or status.output_underflow):
                self.other_status += 1
        if frames > MAX_FRAMES:
            self.oversize_blocks += 1
            outdata.fill(0.0)
            return

        stop = False
        src: np.ndarray = indata
        if self.source is not None:
            buf = self._inbuf[:frames]
            got = self.source.read_into(buf)
            if got < frames:
                buf[got:] = 0.0
                if self.source_eof:
                    self._tail_frames -= frames - got
                    stop = self._tail_frames <= 0
                else:
                    self.file_underruns += 1
            src = buf

        if self.bypass:
            outdata[:] = src
        else:
            self._run_codec(src)
            got = self.fifo.read_into(outdata)
            if got < frames:
                outdata[got:] = 0.0
                self.fifo_underruns += 1

        if self.record is not None and self.record.write(outdata) < frames:
            self.record_overruns += 1

        self.frames_done += frames
        if self.stop_after_frames is not None and self.frames_done >= self.stop_after_frames:
            stop = True
        self.loads[(self.callbacks - 1) % LOAD_SLOTS] = (time.perf_counter() - t0) * self.samplerate / frames
        if stop:
            self.finished = True
            raise self._stop_exception

    def _run_codec(self, block: np.ndarray) -> None:
        enc, dec = self.enc, self.dec
        assert enc is not None and dec is not None
        try:
            packets = enc.encode(block)
        except CodecError:
            self.codec_errors += 1
            return
        pattern = self._loss_pattern
        for packet in packets:
            self.packets += 1
            self.payload_bytes += len(packet)
            lost = pattern is not None and bool(pattern[self._loss_index % LOSS_SLOTS])
            self._loss_index += 1
            try:
                if lost:
                    self.packets_lost += 1
                    pcm = dec.decode(None)
                else:
                    pcm = dec.decode(packet)
            except CodecError:
                self.codec_errors += 1
                continue
            if self.fifo.write(pcm) < len(pcm):
                self.fifo_overruns += 1

    # ---- read-only views for the status line and the summary (not called by the callback)

    def load_stats(self, last: int | None = None) -> tuple[float, float]:
        n = min(self.callbacks, LOAD_SLOTS)
        if n == 0:
            return 0.0, 0.0
        if last is not None and last < n:
            end = self.callbacks % LOAD_SLOTS
            idx = (np.arange(end - last, end)) % LOAD_SLOTS
            loads = self.loads[idx]
        else:
            loads = self.loads[:n]
        return float(loads.mean()), float(np.percentile(loads, 99))

    def _history(self, ring: np.ndarray) -> np.ndarray:
        """A per-callback ring (``loads``, ``starts``) in the order the callbacks ran, oldest
        kept first."""
        n = min(self.callbacks, LOAD_SLOTS)
        return ring[np.arange(self.callbacks - n, self.callbacks) % LOAD_SLOTS]

    def _near(self, around: list[int], span: int) -> list[int]:
        """Positions in :meth:`_history` of the callbacks within ``span`` of any callback count in
        ``around`` (e.g. when xruns happened), those still kept."""
        first = self.callbacks - min(self.callbacks, LOAD_SLOTS)  # the oldest callback kept
        return [k - first for c in around for k in range(c - 1 - span, c + span)
                if first <= k < self.callbacks]

    def load_max(self, around: list[int] | None = None, span: int = 2) -> float:
        """The largest callback load kept (share of its period); with ``around`` (callback
        counts, e.g. when xruns happened) the largest within ``span`` callbacks of any of them."""
        loads = self._history(self.loads)
        idx = range(len(loads)) if around is None else self._near(around, span)
        return float(loads[idx].max()) if len(idx) else 0.0

    def start_lateness(self, around: list[int] | None = None,
                       span: int = 2) -> tuple[float, float, float | None]:
        """How late the callbacks started, in periods: (p99, max, the largest within ``span``
        callbacks of any callback count in ``around``, or None without ``around``).
        See :func:`start_lateness`."""
        if self.callbacks < 2:
            return 0.0, 0.0, (0.0 if around else None)
        late = start_lateness(self._history(self.starts), self.blocksize / self.samplerate)
        near = None
        if around:
            idx = self._near(around, span)
            near = float(late[idx].max()) if idx else 0.0
        return float(np.percentile(late, 99)), float(late.max()), near

    def bitrate_kbps(self) -> float:
        if self.bypass:
            return self.samplerate * self.channels * 32 / 1000.0  # float32 PCM
        if self.packets == 0 or self.enc is None:
            return 0.0
        seconds = self.packets * int(self.enc.frame_size) / self.samplerate
        return self.payload_bytes * 8 / seconds / 1000.0

