"""The v2 ``.aqc`` container: pages, losses, header copies, hostile bytes (issue 13 items 2, 4, 9).

Decoder rules checked here: only :class:`CodecError` subclasses escape, work is
bounded by the input, a damaged page is concealed packet by packet (the output
keeps its length) and decoding resumes at the next good page, and one damaged
byte in the stream header loses nothing.
"""

from __future__ import annotations

import struct
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import audiocodec
from audiocodec.container import aqc as bs
from audiocodec.container import pages, reader
from audiocodec.errors import CodecError, FrameError, HeaderError
from audiocodec.oneshot import DecodeReport
from audiocodec.stream import Decoder, Encoder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import safe_decode  # noqa: E402

MODES: dict[str, dict[str, Any]] = {
    "mdct": {},
    "lowdelay": {"low_delay": True},
    "adpcm": {"mode": "adpcm", "frame_size": 256},
}


def tone(n: int, channels: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = np.stack([0.4 * np.sin(2 * np.pi * (330 + 110 * c) * t) for c in range(channels)], axis=1)
    return (x + 0.01 * rng.standard_normal(x.shape)).astype(np.float32)


@cache
def stream(mode: str, channels: int = 1, n: int = 16000) -> bytes:
    return audiocodec.encode(tone(n, channels), 16000, serial=0xC0DE + channels, **MODES[mode])


def pages_of(data: bytes) -> list[tuple[int, pages.Page]]:
    h = bs.StreamHeader.unpack(data)
    return [(off, p) for off, p, _ in pages.scan_pages(h.serial, data, h.size) if p is not None]


def data_pages(data: bytes) -> list[tuple[int, pages.Page]]:
    return [(o, p) for o, p in pages_of(data) if not p.is_header]


def test_file_layout_header_pages_and_granules() -> None:
    data = stream("lowdelay", 1, 16000 * 6)  # 6 s: copies after page 0, after ~5 s, at the end
    h = bs.StreamHeader.unpack(data)
    ps = pages_of(data)
    assert ps[0][0] == h.size and [p.seq for _, p in ps] == list(range(len(ps)))
    heads = [i for i, (_, p) in enumerate(ps) if p.is_header]
    assert heads[0] == 1 and heads[-1] == len(ps) - 1 and len(heads) == 3
    granule = 0
    for _, p in ps:
        assert bytes(p.packets[0][:3]) == b"AQC" if p.is_header else p.flags == pages.FLAG_RESET
        granule += 0 if p.is_header else len(p.packets) * h.frame_size
        assert p.granule == granule
    sizes = {len(p.packets) for _, p in ps[:-2] if not p.is_header}
    assert sizes == {-(-(pages.PAGE_MS * 16) // h.frame_size)}  # PAGE_MS at 16 kHz
    # with sf_predict, the page length is the multiple of its interval nearest that (25 -> 32)
    assert pages.page_packets(h.frame_size, 16000, 16) == 32 and bs.sf_predict_interval(h) is None


@pytest.mark.parametrize("mode", list(MODES))
def test_every_byte_of_the_first_header_may_be_damaged(mode: str) -> None:
    """Flip each byte of the leading header in turn: the copy takes over, nothing is lost."""
    good = stream(mode)
    ref, _ = audiocodec.decode(good)
    size = bs.StreamHeader.unpack(good).size
    for i in range(size):
        bad = bytearray(good)
        bad[i] ^= 0x41
        y, rep, _ = safe_decode(bytes(bad))
        assert y is not None, i
        np.testing.assert_array_equal(y, ref)
        assert rep.header_from_copy and rep.concealed == 0 and rep.skipped_bytes == size, i


def test_header_extension_is_written_parsed_and_skipped() -> None:
    ext = ((bs.TAG_SOURCE_RATE, struct.pack("<I", 44100)), (bs.TAG_SOURCE_FORMAT, b"PCM_24"),
           (bs.TAG_TEXT_TAGS, bs.text_tags([("TITLE", "Ünïcode"), ("ARTIST", "x")])),
           (0x42, b"future skippable field"), (bs.TAG_PADDING, bytes(16)))
    x = tone(4000, 2)
    data = audiocodec.encode(x, 16000, serial=9, extension=ext)
    h = bs.StreamHeader.unpack(data)
    # the caller's records after the encoder's own (scale-factor prediction here)
    own = (bs.sf_predict_record(16), (bs.TAG_JOINT_FIELDS, b""), bs.noise_fill_record(32))
    assert h.extension == own + ext and h.find(bs.TAG_SOURCE_FORMAT) == b"PCM_24"
    y, _ = audiocodec.decode(data)
    plain, _ = audiocodec.decode(audiocodec.encode(x, 16000, serial=9))
    np.testing.assert_array_equal(y, plain)  # unknown tag 0x42 skipped


@pytest.mark.parametrize("ext, words", [
    (((0x90, b"x"),), "critical"),
    (((bs.TAG_SOURCE_RATE, b"\0\0"),), "source_rate"),
    (((bs.TAG_SEEK_INDEX, b"\0"),), "seek_index"),
    (((bs.TAG_CHANNEL_MAP, b"\0"),), "channel_map"),
    (((bs.TAG_TEXT_TAGS, b"\x03\0abc"),), "KEY=value"),
    (((bs.TAG_SOURCE_FORMAT, b"A"), (bs.TAG_SOURCE_FORMAT, b"B")), "twice"),
    (((0x10, bytes(5000)),), "exceeds"),
])
def test_bad_extensions_are_refused_by_writer_and_reader(ext: Any, words: str) -> None:
    with pytest.raises(CodecError, match=words):
        Encoder(16000, 1, extension=ext)
    # the reader refuses the same bytes when a writer forces them in
    body = bytearray(stream("mdct")[: bs.FIXED_SIZE])
    raw = b"".join(struct.pack("<BH", t, len(v)) + v for t, v in ext)[: bs.MAX_EXTENSION + 8]
    struct.pack_into("<H", body, 36, len(raw))
    hdr = bytes(body) + raw
    with pytest.raises(HeaderError):
        bs.StreamHeader.unpack(hdr + struct.pack("<I", bs.crc32(hdr)))


def test_extension_lengths_are_checked_before_reading() -> None:
    body = bytearray(stream("mdct")[: bs.FIXED_SIZE])
    for raw in (b"\x01", b"\x01\xff\xff", b"\x05\x04\x00\x01\x00"):
        struct.pack_into("<H", body, 36, len(raw))
        hdr = bytes(body) + raw
        with pytest.raises(HeaderError, match="ext|record|string|overruns"):
            bs.StreamHeader.unpack(hdr + struct.pack("<I", bs.crc32(hdr)))


def test_version_1_streams_are_refused_in_one_line() -> None:
    v1 = bytearray(b"AQC\x01" + bytes(34))
    v1 += struct.pack("<H", bs.crc16(bytes(v1)))
    with pytest.raises(HeaderError, match="^AQC version 1 stream: this decoder reads version 2 only"):
        audiocodec.decode(bytes(v1) + bytes(100))


@pytest.mark.parametrize("mode", list(MODES))
def test_damaged_page_is_concealed_packet_by_packet(mode: str) -> None:
    good = stream(mode, 2)
    ref, _ = audiocodec.decode(good)
    dp = data_pages(good)
    h = bs.StreamHeader.unpack(good)
    n, delay = h.frame_size, h.delay
    rng = np.random.default_rng(7)
    for _ in range(25):
        k = int(rng.integers(1, len(dp) - 2))
        off, page = dp[k]
        bad = bytearray(good)
        bad[off + int(rng.integers(0, page.size))] ^= 1 << int(rng.integers(0, 8))
        y, rep, _ = safe_decode(bytes(bad))
        assert y is not None and y.shape == ref.shape
        assert rep.concealed == len(page.packets) and rep.lost_pages == 1
        first = (page.granule // n - len(page.packets))  # index of the page's first packet
        np.testing.assert_array_equal(y[: first * n - delay], ref[: first * n - delay])
        a = (page.granule // n + (0 if mode == "adpcm" else 1)) * n - delay
        intra = bs.sf_predict_interval(h)
        if intra is not None:  # the scale factors drift until the next intra packet (+ pre-roll)
            assert np.abs(y[a:]).max() <= 2 * np.abs(ref).max()
            a = max(a, (-(-(page.granule // n) // intra) * intra + 1) * n - delay)
        if mode == "adpcm":  # every packet carries its predictor state: exact after the loss
            np.testing.assert_array_equal(y[a:], ref[a:])
        else:  # one packet of pre-roll; noise fill draws from the RNG concealment used
            if bs.pitch_filter_interval(h) is not None:
                # the post-filter's memory holds the concealed blocks: it fades by its gain
                # each period (measured: 3.7 % of the energy in the first packet, 0.2 % after 50 ms)
                a += int(0.05 * h.sample_rate)
            err = float(np.sum((y[a:] - ref[a:]) ** 2))
            assert err <= 0.01 * float(np.sum(ref[a:] ** 2))


def test_lost_pages_in_a_row_and_a_lost_header_page() -> None:
    good = stream("lowdelay")
    ref, _ = audiocodec.decode(good)
    ps = pages_of(good)
    # drop pages 0..3 (page 1 is a header copy): 3 data pages of packets concealed
    cut = good[: ps[0][0]] + good[ps[4][0] :]
    y, rep, _ = safe_decode(cut)
    assert y is not None and y.shape == ref.shape
    assert rep.concealed == sum(len(p.packets) for _, p in ps[:4] if not p.is_header)


def test_pages_from_another_stream_are_skipped() -> None:
    a = stream("mdct")
    other = audiocodec.encode(tone(16000, 1, seed=5), 16000, serial=0xBAD)
    (o2, p2), (k_off, pk) = data_pages(other)[3], data_pages(a)[3]
    spliced = a[:k_off] + other[o2 : o2 + p2.size] + a[k_off + pk.size :]
    ref, _ = audiocodec.decode(a)
    y, rep, _ = safe_decode(spliced)
    assert y is not None and y.shape == ref.shape
    assert rep.skipped_bytes == p2.size and rep.concealed == len(pk.packets)


@pytest.mark.parametrize("mode", list(MODES))
def test_truncated_stream_decodes_every_complete_page(mode: str) -> None:
    good = stream(mode)
    ref, _ = audiocodec.decode(good)
    h = bs.StreamHeader.unpack(good)
    for off, page in data_pages(good)[1:-1]:
        rep = DecodeReport()
        y, _ = audiocodec.decode(good[: off + page.size // 2], report=rep)
        assert rep.truncated
        final = page.granule - len(page.packets) * h.frame_size - h.delay
        np.testing.assert_array_equal(y[:final], ref[:final])
    for cut in range(bs.HEADER_SIZE):
        with pytest.raises(HeaderError):
            audiocodec.decode(good[:cut])


def test_page_claims_are_bounded() -> None:
    good = stream("mdct")
    h = bs.StreamHeader.unpack(good)
    off, page = data_pages(good)[2]
    ref, _ = audiocodec.decode(good)
    for granule in (2**63, page.granule + 10**9 * h.frame_size):
        bad = bytearray(good)
        struct.pack_into("<Q", bad, off + 8, granule)
        y, rep, _ = safe_decode(bytes(bad))  # CRC fails: the page is just lost
        assert y is not None and y.shape == ref.shape
    # a valid page (right CRC) claiming a huge gap conceals at most MAX_GAP_CONCEAL
    hostile = good[: h.size] + pages.pack_page(h.serial, pages.FLAG_RESET, 0, 2**40, [b"\x00"])
    y, rep, _ = safe_decode(hostile)
    assert y is not None and rep.concealed <= bs.MAX_GAP_CONCEAL + bs.MAX_GAP_CONCEAL + 2


def test_sync_flood_costs_linear_time() -> None:
    good = stream("mdct")
    h = bs.StreamHeader.unpack(good)
    for reps in (20000, 80000):  # sync words claiming 255 packets of 64 KiB each
        flood = (pages.SYNC + b"\x02\xff" + bytes(12) + b"\xff\xff\x03" * 255) * (reps // 100)
        y, rep, dt = safe_decode(good[: h.size] + flood + good[h.size :])
        assert dt < 2.0, f"{len(flood)} bytes of sync flood took {dt:.1f} s"
    noise = np.random.default_rng(4).bytes(1 << 20)
    y, rep, _ = safe_decode(good[: h.size] + noise + good[h.size :])
    assert rep.skipped_bytes == len(noise) and rep.concealed == 0


def test_random_bytes_raise_only_codec_errors() -> None:
    rng = np.random.default_rng(1)
    cases = [rng.bytes(int(rng.integers(0, 3000))) for _ in range(200)]
    for mode in MODES:
        good = stream(mode)
        h = bs.StreamHeader.unpack(good)
        hdr = good[: h.size]
        cases += [hdr + rng.bytes(int(rng.integers(0, 3000))) for _ in range(30)]
        for _ in range(30):  # random packets in valid pages: they reach the payload decoders
            body = b"".join(pages.pack_page(h.serial, pages.FLAG_RESET, k, (k + 1) * h.frame_size,
                                            [rng.bytes(int(rng.integers(1, 200)))])
                            for k in range(int(rng.integers(1, 8))))
            cases.append(hdr + body)
    for data in cases:
        safe_decode(data)


def test_page_golden_bytes_and_leb128_rules() -> None:
    page = pages.pack_page(0x12345678, pages.FLAG_RESET, 5, 2560, [b"\x01\x02\x03", bytes(200)])
    head = b"\xa5\x52\x02\x02" + struct.pack("<IQ", 5, 2560) + b"\x03\xc8\x01"
    assert page[:19] == head and page[19:22] == b"\x01\x02\x03" and len(page) == 19 + 203 + 4
    crc = bs.crc32(page[:-4], bs.crc32(struct.pack("<I", 0x12345678)))
    assert page[-4:] == struct.pack("<I", crc)
    parsed, _ = pages.parse_page(0x12345678, memoryview(page), 0, len(page))
    assert [bytes(p) for p in parsed.packets] == [b"\x01\x02\x03", bytes(200)]
    with pytest.raises(FrameError, match="CRC"):
        pages.parse_page(0x12345679, memoryview(page), 0, len(page))
    for lengths in (b"\x80\x00", b"\x00", b"\xff\xff\x7f", b"\x80\x80\x80\x01"):  # not minimal / 0 / > 65535
        raw = b"\xa5\x52\x02\x01" + bytes(12) + lengths + bytes(8)
        with pytest.raises(FrameError):
            pages.parse_page(0, memoryview(raw), 0, len(raw))


def test_decoder_starts_at_a_reset_point() -> None:
    """Decoding from page k (start_at its predecessor's granule) matches the full decode
    after one packet of MDCT pre-roll, and lands on the same output timeline."""
    good = stream("mdct")
    ref, _ = audiocodec.decode(good)
    h = bs.StreamHeader.unpack(good)
    dp = data_pages(good)
    # the pages are half the sf_predict interval long: every other one is a reset point
    assert [p.flags for _, p in dp] == [pages.FLAG_RESET if i % 2 == 0 else 0 for i in range(len(dp))]
    prev, (_, page) = dp[1][1], dp[2]
    dec = Decoder(h)
    dec.start_at(prev.granule)
    y = np.concatenate([dec.decode(bytes(p)) for p in page.packets])
    start = prev.granule - h.delay
    pre = h.frame_size  # the first packet's output is pre-roll
    np.testing.assert_allclose(y[pre:], ref[start + pre : start + len(y)], atol=1e-6)


def test_info_counts_packets_and_pages(tmp_path: Any) -> None:
    from audiocodec import files

    path = tmp_path / "a.aqc"
    path.write_bytes(stream("lowdelay"))
    d = files.info(path)
    dp = data_pages(stream("lowdelay"))
    assert d["frames"] == sum(len(p.packets) for _, p in dp) and d["samples"] == 16000
    assert d["version"] == 2 and d["damaged_bytes"] == 0


def test_find_header_copy_ignores_data_pages() -> None:
    good = stream("adpcm")
    h = bs.StreamHeader.unpack(good)
    assert reader.find_header_copy(good[h.size :]) == h
    assert reader.find_header_copy(b"".join(good[o : o + p.size] for o, p in data_pages(good))) is None
