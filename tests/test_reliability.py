"""Fault suite (issue 7): hostile bytes, recovery, encoder inputs, nothing lost.

Decoder rules checked here: only :class:`CodecError` subclasses escape, every
decode ends in bounded time, memory is bounded by the input (not by what a
header claims), a damaged frame is concealed and decoding resumes at the next
good frame, and a truncated stream yields every complete frame. Streams come
from three coders: MDCT long frames, MDCT low delay, and ADPCM.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import audiocodec
from audiocodec import cli, files
from audiocodec.container import aqc as bs
from audiocodec.container import reader
from audiocodec.errors import FrameError, HeaderError, InputError
from audiocodec.oneshot import DecodeReport
from audiocodec.stream import MAX_GAP_CONCEAL, Decoder, Encoder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import safe_decode  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODES: dict[str, dict[str, Any]] = {
    "mdct": {},
    "lowdelay": {"low_delay": True},
    "adpcm": {"mode": "adpcm", "frame_size": 256},
}
RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)


def tone(n: int, channels: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = np.stack([0.4 * np.sin(2 * np.pi * (330 + 110 * c) * t) for c in range(channels)], axis=1)
    x += 0.01 * rng.standard_normal(x.shape)
    return x.astype(np.float32)


@cache
def stream(mode: str, channels: int = 1, n: int = 8000) -> bytes:
    return audiocodec.encode(tone(n, channels), 16000, serial=0xC0DE + channels, **MODES[mode])


def packets_of(data: bytes) -> list[bytes]:
    """Every codec packet of a clean stream, in order."""
    stats = reader.ReadStats()
    h, start = reader.locate_header(data, stats)
    return [bytes(p) for p in reader.read_packets(h, data, start, stats) if p is not None]


def with_header(data: bytes, **fields: int) -> bytes:
    """The stream with header fields replaced and a valid header CRC (copies left as they are)."""
    h = bs.StreamHeader.unpack(data)
    return dataclasses.replace(h, **fields).pack() + data[h.size :]


def raw_header(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Patch header bytes without validation, then fix the header CRC (no extension)."""
    b = bytearray(data[: bs.HEADER_SIZE])
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, bs.FIXED_SIZE, bs.crc32(bytes(b[: bs.FIXED_SIZE])))
    return bytes(b)


# ============================================================== 1. hostile bytes


def test_header_defects_name_the_problem() -> None:
    # a header without extension records, whose fields sit at fixed offsets before the CRC
    # (an MDCT encoder always writes noise_fill_from; a header without it is valid, the fill
    # then starting at 3 kHz as in older streams)
    enc = audiocodec.encode(tone(8000, 1), 16000, serial=0xC0DE + 1, sf_predict=False, **MODES["mdct"])
    good = dataclasses.replace(bs.StreamHeader.unpack(enc), extension=()).pack()
    assert len(good) == bs.HEADER_SIZE
    hdr = good[: bs.HEADER_SIZE]  # without the copies in the pages (test_container tests those)
    cases = {
        b"": "needs 42",
        good[:39]: "needs 42",
        b"RIFF" + hdr[4:]: "not an AQC stream",
        hdr[:3] + b"\x03" + hdr[4:]: "unsupported AQC version 3",
        hdr[:3] + b"\x00" + hdr[4:]: "unsupported AQC version 0",
        hdr[:10] + bytes([hdr[10] ^ 1]) + hdr[11:]: "CRC",
        raw_header(good, 4, "<B", 9): "unknown mode 9",
        raw_header(good, 5, "<B", 0): "channels",
        raw_header(good, 5, "<B", 255): "channels",
        raw_header(good, 6, "<B", 7): "window",
        raw_header(good, 8, "<I", 0): "sample rate",
        raw_header(good, 8, "<I", 0xFFFFFFFF): "sample rate",
        raw_header(good, 12, "<H", 0): "frame size",
        raw_header(good, 12, "<H", 0xFFFF): "frame size",
        raw_header(good, 12, "<H", 1001): "frame size",
        raw_header(good, 14, "<H", 0xFFFF): "overlap",
        raw_header(good, 16, "<I", 0xFFFFFFFF): "delay",
        raw_header(stream("adpcm"), 12, "<H", 0xFFFF): "ADPCM packet size",
        raw_header(stream("adpcm"), 16, "<I", 5): "ADPCM delay",
    }
    for data, words in cases.items():
        with pytest.raises(HeaderError, match=words):
            audiocodec.decode(data)
        with pytest.raises(HeaderError):
            Decoder(data)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("total", [2**63, bs.UNKNOWN_LENGTH - 1, 10**12])
def test_huge_total_samples_does_not_allocate(mode: str, total: int) -> None:
    """A header claiming ~2**64 samples over a truncated body: bounded time and memory.

    Regression for the unbounded tail concealment (Decoder.finish() concealed up
    to the header's claim; see tests/corpus/huge_total_samples_truncated.aqc).
    """
    data = with_header(stream(mode), total_samples=total)
    data = data[: len(data) // 2]
    tracemalloc.start()
    try:
        y, rep, _dt = safe_decode(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert y is not None and rep.truncated
    assert y.shape[0] < 8000 + (MAX_GAP_CONCEAL + 2) * 512
    assert peak < 16 * 2**20, f"decode allocated {peak / 2**20:.0f} MiB"


def test_decoder_finish_is_bounded() -> None:
    """2**20 samples claimed, one frame sent: finish() should conceal a few frames, not 1M
    samples (with 2**63 claimed it never returns). Fix: cap its loop at MAX_GAP_CONCEAL + 1."""
    data = with_header(stream("mdct"), total_samples=2**20)
    dec = Decoder(data)
    dec.decode(packets_of(stream("mdct"))[0])
    tracemalloc.start()
    try:
        y = dec.finish()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert y.shape[0] <= (MAX_GAP_CONCEAL + 2) * dec.frame_size
    assert peak < 8 * 2**20


def test_zero_length_and_short_packets() -> None:
    dec = Decoder(stream("mdct"))
    for pkt in (b"", b"\x80", b"\x80" + bytes(7), bytes(70000)):
        with pytest.raises(FrameError):
            dec.decode(pkt)
    assert dec.frames_rejected == 4
    # a lost packet (None) is concealed, never an error
    assert dec.decode(None).shape == (0, 1)  # the first frame's output is all delay
    assert dec.decode(None).shape == (dec.frame_size, 1)
    adec = Decoder(stream("adpcm"))
    with pytest.raises(FrameError):
        adec.decode(b"")
    assert adec.decode(None).shape == (256, 1)


# ============================================================== 2. recovery


def test_long_truncation_is_reported_not_synthesised() -> None:
    good = stream("lowdelay", 1, 64000)  # 800 frames of 80 samples
    rep = DecodeReport()
    y, _ = audiocodec.decode(good[: len(good) // 4], report=rep)
    assert rep.truncated and y.shape[0] < 64000
    assert any("samples early" in note for note in rep.notes)


def test_lost_packets_are_concealed_one_by_one() -> None:
    pk = packets_of(stream("mdct", 1))
    dec = Decoder(stream("mdct", 1))
    out = [dec.decode(None if i in (3, 4, 5) else p) for i, p in enumerate(pk)]  # lost in transit
    assert dec.frames_concealed == 3 and dec.frames_decoded == len(pk) - 3
    assert sum(o.shape[0] for o in out) == 8000


# ============================================================== CLI exit codes


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_cli_decode_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = stream("mdct", 2)
    k = len(good) // 2
    files = {
        "clean.aqc": good,
        "flipped.aqc": good[:k] + bytes([good[k] ^ 4]) + good[k + 1 :],
        "truncated.aqc": good[: len(good) * 2 // 3],
        "garbage.aqc": b"AQC\x01" + bytes(range(256)) * 4,
        "random.aqc": np.random.default_rng(3).bytes(5000),
        "empty.aqc": b"",
        "nobody.aqc": good[: bs.HEADER_SIZE] + b"\0" * 300,
        "version1.aqc": b"AQC\x01" + bytes(34) + bs.crc16(b"AQC\x01" + bytes(34)).to_bytes(2, "little"),
    }
    expect = {"clean.aqc": 0, "flipped.aqc": 1, "truncated.aqc": 1, "garbage.aqc": 2,
              "random.aqc": 2, "empty.aqc": 2, "nobody.aqc": 2, "version1.aqc": 2}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        out = tmp_path / (name + ".wav")
        code, err = _cli(capsys, "decode", "-q", str(tmp_path / name), str(out))
        assert code == expect[name], (name, err)
        if code == 2:
            assert err.count("\n") == 1 and err.startswith("audiocodec: error:")
            assert not out.exists()
        else:
            assert out.exists()
        if code == 1:
            assert "damaged input recovered" in err
    code, err = _cli(capsys, "decode", str(tmp_path / "missing.aqc"), str(tmp_path / "m.wav"))
    assert code == 2 and "no such file" in err
    assert sorted(p.name for p in tmp_path.glob("*.part")) == []


def test_cli_subprocess_exit_code_and_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.aqc").write_bytes(b"AQC\x07" + b"\0" * 100)
    r = subprocess.run([sys.executable, "-m", "audiocodec", "decode", str(tmp_path / "bad.aqc"),
                        str(tmp_path / "o.wav")], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 2
    assert r.stderr == "audiocodec: error: unsupported AQC version 7 (this decoder reads 2)\n"


# ============================================================== 4. encoder inputs


@pytest.mark.parametrize("mode", list(MODES))
def test_nan_and_inf_are_clear_errors(mode: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (np.nan, np.inf, -np.inf):
        x = tone(3000, 2)
        x[1234, 1] = bad
        with pytest.raises(InputError, match="NaN or Inf"):
            audiocodec.encode(x, 16000, **MODES[mode])
        enc = Encoder(16000, 2, **MODES[mode])
        with pytest.raises(InputError, match="NaN or Inf"):
            enc.encode(x)
    src = tmp_path / "nan.wav"
    sf.write(src, x, 16000, subtype="FLOAT")
    args = ["encode", "-q", str(src), str(tmp_path / "o.aqc")]
    if mode == "adpcm":
        args += ["--mode", "adpcm"]
    code, err = _cli(capsys, *args)
    assert code == 2 and "NaN or Inf sample at frame 1234" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == [src]


@pytest.mark.parametrize("mode", list(MODES))
def test_out_of_range_dc_silence_and_squares(mode: str) -> None:
    n, rate = 6000, 16000
    t = np.arange(n) / rate
    square = np.sign(np.sin(2 * np.pi * 100 * t))[:, None] * np.ones(2)
    signals = {
        "silence": np.zeros((n, 2)),
        "dc": np.full((n, 2), 0.5),
        "full_scale_square": square,
        "beyond_1": 8.0 * square,
        "huge": 1e30 * square,
        "neg_dc_beyond": np.full((n, 2), -3.0),
    }
    for name, x in signals.items():
        y, _ = audiocodec.decode(audiocodec.encode(x.astype(np.float32), rate, **MODES[mode]))
        assert y.shape == x.shape, name
        assert np.isfinite(y).all(), name
        peak = float(np.abs(y).max())
        assert peak <= (1.0 if mode == "adpcm" else 2.0), (name, peak)
        if name == "silence":
            assert peak < 1e-3
        if name in ("beyond_1", "huge"):  # clipped to the full-scale square, not wrapped
            ref, _ = audiocodec.decode(audiocodec.encode(square.astype(np.float32), rate,
                                                         **MODES[mode]))
            assert np.corrcoef(y[:, 0], ref[:, 0])[0, 1] > 0.9, name
        if name == "dc" and mode == "adpcm":
            assert abs(float(y[n // 2 :].mean()) - 0.5) < 0.01


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("channels", [1, 2])
def test_zero_and_one_sample_inputs(mode: str, channels: int) -> None:
    for n in (0, 1, 2):
        x = np.full((n, channels), 0.25, np.float32)
        y, rate = audiocodec.decode(audiocodec.encode(x, 8000, **MODES[mode]))
        assert y.shape == (n, channels) and rate == 8000
    enc = Encoder(8000, channels, **MODES[mode])
    assert enc.encode(np.zeros((0, channels), np.float32)) == []


def test_empty_audio_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    src = tmp_path / "empty.wav"
    sf.write(src, np.zeros((0, 1), np.float32), 8000)
    code, err = _cli(capsys, "encode", "-q", str(src), str(tmp_path / "o.aqc"))
    assert code == 2 and "holds no audio samples" in err
    one = tmp_path / "one.wav"
    sf.write(one, np.full((1, 2), 0.5, np.float32), 8000)
    for mode in ("mdct", "adpcm"):
        out = tmp_path / f"one_{mode}.aqc"
        code, err = _cli(capsys, "encode", "-q", "--mode", mode, str(one), str(out))
        assert code == 0, err
        assert audiocodec.decode(out.read_bytes())[0].shape == (1, 2)


@pytest.mark.parametrize("rate", RATES)
def test_every_rate_round_trips_with_exact_length(rate: int) -> None:
    n = rate // 10 + 37  # 0.1 s and a bit: not a multiple of any frame size
    for channels in (1, 2):
        x = tone(n, channels, rate)
        for mode, opts in MODES.items():
            data = audiocodec.encode(x, rate, **opts)
            h = bs.StreamHeader.unpack(data)
            assert (h.sample_rate, h.channels, h.total_samples) == (rate, channels, n)
            y, r = audiocodec.decode(data)
            assert r == rate and y.shape == x.shape, (rate, channels, mode)
            if mode == "adpcm":  # after the step size has adapted: close to the input
                assert float(np.max(np.abs(y[n // 2 :] - x[n // 2 :]))) < 0.05


# ============================================================== 5. nothing lost


def _digest(p: Path) -> tuple[str, int]:
    return hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns


def test_input_never_opened_for_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    src = tmp_path / "in.wav"
    sf.write(src, tone(20000, 2), 16000)
    os.utime(src, ns=(1_000_000_000, 1_000_000_000))
    before = _digest(src)
    opened: list[tuple[str, str]] = []
    real_open, real_sf_init = builtins.open, sf.SoundFile.__init__

    def spy_open(file: object, mode: str = "r", *a: object, **k: object) -> object:
        opened.append((str(file), mode))
        return real_open(file, mode, *a, **k)  # type: ignore[call-overload]

    def spy_sf(self: sf.SoundFile, file: object, mode: str = "r", *a: object, **k: object) -> None:
        opened.append((str(file), mode))
        real_sf_init(self, file, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(sf.SoundFile, "__init__", spy_sf)
    files.encode_file(src, tmp_path / "o.aqc")
    files.encode_file(src, tmp_path / "o.wav", mode="adpcm")
    files.decode_file(tmp_path / "o.aqc", tmp_path / "back.wav")
    files.decode_file(tmp_path / "o.wav", tmp_path / "back2.wav")
    for path in (tmp_path / "o.aqc", tmp_path / "o.wav"):
        files.info(path) if path.suffix == ".aqc" else None
    # (numba writes its kernel cache under __pycache__ when a kernel compiles during the test)
    writes = [(f, m) for f, m in opened if any(c in m for c in "wax+") and "__pycache__" not in f]
    assert all(".part" in f for f, _ in writes), writes
    assert _digest(src) == before
    with pytest.raises(InputError, match="is the input file"):
        files.encode_file(src, src, force=True)
    with pytest.raises(InputError, match="exists"):
        files.encode_file(src, tmp_path / "o.aqc")
    assert _digest(src) == before
    assert not list(tmp_path.glob(".*.part"))


def test_failed_encode_leaves_old_output_untouched(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    x = tone(20000, 1)
    x[15000] = np.nan
    sf.write(src, x, 16000, subtype="FLOAT")
    out = tmp_path / "o.aqc"
    out.write_bytes(b"previous result")
    with pytest.raises(InputError):
        files.encode_file(src, out, force=True)
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "o.aqc"]


def _write_long_wav(path: Path, seconds: float, rate: int, channels: int) -> int:
    """Synthesise a long file block by block (memory does not grow with its length)."""
    total = int(seconds * rate)
    block = rate * 10
    rng = np.random.default_rng(11)
    with sf.SoundFile(path, "w", rate, channels, subtype="PCM_16") as f:
        for start in range(0, total, block):
            n = min(block, total - start)
            t = (start + np.arange(n)) / rate
            x = 0.3 * np.sin(2 * np.pi * 440 * t)[:, None] + 0.01 * rng.standard_normal((n, 1))
            f.write(np.repeat(x, channels, axis=1).astype(np.float32))
    return total


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_cli_encode_leaves_nothing(tmp_path: Path, sig: int) -> None:
    src = tmp_path / "long.wav"
    _write_long_wav(src, 600, 16000, 1)
    before = _digest(src)
    out = tmp_path / "out.aqc"
    proc = subprocess.Popen(
        [sys.executable, "-m", "audiocodec", "encode", "-q", str(src), str(out)], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the temp output has some frames
            parts = list(tmp_path.glob(".out.aqc.*.part"))
            if parts and parts[0].stat().st_size > 2000:
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        else:
            pytest.fail("encode never started writing")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert err.strip() == "audiocodec: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav"]
    assert _digest(src) == before


def test_full_disk_injected_oserror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    from audiocodec import stream

    src = tmp_path / "in.wav"
    sf.write(src, tone(40000, 2), 16000)
    calls = {"n": 0}
    real = stream.Encoder.encode

    def failing(self: Encoder, block: object) -> list[bytes]:
        calls["n"] += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(stream.Encoder, "encode", failing)
    code, err = _cli(capsys, "encode", str(src), str(tmp_path / "o.aqc"))
    assert calls["n"] == 1 and real is not failing
    assert code == 2 and err == f"audiocodec: error: No space left on device ({tmp_path / 'o.aqc'})\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> object:
    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_full_disk_tmpfs(tmp_path: Path, tiny_tmpfs: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, tone(160000, 2), 16000)  # ~10 s: far more than 64 KiB of output
    for argv in (["encode", "-b", "256k", str(src), str(tiny_tmpfs / "o.aqc")],
                 ["encode", "--mode", "adpcm", str(src), str(tiny_tmpfs / "o.wav")]):
        code, err = _cli(capsys, *argv)
        assert code == 2, err
        assert err.count("\n") == 1 and "No space left on device" in err
        assert list(tiny_tmpfs.iterdir()) == []
    good = tmp_path / "good.aqc"
    files.encode_file(src, good, bitrate=256000)
    code, err = _cli(capsys, "decode", str(good), str(tiny_tmpfs / "back.wav"))
    assert code == 2 and "No space left on device" in err
    assert list(tiny_tmpfs.iterdir()) == []


def _stream_peak(src: Path, dst: Path, **options: Any) -> tuple[int, int]:
    """Peak traced memory of encode_file, then of decode_file, in bytes."""
    tracemalloc.start()
    try:
        files.encode_file(src, dst, **options)
        enc_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        files.decode_file(dst, dst.with_suffix(".back.wav"))
        dec_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return enc_peak, dec_peak


def test_long_file_streams_with_flat_memory(tmp_path: Path) -> None:
    """10 minutes vs 10 seconds (ADPCM, fast enough for CI); MDCT 60 s vs 6 s.

    Encoding streams in blocks: its peak must not grow with the length. Decoding
    reads the whole .aqc (files._read_source_bytes), so its peak may grow by the
    compressed size and nothing more.
    """
    for mode, rate, short_s, long_s in (("adpcm", 8000, 10, 600), ("mdct", 8000, 6, 60)):
        peaks = []
        for secs in (short_s, long_s):
            src = tmp_path / f"{mode}{secs}.wav"
            n = _write_long_wav(src, secs, rate, 1)
            dst = tmp_path / f"{mode}{secs}.aqc"
            peaks.append((*_stream_peak(src, dst, mode=mode), dst.stat().st_size))
            assert sf.info(str(dst.with_suffix(".back.wav"))).frames == n
            src.unlink()
            dst.with_suffix(".back.wav").unlink()
        (e_short, d_short, _), (e_long, d_long, size_long) = peaks
        assert e_long < e_short + 4 * 2**20, (mode, peaks)
        assert d_long < d_short + size_long + 4 * 2**20, (mode, peaks)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("AQC_SLOW"), reason="~10 min: set AQC_SLOW=1 to run")
@pytest.mark.parametrize("mode,rate,channels", [("adpcm", 48000, 2), ("mdct", 8000, 1)])
def test_one_hour_file_streams_with_flat_rss(tmp_path: Path, mode: str, rate: int,
                                             channels: int) -> None:
    """One hour through the CLI in a child process: peak RSS vs a 1-minute file."""
    rss = []
    for secs in (60, 3600):
        src = tmp_path / f"in{secs}.wav"
        _write_long_wav(src, secs, rate, channels)
        code = (
            "import resource, sys; from audiocodec import cli; "
            f"rc = cli.main(['encode', '-q', '--mode', '{mode}', sys.argv[1], sys.argv[2]]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)"
        )
        r = subprocess.run([sys.executable, "-c", code, str(src), str(tmp_path / f"o{secs}.aqc")],
                           capture_output=True, text=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=3 * 3600)
        assert r.returncode == 0, r.stderr
        rss.append(int(r.stdout.split()[-1]))  # KiB
        src.unlink()
    print(f"peak RSS {mode}: 1 min {rss[0] / 1024:.0f} MiB, 1 hour {rss[1] / 1024:.0f} MiB")
    assert rss[1] < rss[0] + 32 * 1024


def test_sanitize_option_replaces_nan_and_inf(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import soundfile as sf

    from audiocodec.cli import main

    x = np.zeros((4000, 1), np.float32)
    x[100] = np.nan
    x[200] = np.inf
    src = tmp_path / "bad.wav"
    sf.write(src, x, 16000, subtype="FLOAT")
    assert main(["encode", "-q", str(src), str(tmp_path / "a.aqc")]) == 2
    assert not (tmp_path / "a.aqc").exists()
    assert main(["encode", "-q", "--sanitize", str(src), str(tmp_path / "b.aqc")]) == 0
    y, _ = audiocodec.decode((tmp_path / "b.aqc").read_bytes())
    assert y.shape == x.shape and np.isfinite(y).all()
