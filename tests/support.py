"""Shared test support: seeded test signals, SNR, the optional shared recordings, and JACK.

Used by the tests, the fuzz seed generator and the benchmarks (which put
``tests/`` on ``sys.path``), so every seeded signal has one definition.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from audiocodec.eval.metrics import snr_db

if TYPE_CHECKING:
    from audiocodec.oneshot import DecodeReport

__all__ = [
    "ROOT", "SHARED_AUDIO", "XrunCounter", "checkout_env", "jack_server", "jack_unavailable",
    "live_command", "music_like", "receive_all", "shared_files", "snr_db", "tones_and_burst",
]

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"


def music_like(
    sr: int = 48000, seconds: float = 1.0, channels: int = 2, seed: int = 0
) -> np.ndarray:
    """Seeded test signal: decaying harmonic tones, a little noise, one sharp attack."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    out = np.zeros((n, channels))
    for c in range(channels):
        f0 = 220.0 * (1.0 + 0.25 * c)
        for h in range(1, 8):
            out[:, c] += 0.3 / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.28))
        out[:, c] *= np.exp(-1.5 * t)
        out[:, c] += 0.01 * rng.standard_normal(n)
        k = n // 2
        out[k : k + 200, c] += 0.4 * rng.standard_normal(200) * np.exp(-np.arange(200) / 40)
    return out.astype(np.float32)


def tones_and_burst(
    n: int, channels: int, seed: int, *, rate: int = 48000, f0: float = 220.0, df: float = 110.0,
    amp: float = 0.3, noise: float = 0.005, burst: float = 0.0, step: float = 0.0,
    over: float = 0.0,
) -> np.ndarray:
    """Seeded float32 ``(n, channels)``: one tone per channel (``f0 + c * df``) plus noise.

    ``burst`` adds a 64-sample noise burst of that amplitude at the middle (a transient
    for block switching); ``step`` a 200-sample DC jump at a third; ``over`` sets 50
    samples at the middle to that value (beyond full scale: clipped, never wrapped).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = np.zeros((n, channels))
    for c in range(channels):
        x[:, c] = amp * np.sin(2 * np.pi * (f0 + df * c) * t) + noise * rng.standard_normal(n)
        if step:
            x[n // 3 : n // 3 + 200, c] += step
    if burst:
        k = n // 2
        m = min(64, n - k)
        x[k : k + m] += burst * rng.standard_normal((m, channels))
    if over:
        x[n // 2 : n // 2 + 50] = over
    return x.astype(np.float32)


def shared_files() -> list[Path]:
    """The shared recordings (``../shared/audio/*.wav``), or [] on a fresh clone."""
    if not SHARED_AUDIO.is_dir():
        return []
    return sorted(SHARED_AUDIO.glob("*.wav"))


# --------------------------------------------------------------------------- JACK
# The live tests and bench/bench_live.py run the app in a subprocess (PortAudio then
# initialises after the server is up) and talk to JACK from this process only through
# JACK-Client. The server itself is .ci/jack.sh's: jack_server() runs it for a benchmark.

ROOT = Path(__file__).resolve().parents[1]
JACK_SH = ROOT / ".ci" / "jack.sh"


def checkout_env(**extra: str) -> dict[str, str]:
    """``os.environ`` with this checkout first on ``PYTHONPATH``, plus ``extra``: the
    environment of a subprocess that runs the code under test."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def live_command(*args: str, hostapi: str | None = "JACK") -> list[str]:
    """The command line of ``audiocodec live [--hostapi HOSTAPI] ARGS`` in a fresh interpreter."""
    return [sys.executable, "-m", "audiocodec", "live", *(["--hostapi", hostapi] if hostapi else []), *args]


def jack_unavailable(rate: int, period: int) -> str | None:
    """Why the server named by ``JACK_DEFAULT_SERVER`` cannot serve a test at ``rate`` Hz and
    ``period`` frames (no server named, no JACK-Client, unreachable, other settings), or None."""
    name = os.environ.get("JACK_DEFAULT_SERVER")
    if not name:
        return "JACK_DEFAULT_SERVER is not set (start one with .ci/jack.sh)"
    try:
        import jack
    except ImportError:
        return "JACK-Client is not installed"
    try:
        client = jack.Client("audiocodec-test-probe", no_start_server=True)
    except jack.JackError as exc:
        return f"JACK server {name!r} is not reachable: {exc}"
    try:
        if client.samplerate != rate or client.blocksize != period:
            return (f"JACK server runs at {client.samplerate} Hz / {client.blocksize} frames,"
                    f" tests need {rate} / {period}")
    finally:
        client.close()
    return None


class XrunCounter:
    """A JACK client whose xrun callback counts the server's xruns."""

    def __init__(self) -> None:
        import jack

        self.count = 0
        self.t0 = time.monotonic()
        self.times: list[float] = []  # seconds after t0
        self.stamps: list[float] = []  # time.monotonic() of each xrun
        self.client = jack.Client("audiocodec-test-xruns", no_start_server=True)
        self.client.set_xrun_callback(self._on_xrun)
        self.client.activate()

    def _on_xrun(self, delayed_usecs: float) -> None:
        now = time.monotonic()
        self.count += 1
        self.stamps.append(now)
        self.times.append(round(now - self.t0, 3))

    def during(self, summary: dict) -> int:
        """Xruns while the live app's stream ran (its summary holds the monotonic span). The
        app's start-up (a Python process importing numpy and numba) can starve the dummy
        backend before its stream even exists."""
        start, stop = summary["stream_start_monotonic"], summary["stream_stop_monotonic"]
        return sum(start <= t <= stop + 0.1 for t in self.stamps)

    def __repr__(self) -> str:
        return f"XrunCounter(count={self.count}, seconds after start={self.times})"

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


# jack_start in a shell that stays up (holding the server) until its stdin closes
_JACK_HOLD = 'source "$0" && jack_start "$1" "$2" "$3" || exit 1; echo "rt=$JACK_CI_RT"; read -r _; jack_stop'


@contextlib.contextmanager
def jack_server(name: str, period: int, rate: int = 48000, *, realtime: bool = True) -> Iterator[bool]:
    """Run a JACK dummy server with ``.ci/jack.sh`` for the ``with`` block; yield whether it
    got real-time scheduling (tried first when ``realtime``). Stopped by its pid at the end."""
    env = dict(os.environ, JACK_CI_REALTIME="1" if realtime else "0")
    with tempfile.TemporaryFile("w+") as log:
        shell = subprocess.Popen(["bash", "-c", _JACK_HOLD, str(JACK_SH), name, str(period), str(rate)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                 env=env)
        assert shell.stdin is not None and shell.stdout is not None
        ready = shell.stdout.readline().strip()
        try:
            if not ready.startswith("rt="):
                log.seek(0)
                raise RuntimeError(f"jackd -n {name} did not start: {log.read().strip()}")
            yield ready == "rt=1"
        finally:
            shell.stdin.close()  # jack_stop
            shell.wait(30)


#: Seconds any single hostile decode may take (they take milliseconds).
DECODE_TIME_LIMIT = 5.0


def safe_decode(data: bytes) -> tuple[np.ndarray | None, DecodeReport, float]:
    """Decode hostile bytes: the pcm (None when a CodecError with a message was raised), the
    report and the seconds taken; asserts the time limit and the output's dtype and shape."""
    import audiocodec
    from audiocodec.errors import CodecError
    from audiocodec.oneshot import DecodeReport

    rep = DecodeReport()
    t0 = time.perf_counter()
    try:
        y, _ = audiocodec.decode(data, report=rep)
    except CodecError as e:
        assert str(e), "errors must say what was wrong"
        y = None
    dt = time.perf_counter() - t0
    assert dt < DECODE_TIME_LIMIT, f"decode took {dt:.1f} s"
    if y is not None:
        assert y.dtype == np.float32 and y.ndim == 2 and y.shape[1] == rep.channels
    return y, rep, dt



def receive_all(datagrams: list[bytes], drop: set[int] = frozenset(), **receiver: object
                ) -> tuple[object, np.ndarray]:
    """Feed every datagram but those at the ``drop`` positions to a fresh
    ``net.Receiver(max_wait=10.0, **receiver)`` at time 0, then finish it: ``(receiver, pcm)``."""
    from audiocodec import net

    opts: dict[str, object] = {"max_wait": 10.0, **receiver}
    rx = net.Receiver(**opts)  # type: ignore[arg-type]
    out: list[np.ndarray] = []
    for k, d in enumerate(datagrams):
        if k not in drop:
            out += rx.feed(d, 0.0)
    out += rx.finish()
    return rx, np.concatenate(out)
