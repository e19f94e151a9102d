#!/usr/bin/env python3
"""Atheris fuzz target over every decoder entry point (issue 7).

The first input byte picks the entry point (``data[0] % 8``), the rest is fed
to it; ``fuzz/make_seeds.py`` writes valid streams of every mode, prefixed
with their selector byte, into ``fuzz/seeds/``:

    0  audiocodec.decode(bytes)                  whole .aqc stream, with recovery
    1  Decoder(header).decode(packet)            packet by packet (u16 length prefixes,
                                                 0 = a lost packet), losses too
    2  aqc.StreamHeader.unpack(bytes)            header and extension parser
    3  pages.scan_pages(serial, bytes)           page resync scanner
    4  adpcm.decode_packet(body, channels, n)    ADPCM packet parser
    5  imawav.ImaWavReader(file).read()          IMA ADPCM WAV reader
    6  like 0, 7  like 1, after rewriting every CRC (:func:`fix_crcs`), so that
       mutations get past the CRCs into the payload decoders

A finding is any exception that is not a :class:`CodecError`, a broken invariant
(``AssertionError``), or an input that runs past libFuzzer's ``-timeout``.
:func:`one_input` is also imported by ``tests/test_fuzz.py`` to replay
``tests/corpus/`` without atheris. How to run: ``fuzz/README.md``.
"""

from __future__ import annotations

import io
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from audiocodec import adpcm, oneshot, stream  # noqa: E402
from audiocodec.adpcm import wav as imawav  # noqa: E402
from audiocodec.container import aqc as bs  # noqa: E402
from audiocodec.container import pages  # noqa: E402
from audiocodec.errors import CodecError  # noqa: E402

# A decode may emit at most this many samples per input byte (plus one
# concealed tail): a page of K packets takes >= 20 + 2K bytes and yields <= K
# decoded plus <= K + MAX_GAP_CONCEAL concealed packets of <= 2048 samples,
# over a file; this catches output that grows with a header or granule claim.
MAX_SAMPLES_PER_BYTE = 2 * 2048
TAIL_SAMPLES = 3 * (bs.MAX_GAP_CONCEAL + 1) * 2048


def _check_pcm(y: np.ndarray, channels: int) -> None:
    assert y.dtype == np.float32, y.dtype
    assert y.ndim == 2 and y.shape[1] == channels, y.shape


def fuzz_decode(data: bytes) -> None:
    rep = oneshot.DecodeReport()
    try:
        y, rate = oneshot.decode(data, report=rep)
    except CodecError:
        return
    _check_pcm(y, rep.channels)
    assert bs.MIN_RATE <= rate <= bs.MAX_RATE
    assert y.shape[0] <= MAX_SAMPLES_PER_BYTE * len(data) + TAIL_SAMPLES, (y.shape, len(data))
    assert rep.skipped_bytes <= len(data)


def _split_packets(rest: bytes) -> list[bytes | None]:
    """Cut at u16 length prefixes (without checking them); length 0 = a lost packet."""
    out: list[bytes | None] = []
    pos = 0
    while pos + 2 <= len(rest):
        (n,) = struct.unpack_from("<H", rest, pos)
        out.append(rest[pos + 2 : pos + 2 + n] if n else None)
        pos += 2 + n
    return out


def fuzz_packets(data: bytes) -> None:
    try:
        dec = stream.Decoder(data)
    except CodecError:
        return
    for i, pkt in enumerate(_split_packets(data[dec.header.size :])):
        if i % 5 == 3:  # a loss, filled from this packet's FEC copy when the stream has one
            y = dec.decode(None, next_packet=pkt)
            _check_pcm(y, dec.channels)
            assert y.shape[0] <= dec.frame_size, y.shape
        try:
            y = dec.decode(pkt)
        except CodecError:
            y = dec.decode(None)
        _check_pcm(y, dec.channels)
        assert y.shape[0] <= dec.frame_size, y.shape
    # Decoder.finish() conceals up to the header's total_samples, bounded by
    # MAX_GAP_CONCEAL + 1 packets (test_reliability.test_decoder_finish_is_bounded)
    _check_pcm(dec.finish(), dec.channels)


def fuzz_header(data: bytes) -> None:
    try:
        h = bs.StreamHeader.unpack(data)
    except CodecError:
        return
    assert bs.StreamHeader.unpack(h.pack()) == h


def fuzz_scan(data: bytes) -> None:
    serial = struct.unpack("<I", data[:4])[0] if len(data) >= 4 else 0
    start = 0
    # the seed streams' serials, so the scanner also sees pages that pass their CRC
    if len(data) >= bs.HEADER_SIZE and data[:3] == bs.MAGIC:
        serial = struct.unpack_from("<I", data, 32)[0]
        start = bs.HEADER_SIZE
    covered, last = 0, start
    for off, page, skipped in pages.scan_pages(serial, data, start):
        assert off >= last and 0 <= skipped <= len(data)
        covered += skipped
        if page is None:
            assert off == len(data)
            break
        assert 1 <= len(page.packets) <= pages.MAX_COUNT
        assert all(1 <= len(p) <= bs.MAX_PACKET for p in page.packets)
        covered += page.size
        last = off + page.size
    assert covered == len(data) - start or len(data) - start < pages.MIN_PAGE


def fuzz_adpcm_packet(data: bytes) -> None:
    if len(data) < 3:
        return
    ch = (data[0] & 1) + 1
    n = struct.unpack_from("<H", data, 1)[0]
    try:
        y = adpcm.decode_packet(data[3:], ch, n)
    except CodecError:
        return
    assert y.shape == (n, ch) and y.dtype == np.float32
    assert np.all(np.abs(y) <= 1.0)


def fuzz_imawav(data: bytes) -> None:
    try:
        with imawav.ImaWavReader(io.BytesIO(data)) as r:
            y = r.read()
    except CodecError:
        return
    assert y.ndim == 2 and y.shape[0] <= 2 * len(data) + 1


def fix_crcs(data: bytes) -> bytes:
    """Rewrite the header CRC and every page CRC so mutations reach the payload decoders.

    Pages are found the naive way (sync word, count, lengths); a data page's
    CRC is seeded with the serial at header bytes 32..35.
    """
    if len(data) < bs.HEADER_SIZE:
        return data
    out = bytearray(data)
    size = bs.HEADER_SIZE + min(bs.MAX_EXTENSION, struct.unpack_from("<H", out, 36)[0])
    if size <= len(out):
        struct.pack_into("<I", out, size - 4, bs.crc32(bytes(out[: size - 4])))
    serial = struct.unpack_from("<I", out, 32)[0]
    pos = size
    while pos + pages.MIN_PAGE <= len(out):
        stop = _naive_page_end(out, pos)
        if stop is None:
            pos += 1
            continue
        seed = 0 if out[pos + 2] & pages.FLAG_HEADER else bs.crc32(struct.pack("<I", serial))
        struct.pack_into("<I", out, stop - 4, bs.crc32(bytes(out[pos : stop - 4]), seed))
        pos = stop
    return bytes(out)


def _naive_page_end(out: bytearray, pos: int) -> int | None:
    if out[pos : pos + 2] != pages.SYNC or out[pos + 3] == 0:
        return None
    q, body = pos + pages.FIXED_SIZE, 0
    for _ in range(out[pos + 3]):
        try:
            n, q = pages._read_leb128(memoryview(out), q, len(out))
        except CodecError:
            return None
        body += n
    stop = q + body + pages.CRC_SIZE
    return stop if stop <= len(out) else None


def fuzz_decode_fixed(data: bytes) -> None:
    fuzz_decode(fix_crcs(data))


def fuzz_packets_fixed(data: bytes) -> None:
    fuzz_packets(fix_crcs(data))


TARGETS: list[Callable[[bytes], None]] = [
    fuzz_decode, fuzz_packets, fuzz_header, fuzz_scan, fuzz_adpcm_packet, fuzz_imawav,
    fuzz_decode_fixed, fuzz_packets_fixed,
]


def one_input(data: bytes) -> None:
    """The fuzz target: route ``data[1:]`` to the entry point ``data[0]`` selects."""
    if not data:
        return
    TARGETS[data[0] % len(TARGETS)](bytes(data[1:]))


def _instrument(atheris: Any) -> None:
    """Coverage for the pure-Python code only: instrumenting a function that numba
    compiles breaks its compilation (atheris' tracer is not a numba type), and
    ``atheris.instrument_all()`` would also spend minutes on numpy and scipy."""
    import types

    from audiocodec import files
    from audiocodec.adpcm import blocks, mode, packets, pcm
    from audiocodec.container import reader
    from audiocodec.core import decoder, entropy, layout, quant

    seen: set[int] = set()

    def visit(obj: Any) -> None:
        if isinstance(obj, types.FunctionType) and id(obj) not in seen:
            seen.add(id(obj))
            atheris.instrument_func(obj)
        elif isinstance(obj, type) and obj.__module__.startswith("audiocodec"):
            for v in vars(obj).values():
                visit(getattr(v, "__func__", v))
                if isinstance(v, property):
                    for f in (v.fget, v.fset):
                        visit(f)

    for mod in (oneshot, files, bs, pages, reader, stream, decoder, layout, packets, blocks, pcm, mode,
                imawav, entropy, quant):
        for v in vars(mod).values():
            if getattr(v, "__module__", "") == mod.__name__:
                visit(v)


def main() -> None:
    import atheris

    _instrument(atheris)
    # warm the numba kernels once so the first inputs are not "slow units"
    for seed in sorted((Path(__file__).parent / "seeds").glob("*.bin")):
        one_input(seed.read_bytes())
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
