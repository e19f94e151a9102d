"""In-band FEC: the redundant copy of the previous frame stands in for a lost packet, in the
streaming decoder, the file reader and the RTP jitter buffer; hostile sections only conceal."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import receive_all, tones_and_burst  # noqa: E402

import audiocodec  # noqa: E402
from audiocodec import net  # noqa: E402
from audiocodec.container import aqc, pages  # noqa: E402
from audiocodec.errors import HeaderError, InputError  # noqa: E402
from audiocodec.eval.metrics import snr_db  # noqa: E402

FS = 48000


def _packets(x: np.ndarray, **opts: object) -> tuple[bytes, list[bytes]]:
    enc = audiocodec.Encoder(FS, x.shape[1], bitrate=48000, low_delay=True, serial=21,
                             total_samples=len(x), **opts)  # type: ignore[arg-type]
    return enc.header, enc.encode(x) + enc.flush()


def _decode(header: bytes, packets: list[bytes], lost: set[int], use_fec: bool
            ) -> tuple[np.ndarray, audiocodec.Decoder]:
    dec = audiocodec.Decoder(header)
    out = []
    for i, p in enumerate(packets):
        if i in lost:
            nxt = packets[i + 1] if use_fec and i + 1 < len(packets) and i + 1 not in lost else None
            out.append(dec.decode(None, next_packet=nxt))
        else:
            out.append(dec.decode(p))
    return np.concatenate(out), dec


def _chirp(seconds: float, seed: int) -> np.ndarray:
    """A rising tone (200 Hz + 800 Hz/s), which repeating the last period cannot follow."""
    t = np.arange(int(seconds * FS)) / FS
    noise = 0.02 * np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * (200 * t + 400 * t**2)) + noise).astype(np.float32)[:, None]


def test_lost_packet_comes_back_from_the_next_one() -> None:
    x = _chirp(1.0, seed=1)
    header, packets = _packets(x, fec=True)
    assert aqc.StreamHeader.unpack(header).find(aqc.TAG_FEC) == b""
    assert packets[0][-1] == 0 and all(p[-1] > 0 for p in packets[1:-1])  # copies ride along
    clean, _ = _decode(header, packets, set(), True)
    lost = {20, 45, 70}
    n = 384
    errs = {}
    for use in (False, True):
        y, dec = _decode(header, packets, lost, use)
        assert dec.frames_recovered == (len(lost) if use else 0)
        seg = np.concatenate([np.arange((k - 1) * n, (k + 2) * n) for k in lost])
        errs[use] = snr_db(x[seg], y[seg])
    # a coarse copy beats pitch repetition on a moving tone (measured 9.1 -> 15.0 dB around
    # the losses); and what is before the first loss is untouched
    assert errs[True] >= errs[False] + 4.0, errs
    y, _ = _decode(header, packets, lost, True)
    np.testing.assert_array_equal(y[: 19 * n], clean[: 19 * n])


def test_file_reader_recovers_the_last_packet_of_a_lost_page() -> None:
    x = tones_and_burst(3 * FS, 1, seed=4, f0=220.0, noise=0.01)
    header, packets = _packets(x, fec=True)
    from audiocodec.oneshot import DecodeReport, pack_stream

    data = pack_stream(header, packets)
    h = aqc.StreamHeader.unpack(data)
    found = [(off, p) for off, p, _ in pages.scan_pages(h.serial, data, h.size)
             if p is not None and not p.is_header]
    off, page = found[len(found) // 2]
    bad = bytearray(data)
    bad[off + page.size // 2] ^= 0x10  # the page fails its CRC: its packets are lost
    rep = DecodeReport()
    y, _ = audiocodec.decode(bytes(bad), report=rep)
    assert y.shape == x.shape
    assert rep.recovered == 1 and rep.concealed == len(page.packets) - 1


def test_jitter_buffer_uses_the_copy() -> None:
    x = tones_and_burst(FS, 2, seed=5, f0=200.0, noise=0.01)
    header, packets = _packets(x, fec=True)
    dgs: list[bytes] = []
    net.send_packets(dgs.append, header, ((p, len(x)) for p in packets), frame_size=384,
                     sample_rate=FS, speed=0)
    audio = [k for k, d in enumerate(dgs) if net.parse_rtp(d).pt == net.DEFAULT_PT]
    drop = {audio[30], audio[31], audio[60]}  # a burst of two, then one alone
    rx, y = receive_all(dgs, drop)
    assert rx.stats.packets_recovered == 2  # the burst's second and the lone one
    assert rx.stats.packets_concealed == 1
    ref, _ = _decode(header, packets, {30, 31, 60}, True)
    np.testing.assert_array_equal(y, ref[: len(x)])


def test_hostile_sections_conceal() -> None:
    x = tones_and_burst(FS // 2, 1, seed=6)
    header, packets = _packets(x, fec=True)
    p = packets[10]
    bad_len = p[:-1] + bytes([255])  # a section longer than the packet
    bad_info = bytearray(p)
    bad_info[len(p) - 1 - p[-1]] |= 0x80  # the copy's info byte with bit 7
    for nxt in (bad_len, bytes(bad_info), p[:1]):
        dec = audiocodec.Decoder(header)
        for q in packets[:9]:
            dec.decode(q)
        y = dec.decode(None, next_packet=nxt)
        assert y.shape == (384, 1) and np.isfinite(y).all()
        assert dec.frames_recovered == 0 and dec.frames_concealed == 1
    dec = audiocodec.Decoder(header)
    with pytest.raises(audiocodec.FrameError):
        dec.decode(bad_len)


def test_options_and_record_are_checked() -> None:
    for opts in ({"mode": "adpcm", "fec": True}, {"quality": 5.0, "fec": True}):
        with pytest.raises(InputError, match="fec"):
            audiocodec.Encoder(FS, 1, **opts)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="fec"):
        audiocodec.Encoder(FS, 6, fec=True)
    h = aqc.StreamHeader.unpack(audiocodec.Encoder(FS, 1, serial=1, fec=True).header)
    with pytest.raises(HeaderError, match="fec"):
        dataclasses.replace(h, extension=((aqc.TAG_FEC, b"\x01"),)).pack()
    # without the option the stream is the one it always was (no record, no trailer)
    plain = aqc.StreamHeader.unpack(audiocodec.Encoder(FS, 1, serial=1).header)
    assert plain.find(aqc.TAG_FEC) is None


def test_default_mode_with_short_blocks_recovers_and_resumes_exactly() -> None:
    """A loss next to an attack (short blocks, short window slopes): the copy carries its own
    info byte, and from two blocks after the loss the output is a clean decode's."""
    from support import music_like

    x = music_like(48000, 1.0, 2, seed=9)
    enc = audiocodec.Encoder(FS, 2, bitrate=96000, serial=5, total_samples=len(x), fec=True)
    packets = enc.encode(x) + enc.flush()
    n = enc.frame_size
    short = [i for i, p in enumerate(packets) if p[0] & 0x07]
    assert short
    k = short[0]  # the first frame with a short block or slope
    clean, _ = _decode(enc.header, packets, set(), True)
    y, dec = _decode(enc.header, packets, {k}, True)
    assert dec.frames_recovered == 1
    start = (k + 2) * n - dec.delay
    np.testing.assert_array_equal(y[start:], clean[start:])
    assert snr_db(clean[(k - 1) * n : (k + 1) * n], y[(k - 1) * n : (k + 1) * n]) > 5.0


def test_bad_last_packet_is_not_a_truncated_stream() -> None:
    """The reader waits for the next packet before concealing (FEC), but not after the last."""
    from audiocodec.oneshot import DecodeReport, pack_stream

    x = tones_and_burst(FS // 2, 1, seed=8)
    for fec in (False, True):
        header, packets = _packets(x, fec=fec)
        broken = packets[:-1] + [packets[-1][:9] + bytes([0xFF]) * 3]  # its body does not decode
        rep = DecodeReport()
        y, _ = audiocodec.decode(pack_stream(header, broken), report=rep)
        assert y.shape == x.shape
        assert not rep.truncated and rep.concealed == 1 and rep.recovered == 0


def test_jitter_buffer_recovers_a_loss_before_a_resent_header() -> None:
    x = tones_and_burst(FS, 1, seed=10, f0=200.0, noise=0.01)
    header, packets = _packets(x, fec=True)
    dgs: list[bytes] = []
    net.send_packets(dgs.append, header, ((p, len(x)) for p in packets), frame_size=384,
                     sample_rate=FS, speed=0, header_interval=0.25)
    kinds = [net.parse_rtp(d).pt for d in dgs]
    # an audio datagram right before a resent header, after the stream started
    k = next(i for i in range(20, len(dgs) - 1)
             if kinds[i] == net.DEFAULT_PT and kinds[i + 1] != net.DEFAULT_PT)
    assert kinds[k + 2] == net.DEFAULT_PT
    rx, _ = receive_all(dgs, {k})
    assert rx.stats.packets_recovered == 1 and rx.stats.packets_concealed == 0


def test_fec_needs_room_and_owns_its_record() -> None:
    with pytest.raises(InputError, match="fec needs"):
        audiocodec.Encoder(FS, 1, bitrate=24000, low_delay=True, fec=True)
    with pytest.raises(InputError, match="encoder's own"):
        audiocodec.Encoder(FS, 1, extension=((aqc.TAG_FEC, b""),))
