"""Multichannel (issue 15 item 1): multistream MDCT for 3..8 channels, the WAV channel mask,
and multichannel IMA ADPCM WAV with sox."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from support import snr_db

from audiocodec import files
from audiocodec.adpcm.wav import read_ima_wav
from audiocodec.container import aqc
from audiocodec.errors import CodecError, FrameError, HeaderError, StreamError
from audiocodec.multistream import layout
from audiocodec.stream import Decoder, Encoder
from audiocodec.wavmask import write_channel_mask

RATE = 48000
# a distinct tone per WAV channel; the LFE (channel 3) gets 60 Hz plus 1 kHz it must not pass
TONES = (300.0, 450.0, 700.0, 60.0, 950.0, 1250.0, 1600.0, 2000.0)


def tones(channels: int, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Seeded ``(n, channels)`` float32: one tone per channel, a little noise."""
    rng = np.random.default_rng(seed)
    n = int(RATE * seconds)
    t = np.arange(n) / RATE
    x = np.stack([0.25 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for f in TONES[:channels]], 1)
    if channels >= 6:
        x[:, 3] += 0.1 * np.sin(2 * np.pi * 1000.0 * t)
    return (x + 0.002 * rng.standard_normal(x.shape)).astype(np.float32)


def stream_header(enc: Encoder) -> aqc.StreamHeader:
    # the parsed header object (Encoder.header packs it, which needs the container's 1..8 channels)
    return enc._mode.header(aqc.UNKNOWN_LENGTH, int(enc.serial or 0))


def round_trip(x: np.ndarray, bitrate: int = 384_000, blocks: list[int] | None = None,
               **options: object) -> tuple[np.ndarray, list[bytes], Encoder]:
    enc = Encoder(RATE, x.shape[1], bitrate=bitrate, serial=11, **options)  # type: ignore[arg-type]
    packets: list[bytes] = []
    if blocks is None:
        packets += enc.encode(x)
    else:
        pos = 0
        for b in blocks:
            packets += enc.encode(x[pos : pos + b])
            pos += b
        packets += enc.encode(x[pos:])
    packets += enc.flush()
    dec = Decoder(stream_header(enc))
    y = np.concatenate([dec.decode(p) for p in packets])
    return y, packets, enc


def band_energy(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.shape[0]))) ** 2
    f = np.fft.rfftfreq(x.shape[0], 1 / RATE)
    return float(spec[(f >= lo) & (f < hi)].sum())


def test_mapping_table_is_family_1() -> None:
    for c, lay in layout.LAYOUTS.items():
        assert lay.channels == c == bin(lay.mask).count("1")
        assert sorted(lay.coded) == list(range(c))
        assert lay.streams + lay.coupled == c
        cols = [k for s in range(lay.streams) for k in lay.wav_columns(s)]
        assert sorted(cols) == list(range(c))
    six = layout.LAYOUTS[6]  # 5.1: (FL, FR), (BL, BR), FC, LFE
    assert [six.wav_columns(s) for s in range(4)] == [(0, 1), (4, 5), (2,), (3,)]
    eight = layout.LAYOUTS[8]  # 7.1: (FL, FR), (SL, SR), (BL, BR), FC, LFE
    assert [eight.wav_columns(s) for s in range(5)] == [(0, 1), (6, 7), (4, 5), (2,), (3,)]


@pytest.mark.parametrize("channels", [3, 6, 8])
def test_round_trip_keeps_channel_order(channels: int) -> None:
    x = tones(channels)
    y, _, _ = round_trip(x)
    assert y.shape == x.shape and y.dtype == np.float32
    for c in range(channels):
        if channels >= 6 and c == 3:
            continue
        assert snr_db(x[:, c], y[:, c]) > 9, c  # perceptual coding of tones + noise: ~12-21 dB
        peak = np.fft.rfftfreq(y.shape[0], 1 / RATE)[np.argmax(np.abs(np.fft.rfft(y[:, c])))]
        assert abs(peak - TONES[c]) < 3, (c, peak)


@pytest.mark.parametrize("channels", [6, 8])
def test_lfe_is_band_limited(channels: int) -> None:
    x = tones(channels)
    y, packets, enc = round_trip(x)
    lfe = y[:, 3].astype(np.float64)
    assert band_energy(lfe, 40, 90) > 0.3 * band_energy(x[:, 3].astype(np.float64), 40, 90)
    assert band_energy(lfe, 300, 24000) < 1e-4 * band_energy(lfe, 0, 300)
    secs = x.shape[0] / RATE
    assert enc._mode.stream_bits[-1] / secs < 800  # the LFE's bits in groups (768; 4.07k as a sub-stream)
    assert 8 * sum(map(len, packets)) / secs < 1.05 * 384_000


def test_bits_follow_need() -> None:
    x = tones(6)
    x[:, 4:] = 0.0  # a silent surround pair lends its bits to the others
    _, _, enc = round_trip(x)
    bits = enc._mode.stream_bits
    assert bits[1] < 0.25 * bits[0]


def test_silent_sub_streams_send_empty_sub_packets() -> None:
    x = tones(6, 1.0, seed=2)
    x[:, 2:6] = 0.0  # FC, LFE and the surround pair silent: exact zeros, no bytes
    y, packets, enc = round_trip(x)
    for p in packets[:-1]:
        subs = layout.unpack_packet(p[1:], 4)
        assert subs[1] == subs[2] == subs[3] == b"" and len(subs[0]) > 1
    assert not y[:, 2:6].any()
    assert list(enc._mode.stream_bits[1:]) == [0, 0, 0]
    assert snr_db(x[:, 0], y[:, 0]) > 9


def test_lfe_bursts_keep_the_reference_in_step() -> None:
    """(The LFE as a mono sub-stream, ``lfe_group=False``.) An LFE that falls silent between
    bursts sends empty sub-packets, which are no frame's
    scale-factor reference on either side: every coded LFE frame decodes the steps it was coded
    with (the encoder's and the decoder's observers agree), and each burst comes back."""
    x = tones(6, 2.0, seed=4)
    x[:, 2] = 0.0  # FC silent: the LFE is the only mono sub-stream the observers see
    t = np.arange(x.shape[0]) / RATE
    gate = (np.sin(2 * np.pi * 1.5 * t) > 0.3).astype(np.float32)  # three bursts
    x[:, 3] = gate * (0.3 * np.sin(2 * np.pi * 55 * t) + 0.2 * np.sin(2 * np.pi * 90 * t + 1.0))
    sent: dict[int, np.ndarray] = {}
    got: dict[int, np.ndarray] = {}

    def keep(into: dict[int, np.ndarray]):
        def observe(fs) -> None:
            if fs.scale_factors.shape[0] == 1 and fs.coded_bands[0] > 0:
                into[fs.index] = fs.scale_factors[0, : fs.coded_bands[0]].copy()
        return observe

    enc = Encoder(RATE, 6, bitrate=256_000, serial=5, observer=keep(sent), lfe_group=False)
    packets = enc.encode(x) + enc.flush()
    assert aqc.lfe_group(stream_header(enc)) is None  # the LFE as a mono MDCT sub-stream
    assert enc._mode._coders[3].sf_interval is not None  # the default mode predicts
    dec = Decoder(stream_header(enc), observer=keep(got))
    y = np.concatenate([dec.decode(p) for p in packets])
    empty = sum(layout.unpack_packet(p[1:], 4)[3] == b"" for p in packets[:-1])
    assert empty > 20 and len(sent) > 20
    assert sent.keys() == got.keys()
    assert all(np.array_equal(sent[k], got[k]) for k in sent)
    for a, b in ((0.08, 0.25), (0.75, 0.92), (1.42, 1.58)):  # inside each burst
        i, j = int(a * RATE), int(b * RATE)
        assert snr_db(x[i:j, 3], y[i:j, 3]) > 12, (a, b)


def test_chunked_equals_one_shot() -> None:
    x = tones(6, 0.6, seed=3)
    rng = np.random.default_rng(5)
    _, one, _ = round_trip(x)
    _, chunked, _ = round_trip(x, blocks=list(rng.integers(1, 3000, 12)))
    assert one == chunked


@pytest.mark.parametrize("predict", [False, True])
def test_hostile_packets_raise_codec_errors_and_recover(predict: bool) -> None:
    """A damaged packet raises a codec error and is concealed; the decoder is back in step at
    the next LFE group (whose first packet a lost group's LFE waits for), or with scale-factor
    prediction at the first intra packet after it (the sub-streams' steps drift from the lost
    frame's until then)."""
    x = tones(6, 0.8, seed=2)
    y_ref, packets, enc = round_trip(x, sf_predict=predict)
    assert (aqc.sf_predict_interval(stream_header(enc)) is not None) == predict
    k = aqc.reset_interval(stream_header(enc))  # 8 (the LFE groups) or 16 (and prediction)
    assert k == (16 if predict else 8)
    rng = np.random.default_rng(9)
    for trial in range(60):
        dec = Decoder(stream_header(enc))
        out = []
        bad = int(rng.integers(1, len(packets) - 1))
        for i, p in enumerate(packets):
            if i == bad:
                q = bytearray(p)
                if trial % 2:
                    q = q[: int(rng.integers(1, len(q)))]
                else:
                    for _ in range(4):
                        q[int(rng.integers(0, len(q)))] = int(rng.integers(0, 256))
                try:
                    out.append(dec.decode(bytes(q)))
                except CodecError:
                    out.append(dec.decode(None))
            else:
                out.append(dec.decode(p))
        y = np.concatenate(out)
        assert y.shape == y_ref.shape and np.isfinite(y).all()
        back = bad + 1 if k is None else (bad // k + 1) * k  # the first packet decoded in step
        start = sum(len(o) for o in out[: back + 1])  # its output still overlaps the frame before
        if back + 3 < len(packets):
            assert snr_db(y_ref[start:], y[start:]) > 40, (trial, bad)


def test_header_records_the_channel_map() -> None:
    enc = Encoder(RATE, 6, bitrate=256_000, serial=3)
    h = stream_header(enc)
    assert h.find(aqc.TAG_CHANNEL_MAP) == bytes([1, 0, 1, 4, 5, 2, 3])
    with pytest.raises(HeaderError):
        layout.check_channel_map(h.__class__(**{**h.__dict__, "extension": ()}))
    try:
        packed = enc.header
    except CodecError as e:
        pytest.skip(f"the container's header does not yet hold 6 channels: {e}")
    assert aqc.StreamHeader.unpack(packed).find(aqc.TAG_CHANNEL_MAP) == h.find(aqc.TAG_CHANNEL_MAP)


def ffprobe_layout(path: object) -> str:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=channel_layout", "-of",
                          "json", str(path)], capture_output=True, text=True, check=True).stdout
    return str(json.loads(out)["streams"][0]["channel_layout"])


@pytest.mark.ffmpeg
@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")
@pytest.mark.parametrize(("channels", "name"), [(6, "5.1"), (8, "7.1")])
def test_decoded_wav_has_the_channel_mask(tmp_path, channels: int, name: str) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, tones(channels, 0.3), RATE, subtype="PCM_16")
    ima = tmp_path / "coded.wav"
    files.encode_file(src, ima)
    out = tmp_path / "out.wav"
    files.decode_file(ima, out)
    assert ffprobe_layout(out) == name
    y, _ = sf.read(out)
    assert y.shape[1] == channels
    raw = tmp_path / "raw.wav"  # the patcher on a plain soundfile WAVEX
    sf.write(raw, np.zeros((10, channels)), RATE, format="WAVEX")
    write_channel_mask(raw, channels)
    assert ffprobe_layout(raw) == name
    plain = tmp_path / "plain.wav"
    sf.write(plain, np.zeros((10, channels)), RATE, format="WAV")
    with pytest.raises(StreamError):
        write_channel_mask(plain, channels)


@pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox")
def test_six_channel_ima_wav_with_sox(tmp_path) -> None:
    """sox encodes and decodes IMA ADPCM WAV of any channel count (ffmpeg 5.1's encoder and
    decoder and libsndfile refuse more than 2); ours reads sox's and sox reads ours."""
    x = tones(6, 0.5)
    src = tmp_path / "in.wav"
    sf.write(src, x, RATE, subtype="PCM_16")
    ours = tmp_path / "ours.wav"
    files.encode_file(src, ours)
    sox_dec = tmp_path / "sox_dec.wav"
    subprocess.run(["sox", str(ours), "-e", "signed-integer", str(sox_dec)], check=True)
    y_sox, _ = sf.read(sox_dec, dtype="float32")
    y_ours, _ = read_ima_wav(str(ours))
    n = min(len(y_sox), len(y_ours))
    assert np.abs(y_sox[:n] - y_ours[:n]).max() <= 2 / 32768
    theirs = tmp_path / "theirs.wav"
    subprocess.run(["sox", str(src), "-e", "ima-adpcm", str(theirs)], check=True)
    back = tmp_path / "back.wav"
    subprocess.run(["sox", str(theirs), "-e", "signed-integer", str(back)], check=True)
    y_ref, _ = sf.read(back, dtype="float32")
    y_read, _ = read_ima_wav(str(theirs))
    n = min(len(y_ref), len(y_read))
    assert y_read.shape[1] == 6 and np.abs(y_ref[:n] - y_read[:n]).max() <= 2 / 32768
    for c in range(6):
        assert snr_db(x[: len(y_read), c], y_read[: len(x), c]) > 15


def rumble(seconds: float = 4.0, seed: int = 1) -> np.ndarray:
    """Seeded 5.1 whose LFE sounds throughout: 45 and 80 Hz under a slow envelope, and
    low-passed noise; the other channels a tone each and noise."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = int(RATE * seconds)
    t = np.arange(n) / RATE
    x = tones(6, seconds, seed)
    b, a = signal.butter(4, 90, fs=RATE)
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t)
    x[:, 3] = (env * (0.3 * np.sin(2 * np.pi * 45 * t) + 0.15 * np.sin(2 * np.pi * 80 * t + 1))
               + 0.9 * signal.lfilter(b, a, rng.standard_normal(n)))
    return x


def below(x: np.ndarray, hz: float = layout.LFE_CUTOFF_HZ) -> np.ndarray:
    spec = np.fft.rfft(x.astype(np.float64))
    spec[np.fft.rfftfreq(x.shape[0], 1 / RATE) >= hz] = 0
    return np.fft.irfft(spec, x.shape[0])


def lfe_subs(packets: list[bytes]) -> list[bytes]:
    return [layout.unpack_packet(p[9:] if p[0] & aqc.INFO_LAST else p[1:], 4)[3] for p in packets]


def test_lfe_groups_cost_a_few_hundred_bits() -> None:
    """With the lfe_group record the LFE is coded 8 packets at a time: while it sounds it
    spends under 800 bit/s (4.1 kbit/s as a mono sub-stream), 12 dB SNR below 120 Hz (34)."""
    x = rumble()
    y, packets, enc = round_trip(x, bitrate=192_000)
    h = stream_header(enc)
    group = aqc.lfe_group(h)
    assert group == (8, 6)  # 6 bins of 23.4 Hz: 0..140 Hz
    subs = lfe_subs(packets)
    assert all(p == b"" for i, p in enumerate(subs) if i % 8)
    assert all(subs[i] for i in range(0, len(subs) - 8, 8))  # it sounds in every group
    secs = x.shape[0] / RATE
    assert enc._mode.stream_bits[-1] == 8 * sum(map(len, subs))
    assert 8 * sum(map(len, subs)) / secs < 800
    assert snr_db(below(x[:, 3]), below(y[:, 3])) > 10
    _, old, old_enc = round_trip(x, bitrate=192_000, lfe_group=False)
    assert aqc.lfe_group(stream_header(old_enc)) is None
    assert 8 * sum(map(len, lfe_subs(old))) / secs > 3000  # what the record saves
    assert band_energy(y[:, 3].astype(np.float64), 300, 24000) < 1e-4 * band_energy(
        y[:, 3].astype(np.float64), 0, 300)


def test_lfe_groups_stay_off_in_low_delay_unless_asked() -> None:
    """Low delay keeps its latency: no groups by default (7 frames more), on when asked."""
    ld = Encoder(RATE, 6, bitrate=192_000, low_delay=True)
    assert aqc.lfe_group(stream_header(ld)) is None
    asked = Encoder(RATE, 6, bitrate=192_000, low_delay=True, lfe_group=True)
    assert aqc.lfe_group(stream_header(asked)) is not None
    assert asked.latency == ld.latency + 7 * asked.frame_size
    assert aqc.lfe_group(stream_header(Encoder(RATE, 6, bitrate=192_000))) is not None


def test_lfe_group_loss_and_start_conceal_until_the_next_group() -> None:
    """A lost group packet, or a start inside a group, conceals the LFE up to the next group's
    first packet; from there the decode is in step again (the other channels a packet on)."""
    x = rumble(1.5, seed=3)
    y_ref, packets, enc = round_trip(x, bitrate=192_000, sf_predict=False)
    h = stream_header(enc)
    n = h.frame_size
    dec = Decoder(h)
    y = np.concatenate([dec.decode(None) if i == 16 else dec.decode(p) for i, p in enumerate(packets)])
    lfe_from = (24 + 1) * n  # packet 24 starts the next group; its output overlaps 23's
    assert snr_db(y_ref[lfe_from:, 3], y[lfe_from:, 3]) > 60
    assert snr_db(y_ref[17 * n + n :, 0], y[17 * n + n :, 0]) > 60
    assert snr_db(below(y_ref[16 * n : 24 * n, 3]), below(y[16 * n : 24 * n, 3])) < 10  # concealed
    dec = Decoder(h)
    dec.start_at(11 * n)  # packet 11: inside the group of 8..15
    y = np.concatenate([dec.decode(p) for p in packets[11:]])
    assert not y[: 4 * n, 3].any()  # the LFE waits for packet 16 (concealed from nothing)
    pos = 11 * n - h.delay
    assert snr_db(y_ref[pos + 6 * n :, 3], y[6 * n :, 3]) > 60


def test_lfe_group_hostile_sub_packets_raise_frame_errors() -> None:
    x = rumble(0.6, seed=5)
    y_ref, packets, enc = round_trip(x, bitrate=192_000)
    h = stream_header(enc)

    def with_lfe(p: bytes, lfe: bytes) -> bytes:
        subs = layout.unpack_packet(p[1:], 4)
        return p[:1] + layout.pack_packet([*subs[:3], lfe])

    dec = Decoder(h)
    dec.decode(packets[0])
    with pytest.raises(FrameError, match="does not start an LFE group"):
        dec.decode(with_lfe(packets[1], b"\x01"))
    dec = Decoder(h)
    with pytest.raises(FrameError, match="LFE group"):
        dec.decode(with_lfe(packets[0], b"\xff" * 3))  # escapes that read far past its end
    out = [dec.decode(None)] + [dec.decode(p) for p in packets[1:]]  # concealed, then in step
    assert np.isfinite(np.concatenate(out)).all()
    rng = np.random.default_rng(7)
    first = lfe_subs(packets)[8]
    for trial in range(200):  # truncated or damaged group sub-packets: an error or finite PCM
        dec = Decoder(h)
        for p in packets[:8]:
            dec.decode(p)
        lfe = bytearray(first[: int(rng.integers(0, len(first) + 1))] if trial % 2 else first)
        if trial % 2 == 0:
            for _ in range(3):
                lfe[int(rng.integers(0, len(lfe)))] = int(rng.integers(0, 256))
        try:
            y = dec.decode(with_lfe(packets[8], bytes(lfe)))
        except FrameError:
            y = dec.decode(None)
        assert np.isfinite(y).all()
    five = Encoder(RATE, 5, bitrate=160_000, serial=1)
    bad = stream_header(five)
    with pytest.raises(HeaderError, match="no LFE"):
        Decoder(dataclasses.replace(bad, extension=(*bad.extension, aqc.lfe_group_record(8, 6))))
    with pytest.raises(HeaderError, match="bins"):
        Decoder(dataclasses.replace(h, extension=(*h.extension[:-1], aqc.lfe_group_record(8, 255)),
                                    frame_size=128, overlap=128, delay=128))
    for value in (b"\x00\x06", b"\x41\x06", b"\x08\x00", b"\x08"):
        with pytest.raises(HeaderError, match="lfe_group"):
            aqc.pack_extension(((aqc.TAG_LFE_GROUP, value),), 6)


def test_lfe_group_pages_reset_at_group_starts() -> None:
    """Without sf_predict the RESET pages of a stream with LFE groups start at multiples of 8,
    and a slice decodes as the whole decode does."""
    from audiocodec import decode, encode

    x = rumble(2.0, seed=6)
    data = encode(x, RATE, bitrate=192_000, sf_predict=False, serial=3)
    from audiocodec.container import pages, reader

    h, offset = reader.locate_header(data)
    firsts = [pg.granule // h.frame_size - len(pg.packets)
              for _, pg, _ in pages.scan_pages(h.serial, data, offset)
              if pg is not None and not pg.is_header and pg.flags & pages.FLAG_RESET]
    assert len(firsts) > 5 and all(k % 8 == 0 for k in firsts)
    whole, _ = decode(data)
    for start in (0.37, 0.91):
        part, _ = decode(data, start=start, duration=0.3)
        i = int(round(start * RATE))
        assert np.array_equal(part, whole[i : i + part.shape[0]]), start
