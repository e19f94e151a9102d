"""Real codecs through ffmpeg, for comparison: encode a WAV, decode it back, time both.

Peers (name: ffmpeg encoder, container):

* ``mp3``: ``libmp3lame`` CBR (``-b:a``), ``.mp3``
* ``aac``: ffmpeg's native ``aac``, ``.m4a``
* ``opus``: ``libopus`` (its default VBR at ``-b:a``), ``.opus`` (Ogg)
* ``vorbis``: ``libvorbis`` (its managed bitrate mode at ``-b:a``), ``.ogg``
* ``adpcm``: ``adpcm_ima_wav`` (4 bits per sample, no bitrate option), ``.wav``

Each encode and decode is timed as the whole ffmpeg process (start-up, file
reading and writing included), which is what a user waits for. The actual
bitrate is the output file's size (container and all) over the input's
duration. The decoded signal comes back as float32 at the input's rate and
channel count; its delay is left to :func:`audiocodec.eval.metrics.align`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import CodecError

PEERS: dict[str, tuple[str, str]] = {
    "mp3": ("libmp3lame", ".mp3"),
    "aac": ("aac", ".m4a"),
    "opus": ("libopus", ".opus"),
    "vorbis": ("libvorbis", ".ogg"),
    "adpcm": ("adpcm_ima_wav", ".wav"),
}
LABELS = {"mp3": "LAME mp3", "aac": "ffmpeg aac", "opus": "libopus", "vorbis": "libvorbis",
          "adpcm": "ffmpeg IMA ADPCM"}
FIXED_RATE = {"adpcm"}  # peers whose bitrate is set by the format, not an option


class PeerError(CodecError):
    """An ffmpeg run failed."""


class PeerUnavailable(PeerError):
    """ffmpeg (or one of its encoders) is not installed."""


@lru_cache(maxsize=1)
def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


@lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    exe = ffmpeg_path()
    if exe is None:
        return "ffmpeg not found"
    out = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else "ffmpeg (unknown version)"


@lru_cache(maxsize=1)
def ffmpeg_version_short() -> str:
    """``ffmpeg version X`` without the copyright tail, for reports."""
    return ffmpeg_version().split(" Copyright")[0]


@lru_cache(maxsize=1)
def _encoders() -> frozenset[str]:
    exe = ffmpeg_path()
    if exe is None:
        return frozenset()
    out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] == "A":
            names.add(parts[1])
    return frozenset(names)


def available(name: str) -> bool:
    """True when ffmpeg is installed with this peer's encoder."""
    return name in PEERS and PEERS[name][0] in _encoders()


def missing_note(names: list[str]) -> str | None:
    """One line saying which requested peers cannot run, or None."""
    if ffmpeg_path() is None:
        return ("note: ffmpeg is not installed, so no peer codecs (mp3, aac, opus, ima adpcm) "
                "are measured; install ffmpeg (e.g. apt-get install ffmpeg) to compare")
    gone = [n for n in names if not available(n)]
    if gone:
        return f"note: this ffmpeg lacks the encoder(s) for {', '.join(gone)}; skipped"
    return None


@dataclass
class PeerRun:
    """One peer encode + decode."""

    pcm: NDArray[np.float32]  # (frames, channels) at the input's rate
    nbytes: int
    bitrate: float  # bits per second, file size over input duration
    encode_s: float
    decode_s: float
    path: Path


def _run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        msg = p.stderr.decode(errors="replace").strip().splitlines()
        raise PeerError(f"ffmpeg failed ({' '.join(cmd[:6])}...): {msg[-1] if msg else ''}")
    return dt


def lowest_bitrate(name: str, rate: int) -> int:
    """The lowest nominal bitrate worth asking ``name`` for at ``rate``: LAME clamps anything
    lower to 32 kbit/s at MPEG-1 rates (32-48 kHz), so lower asks only repeat that file."""
    return 32000 if name == "mp3" and rate >= 32000 else 0


def encode_options(name: str, bitrate: int | None) -> list[str]:
    """The encoder options of peer ``name`` (they decide its output; part of cache keys)."""
    codec, ext = PEERS[name]
    opts = ["-c:a", codec]
    if name not in FIXED_RATE and bitrate:
        opts += ["-b:a", str(int(bitrate))]
    return opts + [f"*{ext}"]


def encode_cmd(name: str, src: Path, dst: Path, bitrate: int | None) -> list[str]:
    """The ffmpeg command line that encodes ``src`` with peer ``name``."""
    exe = ffmpeg_path()
    if exe is None or not available(name):
        raise PeerUnavailable(missing_note([name]) or name)
    return [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(src),
            *encode_options(name, bitrate)[:-1], str(dst)]


def decode_cmd(src: Path, dst: Path, rate: int, channels: int, pcm: str = "pcm_f32le"
               ) -> list[str]:
    """ffmpeg command decoding ``src`` to a WAV (``pcm`` codec) at ``rate``/``channels``."""
    exe = ffmpeg_path()
    if exe is None:
        raise PeerUnavailable(missing_note(["mp3"]) or "ffmpeg")
    return [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(src),
            "-ac", str(channels), "-ar", str(rate), "-c:a", pcm, str(dst)]


def run_peer(name: str, src: Path, bitrate: int | None, workdir: Path, *, rate: int,
             channels: int, frames: int) -> PeerRun:
    """Encode ``src`` (a WAV) with peer ``name`` at ``bitrate``, decode it, time both."""
    import soundfile as sf

    _codec, ext = PEERS[name]
    tag = f"{src.stem}.{name}{'' if name in FIXED_RATE else f'.{int(bitrate or 0)}'}"
    coded = workdir / f"{tag}{ext}"
    back = workdir / f"{tag}.dec.wav"
    t_enc = _run(encode_cmd(name, src, coded, bitrate))
    t_dec = _run(decode_cmd(coded, back, rate, channels))
    pcm, _sr = sf.read(str(back), dtype="float32", always_2d=True)
    nbytes = coded.stat().st_size
    seconds = frames / rate
    back.unlink()
    return PeerRun(pcm, nbytes, nbytes * 8 / seconds, t_enc, t_dec, coded)
