"""MDCT: fast path == direct-formula reference; perfect reconstruction (TDAC)."""

from __future__ import annotations

import numpy as np
import pytest
from support import shared_files, snr_db

from audiocodec.core import mdct
from audiocodec.core.layout import INFO_LEFT_SHORT, INFO_RIGHT_SHORT, INFO_SHORT, MdctConfig

HOPS = [128, 240, 256, 480, 512, 1024]


@pytest.mark.parametrize("n", HOPS)
@pytest.mark.parametrize("shape", ["sine", "kbd"])
def test_fast_matches_reference(n: int, shape: str) -> None:
    rng = np.random.default_rng(n)
    for left, right in ((n, n), (n // 2, n // 4 * 2), (n // 8 * 2, n)):
        w = mdct.window(n, left, right, shape)
        x = rng.standard_normal(2 * n)
        X = mdct.mdct(x, w)
        np.testing.assert_allclose(X, mdct.mdct_reference(x, w), atol=1e-9)
        np.testing.assert_allclose(mdct.imdct(X, w), mdct.imdct_reference(X, w), atol=1e-9)


@pytest.mark.parametrize("n", [96, 384, 1024])
def test_fused_kernels_equal_their_numpy_statement(n: int) -> None:
    """The numba window/fold and unfold/window/add passes and the direct pocketfft call give
    the very floats of the plain numpy statement through scipy.fft (the bitstream's golden
    digests rest on it)."""
    import scipy.fft

    rng = np.random.default_rng(n)
    w = mdct.window(n, n // 4, n // 2, "kbd")
    x = rng.standard_normal((3, 2 * n))
    want = scipy.fft.dct(mdct._fold(x * w), type=4, norm="ortho", axis=-1)
    got = mdct.mdct(x, w)
    assert np.array_equal(got, want)
    assert np.array_equal(mdct.dct4(np.ascontiguousarray(x[:, :n])),
                          scipy.fft.dct(x[:, :n], type=4, norm="ortho", axis=-1))
    u = scipy.fft.dct(got, type=4, norm="ortho", axis=-1)
    assert np.array_equal(mdct.imdct(got, w), mdct._unfold(u) * w)
    acc = rng.standard_normal((3, 3 * n))
    want_acc = acc.copy()
    want_acc[:, n // 2 : n // 2 + 2 * n] += mdct._unfold(u) * w
    mdct.imdct_add(got, w, acc, n // 2)
    assert np.array_equal(acc, want_acc)
    strided = rng.standard_normal((2 * n, 2)).T  # a transposed (frames, C) view, as a FIFO gives
    assert np.array_equal(mdct.mdct(strided, w),
                          scipy.fft.dct(mdct._fold(strided * w), type=4, norm="ortho", axis=-1))


@pytest.mark.parametrize("shape", mdct.WINDOW_SHAPES)
def test_princen_bradley(shape: str) -> None:
    for length in (8, 120, 1024):
        s = mdct.slope(length, shape)
        np.testing.assert_allclose(s**2 + s[::-1] ** 2, 1.0, atol=1e-12)


@pytest.mark.parametrize("n", HOPS)
@pytest.mark.parametrize("shape", ["sine", "kbd"])
def test_perfect_reconstruction_noise(n: int, shape: str) -> None:
    x = np.random.default_rng(1).standard_normal(20 * n + 37)
    y = mdct.synthesis(mdct.analysis(x, n, shape), len(x), shape)
    assert snr_db(x, y) >= 120.0


def test_block_switching_chain_reconstructs() -> None:
    """Long -> start -> 8 short -> stop -> long with low overlap elsewhere: TDAC holds."""
    cfg = MdctConfig(48000, 1, 1024, 1024, "kbd", True)
    n = cfg.frame_size
    kinds = [
        0,
        INFO_RIGHT_SHORT,
        INFO_SHORT,
        INFO_SHORT,
        INFO_LEFT_SHORT,
        INFO_RIGHT_SHORT,
        INFO_SHORT,
        INFO_LEFT_SHORT | INFO_RIGHT_SHORT,
        INFO_SHORT,
        INFO_LEFT_SHORT,
        0,
        0,
    ]
    x = np.random.default_rng(2).standard_normal(len(kinds) * n)
    p = np.concatenate((np.zeros(n), x, np.zeros(2 * n)))
    out = np.zeros_like(p)
    for t, info in enumerate(kinds):
        seg = p[t * n : t * n + 2 * n][None, :]
        out[t * n : t * n + 2 * n] += cfg.synthesize(cfg.analyze(seg, info), info)[0]
    region = slice(n, (len(kinds) - 1) * n)  # all frames present on both sides
    assert snr_db(p[region], out[region]) >= 120.0


@pytest.mark.skipif(not shared_files(), reason="../shared/audio not present")
@pytest.mark.parametrize("path", shared_files(), ids=lambda p: p.name)
def test_perfect_reconstruction_recordings(path) -> None:  # type: ignore[no-untyped-def]
    import soundfile as sf

    x, _ = sf.read(str(path), dtype="float64", always_2d=True)
    x = x[: 48000 * 3, 0]
    y = mdct.synthesis(mdct.analysis(x, 1024, "kbd"), len(x), "kbd")
    assert snr_db(x, y) >= 120.0


def test_transforms_check_shapes_and_take_empty_batches() -> None:
    """Odd N (the kernels fold quarters of a block) and a window of the wrong length are
    refused instead of leaving outputs unwritten; an empty batch is an empty answer; float32
    coefficients are taken by the decoder's overlap-add."""
    from audiocodec.errors import CodecError

    w = mdct.window(8, 8, 8)
    for bad in (np.zeros(18), np.zeros(14)):  # N = 9 (odd) with a 16-sample window; N = 7
        with pytest.raises(CodecError):
            mdct.mdct(bad, mdct.window(len(bad) // 2, 1, 1) if len(bad) == 18 else w)
    with pytest.raises(CodecError):
        mdct.imdct(np.zeros(8), mdct.window(4, 4, 4))  # window of 8 for N = 8
    with pytest.raises(CodecError):
        mdct.imdct_add(np.zeros((2, 8)), w, np.zeros((2, 20)), 8)  # runs past the end
    assert mdct.mdct(np.zeros((0, 16)), w).shape == (0, 8)
    assert mdct.imdct(np.zeros((2, 0, 8)), w).shape == (2, 0, 16)
    rng = np.random.default_rng(3)
    c = rng.standard_normal((2, 8))
    a, b = np.zeros((2, 24)), np.zeros((2, 24))
    mdct.imdct_add(c.astype(np.float32), w, a, 4)
    mdct.imdct_add(c.astype(np.float32).astype(np.float64), w, b, 4)
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a[:, 4:20], mdct.imdct(c, w), atol=1e-6)


def test_block_switching_needs_a_hop_of_sixteens() -> None:
    """Short blocks are an eighth of the hop and must be even: 120 with block switching is an
    input error for the encoder and a header error for the decoder; without it, 120 codes."""
    import dataclasses

    import audiocodec
    from audiocodec.container import aqc
    from audiocodec.errors import HeaderError, InputError

    with pytest.raises(InputError, match="multiple of 16"):
        audiocodec.Encoder(48000, 1, frame_size=120)
    enc = audiocodec.Encoder(48000, 1, frame_size=120, block_switching=False)
    h = aqc.StreamHeader.unpack(enc.header)
    bad = dataclasses.replace(h, flags=aqc.FLAG_BLOCK_SWITCHING)
    with pytest.raises(HeaderError, match="block switching"):
        aqc.StreamHeader.unpack(bad.pack())
    x = np.random.default_rng(1).standard_normal((4800, 1)).astype(np.float32) * 0.1
    y, _ = audiocodec.decode(audiocodec.encode(x, 48000, frame_size=120, block_switching=False))
    assert y.shape == x.shape


def test_low_overlap_short_blocks_tile_the_long_slopes() -> None:
    """In a low-overlap layout a short frame is N/L blocks of L whose slopes are the long
    overlap: any sequence of long and short frames reconstructs, with no transition window
    (info bits 0 and 1 change nothing there)."""
    cfg = MdctConfig(48000, 2, 384, 96, "kbd", True)
    assert (cfg.short_blocks, cfg.short_size, cfg.switch_lookahead) == (4, 96, False)
    assert np.array_equal(cfg.long_window(True, True), cfg.long_window(False, False))
    n = cfg.frame_size
    kinds = [0, INFO_SHORT, 0, INFO_SHORT, INFO_SHORT, 0, 0, INFO_SHORT, 0]
    x = np.random.default_rng(4).standard_normal((2, len(kinds) * n))
    p = np.concatenate((np.zeros((2, n)), x, np.zeros((2, 2 * n))), axis=1)
    out = np.zeros_like(p)
    for t, info in enumerate(kinds):
        seg = p[:, t * n : t * n + 2 * n]
        co = cfg.analyze(seg, info)
        assert co.shape == (2, n)
        out[:, t * n : t * n + 2 * n] += cfg.synthesize(co, info)
    region = slice(n, (len(kinds) - 1) * n)
    assert snr_db(p[:, region].ravel(), out[:, region].ravel()) >= 120.0
    # the interleaved short spectrum keeps the frame's energy and bin order (concealment uses it)
    seg = p[:, 3 * n : 5 * n]
    e_long, e_short = (float(np.sum(cfg.analyze(seg, i) ** 2)) for i in (0, INFO_SHORT))
    assert abs(10 * np.log10(e_short / e_long)) < 1.0


def test_low_overlap_block_switching_needs_the_overlap_to_divide_the_hop() -> None:
    import dataclasses

    import audiocodec
    from audiocodec.container import aqc
    from audiocodec.errors import HeaderError

    h = aqc.StreamHeader.unpack(audiocodec.Encoder(48000, 1, low_delay=True).header)
    assert h.flags & aqc.FLAG_BLOCK_SWITCHING and (h.frame_size, h.overlap) == (384, 96)
    bad = dataclasses.replace(h, overlap=100, delay=100)
    with pytest.raises(HeaderError, match="divide"):
        aqc.StreamHeader.unpack(bad.pack())
    # a low-delay layout that cannot switch (11.025 kHz: 88-sample hops) codes without it
    h11 = aqc.StreamHeader.unpack(audiocodec.Encoder(11025, 1, low_delay=True).header)
    assert not h11.flags & aqc.FLAG_BLOCK_SWITCHING
    assert not aqc.StreamHeader.unpack(
        audiocodec.Encoder(48000, 1, low_delay=True, block_switching=False).header
    ).flags & aqc.FLAG_BLOCK_SWITCHING


def test_a_header_whose_overlap_does_not_tile_the_hop_builds_a_decoder() -> None:
    """Without block switching an overlap need not divide the hop (80 / 24): the decoder's
    tables build (short-block ones at 8 blocks), and a full-overlap layout's short-block band
    table keeps the general rule at any hop."""
    from audiocodec.core.bands import band_edges
    from audiocodec.core.layout import SHORT_BLOCKS

    cfg = MdctConfig(48000, 1, 80, 24, "kbd", False)
    assert cfg.short_blocks == SHORT_BLOCKS and cfg.max_bands > 0
    full = MdctConfig(48000, 1, 256, 256, "kbd", True)
    assert np.array_equal(full.edges_short, band_edges(48000, 256, 8))
    assert not np.array_equal(band_edges(48000, 256, 8), band_edges(48000, 256, 8, True))
