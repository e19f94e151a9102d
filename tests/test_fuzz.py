"""Property tests over every decoder entry point, and replay of ``tests/corpus/``.

Hypothesis drives the same target as the atheris fuzzer (``fuzz/fuzz_decode.py``):
any bytes must give a result or a :class:`CodecError`, never another
exception, a hang or output that grows with what a header claims. Examples
are derandomised and bounded so the whole file runs in well under 60 s.
"""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiocodec import adpcm, oneshot
from audiocodec.adpcm.wav import ImaWavReader
from audiocodec.container import aqc as bs
from audiocodec.container import pages, reader
from audiocodec.errors import CodecError
from audiocodec.stream import Decoder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fuzz"))
import fuzz_decode  # noqa: E402
import make_seeds  # noqa: E402

CORPUS = sorted((ROOT / "tests" / "corpus").glob("*"))
SEEDS = make_seeds.streams()
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated_stream(draw: st.DrawFn) -> bytes:
    """A valid stream of some mode with a few byte edits (CRCs fixed half the time)."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.integers(0, 3))
        if kind == 0:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == 1:
            data[pos] = draw(st.integers(0, 255))
        elif kind == 2:
            del data[pos : pos + draw(st.integers(1, 64))]
        else:
            data[pos:pos] = draw(st.binary(max_size=32))
        if not data:
            break
    cut = draw(st.integers(0, len(data)))
    out = bytes(data[:cut] if draw(st.booleans()) else data)
    return fuzz_decode.fix_crcs(out) if draw(st.booleans()) else out


@FUZZ
@given(mutated_stream())
def test_decode_survives_mutations(data: bytes) -> None:
    fuzz_decode.fuzz_decode(data)


@FUZZ
@given(st.binary(max_size=4000))
def test_decode_survives_random_bytes(data: bytes) -> None:
    fuzz_decode.fuzz_decode(data)
    fuzz_decode.fuzz_decode(SEEDS["mdct_long_mono"][: bs.HEADER_SIZE] + data)


@FUZZ
@given(mutated_stream())
def test_decoder_packets_survive_mutations(data: bytes) -> None:
    fuzz_decode.fuzz_packets(data)


@FUZZ
@given(st.binary(min_size=0, max_size=60), st.sampled_from(sorted(SEEDS)))
def test_header_unpack(noise: bytes, name: str) -> None:
    fuzz_decode.fuzz_header(noise)
    hdr = bytearray(SEEDS[name][: bs.HEADER_SIZE])
    hdr[: len(noise[:38])] = noise[:38]
    fuzz_decode.fuzz_header(fuzz_decode.fix_crcs(bytes(hdr)))  # valid CRC, hostile fields


@FUZZ
@given(mutated_stream(), st.integers(0, 2**32 - 1))
def test_scan_pages_invariants(data: bytes, serial: int) -> None:
    fuzz_decode.fuzz_scan(data)
    total = 0
    for off, page, skipped in pages.scan_pages(serial, data, 0):
        total += skipped + (0 if page is None else page.size)
        assert off <= len(data)
    assert total == len(data) or len(data) < pages.MIN_PAGE


@FUZZ
@given(st.integers(1, 2), st.integers(0, 9000), st.binary(max_size=5000))
def test_adpcm_decode_packet(channels: int, n: int, body: bytes) -> None:
    try:
        y = adpcm.decode_packet(body, channels, n)
    except CodecError:
        return
    assert y.shape == (n, channels) and np.all(np.abs(y) <= 1.0)


@FUZZ
@given(st.data())
def test_adpcm_valid_packets_with_hostile_state(data: st.DataObject) -> None:
    ch = data.draw(st.integers(1, 2))
    n = data.draw(st.integers(1, 300))
    size = adpcm.packet_size(ch, n)
    body = bytearray(data.draw(st.binary(min_size=size, max_size=size)))
    if (n * ch) & 1:
        body[-1] &= 0x0F
    for c in range(ch):
        body[3 * c + 2] = min(body[3 * c + 2], 88)
    y = adpcm.decode_packet(bytes(body), ch, n)  # always decodable: must not raise
    assert y.shape == (n, ch) and np.isfinite(y).all()


@FUZZ
@given(st.data())
def test_imawav_reader(data: st.DataObject) -> None:
    good = bytearray(make_seeds.ima_wav(data.draw(st.integers(1, 2)), 200))
    for _ in range(data.draw(st.integers(0, 5))):
        pos = data.draw(st.integers(0, len(good) - 1))
        good[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    fuzz_decode.fuzz_imawav(bytes(good[:cut]))
    # and the non-seekable path (a pipe): no fact look-ahead, data simply ends
    raw = io.BufferedReader(io.BytesIO(bytes(good[:cut])))  # type: ignore[arg-type]
    raw.seekable = lambda: False  # type: ignore[method-assign]
    try:
        with ImaWavReader(raw) as r:
            r.read()
    except CodecError:
        pass


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_replay(path: Path) -> None:
    """Every committed crasher / interesting input, through every entry point."""
    data = path.read_bytes()
    for target in fuzz_decode.TARGETS:
        target(data)
        target(data[1:])
    if data[:3] == bs.MAGIC:
        rep = oneshot.DecodeReport()
        try:
            oneshot.decode(data, report=rep)
        except CodecError:
            return
        dec = Decoder(reader.locate_header(data)[0])
        assert dec.channels == rep.channels


def test_corpus_is_committed_and_small() -> None:
    assert len(CORPUS) >= 4
    assert all(p.stat().st_size <= 256 * 1024 for p in CORPUS)


def test_seeds_script_is_deterministic() -> None:
    again = make_seeds.streams()
    assert again == SEEDS
    assert struct.unpack_from("<I", again["adpcm_mono"], 32)[0] == 0x5EED0009
