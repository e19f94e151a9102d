"""The pitch pre/post-filter: kernels against their plain statements, the encoder's and the
decoder's block timelines against each other, the bitstream rules, and what it buys on a
seeded voiced signal."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from audiocodec import Decoder, Encoder
from audiocodec.container import aqc
from audiocodec.core import postfilter as pf
from audiocodec.core.layout import INFO_PITCH
from audiocodec.encoder import pitch
from audiocodec.errors import FrameError, HeaderError
from audiocodec.oneshot import decode, encode

FS = 48000
N, L = 384, 96


def _vowel(seconds: float, seed: int, f0: float = 140.0, channels: int = 1) -> np.ndarray:
    """Seeded voiced sound: a glottal-like pulse train (vibrato, 20 harmonics falling 6 dB per
    octave) with a little breath noise, in syllables of 0.3 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / FS
    x = sum(np.sin(h * phase + rng.uniform(0, 6.3)) / h for h in range(1, 21))
    x = 0.2 * x * (0.5 + 0.5 * np.sin(np.pi * t / 0.3) ** 2) + 0.002 * rng.standard_normal(t.size)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def _random_params(nblocks: int, rng: np.random.Generator, lo: int, hi: int) -> list[tuple[int, float]]:
    out = []
    for _ in range(nblocks):
        q = int(rng.integers(-2, 8))
        out.append((int(rng.integers(lo, hi + 1)), pf.gain(q) if q >= 0 else 0.0))
    return out


def test_postfilter_class_is_the_reference_iir() -> None:
    rng = np.random.default_rng(1)
    lo, hi = pf.period_range(FS, N, L)
    blocks = 12
    x = rng.standard_normal((2, blocks * N))
    params = _random_params(blocks, rng, lo, hi)
    post = pf.PostFilter(2, FS, N, L, 125)
    got = np.concatenate([post.apply(x[:, b * N : (b + 1) * N].T.copy(), *params[b]) for b in range(blocks)])
    want = pf.comb_reference(x, params, N, pf.fade_window(N, L), pf.comb_taps(FS), inverse=True)
    np.testing.assert_allclose(got.T, want, rtol=0, atol=1e-9)


def test_prefilter_timeline_inverts_through_the_decoders_postfilter() -> None:
    """The encoder's pre-filter, fed as the encoder feeds it (padded input, N per frame, each
    time up to the window's end), and the decoder's post-filter on its blocks give back the
    input: their block boundaries and parameters agree."""
    x = _vowel(1.5, seed=2, channels=2).astype(np.float64)
    pre = pitch.PitchPrefilter(2, FS, N, L, pf.reset_interval(FS, N))
    pad = (N + L) // 2
    padded = np.concatenate((np.zeros((pad, 2)), x, np.zeros((3 * N, 2))))
    work = padded.copy()
    frames = (len(x) + L) // N
    coded = []
    for t in range(frames):
        pre.process(work[t * N :], t, 2 * N - (N - L) // 2)
        coded.append(pre.coded(t))
    assert sum(q >= 0 for _, q in coded) > frames // 2  # voiced: the filter is on most of the time
    assert all(coded[b][1] < 0 for b in range(frames) if pf.is_reset_block(b, pre.interval))
    post = pf.PostFilter(2, FS, N, L, pre.interval)
    origin = pre.origin
    out = [post.apply(work[origin + b * N : origin + (b + 1) * N].copy(), *post.params(*coded[b]))
           for b in range(frames - 1)]
    y = np.concatenate(out)
    ref = padded[origin : origin + y.shape[0]]
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-9)
    assert np.abs(work[origin : origin + y.shape[0]] - ref).max() > 0.05  # it did filter


def test_pitch_search_finds_the_period_not_its_multiple() -> None:
    lo, hi = pf.period_range(FS, N, L)
    for period in (96, 171, 343, 520):
        n = np.arange(hi + 7 + 2 * N)
        x = np.sin(2 * np.pi * n / period) + 0.5 * np.sin(4 * np.pi * n / period + 1.0)
        scratch = np.zeros(x.size // 4 + 1)
        t, g = pitch.search(x, N, lo, hi, 4, pitch.SUBHARMONIC_R, pf.comb_taps(FS), scratch)
        assert abs(t - period) <= 1, (period, t)
        assert g > 0.8
    noise = np.random.default_rng(3).standard_normal(hi + 7 + 2 * N)
    _, g = pitch.search(noise, N, lo, hi, 4, pitch.SUBHARMONIC_R, pf.comb_taps(FS), np.zeros(noise.size))
    assert pitch.quantize_gain(g) == -1
    assert pitch.search(np.zeros(2000), N, lo, hi, 4, 0.85, pf.comb_taps(FS), np.zeros(600)) == (0, 0.0)


def test_voiced_sound_at_low_delay_gains_from_the_filter() -> None:
    """Deterministic budget on a seeded voiced signal at 32 kbit/s in low delay: the filter
    lowers the noise (SNR up by 1.5 dB or more)."""
    from audiocodec.eval.metrics import snr_db

    x = _vowel(3.0, seed=5)
    snr = {}
    for on in (False, True):
        y, _ = decode(encode(x, FS, bitrate=32000, low_delay=True, serial=3, postfilter=on))
        snr[on] = snr_db(x, y)
    assert snr[True] >= snr[False] + 1.5, snr


def test_streams_record_and_packet_rules() -> None:
    x = _vowel(2.5, seed=6)
    enc = Encoder(FS, 1, bitrate=32000, low_delay=True, serial=9)
    packets = enc.encode(x) + enc.flush()
    h = aqc.StreamHeader.unpack(enc.header)
    interval = aqc.pitch_filter_interval(h)
    assert interval == pf.reset_interval(FS, N)
    flagged = [i for i, p in enumerate(packets) if p[0] & INFO_PITCH]
    assert len(flagged) > len(packets) // 2
    assert not [i for i in flagged if pf.is_reset_block(i, interval)]
    # off by default outside low delay, under 16 kbit/s per channel in the 10 ms layout (28k in
    # stereo and in the 16 ms layout), under 32 kHz, and by request
    for rate, ch, opts in ((FS, 1, {}), (FS, 1, {"low_delay": True, "bitrate": 12000}),
                           (FS, 2, {"low_delay": True, "bitrate": 24000}),
                           (FS, 1, {"low_delay": True, "bitrate": 24000, "frame_size": 512}),
                           (FS, 1, {"low_delay": True, "postfilter": False}),
                           (16000, 1, {"low_delay": True, "bitrate": 48000})):
        h0 = aqc.StreamHeader.unpack(Encoder(rate, ch, serial=1, **opts).header)  # type: ignore[arg-type]
        assert aqc.pitch_filter_interval(h0) is None, (rate, ch, opts)
    for ch, br in ((1, 16000), (1, 24000), (2, 28000)):
        h1 = aqc.StreamHeader.unpack(Encoder(FS, ch, serial=1, low_delay=True, bitrate=br).header)
        assert aqc.pitch_filter_interval(h1) is not None, (ch, br)

    # a packet with post-filter fields in a stream without the record is refused, not misread
    bare = dataclasses.replace(h, extension=tuple(r for r in h.extension if r[0] != aqc.TAG_PITCH_FILTER))
    dec = Decoder(bare.pack())
    for p in packets[: flagged[0]]:
        dec.decode(p)
    with pytest.raises(FrameError, match="pitch_filter"):
        dec.decode(packets[flagged[0]])
    # one at a reset point decodes: the decoder's packet count can lag the stream's (a receiver
    # that joined late, a gap longer than the concealment bound), so the rule binds encoders only
    dec = Decoder(enc.header)
    dec.start_at(interval * N)  # the next packet is number `interval`, a reset point
    assert dec.decode(packets[flagged[-1]]).shape == (N, 1)


def test_record_values_are_checked() -> None:
    h = aqc.StreamHeader.unpack(Encoder(FS, 1, low_delay=True, serial=1).header)
    for bad in (b"\x01\x00", b"\x05", b"\x05\x00\x00"):
        broken = dataclasses.replace(h, extension=((aqc.TAG_PITCH_FILTER, bad),))
        with pytest.raises(HeaderError, match="pitch_filter"):
            broken.pack()
    # only MDCT streams of 1-2 channels may carry it (the others' decoders have no post-filter)
    for other in (dataclasses.replace(h, mode=aqc.MODE_ADPCM, overlap=0, delay=0, window=0,
                                      frame_size=256),
                  dataclasses.replace(h, channels=6)):
        with pytest.raises(HeaderError, match="pitch_filter"):
            other.pack()


def test_period_field_above_the_range_is_refused() -> None:
    """Hostile bytes: the period field can code more than ``T_max``; the decoder refuses it."""
    from audiocodec.core import entropy

    lo, hi = pf.period_range(FS, N, L)
    bits = pf.period_bits(FS, N, L)
    assert (1 << bits) - 1 > hi - lo
    h = aqc.StreamHeader.unpack(Encoder(FS, 1, low_delay=True, serial=1).header)
    dec = Decoder(h.pack())
    dec.start_at(5 * N)
    edges = dec._mode.config.edges_long  # type: ignore[attr-defined]
    nb = len(edges) - 1
    buf = np.zeros(4096, np.uint8)
    mag0, sf0, ms0 = entropy.model_tables()
    z = np.zeros(1, np.int32)
    n = entropy.encode_payload(np.zeros((1, N), np.int32), np.full((1, nb), 100, np.int32),
                               np.array([100], np.int32), z, z, np.zeros(nb, np.uint8), False, True,
                               edges, mag0, sf0, ms0, buf, bits, (1 << bits) - 1, 3,
                               np.zeros((1, nb), np.int32), 0)  # the stream's sf_predict bit: 0
    info = INFO_PITCH | 0x20  # coarse scale factors, as low delay codes them
    with pytest.raises(FrameError, match="above"):
        dec.decode(bytes([info]) + buf[:n].tobytes())


def test_option_is_checked() -> None:
    from audiocodec.errors import InputError

    with pytest.raises(InputError, match="postfilter"):
        Encoder(FS, 1, mode="adpcm", postfilter=True)
    with pytest.raises(InputError, match="postfilter"):
        Encoder(FS, 6, postfilter=True)


def test_mono_mix_is_the_channel_mean() -> None:
    x = np.random.default_rng(8).standard_normal((2, 777))
    out = np.zeros(777)
    pitch.mono_mix(x, out)
    np.testing.assert_allclose(out, x.mean(axis=0), rtol=0, atol=1e-15)
