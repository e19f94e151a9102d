"""IMA ADPCM WAV files: round trips, streaming, and sample-exact interop.

Interop facts these tests pin down (ffmpeg 5.1, sox 14.4, libsndfile 1.2):
sox and libsndfile decode with the IMA reference formula, ffmpeg with its own
rounding, so they disagree on the same file; ``variant="ima"`` matches the
first two exactly and ``variant="ffmpeg"`` matches ffmpeg exactly, and files
written with ``portable=True`` decode identically everywhere. All three tools
return every sample of the padded last block (they ignore ``fact``).
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiocodec import adpcm as A
from audiocodec.adpcm.wav import (
    ImaWavReader,
    ImaWavWriter,
    default_block_samples,
    is_ima_wav,
    read_ima_wav,
    write_ima_wav,
)
from audiocodec.errors import CodecError, FrameError, HeaderError, InputError, UnsupportedError

AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"
FFMPEG = shutil.which("ffmpeg")
SOX = shutil.which("sox")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed")
needs_sox = pytest.mark.skipif(SOX is None, reason="sox not installed")


def _has_sf_ima() -> bool:
    return "IMA_ADPCM" in sf.available_subtypes("WAV")


needs_sndfile_ima = pytest.mark.skipif(not _has_sf_ima(), reason="libsndfile lacks IMA_ADPCM")


def signal(seed: int, n: int, channels: int) -> np.ndarray:
    """Seeded float32 test audio with tones, a jump and some clipping."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 48000
    x = np.zeros((n, channels))
    for c in range(channels):
        x[:, c] = 0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.005 * rng.standard_normal(n)
        x[n // 3 : n // 3 + 200, c] += 0.9
    x[n // 2 : n // 2 + 50] = 1.4  # beyond full scale: clipped, never wrapped
    return x.astype(np.float32)


def to_i16(x: np.ndarray) -> np.ndarray:
    return A.float_to_int16(x)


def ffmpeg_decode(path: Path, channels: int) -> np.ndarray:
    assert FFMPEG is not None
    raw = subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(path), "-f", "s16le", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.int16).reshape(-1, channels)


def sox_decode(path: Path, channels: int) -> np.ndarray:
    assert SOX is not None
    raw = subprocess.run(
        [SOX, "-V1", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.int16).reshape(-1, channels)


def sf_decode(path: Path) -> np.ndarray:
    x, _ = sf.read(str(path), dtype="int16", always_2d=True)
    return x


def ours(path: Path, variant: str = "ima", use_fact: bool = False) -> np.ndarray:
    x, _ = read_ima_wav(path, variant=variant, use_fact=use_fact)
    return to_i16(x)


def chunks(path: Path) -> dict[bytes, bytes]:
    b = path.read_bytes()
    out, pos = {}, 12
    while pos + 8 <= len(b):
        cid, size = b[pos : pos + 4], struct.unpack("<I", b[pos + 4 : pos + 8])[0]
        out[cid] = b[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    return out


# ------------------------------------------------------------- round trips


@pytest.mark.parametrize("channels,n", [(1, 1), (1, 1017), (1, 1018), (2, 12345), (3, 2000)])
def test_write_read_roundtrip_and_header(tmp_path: Path, channels: int, n: int) -> None:
    pcm = signal(1, n, channels)
    p = tmp_path / "a.wav"
    write_ima_wav(p, pcm, 44100)
    ck = chunks(p)
    tag, ch, sr, _br, ba, bits, cb, spb = struct.unpack("<HHIIHHHH", ck[b"fmt "])
    assert (tag, ch, sr, bits, cb) == (0x11, channels, 44100, 4, 2)
    assert spb == default_block_samples(channels) == 1017 and ba == 512 * channels
    assert struct.unpack("<I", ck[b"fact"])[0] == n
    nblk = -(-n // spb)
    assert len(ck[b"data"]) == nblk * ba
    assert p.stat().st_size == 8 + struct.unpack("<I", p.read_bytes()[4:8])[0]
    y, rate = read_ima_wav(p)
    assert rate == 44100 and y.shape == (n, channels) and y.dtype == np.float32
    with ImaWavReader(p, use_fact=False) as r:
        assert r.frames == nblk * spb  # what the tools return: the padded block too
    if n > 100:
        ref = A.int16_to_float(to_i16(pcm))
        e = y - ref
        # the signal slews through full-scale jumps and clipping: a loose floor
        assert 10 * np.log10(np.sum(ref**2) / np.sum(e**2)) > 10


def test_silence_and_square_files(tmp_path: Path) -> None:
    p = tmp_path / "s.wav"
    write_ima_wav(p, np.zeros((3001, 2), np.float32), 8000)
    y, _ = read_ima_wav(p)
    assert y.shape == (3001, 2) and not y.any()
    sq = np.where((np.arange(5000) // 40) % 2, 1.0, -1.0).astype(np.float32)
    write_ima_wav(p, np.stack([sq, -2 * sq], 1), 48000, encoder="greedy")
    y, _ = read_ima_wav(p)
    assert y.max() == pytest.approx(32767 / 32768) and y.min() == -1.0


@pytest.mark.parametrize("encoder", ["search", "greedy"])
@pytest.mark.parametrize("channels", [1, 2])
def test_streaming_writer_is_byte_identical_to_one_shot(
    tmp_path: Path, encoder: str, channels: int
) -> None:
    pcm = signal(2, 7777, channels)
    one = tmp_path / "one.wav"
    write_ima_wav(one, pcm, 48000, encoder=encoder, block_samples=505)
    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    with ImaWavWriter(buf, 48000, channels, encoder=encoder, block_samples=505) as w:
        pos = 0
        while pos < pcm.shape[0]:
            k = int(rng.integers(0, 1300))
            w.write(pcm[pos : pos + k])
            pos += k
    assert buf.getvalue() == one.read_bytes()


def test_reader_blocks(tmp_path: Path) -> None:
    pcm = signal(4, 10001, 2)
    p = tmp_path / "b.wav"
    write_ima_wav(p, pcm, 48000, encoder="greedy")
    whole, _ = read_ima_wav(p)
    for m in (1, 333, 1017, 4096, 20000):
        with ImaWavReader(p) as r:
            parts = list(r.blocks(m))
        assert all(x.shape[0] == m for x in parts[:-1]) and 0 < parts[-1].shape[0] <= m
        assert np.array_equal(np.concatenate(parts), whole)
    with open(p, "rb") as f, ImaWavReader(f) as r:  # file objects work too
        assert np.array_equal(r.read(), whole)
    with pytest.raises(InputError):
        next(ImaWavReader(p).blocks(0))


class _Pipe(io.RawIOBase):
    """A non-seekable byte stream, like stdin."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray) -> int:  # type: ignore[override]
        chunk = self._b.read(min(len(buf), 1000))  # short reads, as pipes give
        buf[: len(chunk)] = chunk
        return len(chunk)


def test_reader_on_a_pipe_and_is_ima_wav_on_a_file_object(tmp_path: Path) -> None:
    p = tmp_path / "p.wav"
    write_ima_wav(p, signal(13, 5000, 2), 48000, encoder="greedy")
    whole, _ = read_ima_wav(p)
    got, sr = read_ima_wav(io.BufferedReader(_Pipe(p.read_bytes())))  # type: ignore[type-var]
    assert sr == 48000 and np.array_equal(got, whole)
    f = io.BytesIO(p.read_bytes())
    f.seek(3)
    assert is_ima_wav(f) is False and f.tell() == 3
    f.seek(0)
    assert is_ima_wav(f) and f.tell() == 0


def test_reader_handles_extra_chunks_odd_sizes_and_truncation(tmp_path: Path) -> None:
    pcm = signal(5, 3000, 1)
    p = tmp_path / "c.wav"
    write_ima_wav(p, pcm, 16000, block_samples=257)
    ck = chunks(p)
    ref = ours(p, use_fact=True)
    odd = b"LIST" + struct.pack("<I", 5) + b"abcde" + b"\0"
    junk = b"junk" + struct.pack("<I", 3) + b"xyz" + b"\0"
    body = (
        b"WAVE" + odd + b"fmt " + struct.pack("<I", 20) + ck[b"fmt "]
        + b"data" + struct.pack("<I", len(ck[b"data"])) + ck[b"data"]
        + junk + b"fact" + struct.pack("<II", 4, 3000)
    )  # fmt: skip
    q = tmp_path / "d.wav"
    q.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert np.array_equal(ours(q, use_fact=True), ref)  # fact after data is found
    # truncated: size fields say more than the file holds; last block partial
    cut = len(ck[b"data"]) - 131
    t = tmp_path / "t.wav"
    t.write_bytes(p.read_bytes()[: len(p.read_bytes()) - 131])
    got = ours(t)
    spb, ba = 257, A.block_align_for(257, 1)
    whole_blocks = cut // ba
    rest = cut - whole_blocks * ba
    tail = 1 + (rest - 4) // 4 * 8 if rest >= 4 else 0
    assert got.shape[0] == whole_blocks * spb + tail
    assert np.array_equal(got, ours(p)[: got.shape[0]])


def test_bad_files(tmp_path: Path) -> None:
    p = tmp_path / "pcm.wav"
    sf.write(p, np.zeros((100, 1)), 8000, subtype="PCM_16")
    assert not is_ima_wav(p)
    with pytest.raises(UnsupportedError):
        read_ima_wav(p)
    g = tmp_path / "g.wav"
    g.write_bytes(b"garbage" * 10)
    assert not is_ima_wav(g) and not is_ima_wav(tmp_path / "missing.wav")
    with pytest.raises(HeaderError):
        read_ima_wav(g)
    with pytest.raises(InputError):
        read_ima_wav(tmp_path / "missing.wav")
    ok = tmp_path / "ok.wav"
    write_ima_wav(ok, signal(6, 3000, 1), 8000)
    assert is_ima_wav(ok)
    b = bytearray(ok.read_bytes())
    data_at = b.index(b"data") + 8
    b[data_at + 512 + 2] = 99  # block 1 step index
    (tmp_path / "bad.wav").write_bytes(bytes(b))
    with pytest.raises(FrameError):
        read_ima_wav(tmp_path / "bad.wav")
    rng = np.random.default_rng(7)
    raw = ok.read_bytes()
    for _ in range(200):  # hostile bytes: only the codec's own errors
        m = bytearray(raw[:200])
        for _k in range(int(rng.integers(1, 8))):
            m[int(rng.integers(0, len(m)))] = int(rng.integers(0, 256))
        try:
            read_ima_wav(io.BytesIO(bytes(m)))
        except CodecError:
            pass
    for kw in ({"block_samples": 100}, {"block_samples": 8193 * 8 + 1}, {"encoder": "x"}):
        with pytest.raises(InputError):
            ImaWavWriter(io.BytesIO(), 8000, 2, **kw)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        ImaWavWriter(io.BytesIO(), 0, 1)


# ------------------------------------------------------------------ interop
# Our files, decoded by the tools


CASES = [(1, 4093), (2, 12345), (2, 1017)]


@needs_sox
@pytest.mark.parametrize("channels,n", CASES)
def test_sox_decodes_our_files_exactly(tmp_path: Path, channels: int, n: int) -> None:
    p = tmp_path / "o.wav"
    write_ima_wav(p, signal(8, n, channels), 48000)
    assert np.array_equal(sox_decode(p, channels), ours(p))


@needs_sndfile_ima
@pytest.mark.parametrize("channels,n", CASES)
def test_libsndfile_decodes_our_files_exactly(tmp_path: Path, channels: int, n: int) -> None:
    p = tmp_path / "o.wav"
    write_ima_wav(p, signal(9, n, channels), 48000, encoder="greedy")
    assert np.array_equal(sf_decode(p), ours(p))


@needs_ffmpeg
@pytest.mark.parametrize("channels,n", CASES)
def test_ffmpeg_decodes_our_files_exactly(tmp_path: Path, channels: int, n: int) -> None:
    p = tmp_path / "o.wav"
    write_ima_wav(p, signal(10, n, channels), 48000)
    assert np.array_equal(ffmpeg_decode(p, channels), ours(p, variant="ffmpeg"))
    # portable files decode to the same samples in ffmpeg as in sox/libsndfile/us
    q = tmp_path / "portable.wav"
    write_ima_wav(q, signal(10, n, channels), 48000, portable=True)
    assert np.array_equal(ffmpeg_decode(q, channels), ours(q))
    assert np.array_equal(sf_decode(q), ours(q))


# Their files, decoded by us


def _input_wav(tmp_path: Path, channels: int, n: int) -> Path:
    src = tmp_path / "in.wav"
    sf.write(src, to_i16(signal(11 + channels, n, channels)), 48000, subtype="PCM_16")
    return src


@needs_ffmpeg
@pytest.mark.parametrize("channels,n", CASES)
@pytest.mark.parametrize("trellis", [0, 3])
def test_we_decode_ffmpeg_files_exactly(
    tmp_path: Path, channels: int, n: int, trellis: int
) -> None:
    assert FFMPEG is not None
    src, p = _input_wav(tmp_path, channels, n), tmp_path / "ff.wav"
    subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-c:a", "adpcm_ima_wav",
         "-trellis", str(trellis), str(p)],
        check=True,
    )  # fmt: skip
    assert b"LIST" in chunks(p)  # ffmpeg adds an odd extra chunk
    assert np.array_equal(ours(p, variant="ffmpeg"), ffmpeg_decode(p, channels))
    assert np.array_equal(ours(p), sf_decode(p))
    if SOX is not None:
        assert np.array_equal(ours(p), sox_decode(p, channels))


@needs_sox
@pytest.mark.parametrize("channels,n", CASES)
def test_we_decode_sox_files_exactly(tmp_path: Path, channels: int, n: int) -> None:
    assert SOX is not None
    src, p = _input_wav(tmp_path, channels, n), tmp_path / "sx.wav"
    subprocess.run([SOX, "-V1", "-D", str(src), "-e", "ima-adpcm", str(p)], check=True)
    assert np.array_equal(ours(p), sox_decode(p, channels))
    assert np.array_equal(ours(p), sf_decode(p))
    # sox writes the true length in fact; we trim to it, the tools do not
    assert ours(p, use_fact=True).shape[0] == n
    if FFMPEG is not None:
        assert np.array_equal(ours(p, variant="ffmpeg"), ffmpeg_decode(p, channels))


@needs_sndfile_ima
@pytest.mark.parametrize("channels,n", CASES)
def test_we_decode_libsndfile_files_exactly(tmp_path: Path, channels: int, n: int) -> None:
    p = tmp_path / "sf.wav"
    sf.write(p, to_i16(signal(12, n, channels)), 48000, subtype="IMA_ADPCM")
    assert np.array_equal(ours(p), sf_decode(p))
    # libsndfile's fact (padded length // channels for stereo) is never trusted
    assert ours(p, use_fact=True).shape[0] == ours(p).shape[0]
    if SOX is not None:
        assert np.array_equal(ours(p), sox_decode(p, channels))
    if FFMPEG is not None:
        assert np.array_equal(ours(p, variant="ffmpeg"), ffmpeg_decode(p, channels))


# ------------------------------------------------- quality on the shared items


@needs_ffmpeg
@pytest.mark.skipif(not AUDIO.is_dir(), reason=f"{AUDIO} not present")
def test_search_beats_ffmpeg_default_on_shared_items(tmp_path: Path) -> None:
    assert FFMPEG is not None
    items = sorted(AUDIO.glob("*.wav"))
    if not items:
        pytest.skip(f"no WAV files in {AUDIO}")
    for item in items:
        x, sr = sf.read(item, dtype="int16", always_2d=True)
        x = x[sr : sr + sr * 3 // 2]  # 1.5 s excerpt keeps the test fast
        src = tmp_path / "ex.wav"
        sf.write(src, x, sr, subtype="PCM_16")
        ff = tmp_path / "ff.wav"
        subprocess.run(
            [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-c:a",
             "adpcm_ima_wav", str(ff)],
            check=True,
        )  # fmt: skip
        ffd = ffmpeg_decode(ff, x.shape[1])[: x.shape[0]]
        snrs = {}
        for enc in ("greedy", "search"):
            o = tmp_path / f"{enc}.wav"
            write_ima_wav(o, A.int16_to_float(x), sr, encoder=enc)
            snrs[enc] = _snr(x, ours(o, use_fact=True))
        ff_snr = _snr(x, ffd)
        assert snrs["search"] > ff_snr + 0.3, (item.name, snrs, ff_snr)
        assert snrs["search"] > snrs["greedy"], (item.name, snrs)


def _snr(ref: np.ndarray, out: np.ndarray) -> float:
    r = ref.astype(np.float64)
    e = out[: ref.shape[0]].astype(np.float64) - r
    return float(10 * np.log10(np.sum(r * r) / np.sum(e * e)))


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("sox") is None,
                    reason="needs ffmpeg and sox")
def test_cli_decode_matches_the_writing_tools_decoder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`audiocodec decode` of an IMA WAV gives exactly the samples of the tool that wrote it:
    ffmpeg's rounding for ffmpeg files (found by their Lavf tag), the IMA reference otherwise."""
    from audiocodec.files import decode_file

    rng = np.random.default_rng(5)
    x = (0.3 * np.sin(np.arange(20011) * 0.05)[:, None] + 0.05 * rng.standard_normal((20011, 2)))
    src = tmp_path / "src.wav"
    sf.write(src, x.astype(np.float32), 32000, subtype="PCM_16")
    cases = {
        "ffmpeg": (["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:a", "adpcm_ima_wav"],
                   ["ffmpeg", "-v", "error", "-y", "-i"]),
        "sox": (["sox", str(src), "-e", "ima-adpcm"], ["sox"]),
    }
    for tool, (enc, dec) in cases.items():
        ima = tmp_path / f"{tool}.wav"
        subprocess.run([*enc, str(ima)], check=True)
        ref = tmp_path / f"{tool}_ref.wav"
        if tool == "ffmpeg":
            subprocess.run([*dec, str(ima), "-c:a", "pcm_s16le", str(ref)], check=True)
        else:
            subprocess.run(["sox", str(ima), "-e", "signed", "-b", "16", str(ref)], check=True)
        ours = tmp_path / f"{tool}_ours.wav"
        decode_file(ima, ours)
        a, _ = sf.read(ref, dtype="int16")
        b, _ = sf.read(ours, dtype="int16")
        n = min(len(a), len(b))
        assert n >= 20000 and np.array_equal(a[:n], b[:n]), tool
