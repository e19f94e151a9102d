"""``audiocodec live --input-file F --output-file R``: the live loop without a sound card.

The same :class:`~audiocodec_app.loop.LiveLoop` callback runs, driven from the main
thread as fast as the machine allows instead of by a device clock: the file is the
microphone, ``R`` is the speaker. Nothing imports sounddevice, so the demo runs on a
headless machine (CI, a server). Timing figures (xruns, latency) are meaningless here
and the summary gives none; packets, loss and bitrate are as live.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from audiocodec.errors import InputError

from .files import FileFeeder
from .loop import LiveLoop, make_codec, plan_buffering
from .ring import RingBuffer

if TYPE_CHECKING:
    from .live import LiveOptions

__all__ = ["run_headless"]


class _Stop(Exception):
    """The loop's end (the file's tail decoded, or --duration reached)."""


def _check(opts: LiveOptions) -> None:
    if not opts.input_file:
        raise InputError("--output-file needs --input-file (without a sound card there is no microphone)")
    if opts.loop and opts.duration is None:
        raise InputError("--loop with --output-file needs --duration (it would never end)")
    for name, value in (("--input-device", opts.input_device), ("--output-device", opts.output_device),
                        ("--hostapi", opts.hostapi), ("--latency", opts.latency),
                        ("--record", opts.record)):
        if value is not None:
            raise InputError(f"{name} does not apply with --output-file (no sound card is used)")


def run_headless(opts: LiveOptions) -> int:
    """Run the loop from ``opts.input_file`` into ``opts.output_file``; return the exit status."""
    import soundfile as sf

    from audiocodec.files import atomic_output

    _check(opts)
    assert opts.input_file is not None and opts.output_file is not None
    try:
        info = sf.info(opts.input_file)
    except (RuntimeError, OSError) as exc:
        raise InputError(f"cannot read --input-file {opts.input_file!r}: {exc}") from exc
    rate = int(opts.samplerate or info.samplerate)
    channels = int(opts.channels or info.channels)
    if rate != info.samplerate:
        raise InputError(f"--input-file has {info.samplerate} Hz but --samplerate is {rate}")
    enc = dec = None
    prime = 0
    if not opts.bypass:
        prime = plan_buffering(*make_codec(opts.mode, rate, channels, opts.bitrate, opts.frame_size),
                               opts.blocksize)
        enc, dec = make_codec(opts.mode, rate, channels, opts.bitrate, opts.frame_size)
    source = RingBuffer(max(8 * opts.blocksize, rate // 2), channels)
    loop = LiveLoop(samplerate=rate, channels=channels, blocksize=opts.blocksize, encoder=enc,
                    decoder=dec, prime_frames=prime, loss=opts.loss, seed=opts.seed, source=source,
                    stop_after_frames=int(round(opts.duration * rate)) if opts.duration else None,
                    stop_exception=_Stop)
    feeder = FileFeeder(opts.input_file, source, loop, repeat=opts.loop)
    silence = np.zeros((opts.blocksize, channels), dtype=np.float32)
    out = np.zeros((opts.blocksize, channels), dtype=np.float32)
    with atomic_output(opts.output_file, force=True) as tmp, \
            sf.SoundFile(tmp, "w", rate, channels, format=(fmt := _format(opts.output_file)),
                         subtype="FLOAT" if fmt == "WAV" else None) as sink:
        while True:
            feeder.fill()
            try:
                loop.callback(silence, out, opts.blocksize, None, None)
            except _Stop:
                sink.write(out)
                break
            sink.write(out)
    _report(opts, loop)
    return 0


def _format(path: str) -> str:
    from audiocodec.files import output_format

    return output_format(path)


def _report(opts: LiveOptions, loop: LiveLoop) -> None:
    summary: dict[str, Any] = {
        "mode": "bypass" if opts.bypass else opts.mode, "callbacks": loop.callbacks,
        "packets": loop.packets, "packets_lost": loop.packets_lost,
        "bitrate_kbps": round(loop.bitrate_kbps(), 3),
        "audio_seconds": round(loop.frames_done / loop.samplerate, 3),
        "codec_errors": loop.codec_errors, "headless": True,
    }
    if opts.summary_json:
        with open(opts.summary_json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
            fh.write("\n")
    if not opts.quiet:
        print(f"live (headless): {summary['audio_seconds']:.2f} s to {opts.output_file}, "
              f"{summary['bitrate_kbps']:.1f} kbit/s, lost {loop.packets_lost}/{loop.packets}",
              file=sys.stderr)

