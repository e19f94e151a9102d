"""AQC container: golden bytes for header and frame, CRC, resynchronisation."""

from __future__ import annotations

import pytest

from audiocodec.container import aqc as bs
from audiocodec.errors import CodecError, FrameError, HeaderError

GOLDEN_HEADER = bytes.fromhex(
    "415143010002010180bb000000040004000400000077010060ea000000000000785634120000"
)


def _header() -> bs.StreamHeader:
    return bs.StreamHeader(bs.MODE_MDCT, 2, 48000, 1024, 1024, 1024, 96000, 60000, 0x12345678, 1, 1)


def test_header_golden_bytes() -> None:
    packed = _header().pack()
    assert len(packed) == bs.HEADER_SIZE == 40
    assert packed[:-2] == GOLDEN_HEADER
    assert packed[-2:] == bs.crc16(GOLDEN_HEADER).to_bytes(2, "little")
    assert bs.StreamHeader.unpack(packed) == _header()


def test_crc16_check_value() -> None:
    # CRC-16/CCITT-FALSE of "123456789" is 0x29B1 (the catalogue's check value)
    assert bs.crc16(b"123456789") == 0x29B1


def test_frame_golden_bytes() -> None:
    pkt = bs.pack_frame(0x12345678, 5, b"\x01\x02\x03")
    assert pkt[:7] == b"\xa5\x51" + b"\x03\x00" + b"\x05" + pkt[5:7]
    crc = bs.crc16(b"\x01\x02\x03", bs.crc16(bytes.fromhex("78563412030005")))
    assert pkt[5:7] == crc.to_bytes(2, "little")
    assert bs.unpack_frame(0x12345678, pkt) == (5, memoryview(b"\x01\x02\x03"))


@pytest.mark.parametrize(
    "mutate, msg",
    [
        (lambda h: b"XYZ" + h[3:], "magic"),
        (lambda h: h[:3] + b"\x09" + h[4:], "version"),
        (lambda h: h[:10], "needs 40"),
        (lambda h: h[:20] + bytes([h[20] ^ 1]) + h[21:], "CRC"),
    ],
)
def test_header_rejects(mutate, msg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(HeaderError, match=msg):
        bs.StreamHeader.unpack(mutate(_header().pack()))


def test_header_rejects_absurd_values_even_with_good_crc() -> None:
    import dataclasses

    for field, value in (
        ("channels", 9),
        ("sample_rate", 1),
        ("frame_size", 60000),
        ("overlap", 3),
        ("mode", 7),
        ("delay", 5),
    ):
        bad = dataclasses.replace(_header(), **{field: value})
        with pytest.raises(HeaderError):
            bs.StreamHeader.unpack(bad.pack())


@pytest.mark.parametrize("offset, value", [(36, 1), (37, 0x80), (7, 0x02), (7, 0x81)])
def test_header_rejects_undefined_bits_even_with_good_crc(offset: int, value: int) -> None:
    body = bytearray(_header().pack()[: bs.HEADER_SIZE - 2])
    body[offset] = value
    data = bytes(body) + bs.crc16(bytes(body)).to_bytes(2, "little")
    with pytest.raises(HeaderError, match="version 1 does not define"):
        bs.StreamHeader.unpack(data)


def test_writer_cannot_make_a_header_the_reader_refuses() -> None:
    import dataclasses

    bad = dataclasses.replace(_header(), flags=0x81)
    with pytest.raises(HeaderError, match="version 1 does not define"):
        bad.validate()


def test_frame_from_other_stream_rejected() -> None:
    pkt = bs.pack_frame(1, 0, b"abc")
    with pytest.raises(FrameError, match="CRC"):
        bs.unpack_frame(2, pkt)


def test_scan_resynchronises_after_garbage() -> None:
    frames = [bs.pack_frame(7, i, bytes([i]) * (10 + i)) for i in range(6)]
    damaged = bytearray(b"".join(frames))
    # corrupt frame 2's payload and insert garbage containing a fake sync word
    off = sum(map(len, frames[:2])) + 9
    damaged[off] ^= 0xFF
    damaged[5:5] = b"\xa5\x51\xff\xff junk"
    found = [(seq, bytes(p)) for _o, seq, p, _s in bs.scan_frames(7, bytes(damaged)) if seq >= 0]
    assert [s for s, _ in found] == [1, 3, 4, 5] or [s for s, _ in found] == [0, 1, 3, 4, 5]
    assert all(p == bytes([s]) * (10 + s) for s, p in found)


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
