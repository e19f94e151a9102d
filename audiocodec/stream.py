"""Streaming :class:`Encoder` and :class:`Decoder`: one façade over per-mode classes.

The façade owns what every mode shares: input checks, the pending-sample FIFO,
the stream header (:mod:`audiocodec.container.aqc`), the codec packet's TOC
byte and the last packet's sample count, concealment of the packets the
container or transport reports lost, dropping the leading delay and trimming
at the stream's end. Packets carry no framing: sync, length, CRC and sequence
numbers belong to the container (:mod:`audiocodec.container.pages`) and the
transport (:mod:`audiocodec.net.rtp`). A mode class codes one payload at a time:

* MDCT: :class:`audiocodec.encoder.mdct_encoder.MdctEncoder` /
  :class:`audiocodec.core.decoder.MdctDecoder`;
* IMA ADPCM: :class:`audiocodec.adpcm.mode.AdpcmEncoder` /
  :class:`audiocodec.adpcm.mode.AdpcmDecoder`.

Adding a mode is a new folder with its two classes, a mode number in the
container spec and one line in each table below. The encoder classes load on
first use, so a program that only decodes never imports the encoder side.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .adpcm.mode import AdpcmDecoder
from .container import aqc
from .core.decoder import MdctDecoder
from .core.layout import FrameStats
from .errors import FrameError, HeaderError, InputError, StreamError
from .multistream.decoder import MultistreamDecoder
from .units import parse_bitrate, sample_rate_of

MODES = ("mdct", "adpcm")
MAX_GAP_CONCEAL = aqc.MAX_GAP_CONCEAL
ADPCM_METHODS = ("greedy", "search")

Observer = Callable[[FrameStats], None]

MAX_CHANNELS = aqc.MAX_CHANNELS

# (mode name, more than 2 channels) -> "module:class" of its encoder (imported when one is made);
# MDCT beyond stereo is multistream (coupled pairs, mono streams, LFE), ADPCM codes any count
_ENCODERS = {("mdct", False): "audiocodec.encoder.mdct_encoder:MdctEncoder",
             ("mdct", True): "audiocodec.multistream.encoder:MultistreamEncoder",
             ("adpcm", False): "audiocodec.adpcm.mode:AdpcmEncoder",
             ("adpcm", True): "audiocodec.adpcm.mode:AdpcmEncoder"}


class ModeEncoder(Protocol):
    """What :class:`Encoder` asks of a mode."""

    frame_size: int
    delay: int
    latency: int

    def capacity(self) -> int: ...
    def lead_in(self) -> int: ...
    def header(self, total: int, serial: int) -> aqc.StreamHeader: ...
    def drain(self, pending: Fifo, final: bool, in_count: int) -> list[bytes]: ...


class ModeDecoder(Protocol):
    """What :class:`Decoder` asks of a mode."""

    conceals_tail: bool

    def decode(self, info: int, body: bytes) -> NDArray[np.float64]: ...
    def conceal(self) -> NDArray[np.float64]: ...


class Fifo:
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

    def _reserve(self, n: int) -> None:
        """Make room for ``n`` more frames after the live ones."""
        live = self._end - self._start
        if self._end + n > self._a.shape[0]:
            if live + n <= self._a.shape[0] and self._start >= live:
                self._a[:live] = self._a[self._start : self._end]  # disjoint: no temporary
            else:
                grown = np.zeros((max(2 * self._a.shape[0], 2 * live + n), self._a.shape[1]))
                grown[:live] = self._a[self._start : self._end]
                self._a = grown
            self._start, self._end = 0, live

    def push(self, x: NDArray[np.floating] | None, zeros: int = 0) -> None:
        """Append ``x`` (or ``zeros`` silent frames when ``x`` is None)."""
        n = zeros if x is None else x.shape[0]
        self._reserve(n)
        if x is None:
            self._a[self._end : self._end + n] = 0.0
        else:
            self._a[self._end : self._end + n] = x
        self._end += n

    def push_clipped(self, x: NDArray[np.floating]) -> bool:
        """Append ``x`` (frames, channels) clipped to -1..1, in one pass; False, and nothing
        appended, if it holds a NaN or an Inf."""
        n = x.shape[0]
        self._reserve(n)
        if not x.flags.c_contiguous:  # one compiled layout (warmed at start), not one per stride
            x = np.ascontiguousarray(x)
        if not _clip_into(x, self._a, self._end):
            return False
        self._end += n
        return True


@njit(cache=True)
def _clip_into(x: NDArray[np.floating], buf: NDArray[np.float64], at: int) -> bool:
    """``buf[at : at + len(x)] = clip(x, -1, 1)`` unless ``x`` holds a non-finite sample."""
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            if not np.isfinite(x[i, c]):
                return False
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = np.float64(x[i, c])
            buf[at + i, c] = -1.0 if v < -1.0 else (1.0 if v > 1.0 else v)
    return True


def _check_block(block: Any, channels: int) -> NDArray[np.floating]:
    """The block as a (frames, channels) float32 or float64 array (no copy when it is one)."""
    a = np.asarray(block)
    if a.ndim == 1 and channels == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] != channels:
        raise InputError(f"audio block must have shape (frames, {channels}), got {a.shape}")
    if a.dtype != np.float32 and a.dtype != np.float64:
        if a.dtype.kind != "f":
            raise InputError(f"audio block must be float (float32 in -1..1), got dtype {a.dtype}")
        a = a.astype(np.float64)  # float16, longdouble
    return a


class Encoder:
    """Streaming encoder: feed ``(frames, channels)`` float blocks of any size.

    Parameters
    ----------
    sample_rate : int
        8000 .. 48000 Hz.
    channels : int
        1 .. 8, in WAV/SMPTE order (L R C LFE Ls Rs ...; :mod:`audiocodec.multistream.layout`).
    bitrate : int
        Target bits per second over the whole stream (CBR with a bit reservoir).
    mode : {"mdct", "adpcm"}
    quantizer : {"adaptive", "uniform", "nonuniform"}
        MDCT quantizer. ``adaptive`` uses the psychoacoustic model.
    low_delay : bool
        MDCT with 8 ms hops and 2 ms overlap (10 ms algorithmic delay), no block switching
        (live use).
    quality : float or None
        VBR: a quality 0..10 instead of a bitrate target (MDCT only).
    joint_fields : bool or None
        Code the second channel's global step and coded-band count as differences from the
        first's (the ``joint_fields`` header record; None: on in 2-channel MDCT streams).
    block_switching : bool
        Let transients switch MDCT frames to short blocks: 8 a frame ahead in the default
        mode; in ``low_delay`` N/L blocks of the overlap L with no look-ahead (with the
        adaptive quantizer not in a stream's first 0.25 s; 4 of 2 ms at 48 kHz; layouts whose
        hop is not a multiple of 16 samples and of L do not switch, e.g. 11.025 kHz).
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
    observer : callable or None
        Called with a :class:`audiocodec.core.FrameStats` after every coded MDCT frame.
    extension : tuple of (tag, bytes)
        Header extension records (tags in :mod:`audiocodec.container.aqc`).
    signal : {"auto", "speech", "music"}
        What the adaptive quantizer shapes its noise for: ``auto`` follows the encoder's running
        speech/music estimate (:mod:`audiocodec.encoder.signal`); the others fix it, as Opus's
        signal hint does.
    postfilter : bool or None
        The pitch pre/post-filter (:mod:`audiocodec.core.postfilter`): None turns it on in low
        delay (MDCT, 1-2 channels); True or False force it (MDCT, 1-2 channels only).
    fec : bool
        In-band FEC (MDCT, 1-2 channels, a bitrate): every packet also carries a coarse copy
        of the previous frame, a quarter of its bits, which a decoder uses when that frame's
        packet is lost (``Decoder.decode(None, next_packet=...)``).
    sf_predict : bool or None
        Scale factors predicted from the previous frame (:mod:`audiocodec.core.entropy`),
        with a frame that predicts nothing every 16 packets (MDCT, every sub-stream of a
        multichannel one): None turns
        it on outside low delay (a lost packet makes the frames after it drift until the next
        intra one, which costs more than the bits save on a lossy link), True or False force it.
    lfe_group : bool or None
        The LFE of a 5.1 / 6.1 / 7.1 stream coded 8 packets at a time (the ``lfe_group``
        record, :mod:`audiocodec.multistream.layout`): about 0.7 kbit/s while it sounds, for
        7 frames more encoder latency; None turns it on outside low delay (whose point is its
        latency: 7 more 8 ms frames would be 56 ms), True or False force it; off, the LFE is a
        mono sub-stream (about 4.1 kbit/s).
    """

    def __init__(
        self, sample_rate: int, channels: int, *, bitrate: int = 96_000, mode: str = "mdct",
        quantizer: str = "adaptive", low_delay: bool = False, quality: float | None = None,
        block_switching: bool = True, frame_size: int | None = None, adpcm_method: str = "greedy",
        serial: int | None = None, total_samples: int | None = None, dither: bool = False,
        tuning: Any = None, observer: Observer | None = None, extension: aqc.Extension = (),
        signal: str = "auto", postfilter: bool | None = None, fec: bool = False,
        sf_predict: bool | None = None, joint_fields: bool | None = None,
        lfe_group: bool | None = None,
    ) -> None:
        self.sample_rate = sample_rate_of(sample_rate)  # 44100.5 or '48000' is an error
        self.channels = channels
        self.bitrate = parse_bitrate(bitrate)  # 96000 or '96k'
        self.mode = mode
        self.quantizer = quantizer
        self.low_delay = low_delay
        self.quality = quality
        self.serial = serial
        self.total_samples = total_samples
        self.extension = tuple(extension)
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not isinstance(self.channels, int | np.integer) or not 1 <= self.channels <= MAX_CHANNELS:
            raise InputError(f"channels must be 1..{MAX_CHANNELS}, got {self.channels}")
        if not aqc.MIN_RATE <= self.sample_rate <= aqc.MAX_RATE:
            raise InputError(f"sample rate must be {aqc.MIN_RATE}..{aqc.MAX_RATE} Hz, "
                             f"got {self.sample_rate}")
        if adpcm_method not in ADPCM_METHODS:
            raise InputError(f"adpcm_method must be 'greedy' or 'search', got {adpcm_method!r}")
        if signal != "auto" and (mode != "mdct" or quantizer != "adaptive"):
            raise InputError("signal applies only to the mdct mode's adaptive quantizer")
        if postfilter is not None and (mode != "mdct" or self.channels > 2):
            raise InputError("postfilter applies only to 1-2 channel mdct streams")
        if fec and (mode != "mdct" or self.channels > 2 or quality is not None):
            raise InputError("fec applies only to 1-2 channel mdct streams at a bitrate (not --quality)")
        if sf_predict and mode != "mdct":
            raise InputError("sf_predict applies only to mdct streams")
        if joint_fields and (mode != "mdct" or self.channels != 2):
            raise InputError("joint_fields applies only to 2-channel mdct streams")
        if lfe_group is not None and (mode != "mdct" or self.channels < 6):
            raise InputError("lfe_group applies only to mdct streams with an LFE (5.1, 6.1, 7.1)")
        if self.serial is None:
            self.serial = int.from_bytes(os.urandom(4), "little")
        try:
            aqc.pack_extension(self.extension, self.channels)
        except HeaderError as e:
            raise InputError(f"header extension: {e}") from None
        for tag, _ in self.extension:
            if tag in (aqc.TAG_PITCH_FILTER, aqc.TAG_FEC, aqc.TAG_SF_PREDICT, aqc.TAG_JOINT_FIELDS,
                       aqc.TAG_NOISE_FILL_FROM, aqc.TAG_LFE_GROUP):
                raise InputError(f"header extension: the {aqc.TAG_NAMES[tag]} record is the "
                                 f"encoder's own (postfilter=, fec=, sf_predict=, joint_fields=; "
                                 f"lfe_group=; noise_fill_from: its tuning)")
        module, cls = _ENCODERS[mode, self.channels > 2].split(":")
        make = getattr(importlib.import_module(module), cls)
        self._mode: ModeEncoder = make(
            self.sample_rate, self.channels, bitrate=self.bitrate, quantizer=quantizer,
            low_delay=low_delay, quality=quality, block_switching=block_switching,
            frame_size=frame_size, adpcm_method=adpcm_method, serial=int(self.serial), dither=dither,
            tuning=tuning, observer=observer, signal=signal,
            **({} if postfilter is None else {"postfilter": postfilter}),
            **({"fec": True} if fec else {}),
            **({} if sf_predict is None else {"sf_predict": bool(sf_predict)}),
            **({} if joint_fields is None else {"joint_fields": bool(joint_fields)}),
            **({} if lfe_group is None else {"lfe_group": bool(lfe_group)}))
        try:  # the caller's records beside the encoder's own must still fit one header
            self.header  # noqa: B018 (packs the header: the check is the point)
        except HeaderError as e:
            raise InputError(f"header extension: {e}") from None
        self._in_count = 0
        self._flushed = False
        self._pending = Fifo(self.channels, self._mode.capacity())
        self._pending.push(None, zeros=self._mode.lead_in())
        for dtype in (np.float32, np.float64):  # load the ingest kernel now, not in a callback
            for writeable in (True, False):  # numba types a read-only array apart
                z = np.zeros((0, self.channels), dtype)
                z.flags.writeable = writeable
                _clip_into(z, self._pending._a, 0)

    @property
    def config(self) -> Any:
        """The mode's frozen configuration (an :class:`audiocodec.core.MdctConfig` for MDCT)."""
        return getattr(self._mode, "config", None)

    @property
    def frame_size(self) -> int:
        """Samples per packet (MDCT hop or ADPCM packet)."""
        return self._mode.frame_size

    @property
    def delay(self) -> int:
        """Samples of algorithmic delay the decoder removes (header field)."""
        return self._mode.delay

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: framing plus look-ahead."""
        return self._mode.latency

    @property
    def header(self) -> bytes:
        """The stream-header packet; :class:`Decoder` is built from it."""
        total = aqc.UNKNOWN_LENGTH if self.total_samples is None else int(self.total_samples)
        h = self._mode.header(total, int(self.serial or 0))
        return dataclasses.replace(h, extension=h.extension + self.extension).pack()

    def encode(self, block: Any) -> list[bytes]:
        """Encode a block of any length; returns the codec packets completed by it.

        A codec packet is the TOC byte plus the mode's payload (spec:
        :mod:`audiocodec.container.aqc`), without framing.
        """
        if self._flushed:
            raise InputError("encoder already flushed")
        a = _check_block(block, self.channels)
        if a.shape[0] == 0:
            return []
        if not self._pending.push_clipped(a):
            raise InputError("audio block holds NaN or Inf samples")
        self._in_count += a.shape[0]
        return self._mode.drain(self._pending, False, self._in_count)

    def flush(self) -> list[bytes]:
        """Encode what is buffered, ending the stream with a last-packet marker (TOC bit 7)."""
        if self._flushed:
            return []
        out = self._mode.drain(self._pending, True, self._in_count)
        self._flushed = True
        return out


# container mode number -> its decoder class
_DECODERS: dict[tuple[int, bool], Callable[[aqc.StreamHeader, Observer | None], ModeDecoder]] = {
    (aqc.MODE_MDCT, False): MdctDecoder, (aqc.MODE_MDCT, True): MultistreamDecoder,
    (aqc.MODE_ADPCM, False): AdpcmDecoder, (aqc.MODE_ADPCM, True): AdpcmDecoder}


class Decoder:
    """Streaming decoder built from a stream-header packet.

    ``decode(packet)`` returns the newly final samples as float32
    ``(frames, channels)``; ``decode(None)`` conceals one lost packet.
    ``observer`` is called with a :class:`audiocodec.core.FrameStats` after
    every decoded MDCT frame.
    """

    def __init__(self, header: bytes | aqc.StreamHeader, observer: Observer | None = None):
        if isinstance(header, aqc.StreamHeader):
            header.validate()  # a header built in code: the checks unpack runs on bytes
            self.header = header
        else:
            self.header = aqc.StreamHeader.unpack(header)
        self._observer = observer
        self.reset()

    def reset(self) -> None:
        """Forget the stream position (after a seek or a long gap)."""
        h = self.header
        self.sample_rate = h.sample_rate
        self.channels = h.channels
        self.frame_size = h.frame_size
        self.delay = h.delay
        self.mode = h.mode_name
        self.frames_decoded = 0
        self.frames_concealed = 0
        self.frames_rejected = 0
        self.frames_recovered = 0  # lost packets decoded from the next one's redundant copy
        self.last_error: str | None = None
        self.ended = False
        self._emitted = 0  # samples produced (after dropping the delay)
        self._to_drop = h.delay
        self._total = None if h.total_samples == aqc.UNKNOWN_LENGTH else h.total_samples
        self._mode = _DECODERS[h.mode, h.channels > 2](h, self._observer)

    @property
    def config(self) -> Any:
        """The mode's frozen configuration (an :class:`audiocodec.core.MdctConfig` for MDCT)."""
        return getattr(self._mode, "config", None)

    @property
    def frames_waiting(self) -> int:
        """Frames that predicted their scale factors from a frame this decoder never decoded
        (after a start mid-stream or a reset) and were concealed; counted in ``frames_decoded``."""
        return int(getattr(self._mode, "frames_waiting", 0))

    @property
    def conceals_tail(self) -> bool:
        """True when the mode conceals a lost tail (:meth:`finish`)."""
        return self._mode.conceals_tail

    def start_at(self, granule: int) -> None:
        """Reset, to decode from a reset point: the next packet starts at codec sample ``granule``.

        ``granule`` is the granule of the page before (``packet index * frame_size``);
        leading-delay dropping and end trimming then keep the output on the stream's
        timeline. MDCT's first packet after this is pre-roll (its overlap half is missing).
        """
        self.reset()
        g = max(0, int(granule))
        self._emitted = max(0, g - self.delay)
        self._to_drop = max(0, self.delay - g)
        set_index = getattr(self._mode, "set_index", None)
        if set_index is not None:  # MDCT: the noise fill's per-packet seed
            set_index(g // self.frame_size)

    def decode(self, packet: bytes | memoryview | None, *,
               next_packet: bytes | memoryview | None = None) -> NDArray[np.float32]:
        """Decode one codec packet (None = lost: conceal it).

        ``next_packet``, with ``packet`` None: the packet after the lost one, when it has
        arrived; in a stream with in-band FEC its redundant copy stands in for the lost packet
        (``frames_recovered``), else the loss is concealed. Raises :class:`FrameError` on a
        packet that does not decode; the decoder stays usable, and a caller that keeps the
        timeline conceals it (``decode(None)``), as the file reader and the jitter buffer do.
        """
        if packet is None:
            y = self._recover(next_packet) if next_packet is not None else None
            if y is not None:
                self.frames_recovered += 1
                return self._finish(y)
            return self._finish(self._conceal())
        try:
            y = self._decode_payload(bytes(packet))
        except StreamError as e:
            self.frames_rejected += 1
            self.last_error = str(e)
            if isinstance(e, FrameError):
                raise
            raise FrameError(str(e)) from None
        self.frames_decoded += 1
        return self._finish(y)

    def _decode_payload(self, payload: bytes) -> NDArray[np.float64]:
        info, pos, total = aqc.read_info(payload)
        if total is not None:
            if self._total is not None and total != self._total:
                raise FrameError(f"last frame says {total} samples, header says {self._total}")
            self._total = total
            self.ended = True
        return self._mode.decode(info, payload[pos:])

    def _recover(self, packet: bytes | memoryview) -> NDArray[np.float64] | None:
        redundant = getattr(self._mode, "decode_redundant", None)
        if redundant is None:
            return None
        try:
            _info, pos, _total = aqc.read_info(packet)
            y: NDArray[np.float64] | None = redundant(bytes(packet)[pos:])
            return y
        except StreamError as e:
            self.last_error = str(e)
            return None

    def _conceal(self) -> NDArray[np.float64]:
        self.frames_concealed += 1
        return self._mode.conceal()

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

    def finish(self) -> NDArray[np.float32]:
        """End of input: conceal a lost tail (at most ``MAX_GAP_CONCEAL + 1`` frames).

        Only for streams whose last frame never arrived, in modes that conceal
        (MDCT); the length comes from the header, so a hostile header cannot make
        this loop or allocate beyond that bound.
        """
        if not self.conceals_tail or self.ended or self._total is None:
            return np.zeros((0, self.channels), np.float32)
        n = self.frame_size
        missing = self._total - self._emitted
        frames = min(-(-missing // n) + 1, MAX_GAP_CONCEAL + 1) if missing > 0 else 0
        pieces = [self._finish(self._conceal()) for _ in range(frames)]
        return np.concatenate(pieces) if pieces else np.zeros((0, self.channels), np.float32)
