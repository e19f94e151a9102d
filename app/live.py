"""``audiocodec live``: microphone -> Encoder -> lossy channel -> Decoder -> speaker.

This module owns the live demo. One sounddevice duplex stream drives the whole
loop from its callback::

    indata (or --input-file) -> Encoder -> [simulated loss] -> Decoder -> FIFO -> outdata
                                                                            \\-> --record

Real-time rules the callback keeps:

* it only moves data between buffers allocated before the stream starts
  (single-producer/single-consumer rings of float32 frames); the codec itself
  returns a few small packets and one hop of PCM per packet, nothing larger;
* it never blocks, sleeps, takes a lock, prints or touches a file: reading
  ``--input-file`` and writing ``--record`` happen in their own threads,
  which exchange data with the callback through bounded rings;
* it checks ``status`` every time and counts what it reports;
* the codec's numba kernels are compiled by a warm-up run before the stream
  opens, and the same warm-up measures how much output buffering the chosen
  block size needs (see :func:`plan_buffering`).

Latency. The decoder hands out PCM one hop at a time and only after the
codec's own delay, so the output FIFO is primed with ``P`` frames of silence,
the smallest value for which it never runs dry at this block size
(``P = codec delay + framing slack``). What reaches the speaker is therefore
the offline decode of the input delayed by exactly ``P`` frames inside the
program, plus the device's input and output latency outside it (two periods
through JACK). ``latency_ms`` in the summary is that sum.

``sounddevice`` is imported lazily (inside :func:`run`): PortAudio looks for a
JACK server only when it initialises, and the library must stay importable on
machines without PortAudio.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import audiocodec
from audiocodec.errors import CodecError, DeviceError, InputError
from audiocodec.net import int_or_str

__all__ = [
    "LiveLoop",
    "RingBuffer",
    "add_arguments",
    "plan_buffering",
    "run",
]

SUMMARY_KEYS = (
    "callbacks",
    "xruns",
    "input_overflows",
    "output_underflows",
    "packets_lost",
    "latency_ms",
    "callback_load_mean",
    "callback_load_p99",
    "bitrate_kbps",
)

_MAX_FRAMES = 16384  # largest callback block we preallocate for
_LOAD_SLOTS = 1 << 17  # per-callback load history (about 12 min at 256 frames, 48 kHz)
_LOSS_SLOTS = 1 << 16  # length of the precomputed (cycled) packet-loss pattern


# --------------------------------------------------------------------------- buffers


class RingBuffer:
    """Single-producer, single-consumer ring of float32 frames, shape (capacity, channels).

    The producer only advances ``_written`` and the consumer only ``_read``;
    both are plain ints whose assignment is atomic under the GIL, and each side
    copies the data before publishing its counter, so no lock is needed and
    neither side ever waits for the other.
    """

    def __init__(self, capacity: int, channels: int) -> None:
        if capacity < 1 or channels < 1:
            raise InputError(f"ring needs capacity >= 1 and channels >= 1, got {capacity}, {channels}")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self._written = 0
        self._read = 0

    def readable(self) -> int:
        return self._written - self._read

    def writable(self) -> int:
        return self.capacity - (self._written - self._read)

    def write(self, data: np.ndarray) -> int:
        """Copy as many frames of ``data`` as fit; return how many were written."""
        n = min(len(data), self.writable())
        if n <= 0:
            return 0
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = data[:first]
        if n > first:
            self._buf[: n - first] = data[first:n]
        self._written += n
        return n

    def write_zeros(self, frames: int) -> int:
        n = min(frames, self.writable())
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = 0.0
        if n > first:
            self._buf[: n - first] = 0.0
        self._written += n
        return n

    def read_into(self, out: np.ndarray) -> int:
        """Fill the head of ``out`` with up to ``len(out)`` frames; return the count."""
        n = min(len(out), self.readable())
        if n <= 0:
            return 0
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start : start + first]
        if n > first:
            out[first:n] = self._buf[: n - first]
        self._read += n
        return n

    def read(self, frames: int) -> np.ndarray:
        """Return (and consume) up to ``frames`` frames as a new array (not for callbacks)."""
        out = np.empty((min(frames, self.readable()), self.channels), dtype=np.float32)
        self.read_into(out)
        return out


# --------------------------------------------------------------------------- codec planning


def _make_codec(
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


# --------------------------------------------------------------------------- the loop


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
        self._inbuf = np.zeros((_MAX_FRAMES, channels), dtype=np.float32)
        fifo_frames = max(4 * blocksize, 4 * hop) + prime_frames + _MAX_FRAMES
        self.fifo = RingBuffer(fifo_frames, channels)
        self.fifo.write_zeros(prime_frames)
        if loss > 0.0:
            rng = np.random.default_rng(seed)
            self._loss_pattern: np.ndarray | None = rng.random(_LOSS_SLOTS) < loss
        else:
            self._loss_pattern = None
        self._loss_index = 0
        self.loads = np.zeros(_LOAD_SLOTS, dtype=np.float64)

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
        self.callbacks += 1
        if status:
            if status.input_overflow:
                self.input_overflows += 1
            if status.output_underflow:
                self.output_underflows += 1
            if not (status.input_overflow or status.output_underflow):
                self.other_status += 1
        if frames > _MAX_FRAMES:
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
        self.loads[(self.callbacks - 1) % _LOAD_SLOTS] = (time.perf_counter() - t0) * self.samplerate / frames
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
            lost = pattern is not None and bool(pattern[self._loss_index % _LOSS_SLOTS])
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
        n = min(self.callbacks, _LOAD_SLOTS)
        if n == 0:
            return 0.0, 0.0
        if last is not None and last < n:
            end = self.callbacks % _LOAD_SLOTS
            idx = (np.arange(end - last, end)) % _LOAD_SLOTS
            loads = self.loads[idx]
        else:
            loads = self.loads[:n]
        return float(loads.mean()), float(np.percentile(loads, 99))

    def bitrate_kbps(self) -> float:
        if self.bypass:
            return self.samplerate * self.channels * 32 / 1000.0  # float32 PCM
        if self.packets == 0 or self.enc is None:
            return 0.0
        seconds = self.packets * int(self.enc.frame_size) / self.samplerate
        return self.payload_bytes * 8 / seconds / 1000.0


# --------------------------------------------------------------------------- file threads


class FileFeeder(threading.Thread):
    """Reads ``--input-file`` into the source ring, ahead of the callback."""

    def __init__(self, path: str, ring: RingBuffer, loop: LiveLoop, *, repeat: bool) -> None:
        super().__init__(name="live-file-feeder", daemon=True)
        import soundfile as sf

        self._file = sf.SoundFile(path)
        self._ring = ring
        self._loop = loop
        self._repeat = repeat
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    @property
    def samplerate(self) -> int:
        return int(self._file.samplerate)

    @property
    def file_channels(self) -> int:
        return int(self._file.channels)

    def fill(self) -> None:
        """Fill the ring before the stream starts (called from the main thread)."""
        while self._ring.writable() > 0 and not self._loop.source_eof:
            if not self._step():
                break

    def _step(self) -> bool:
        free = self._ring.writable()
        if free == 0:
            return False
        data = self._file.read(min(free, 4096), dtype="float32", always_2d=True)
        if len(data) == 0:
            if self._repeat and self._file.frames > 0:
                self._file.seek(0)
                return True
            self._loop.source_eof = True
            return False
        if data.shape[1] != self._ring.channels:
            # mono file into a multichannel stream: same signal on every channel
            data = np.repeat(data[:, :1], self._ring.channels, axis=1)
        self._ring.write(data)
        return True

    def run(self) -> None:
        try:
            while not self._stop_event.is_set() and not self._loop.source_eof:
                if not self._step():
                    self._stop_event.wait(0.005)
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            self._file.close()

    def stop(self) -> None:
        self._stop_event.set()


class Recorder(threading.Thread):
    """Drains the record ring into ``--record`` (what went to the speaker)."""

    def __init__(self, path: str, ring: RingBuffer, samplerate: int) -> None:
        super().__init__(name="live-recorder", daemon=True)
        import soundfile as sf

        fmt = path.rsplit(".", 1)[-1].upper() if "." in path else "WAV"
        subtype = "FLOAT" if sf.check_format(fmt, "FLOAT") else None
        try:
            self._file = sf.SoundFile(path, "w", samplerate, ring.channels, subtype=subtype)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise InputError(f"cannot write --record file {path!r}: {exc}") from exc
        self._ring = ring
        self._stop_event = threading.Event()
        self.frames = 0
        self.error: BaseException | None = None

    def _drain(self) -> None:
        while self._ring.readable():
            block = self._ring.read(16384)
            self._file.write(block)
            self.frames += len(block)

    def run(self) -> None:
        try:
            while not self._stop_event.wait(0.02):
                self._drain()
            self._drain()
        except BaseException as exc:
            self.error = exc
        finally:
            self._file.close()

    def stop(self) -> None:
        self._stop_event.set()


class XrunMonitor:
    """Counts server xruns with a JACK client's xrun callback.

    PortAudio's status flags undercount xruns under JACK, so when the stream
    runs on JACK a separate client in this process listens for them.
    """

    def __init__(self, when: Callable[[], int] | None = None) -> None:
        self.count = 0
        self.at: list[int] = []  # when(): the callback count at each xrun, for diagnosis
        self._when = when
        self._client: Any = None

    def start(self) -> bool:
        try:
            import jack

            client = jack.Client("audiocodec-xruns", no_start_server=True)
        except Exception:
            return False

        def on_xrun(delayed_usecs: float) -> None:
            self.count += 1
            if self._when is not None and len(self.at) < 100:
                self.at.append(self._when())

        client.set_xrun_callback(on_xrun)
        client.activate()
        self._client = client
        return True

    def stop(self) -> None:
        if self._client is not None:
            self._client.deactivate()
            self._client.close()
            self._client = None


# --------------------------------------------------------------------------- devices


def _import_sounddevice() -> Any:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise DeviceError(f"PortAudio is not available: {exc}") from exc
    return sd


def enter_audio_mode() -> float:
    """Before a stream starts: keep the collector from pausing the callback on objects made
    during setup, and let the audio thread get the GIL back quickly from other threads.
    Returns what :func:`leave_audio_mode` restores."""
    old_switch = sys.getswitchinterval()
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.001)
    return old_switch


def leave_audio_mode(old_switch: float) -> None:
    """Undo :func:`enter_audio_mode`."""
    sys.setswitchinterval(old_switch)
    gc.unfreeze()


def _find_hostapi(sd: Any, name: str) -> int:
    apis = sd.query_hostapis()
    for index, api in enumerate(apis):
        if name.lower() in api["name"].lower():
            return index
    names = ", ".join(api["name"] for api in apis) or "none"
    raise DeviceError(f"no audio host API matching {name!r} (available: {names})")


def _pick_device(sd: Any, spec: int | str | None, kind: str, hostapi: int | None) -> dict:
    key = f"max_{kind}_channels"
    if spec is None:
        if hostapi is not None:
            index = sd.query_hostapis(hostapi)[f"default_{kind}_device"]
            if index < 0:
                name = sd.query_hostapis(hostapi)["name"]
                raise DeviceError(f"host API {name!r} has no default {kind} device")
            return dict(sd.query_devices(index))
        try:
            return dict(sd.query_devices(kind=kind))
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(f"no default {kind} device ({exc}); see --list-devices") from exc
    if isinstance(spec, int):
        try:
            info = dict(sd.query_devices(spec))
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(f"no {kind} device with index {spec}; see --list-devices") from exc
        if info[key] < 1:
            raise DeviceError(f"device {spec} ({info['name']!r}) has no {kind} channels")
        return info
    matches = [
        dict(d)
        for d in sd.query_devices()
        if spec.lower() in d["name"].lower() and d[key] > 0 and (hostapi is None or d["hostapi"] == hostapi)
    ]
    if not matches:
        raise DeviceError(f"no {kind} device matching {spec!r}; see --list-devices")
    if len(matches) > 1:
        names = ", ".join(f"{d['index']}: {d['name']}" for d in matches)
        raise DeviceError(f"{kind} device {spec!r} is ambiguous ({names})")
    return matches[0]


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``audiocodec live`` options on ``parser``."""
    parser.add_argument(
        "-l",
        "--list-devices",
        action="store_true",
        help="show the audio devices and host APIs, then exit",
    )
    parser.add_argument(
        "--mode",
        choices=("mdct", "adpcm"),
        default="mdct",
        help="codec mode; mdct runs in its low-delay variant (default: %(default)s)",
    )
    parser.add_argument(
        "--bitrate", type=int, default=64000, help="target bitrate in bit/s (default: %(default)s)"
    )
    parser.add_argument(
        "--frame-size",
        type=int,
        default=None,
        metavar="N",
        help="MDCT hop / ADPCM packet in samples (default: 256 at 48 kHz, 8 ms algorithmic delay; "
        "512 doubles the delay and codes 64 kbit/s much better, see README)",
    )
    parser.add_argument(
        "-b",
        "--blocksize",
        type=int,
        default=512,
        help="frames per audio callback; match the JACK period (default: %(default)s)",
    )
    parser.add_argument(
        "--loss",
        type=float,
        default=0.0,
        metavar="P",
        help="drop each packet with probability P on the simulated channel",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the loss pattern")
    parser.add_argument(
        "-i",
        "--input-device",
        type=int_or_str,
        metavar="DEV",
        help="input device (index or name substring)",
    )
    parser.add_argument(
        "-o",
        "--output-device",
        type=int_or_str,
        metavar="DEV",
        help="output device (index or name substring)",
    )
    parser.add_argument(
        "--hostapi", metavar="NAME", help="host API to use, e.g. JACK or ALSA (name substring)"
    )
    parser.add_argument(
        "-r",
        "--samplerate",
        type=int,
        help="sample rate (default: the input file's, else the device's)",
    )
    parser.add_argument("-c", "--channels", type=int, help="channels (default: the input file's, else 2)")
    parser.add_argument(
        "--latency",
        type=float,
        metavar="SECONDS",
        help="suggested device latency passed to PortAudio",
    )
    parser.add_argument(
        "--input-file",
        metavar="F",
        help="play file F as the microphone (read in a separate thread)",
    )
    parser.add_argument("--loop", action="store_true", help="loop --input-file")
    parser.add_argument(
        "--record", metavar="R", help="save what goes to the speaker to R (float WAV for .wav)"
    )
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--bypass", action="store_true", help="send the input to the output uncoded, to compare"
    )
    parser.add_argument("--summary-json", metavar="PATH", help="write the run summary to PATH")
    parser.add_argument("-q", "--quiet", action="store_true", help="no status line")


def _validate(args: argparse.Namespace) -> None:
    if args.blocksize < 1 or args.blocksize > _MAX_FRAMES:
        raise InputError(f"--blocksize must be in 1..{_MAX_FRAMES}, got {args.blocksize}")
    if not 0.0 <= args.loss < 1.0:
        raise InputError(f"--loss must be in [0, 1), got {args.loss}")
    if args.duration is not None and args.duration <= 0:
        raise InputError(f"--duration must be > 0 seconds, got {args.duration}")
    if args.loop and not args.input_file:
        raise InputError("--loop needs --input-file")
    if args.channels is not None and args.channels < 1:
        raise InputError(f"--channels must be >= 1, got {args.channels}")


class _Status:
    """Prints the status line from the main thread a few times a second."""

    def __init__(self, loop: LiveLoop, xruns: Callable[[], int], latency_ms: float, quiet: bool) -> None:
        self._loop = loop
        self._xruns = xruns
        self._latency_ms = latency_ms
        self._quiet = quiet
        self._tty = sys.stderr.isatty()
        self._last_line = 0.0

    def show(self) -> None:
        if self._quiet:
            return
        now = time.monotonic()
        if not self._tty and now - self._last_line < 1.0:
            return
        self._last_line = now
        loop = self._loop
        mean, p99 = loop.load_stats(last=200)
        line = (
            f"{loop.frames_done / loop.samplerate:7.1f} s  {loop.bitrate_kbps():7.1f} kbit/s  "
            f"load {100 * mean:5.1f}% (p99 {100 * p99:5.1f}%)  latency {self._latency_ms:5.1f} ms  "
            f"xruns {self._xruns()}  lost {loop.packets_lost}/{loop.packets}"
        )
        if self._tty:
            sys.stderr.write("\r" + line + "  ")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end(self) -> None:
        if self._tty and not self._quiet:
            sys.stderr.write("\n")


def run(args: argparse.Namespace) -> int:
    """Run ``audiocodec live`` with parsed ``args``; return the exit status.

    Raises :class:`~audiocodec.errors.DeviceError` when a device is missing or
    busy and :class:`~audiocodec.errors.InputError` for bad options; the CLI
    turns both into one line on stderr.
    """
    _validate(args)
    sd = _import_sounddevice()
    if args.list_devices:
        print(sd.query_hostapis())
        print(sd.query_devices())
        return 0

    hostapi = _find_hostapi(sd, args.hostapi) if args.hostapi else None
    in_dev = _pick_device(sd, args.input_device, "input", hostapi)
    out_dev = _pick_device(sd, args.output_device, "output", hostapi)
    on_jack = "jack" in sd.query_hostapis(out_dev["hostapi"])["name"].lower()

    feeder: FileFeeder | None = None
    file_rate = file_channels = None
    if args.input_file:
        import soundfile as sf

        try:
            info = sf.info(args.input_file)
        except (RuntimeError, OSError) as exc:
            raise InputError(f"cannot read --input-file {args.input_file!r}: {exc}") from exc
        file_rate, file_channels = int(info.samplerate), int(info.channels)
    samplerate = int(args.samplerate or file_rate or in_dev["default_samplerate"])
    channels = int(args.channels or file_channels or 2)
    if file_rate is not None and file_rate != samplerate:
        raise InputError(f"--input-file has {file_rate} Hz but the stream runs at {samplerate} Hz")
    if file_channels is not None and file_channels not in (1, channels):
        raise InputError(f"--input-file has {file_channels} channels but the stream has {channels}")
    if in_dev["max_input_channels"] < channels and not args.input_file:
        raise DeviceError(
            f"input device {in_dev['name']!r} has {in_dev['max_input_channels']} channels, "
            f"{channels} requested"
        )
    if out_dev["max_output_channels"] < channels:
        raise DeviceError(
            f"output device {out_dev['name']!r} has {out_dev['max_output_channels']} channels, "
            f"{channels} requested"
        )
    in_channels = min(channels, int(in_dev["max_input_channels"])) or 1

    # Compile the kernels and measure the FIFO priming with a throw-away pair,
    # then start the stream with a fresh pair whose state matches an offline run.
    enc = dec = None
    prime = 0
    codec_delay = 0
    if not args.bypass:
        warm_enc, warm_dec = _make_codec(args.mode, samplerate, channels, args.bitrate, args.frame_size)
        prime = plan_buffering(warm_enc, warm_dec, args.blocksize)
        enc, dec = _make_codec(args.mode, samplerate, channels, args.bitrate, args.frame_size)
        codec_delay = int(enc.delay)

    source = RingBuffer(max(8 * args.blocksize, samplerate // 2), channels) if args.input_file else None
    record = RingBuffer(max(8 * args.blocksize, 4 * samplerate), channels) if args.record else None
    stop_after = int(round(args.duration * samplerate)) if args.duration else None
    loop = LiveLoop(
        samplerate=samplerate,
        channels=channels,
        blocksize=args.blocksize,
        encoder=enc,
        decoder=dec,
        prime_frames=prime,
        loss=args.loss,
        seed=args.seed,
        source=source,
        record=record,
        stop_after_frames=stop_after,
        stop_exception=sd.CallbackStop,
    )
    if args.input_file and source is not None:
        feeder = FileFeeder(args.input_file, source, loop, repeat=args.loop)
        feeder.fill()
    recorder = Recorder(args.record, record, samplerate) if args.record and record else None

    # With --input-file the microphone is ignored, but the stream stays duplex
    # so the timing is the same as live.
    finished = threading.Event()
    try:
        stream = sd.Stream(
            device=(in_dev["index"], out_dev["index"]),
            samplerate=samplerate,
            blocksize=args.blocksize,
            channels=(in_channels, channels),
            dtype="float32",
            latency=args.latency,
            callback=loop.callback,
            finished_callback=finished.set,
        )
    except (sd.PortAudioError, ValueError) as exc:
        raise DeviceError(
            f"cannot open audio stream ({in_dev['name']!r} -> {out_dev['name']!r} "
            f"at {samplerate} Hz, block {args.blocksize}): {exc}"
        ) from exc

    xrun_monitor = XrunMonitor(lambda: loop.callbacks)
    use_jack_xruns = on_jack and xrun_monitor.start()
    stream_latency = stream.latency
    if isinstance(stream_latency, tuple | list):
        device_latency_s = float(stream_latency[0]) + float(stream_latency[1])
    else:
        device_latency_s = float(stream_latency)
    latency_ms = 1000.0 * (device_latency_s + prime / samplerate)

    def xruns() -> int:
        if use_jack_xruns:
            return xrun_monitor.count
        return loop.input_overflows + loop.output_underflows

    status = _Status(loop, xruns, latency_ms, args.quiet)
    interrupted = False
    if feeder is not None:
        feeder.start()
    if recorder is not None:
        recorder.start()
    old_switch = enter_audio_mode()
    wall0 = time.monotonic()
    try:
        try:
            stream.start()
        except sd.PortAudioError as exc:
            raise DeviceError(f"cannot start audio stream: {exc}") from exc
        try:
            while not finished.wait(0.25):
                status.show()
        except KeyboardInterrupt:
            interrupted = True
    finally:
        try:
            stream.stop()
            stream_stopped = time.monotonic()
        finally:
            stream.close()
            leave_audio_mode(old_switch)
            xrun_monitor.stop()
            if feeder is not None:
                feeder.stop()
                feeder.join(2.0)
            if recorder is not None:
                recorder.stop()
                recorder.join(30.0)
    status.end()
    wall = time.monotonic() - wall0
    for thread in (feeder, recorder):
        if thread is not None and thread.error is not None:
            raise InputError(f"{thread.name} failed: {thread.error}")

    mean, p99 = loop.load_stats()
    summary: dict[str, Any] = {
        "callbacks": loop.callbacks,
        "xruns": xruns(),
        "input_overflows": loop.input_overflows,
        "output_underflows": loop.output_underflows,
        "packets_lost": loop.packets_lost,
        "latency_ms": round(latency_ms, 3),
        "callback_load_mean": round(mean, 5),
        "callback_load_p99": round(p99, 5),
        "bitrate_kbps": round(loop.bitrate_kbps(), 3),
        # extras: how the figures above came about
        "xrun_source": "jack" if use_jack_xruns else "portaudio",
        "xrun_at_callbacks": xrun_monitor.at,
        "mode": "bypass" if args.bypass else args.mode,
        "samplerate": samplerate,
        "channels": channels,
        "blocksize": args.blocksize,
        "frame_size": int(enc.frame_size) if enc is not None else 0,
        "codec_delay_samples": codec_delay,
        "serial": getattr(enc, "serial", None),
        "buffer_latency_samples": prime,
        "device_latency_ms": round(1000.0 * device_latency_s, 3),
        "packets": loop.packets,
        "loss": args.loss,
        "fifo_underruns": loop.fifo_underruns,
        "fifo_overruns": loop.fifo_overruns,
        "file_underruns": loop.file_underruns,
        "record_overruns": loop.record_overruns,
        "codec_errors": loop.codec_errors,
        "other_status": loop.other_status,
        "audio_seconds": round(loop.frames_done / samplerate, 3),
        "wall_seconds": round(wall, 3),
        # CLOCK_MONOTONIC (shared by every process on the machine): lets an outside xrun
        # counter tell xruns while the stream ran from those during this program's start-up
        "stream_start_monotonic": wall0,
        "stream_stop_monotonic": stream_stopped,
        "interrupted": interrupted,
    }
    if args.summary_json:
        with open(args.summary_json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
            fh.write("\n")
    if not args.quiet:
        print(
            f"live: {summary['callbacks']} callbacks, {summary['xruns']} xruns, "
            f"load mean {100 * mean:.1f}% p99 {100 * p99:.1f}%, latency {latency_ms:.1f} ms, "
            f"{summary['bitrate_kbps']:.1f} kbit/s, lost {loop.packets_lost}/{loop.packets}",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audiocodec live", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except CodecError as exc:
        print(f"audiocodec live: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
