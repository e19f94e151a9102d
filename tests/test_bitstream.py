"""AQC v2 stream header and pages: golden bytes, CRCs, field checks (spec: container/aqc.py, pages.py)."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from audiocodec.container import aqc as bs
from audiocodec.container import pages
from audiocodec.errors import CodecError, FrameError, HeaderError

# fixed fields, then a 12-byte extension: source_rate 44100 and an unknown skippable tag 0x42
GOLDEN_HEADER = bytes.fromhex(
    "415143020002010180bb000000040004000400000077010060ea000000000000785634120c00"
    "01040044ac00004202006162"
)
GOLDEN_HEADER_CRC = bytes.fromhex("d124605b")
# a RESET page, seq 5, granule 2560, packets b"\x01\x02\x03" and b"\x04", serial 0x12345678
GOLDEN_PAGE = bytes.fromhex("a552020205000000000a00000000000003010102030437f74f0c")
EXT = ((bs.TAG_SOURCE_RATE, struct.pack("<I", 44100)), (0x42, b"ab"))


def _header(**kw: object) -> bs.StreamHeader:
    h = bs.StreamHeader(bs.MODE_MDCT, 2, 48000, 1024, 1024, 1024, 96000, 60000, 0x12345678, 1, 1, EXT)
    return dataclasses.replace(h, **kw)  # type: ignore[arg-type]


def test_header_golden_bytes() -> None:
    packed = _header().pack()
    assert len(packed) == _header().size == bs.HEADER_SIZE + 12 == 54
    assert packed[:-4] == GOLDEN_HEADER and packed[-4:] == GOLDEN_HEADER_CRC
    assert packed[-4:] == bs.crc32(GOLDEN_HEADER).to_bytes(4, "little")
    assert bs.StreamHeader.unpack(packed + b"trailing bytes are the pages") == _header()
    assert len(_header(extension=()).pack()) == bs.HEADER_SIZE == 42


def test_page_golden_bytes() -> None:
    page = pages.pack_page(0x12345678, pages.FLAG_RESET, 5, 2560, [b"\x01\x02\x03", b"\x04"])
    assert page == GOLDEN_PAGE
    assert page[-4:] == bs.crc32(page[:-4], bs.crc32(b"\x78\x56\x34\x12")).to_bytes(4, "little")
    parsed, _ = pages.parse_page(0x12345678, memoryview(page), 0, len(page))
    assert (parsed.seq, parsed.granule, parsed.flags) == (5, 2560, pages.FLAG_RESET)


def test_header_page_crc_is_unseeded() -> None:
    page = pages.header_page(_header(), 1, 1024)
    parsed, _ = pages.parse_page(0, memoryview(page), 0, len(page))  # found without the serial
    assert parsed.is_header and bs.StreamHeader.unpack(parsed.packets[0]) == _header()


def test_crc_check_values() -> None:
    assert bs.crc32(b"123456789") == 0xCBF43926  # CRC-32/ISO-HDLC check value
    assert bs.crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE (version 1)


@pytest.mark.parametrize(
    "mutate, msg",
    [
        (lambda h: b"XYZ" + h[3:], "magic"),
        (lambda h: h[:3] + b"\x09" + h[4:], "version 9"),
        (lambda h: h[:3] + b"\x01" + h[4:], "version 1"),
        (lambda h: h[:10], "needs 42"),
        (lambda h: h[:50], "needs 54"),
        (lambda h: h[:20] + bytes([h[20] ^ 1]) + h[21:], "CRC"),
        (lambda h: h[:45] + bytes([h[45] ^ 1]) + h[46:], "CRC"),
    ],
)
def test_header_rejects(mutate, msg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(HeaderError, match=msg):
        bs.StreamHeader.unpack(mutate(_header().pack()))


def test_header_rejects_absurd_values_even_with_good_crc() -> None:
    for field, value in (("channels", 9), ("sample_rate", 1), ("frame_size", 60000), ("overlap", 3),
                         ("mode", 7), ("delay", 5), ("flags", 0x81)):
        body = bytearray(_header(extension=()).pack()[:-4])
        off, fmt = {"channels": (5, "B"), "sample_rate": (8, "I"), "frame_size": (12, "H"),
                    "overlap": (14, "H"), "mode": (4, "B"), "delay": (16, "I"), "flags": (7, "B")}[field]
        struct.pack_into("<" + fmt, body, off, value)
        data = bytes(body) + bs.crc32(bytes(body)).to_bytes(4, "little")
        with pytest.raises(HeaderError):
            bs.StreamHeader.unpack(data)
        with pytest.raises(HeaderError):
            _header(**{field: value}).pack()  # the writer cannot make what the reader refuses


def test_ext_size_is_checked_before_reading() -> None:
    body = bytearray(_header(extension=()).pack()[:-4])
    struct.pack_into("<H", body, 36, 0xFFFF)
    with pytest.raises(HeaderError, match="exceeds 4096"):
        bs.StreamHeader.unpack(bytes(body) + bytes(4))


def test_toc_byte_roundtrip() -> None:
    assert bs.pack_info(0x05, False, 0) == b"\x05"
    assert bs.read_info(bs.pack_info(0x05, True, 123) + b"x") == (0x85, 9, 123)
    for bad in (b"", b"\x80\x01"):
        with pytest.raises(FrameError):
            bs.read_info(bad)


def test_errors_are_codec_errors() -> None:
    assert issubclass(HeaderError, CodecError) and issubclass(HeaderError, ValueError)
    assert issubclass(FrameError, CodecError)


def test_format_doc_is_the_module_docstrings() -> None:
    """docs/FORMAT.md is generated from the spec docstrings; a stale copy fails here."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "docs" / "make_format.py"
    r = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, "docs/FORMAT.md is out of date: run python docs/make_format.py"
