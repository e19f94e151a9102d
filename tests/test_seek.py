"""Seeking: a slice decoded from the page before it equals the same samples of a whole decode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiocodec import InputError, decode, encode, files
from audiocodec.container import aqc, reader
from audiocodec.oneshot import DecodeReport

FS = 48000


def _signal(seconds: float, channels: int, seed: int = 3) -> np.ndarray:
    """Tones with a slow tremolo over noise: noise-filled bands at low rates, block switching on
    the bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    x = np.zeros((t.size, channels))
    for c in range(channels):
        x[:, c] = 0.25 * np.sin(2 * np.pi * (330 + 40 * c) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
        x[:, c] += 0.03 * rng.standard_normal(t.size)
        x[FS // 3 :: FS, c] += 0.8  # a click a second
    return x.astype(np.float32)


CASES = {
    "stereo_32k": (2, {"bitrate": 32000}),
    "mono_low_delay": (1, {"bitrate": 32000, "low_delay": True}),  # with the pitch post-filter
    "stereo_low_delay_no_postfilter": (2, {"bitrate": 48000, "low_delay": True, "postfilter": False}),
    "adpcm": (2, {"mode": "adpcm"}),
    "5.1": (6, {"bitrate": 192000}),  # sf_predict in every sub-stream (the default)
    "5.1_no_sf_predict": (6, {"bitrate": 192000, "sf_predict": False}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_slice_equals_whole_decode(name: str) -> None:
    channels, opts = CASES[name]
    x = _signal(12.0, channels)
    data = encode(x, FS, serial=11, **opts)
    predicts = aqc.sf_predict_interval(reader.locate_header(data)[0]) is not None
    assert predicts == (opts.get("mode", "mdct") == "mdct" and not opts.get("low_delay")
                        and opts.get("sf_predict", True))
    whole, _ = decode(data)
    for start, duration in ((0.0, 0.5), (0.001, 0.3), (5.0, 2.0), (7.777, 1.234), (11.5, 3.0), (3.0, None)):
        rep = DecodeReport()
        y, _ = decode(data, start=start, duration=duration, report=rep)
        a = int(round(start * FS))
        b = None if duration is None else a + int(round(duration * FS))
        ref = whole[a:b]
        assert y.shape == ref.shape, (start, duration)
        assert np.array_equal(y, ref), (name, start, duration)
        assert rep.samples == y.shape[0]
        if start >= 5.0 and duration is not None:  # what is before was skipped
            h = reader.locate_header(data)[0]
            # a post-filtered stream starts at a reset point, up to one interval further back
            interval = aqc.pitch_filter_interval(h) or 0
            assert rep.frames * h.frame_size < 2.0 * FS + 0.5 * FS + interval * h.frame_size


def data_frame(data: bytes) -> int:
    return reader.locate_header(data)[0].frame_size


def test_noise_fill_is_seeded_per_frame() -> None:
    """The slices above match only because every frame seeds its own noise: the same packets
    decoded under another serial sound different (noise filled), yet each slice still matches."""
    x = _signal(4.0, 2)
    a = encode(x, FS, serial=1, bitrate=24000)
    b = encode(x, FS, serial=2, bitrate=24000)
    ya, _ = decode(a)
    yb, _ = decode(b)
    assert not np.array_equal(ya, yb)
    assert np.array_equal(decode(b, start=2.5)[0], yb[int(2.5 * FS):])


def test_seek_over_damage_and_without_header_copies() -> None:
    x = _signal(20.0, 2)
    data = bytearray(encode(x, FS, serial=5, bitrate=64000))
    third = len(data) // 3
    data[third : third + 3000] = bytes(3000)  # a damaged stretch before the slice
    whole, _ = decode(bytes(data), report=DecodeReport())
    y, _ = decode(bytes(data), start=15.0, duration=1.0, report=DecodeReport())
    assert np.array_equal(y, whole[15 * FS : 16 * FS])


def test_seek_page_finds_the_reset_point_before_the_packet() -> None:
    x = _signal(30.0, 1)
    data = encode(x, FS, serial=9, bitrate=48000)
    h, start = reader.locate_header(data)
    last = -1
    for packet in (0, 1, 9, 10, 11, 200, 700, 1000, 10_000):
        off, first = reader.seek_page(h, data, start, packet)
        assert first <= packet and first >= last
        last = first
        assert data[off : off + 2] == b"\xa5\x52"
    # the page found is the last one at or before the packet: the next page starts after it
    off, first = reader.seek_page(h, data, start, 700)
    nxt = reader.seek_page(h, data, start, first + 100)[1]
    assert first < nxt


def test_bad_slices_are_input_errors(tmp_path: Path) -> None:
    data = encode(_signal(1.0, 1), FS, serial=1)
    with pytest.raises(InputError):
        decode(data, start=-1.0)
    with pytest.raises(InputError):
        decode(data, start=0.5, duration=float("nan"))
    src = tmp_path / "s.aqc"
    src.write_bytes(data)
    with pytest.raises(InputError, match="past the end"):
        files.decode_file(src, tmp_path / "o.wav", start=5.0)


def test_cli_start_duration(tmp_path: Path) -> None:
    wav, aqc_path, full, part = (tmp_path / n for n in ("in.wav", "x.aqc", "full.wav", "part.wav"))
    sf.write(str(wav), _signal(6.0, 2), FS, subtype="PCM_16")
    run = [sys.executable, "-m", "audiocodec"]
    for args in (["encode", str(wav), str(aqc_path)], ["decode", str(aqc_path), str(full)],
                 ["decode", str(aqc_path), str(part), "--start", "0:02.5", "--duration", "1.5"]):
        r = subprocess.run(run + args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
    a, _ = sf.read(str(full), dtype="int16")
    b, _ = sf.read(str(part), dtype="int16")
    assert b.shape[0] == int(1.5 * FS) and np.array_equal(a[int(2.5 * FS) : int(4.0 * FS)], b)
    r = subprocess.run(run + ["decode", str(aqc_path), str(tmp_path / "z.wav"), "--start", "1:xx"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2
