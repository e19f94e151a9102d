"""``audiocodec live``: microphone -> Encoder -> lossy channel -> Decoder -> speaker.

This module runs one live session: it picks the devices and the stream format,
plans the codec's buffering, opens one sounddevice duplex stream whose callback
(:class:`~audiocodec_app.loop.LiveLoop`) drives the whole loop, shows a status
line and reports a summary::

    indata (or --input-file) -> Encoder -> [simulated loss] -> Decoder -> FIFO -> outdata
                                                                            \\-> --record

``latency_ms`` in the summary is the FIFO priming (see :mod:`audiocodec_app.loop`)
plus the device's input and output latency (two periods through JACK).
The options are parsed by :mod:`audiocodec.cli.live`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiocodec.errors import DeviceError, InputError

from .audio_mode import enter_audio_mode, leave_audio_mode
from .devices import find_hostapi, import_sounddevice, list_devices, pick_device, require_channels
from .files import FileFeeder, Recorder
from .loop import MAX_FRAMES, LiveLoop, make_codec, plan_buffering
from .ring import RingBuffer
from .xruns import XrunMonitor

__all__ = ["SUMMARY_KEYS", "LiveOptions", "run_live"]

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


@dataclass(frozen=True)
class LiveOptions:
    """What ``audiocodec live`` was asked to do (one field per command-line option)."""

    mode: str = "mdct"
    bitrate: int = 64000
    frame_size: int | None = None
    blocksize: int = 512
    loss: float = 0.0
    seed: int = 0
    input_device: int | str | None = None
    output_device: int | str | None = None
    hostapi: str | None = None
    samplerate: int | None = None
    channels: int | None = None
    latency: float | None = None
    input_file: str | None = None
    loop: bool = False
    record: str | None = None
    duration: float | None = None
    bypass: bool = False
    summary_json: str | None = None
    quiet: bool = False
    list_devices: bool = False
    output_file: str | None = None


@dataclass(frozen=True)
class _Format:
    """The devices and the stream format chosen for them."""

    in_dev: dict | None  # None: --input-file alone, an output-only stream
    out_dev: dict
    on_jack: bool
    samplerate: int
    channels: int
    in_channels: int


@dataclass
class _Run:
    """How the stream ran (filled by :func:`_run_stream`)."""

    interrupted: bool = False
    wall0: float = 0.0
    stopped: float = 0.0
    wall: float = 0.0


def run_live(opts: LiveOptions) -> int:
    """Run a live session; return the exit status.

    Raises :class:`~audiocodec.errors.DeviceError` when a device is missing or
    busy and :class:`~audiocodec.errors.InputError` for bad options; the CLI
    turns both into one line on stderr.
    """
    if opts.list_devices:
        list_devices()
        return 0
    if opts.output_file:
        from .headless import run_headless

        return run_headless(opts)
    sd = import_sounddevice()
    fmt = _choose_format(sd, opts)
    # Compile the kernels and measure the FIFO priming with a throw-away pair,
    # then start the stream with a fresh pair whose state matches an offline run.
    enc = dec = None
    prime = 0
    if not opts.bypass:
        warm_enc, warm_dec = make_codec(opts.mode, fmt.samplerate, fmt.channels, opts.bitrate,
                                        opts.frame_size)
        prime = plan_buffering(warm_enc, warm_dec, opts.blocksize)
        enc, dec = make_codec(opts.mode, fmt.samplerate, fmt.channels, opts.bitrate, opts.frame_size)
    loop, feeder, recorder = _build_loop(sd, opts, fmt, enc, dec, prime)
    finished = threading.Event()
    stream = _open_stream(sd, opts, fmt, loop, finished)

    xrun_monitor = XrunMonitor(lambda: loop.callbacks)
    use_jack_xruns = fmt.on_jack and xrun_monitor.start()
    stream_latency = stream.latency
    if isinstance(stream_latency, tuple | list):
        device_latency_s = float(stream_latency[0]) + float(stream_latency[1])
    else:
        device_latency_s = float(stream_latency)
    latency_ms = 1000.0 * (device_latency_s + prime / fmt.samplerate)

    def xruns() -> int:
        if use_jack_xruns:
            return xrun_monitor.count
        return loop.input_overflows + loop.output_underflows

    status = _Status(loop, xruns, latency_ms, opts.quiet)
    ran = _run_stream(sd, stream, finished, status, feeder, recorder, xrun_monitor)
    for thread in (feeder, recorder):
        if thread is not None and thread.error is not None:
            raise InputError(f"{thread.name} failed: {thread.error}")

    mean, p99 = loop.load_stats()
    late_p99, late_max, late_near = loop.start_lateness(xrun_monitor.at)
    summary: dict[str, Any] = {
        "callbacks": loop.callbacks,
        "xruns": xruns(),
        "input_overflows": loop.input_overflows,
        "output_underflows": loop.output_underflows,
        "packets_lost": loop.packets_lost,
        "latency_ms": round(latency_ms, 3),
        "callback_load_mean": round(mean, 5),
        "callback_load_p99": round(p99, 5),
        "callback_load_max": round(loop.load_max(), 5),
        "bitrate_kbps": round(loop.bitrate_kbps(), 3),
        # extras: how the figures above came about
        "xrun_source": "jack" if use_jack_xruns else "portaudio",
        "xrun_at_callbacks": xrun_monitor.at,
        # did our callback overrun there? (its largest load within 2 callbacks of an xrun)
        "callback_load_near_xruns": round(loop.load_max(xrun_monitor.at), 5) if xrun_monitor.at else None,
        # did the callback start late there? (a share of the period: the driver, the scheduler)
        "callback_start_late_p99": round(late_p99, 5),
        "callback_start_late_max": round(late_max, 5),
        "callback_start_late_near_xruns": None if late_near is None else round(late_near, 5),
        **_extras(opts, fmt, loop, enc, prime, device_latency_s, ran),
    }
    if opts.summary_json:
        with open(opts.summary_json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
            fh.write("\n")
    if not opts.quiet:
        print(
            f"live: {summary['callbacks']} callbacks, {summary['xruns']} xruns, "
            f"load mean {100 * mean:.1f}% p99 {100 * p99:.1f}%, latency {latency_ms:.1f} ms, "
            f"{summary['bitrate_kbps']:.1f} kbit/s, lost {loop.packets_lost}/{loop.packets}",
            file=sys.stderr,
        )
    return 0


def _choose_format(sd: Any, opts: LiveOptions) -> _Format:
    """Pick the devices, then the rate and channels (options, else the input file's, else the
    device's), and check that the devices and the file fit them."""
    hostapi = find_hostapi(sd, opts.hostapi) if opts.hostapi else None
    # With --input-file only an output is needed. The stream stays duplex when there is an
    # input device (timed exactly as a live one: input plus output latency); without one it is
    # output-only.
    try:
        in_dev: dict | None = pick_device(sd, opts.input_device, "input", hostapi)
    except DeviceError:
        if not opts.input_file or opts.input_device is not None:
            raise
        in_dev = None
    out_dev = pick_device(sd, opts.output_device, "output", hostapi)
    on_jack = "jack" in sd.query_hostapis(out_dev["hostapi"])["name"].lower()

    file_rate = file_channels = None
    if opts.input_file:
        import soundfile as sf

        try:
            info = sf.info(opts.input_file)
        except (RuntimeError, OSError) as exc:
            raise InputError(f"cannot read --input-file {opts.input_file!r}: {exc}") from exc
        file_rate, file_channels = int(info.samplerate), int(info.channels)
    samplerate = int(opts.samplerate or file_rate or (in_dev or out_dev)["default_samplerate"])
    channels = int(opts.channels or file_channels or 2)
    if file_rate is not None and file_rate != samplerate:
        raise InputError(f"--input-file has {file_rate} Hz but the stream runs at {samplerate} Hz")
    if file_channels is not None and file_channels not in (1, channels):
        raise InputError(f"--input-file has {file_channels} channels but the stream has {channels}")
    if in_dev is not None and not opts.input_file:
        require_channels(in_dev, "input", channels)
    require_channels(out_dev, "output", channels)
    in_channels = min(channels, int(in_dev["max_input_channels"])) or 1 if in_dev else 0
    return _Format(in_dev, out_dev, on_jack, samplerate, channels, in_channels)


def _build_loop(
    sd: Any, opts: LiveOptions, fmt: _Format, enc: Any, dec: Any, prime: int
) -> tuple[LiveLoop, FileFeeder | None, Recorder | None]:
    """The callback's state with its rings, and the file threads (not started yet)."""
    rate, blocksize = fmt.samplerate, opts.blocksize
    source = RingBuffer(max(8 * blocksize, rate // 2), fmt.channels) if opts.input_file else None
    record = RingBuffer(max(8 * blocksize, 4 * rate), fmt.channels) if opts.record else None
    loop = LiveLoop(
        samplerate=rate,
        channels=fmt.channels,
        blocksize=blocksize,
        encoder=enc,
        decoder=dec,
        prime_frames=prime,
        loss=opts.loss,
        seed=opts.seed,
        source=source,
        record=record,
        stop_after_frames=int(round(opts.duration * rate)) if opts.duration else None,
        stop_exception=sd.CallbackStop,
    )
    feeder = None
    if opts.input_file and source is not None:
        feeder = FileFeeder(opts.input_file, source, loop, repeat=opts.loop)
        feeder.fill()
    recorder = Recorder(opts.record, record, rate) if opts.record and record else None
    return loop, feeder, recorder


def _open_stream(sd: Any, opts: LiveOptions, fmt: _Format, loop: LiveLoop, finished: threading.Event) -> Any:
    common = {"samplerate": fmt.samplerate, "blocksize": opts.blocksize, "dtype": "float32",
              "latency": opts.latency, "finished_callback": finished.set}
    try:
        if fmt.in_dev is None:  # --input-file feeds the loop: no microphone, output only
            silence = np.zeros((MAX_FRAMES, fmt.channels), dtype=np.float32)

            def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
                loop.callback(silence[:frames], outdata, frames, time_info, status)

            return sd.OutputStream(device=fmt.out_dev["index"], channels=fmt.channels,
                                   callback=callback, **common)
        return sd.Stream(device=(fmt.in_dev["index"], fmt.out_dev["index"]),
                         channels=(fmt.in_channels, fmt.channels), callback=loop.callback, **common)
    except (sd.PortAudioError, ValueError) as exc:
        src = fmt.in_dev["name"] if fmt.in_dev else "--input-file"
        raise DeviceError(
            f"cannot open audio stream ({src!r} -> {fmt.out_dev['name']!r} "
            f"at {fmt.samplerate} Hz, block {opts.blocksize}): {exc}"
        ) from exc


def _run_stream(
    sd: Any,
    stream: Any,
    finished: threading.Event,
    status: _Status,
    feeder: FileFeeder | None,
    recorder: Recorder | None,
    xrun_monitor: XrunMonitor,
) -> _Run:
    """Start the threads and the stream, show the status until the callback stops or Ctrl-C,
    then stop and close everything (stream first, so the threads see no more data)."""
    ran = _Run()
    if feeder is not None:
        feeder.start()
    if recorder is not None:
        recorder.start()
    old_switch = enter_audio_mode()
    ran.wall0 = time.monotonic()
    try:
        try:
            stream.start()
        except sd.PortAudioError as exc:
            raise DeviceError(f"cannot start audio stream: {exc}") from exc
        try:
            while not finished.wait(0.25):
                status.show()
        except KeyboardInterrupt:
            ran.interrupted = True
    finally:
        try:
            stream.stop()
            ran.stopped = time.monotonic()
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
    ran.wall = time.monotonic() - ran.wall0
    return ran


def _extras(
    opts: LiveOptions, fmt: _Format, loop: LiveLoop, enc: Any, prime: int, device_latency_s: float,
    ran: _Run,
) -> dict[str, Any]:
    """The summary's figures beyond :data:`SUMMARY_KEYS`: how those came about."""
    rate = fmt.samplerate
    return {
        "mode": "bypass" if opts.bypass else opts.mode,
        "samplerate": rate,
        "channels": fmt.channels,
        "blocksize": opts.blocksize,
        "frame_size": int(enc.frame_size) if enc is not None else 0,
        "codec_delay_samples": int(enc.delay) if enc is not None else 0,
        "serial": getattr(enc, "serial", None),
        "buffer_latency_samples": prime,
        "device_latency_ms": round(1000.0 * device_latency_s, 3),
        "packets": loop.packets,
        "loss": opts.loss,
        "fifo_underruns": loop.fifo_underruns,
        "fifo_overruns": loop.fifo_overruns,
        "file_underruns": loop.file_underruns,
        "record_overruns": loop.record_overruns,
        "codec_errors": loop.codec_errors,
        "other_status": loop.other_status,
        "audio_seconds": round(loop.frames_done / rate, 3),
        "wall_seconds": round(ran.wall, 3),
        # CLOCK_MONOTONIC (shared by every process on the machine): lets an outside xrun
        # counter tell xruns while the stream ran from those during this program's start-up
        "stream_start_monotonic": ran.wall0,
        "stream_stop_monotonic": ran.stopped,
        "interrupted": ran.interrupted,
    }


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
