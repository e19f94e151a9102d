"""``audiocodec live`` against a real JACK server (dummy backend, real-time pace).

Needs a running server named by ``JACK_DEFAULT_SERVER`` (``.ci/jack.sh``
starts one at 48 kHz, period 512); otherwise every test here skips with the
reason. The live app runs in a subprocess, so PortAudio initialises after the
server is up; this process talks to JACK only through JACK-Client (xrun
counting and a tester client), never through PortAudio.

What is checked: zero xruns (counted by our own JACK client) over 10 s at
period 512 in both modes; what reaches the speaker equals the offline decode
of what went in, delayed by the latency the app reports; through JACK the
end-to-end latency is exactly two periods plus the app's codec buffering;
simulated loss is survived, reported and concealed exactly as offline.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audiocodec_app.loop import LOSS_SLOTS, start_lateness  # LOSS_SLOTS: the loss pattern the app precomputes
from support import ROOT, XrunCounter, checkout_env, jack_unavailable, live_command

import audiocodec

# .ci/jack.sh gives the server real-time scheduling where the system allows it; the Python
# side of every client still needs the GIL and a CPU, so on a shared 2-core VM another
# process can cost an xrun. A failing run is repeated (at most three times) on its own; every
# attempt must pass all of its checks, zero xruns included.
pytestmark = [pytest.mark.jack, pytest.mark.flaky(reruns=3)]

RATE = 48000
PERIOD = 512
SUMMARY_KEYS = {
    "callbacks",
    "xruns",
    "input_overflows",
    "output_underflows",
    "packets_lost",
    "latency_ms",
    "callback_load_mean",
    "callback_load_p99",
    "bitrate_kbps",
}
# Zero in CI. A developer whose machine is busy with other work can raise it: contention
# shows as xruns (more so when the server could not get real-time scheduling).
MAX_XRUNS = int(os.environ.get("AUDIOCODEC_TEST_MAX_XRUNS", "0"))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def jack_server() -> str:
    reason = jack_unavailable(RATE, PERIOD)
    if reason is not None:
        pytest.skip(reason)
    return os.environ["JACK_DEFAULT_SERVER"]


@pytest.fixture
def xruns(jack_server):
    counter = XrunCounter()
    yield counter
    counter.close()


def _signal(seconds: float, seed: int = 7) -> np.ndarray:
    """Seeded stereo test signal: gliding tones, noise bursts and a little silence."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f = 300.0 + 200.0 * np.sin(2 * np.pi * 0.3 * t)
    left = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / RATE)
    right = 0.2 * np.sin(2 * np.pi * 1000.0 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    x = np.stack([left, right], axis=1)
    bursts = (np.sin(2 * np.pi * 1.1 * t) > 0.8)[:, None]
    x += bursts * 0.05 * rng.standard_normal((n, 2))
    x[int(0.4 * n) : int(0.45 * n)] = 0.0
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def signal_file(tmp_path_factory) -> tuple[Path, np.ndarray]:
    x = _signal(3.0)
    path = tmp_path_factory.mktemp("live") / "signal.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    return path, x


def _run_live(*args: str, timeout: float = 90.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        live_command(*args),
        cwd=ROOT,
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _live_with_summary(tmp_path: Path, *args: str) -> dict:
    summary_path = tmp_path / "summary.json"
    proc = _run_live(*args, "--summary-json", str(summary_path))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(summary_path.read_text())
    assert SUMMARY_KEYS <= summary.keys()
    return summary


def _offline_live_decode(
    x: np.ndarray, summary: dict, frames: int, lost: set[int] | None = None
) -> np.ndarray:
    """What the live loop's decoder emits for input ``x`` fed in PERIOD-frame blocks."""
    mode = summary["mode"]
    enc = audiocodec.Encoder(
        RATE,
        x.shape[1],
        bitrate=64000,
        mode=mode,
        low_delay=(mode == "mdct"),
        serial=summary["serial"],  # the stream serial seeds the decoder's noise fill
    )
    dec = audiocodec.Decoder(enc.header)
    out: list[np.ndarray] = []
    index = 0
    for start in range(0, frames, PERIOD):
        block = x[start : start + PERIOD]
        if len(block) < PERIOD:
            block = np.concatenate([block, np.zeros((PERIOD - len(block), x.shape[1]), np.float32)])
        for packet in enc.encode(block):
            out.append(dec.decode(None if lost and index in lost else packet))
            index += 1
    return np.concatenate(out)


def _assert_matches(recorded: np.ndarray, expected: np.ndarray, lag: int) -> None:
    n = min(len(recorded) - lag, len(expected))
    assert n > RATE  # at least a second to compare
    got = recorded[lag : lag + n]
    want = expected[:n]
    assert np.all(recorded[:lag] == 0.0)  # the primed silence
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("mode", ["mdct", "adpcm"])
def test_live_file_10s_no_xruns_matches_offline_decode(tmp_path, signal_file, xruns, mode):
    path, x = signal_file
    rec = tmp_path / "rec.wav"
    summary = _live_with_summary(
        tmp_path,
        "--mode",
        mode,
        "--blocksize",
        str(PERIOD),
        "--input-file",
        str(path),
        "--loop",
        "--duration",
        "10",
        "--record",
        str(rec),
        "-q",
    )
    assert xruns.during(summary) <= MAX_XRUNS, xruns
    assert summary["xruns"] <= MAX_XRUNS and summary["xrun_source"] == "jack"
    assert summary["input_overflows"] <= MAX_XRUNS and summary["output_underflows"] <= MAX_XRUNS
    assert summary["fifo_underruns"] == 0 and summary["file_underruns"] == 0
    assert summary["record_overruns"] == 0 and summary["codec_errors"] == 0
    assert summary["callbacks"] == math.ceil(10 * RATE / PERIOD)
    assert summary["packets_lost"] == 0
    assert 0 < summary["callback_load_mean"] <= summary["callback_load_p99"]
    assert MAX_XRUNS > 0 or summary["callback_load_p99"] < 1.0
    assert 0 <= summary["callback_start_late_p99"] <= summary["callback_start_late_max"]
    assert summary["bitrate_kbps"] > 0
    lag = summary["buffer_latency_samples"]
    assert summary["latency_ms"] == pytest.approx(1000 * (2 * PERIOD + lag) / RATE, abs=1e-3)
    if mode == "mdct":
        assert summary["codec_delay_samples"] <= RATE // 100  # low delay: at most 10 ms

    recorded, rate = sf.read(rec, dtype="float32", always_2d=True)
    assert rate == RATE and len(recorded) == summary["callbacks"] * PERIOD
    looped = np.tile(x, (math.ceil(len(recorded) / len(x)) + 1, 1))
    expected = _offline_live_decode(looped, summary, len(recorded))
    _assert_matches(recorded, expected, lag)


def test_start_lateness_finds_a_late_callback_on_a_drifting_clock():
    """A seeded grid of callback starts, a device clock 0.1 % slow against ours, jitter under
    2 % of a period and one callback 80 % of a period late: the late one is found, at its
    lateness, and nothing else scores much more than the jitter."""
    period = PERIOD / RATE
    k = np.arange(4000)
    jitter = np.random.default_rng(3).uniform(0.0, 0.02, len(k))
    starts = 100.0 + k * period * 1.001 + jitter * period
    starts[1234] += 0.8 * period
    late = start_lateness(starts, period)
    assert int(np.argmax(late)) == 1234
    assert late[1234] == pytest.approx(0.8, abs=0.03)
    assert np.delete(late, 1234).max() < 0.05 and late.min() >= 0.0
    fast = start_lateness(100.0 + k * period * 0.999, period)  # a fast device clock
    assert fast.max() < 1e-6


def test_live_loss_is_survived_reported_and_concealed(tmp_path, signal_file, xruns):
    path, x = signal_file
    rec = tmp_path / "rec.wav"
    summary = _live_with_summary(
        tmp_path,
        "--mode",
        "mdct",
        "--input-file",
        str(path),
        "--loss",
        "0.2",
        "--seed",
        "3",
        "--record",
        str(rec),
        "-q",
    )
    assert xruns.during(summary) <= MAX_XRUNS and summary["xruns"] <= MAX_XRUNS, xruns
    packets, lost = summary["packets"], summary["packets_lost"]
    assert 0.12 * packets < lost < 0.28 * packets
    # the app draws its loss pattern from the seed; conceal the same packets offline
    pattern = np.random.default_rng(3).random(LOSS_SLOTS) < 0.2
    lost_set = {i for i in range(packets) if pattern[i % LOSS_SLOTS]}
    assert len(lost_set) == lost
    recorded, _ = sf.read(rec, dtype="float32", always_2d=True)
    assert np.isfinite(recorded).all()
    expected = _offline_live_decode(x, summary, len(recorded), lost_set)
    _assert_matches(recorded[: len(x)], expected, summary["buffer_latency_samples"])


def test_live_bypass_is_transparent(tmp_path, signal_file, xruns):
    path, x = signal_file
    rec = tmp_path / "rec.wav"
    summary = _live_with_summary(
        tmp_path,
        "--bypass",
        "--input-file",
        str(path),
        "--duration",
        "2",
        "--record",
        str(rec),
        "-q",
    )
    assert xruns.during(summary) <= MAX_XRUNS and summary["xruns"] <= MAX_XRUNS, xruns
    assert summary["packets_lost"] == 0 and summary["buffer_latency_samples"] == 0
    assert summary["latency_ms"] == pytest.approx(1000 * 2 * PERIOD / RATE, abs=1e-3)
    recorded, _ = sf.read(rec, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(recorded, x[: len(recorded)])


@pytest.mark.parametrize("mode", ["bypass", "mdct"])
def test_live_latency_through_jack_is_two_periods_plus_codec(tmp_path, jack_server, xruns, mode):
    """A tester client plays into the app's input ports and records its output ports.

    Bypass must come back bit-exact after exactly two periods; the low-delay
    MDCT after two periods plus the app's buffering (codec delay + framing),
    which the file test above shows is exact inside the app.
    """
    import jack

    # broadband, so the cross-correlation peak is one sample wide
    x = (0.1 * np.random.default_rng(9).standard_normal((int(1.5 * RATE), 2))).astype(np.float32)
    lead_in = RATE // 2
    play = np.concatenate([np.zeros((lead_in, 2), np.float32), x])
    captured = np.zeros((20 * RATE, 2), np.float32)
    state = {"pos": -1, "cap": 0}
    tester = jack.Client("audiocodec-tester", no_start_server=True)
    outs = [tester.outports.register(f"out_{k}") for k in range(2)]
    ins = [tester.inports.register(f"in_{k}") for k in range(2)]

    @tester.set_process_callback
    def process(frames: int) -> None:
        pos, cap = state["pos"], state["cap"]
        for k in range(2):
            buf = outs[k].get_array()
            buf.fill(0.0)
            if 0 <= pos < len(play):
                chunk = play[pos : pos + frames, k]
                buf[: len(chunk)] = chunk
            if pos >= 0 and cap + frames <= len(captured):
                captured[cap : cap + frames, k] = ins[k].get_array()
        if pos >= 0:
            state["pos"] = pos + frames
            state["cap"] = cap + frames

    tester.activate()
    summary_path = tmp_path / "summary.json"
    proc = subprocess.Popen(
        live_command(
            *(["--bypass"] if mode == "bypass" else ["--mode", mode]),
            "--blocksize",
            str(PERIOD),
            "--duration",
            "30",
            "--summary-json",
            str(summary_path),
            "-q",
        ),
        cwd=ROOT,
        env=checkout_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        app_in: list = []
        while time.monotonic() < deadline and proc.poll() is None:
            app_in = tester.get_ports("PortAudio.*:in_", is_audio=True, is_input=True)
            app_out = tester.get_ports("PortAudio.*:out_", is_audio=True, is_output=True)
            if len(app_in) >= 2 and len(app_out) >= 2:
                break
            time.sleep(0.05)
        assert len(app_in) >= 2, "the live app's JACK ports did not appear"
        for k in range(2):
            for other in tester.get_all_connections(app_in[k]):
                tester.disconnect(other, app_in[k])
            tester.connect(outs[k], app_in[k])
            tester.connect(app_out[k], ins[k])
        state["pos"] = 0
        while state["pos"] < len(play) + RATE // 2 and proc.poll() is None:
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.send_signal(2)  # Ctrl-C: the app must end cleanly with its summary
        _, err = proc.communicate(timeout=30)
        tester.deactivate()
        tester.close()
    assert proc.returncode == 0, err
    summary = json.loads(summary_path.read_text())
    assert summary["interrupted"] is True
    assert xruns.during(summary) <= MAX_XRUNS and summary["xruns"] <= MAX_XRUNS, xruns

    got = captured[: state["cap"]]
    lag = _xcorr_lag(got[:, 0], play[:, 0])
    prime = summary["buffer_latency_samples"]
    assert lag == 2 * PERIOD + prime
    assert summary["latency_ms"] == pytest.approx(1000 * lag / RATE, abs=1e-3)
    seg = got[lag + lead_in : lag + lead_in + len(x)]
    if mode == "bypass":
        assert prime == 0
        np.testing.assert_array_equal(seg, x)
    else:
        # A perceptual coder does not keep white noise's waveform (the file test
        # above checks the waveform exactly); that the correlation peaks at the
        # exact expected lag already shows it is the played signal. Not silence:
        assert np.sqrt(np.mean(seg**2)) > 0.1 * np.sqrt(np.mean(x**2))


def _xcorr_lag(y: np.ndarray, x: np.ndarray) -> int:
    n = 1 << int(np.ceil(np.log2(len(x) + len(y))))
    c = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)
    return int(np.argmax(c[: len(y)]))


def test_missing_device_gives_one_line(jack_server):
    for args in (["-o", "99"], ["--hostapi", "NoSuchHostApi"]):
        proc = subprocess.run(
            live_command(*args, "--duration", "1", hostapi=None),
            cwd=ROOT,
            env=checkout_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "error" in lines[0], proc.stderr


def test_receive_play_reaches_the_speaker_bit_exact(tmp_path, jack_server):
    """``audiocodec receive --play``: what the output device plays equals what the receiver
    decoded (its OUT file), sample for sample, with no underflow after the prebuffer.

    Xruns are counted from the moment the receiver's output ports appear: before that two
    Python processes start up at once, which on a 2-core machine can starve the dummy
    backend before our stream even exists."""
    import socket

    import jack

    x = _signal(2.5, seed=4)
    x[:RATE] = 0.0  # a silent lead-in covers the moment the tester connects
    src = tmp_path / "src.wav"
    sf.write(src, x, RATE, subtype="FLOAT")
    out = tmp_path / "out.wav"
    stats_path = tmp_path / "rx.json"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    captured = np.zeros((12 * RATE, 2), np.float32)
    state = {"cap": 0}
    tester = jack.Client("audiocodec-tester-rx", no_start_server=True)
    ins = [tester.inports.register(f"in_{k}") for k in range(2)]

    @tester.set_process_callback
    def process(frames: int) -> None:
        cap = state["cap"]
        if cap + frames <= len(captured):
            for k in range(2):
                captured[cap : cap + frames, k] = ins[k].get_array()
            state["cap"] = cap + frames

    tester.activate()
    cli = [sys.executable, "-m", "audiocodec"]
    rx = subprocess.Popen(
        [*cli, "receive", "--port", str(port), "--bind", "127.0.0.1", "--play", "--hostapi", "JACK",
         "--timeout", "20", "--stats-json", str(stats_path), str(out)],
        cwd=ROOT, env=checkout_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    xruns = None
    tx = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and rx.poll() is None and _port_free(port):
            time.sleep(0.02)  # until the receiver listens
        tx = subprocess.Popen(
            [*cli, "send", str(src), "--to", f"127.0.0.1:{port}", "--low-delay"],
            cwd=ROOT, env=checkout_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        app_out: list = []
        while time.monotonic() < deadline and rx.poll() is None:
            app_out = tester.get_ports("PortAudio.*:out_", is_audio=True, is_output=True)
            if len(app_out) >= 2:
                break
            time.sleep(0.01)
        assert len(app_out) >= 2, "the receiver's JACK output ports did not appear"
        # PortAudio registers the ports when it opens the stream and connects them to the
        # system playback ports when it starts it; connect only to a running client (joining
        # a client to the graph before its activation makes the dummy backend skip a cycle).
        while time.monotonic() < deadline and not tester.get_all_connections(app_out[0]):
            time.sleep(0.01)
        xruns = XrunCounter()
        for k in range(2):
            tester.connect(app_out[k], ins[k])
        _, tx_err = tx.communicate(timeout=60)
        _, rx_err = rx.communicate(timeout=60)
    finally:
        for p in (tx, rx):
            if p is not None and p.poll() is None:
                p.kill()
                p.communicate()
        if xruns is not None:
            xruns.close()
        tester.deactivate()
        tester.close()
    assert tx is not None and tx.returncode == 0, tx_err
    assert rx.returncode == 0, rx_err
    stats = json.loads(stats_path.read_text())
    play = stats["playback"]
    decoded, _ = sf.read(out, dtype="float32", always_2d=True)
    assert len(decoded) == len(x)
    assert play["frames_played"] == len(decoded)
    assert play["underflows"] == 0 and xruns is not None and xruns.count <= MAX_XRUNS, (play, xruns)
    got = captured[: state["cap"]]
    lag = _xcorr_lag(got[:, 0], decoded[:, 0])
    np.testing.assert_array_equal(got[lag : lag + len(decoded)], decoded)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
