"""IMA ADPCM kernels: numba vs the scalar reference, packets, quality, latency."""

from __future__ import annotations

import numpy as np
import pytest

from audiocodec import adpcm as A
from audiocodec.adpcm import dual as D
from audiocodec.adpcm import kernels as K
from audiocodec.adpcm import tables as T
from audiocodec.errors import CodecError, FrameError, InputError


def _walk(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """A random-walk int16 signal (ADPCM-friendly but with jumps)."""
    x = np.cumsum(rng.standard_normal(n)) * scale
    x[rng.integers(0, n, size=max(1, n // 50))] += rng.normal(0, 8000, size=max(1, n // 50))
    return np.clip(x, -32768, 32767).astype(np.int16)


def music_like(seed: int, n: int, channels: int, sr: int = 48000) -> np.ndarray:
    """Seeded float32 (n, channels): decaying partials with attacks, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    out = np.zeros((n, channels))
    for c in range(channels):
        for _ in range(6):
            onset = rng.uniform(0, n / sr)
            f0 = rng.uniform(80, 2000)
            env = np.where(t >= onset, np.exp(-(t - onset) * rng.uniform(2, 12)), 0.0)
            for h in range(1, 6):
                out[:, c] += env * rng.uniform(0.02, 0.12) / h * np.sin(2 * np.pi * f0 * h * t)
        out[:, c] += rng.normal(0, 0.002, n)
    return out.astype(np.float32)


def snr_db(ref: np.ndarray, out: np.ndarray) -> float:
    r = ref.astype(np.float64)
    e = out.astype(np.float64) - r
    return float(10 * np.log10(np.sum(r * r) / max(np.sum(e * e), 1e-30)))


def _run_greedy(x: np.ndarray, p: int, i: int, portable: bool) -> tuple[np.ndarray, int, int]:
    codes = np.empty(x.shape[0], dtype=np.uint8)
    mask = A.PORTABLE_MASK if portable else A.ALL_MASK
    p2, i2 = K.greedy_run(x, p, i, A.STEP_TABLE, A.INDEX_TABLE, A.MAG_IMA, mask, portable, codes)
    return codes, int(p2), int(i2)


def _run_search(
    x: np.ndarray, p: int, i: int, portable: bool, k: int, c: int
) -> tuple[np.ndarray, int, int]:
    codes = np.empty(x.shape[0], dtype=np.uint8)
    val, code, cnt = T.LEVELS[portable]
    p2, i2 = K.search_run(x, p, i, A.INDEX_TABLE, val, code, cnt, k, c, codes)
    return codes, int(p2), int(i2)


# ------------------------------------------------------------------ tables


def test_tables_have_the_ima_shape() -> None:
    assert A.STEP_TABLE.shape == (89,) and A.STEP_TABLE[0] == 7 and A.STEP_TABLE[-1] == 32767
    assert np.all(np.diff(A.STEP_TABLE) > 0)
    # roughly geometric, ratio ~1.1 (the table's derivation)
    ratio = A.STEP_TABLE[1:] / A.STEP_TABLE[:-1]
    assert 1.05 < float(np.median(ratio)) < 1.15
    assert A.INDEX_TABLE.tolist() == [-1, -1, -1, -1, 2, 4, 6, 8]
    # reconstruction magnitudes strictly increase with m (the greedy relies on it)
    assert np.all(np.diff(A.MAG_IMA, axis=1) > 0)
    # portable codes: m in {0, 4} always agree between the two formulas
    assert A.PORTABLE_MASK[:, 0].all() and A.PORTABLE_MASK[:, 4].all()


def test_derived_tables_pin_their_first_and_last_rows() -> None:
    # s = 7: IMA sums s>>3, s, s>>1, s>>2 by bit; ffmpeg takes ((2m+1)*s)>>3
    assert A.MAG_IMA[0].tolist() == [0, 1, 3, 4, 7, 8, 10, 11]
    assert A.MAG_FFMPEG[0].tolist() == [0, 2, 4, 6, 7, 9, 11, 13]
    assert A.MAG_IMA[88].tolist() == [4095, 12286, 20478, 28669, 36862, 45053, 53245, 61436]
    assert A.MAG_FFMPEG[88].tolist() == [4095, 12287, 20479, 28671, 36862, 45054, 53246, 61438]
    for variant, mag in (("ima", A.MAG_IMA), ("ffmpeg", A.MAG_FFMPEG)):
        for i in (0, 17, 50, 88):
            s = int(A.STEP_TABLE[i])
            assert mag[i].tolist() == [T.step_diff(s, m, variant) for m in range(8)]
    val, code, cnt = T.LEVELS[False]
    assert cnt[0] == 15 and np.all(np.diff(val[0, :15]) > 0)  # -0 is left out at s = 7
    assert code[0, :15].tolist() == [15, 14, 13, 12, 11, 10, 9, 0, 1, 2, 3, 4, 5, 6, 7]


# ------------------------------------------------------ kernels vs reference


@pytest.mark.parametrize("portable", [False, True])
def test_greedy_kernel_equals_reference(portable: bool) -> None:
    rng = np.random.default_rng(10)
    for _ in range(8):
        n = int(rng.integers(1, 600))
        x = _walk(rng, n, float(rng.uniform(5, 3000)))
        p, i = int(rng.integers(-32768, 32768)), int(rng.integers(0, 89))
        codes, p2, i2 = _run_greedy(x, p, i, portable)
        rc, rp, ri = A.reference_encode_greedy(x, p, i, portable=portable)
        assert codes.tolist() == rc
        assert (p2, i2) == (rp, ri)


@pytest.mark.parametrize("portable", [False, True])
@pytest.mark.parametrize("k,c", [(8, 3), (4, 2), (6, 4)])
def test_search_kernel_equals_reference(portable: bool, k: int, c: int) -> None:
    rng = np.random.default_rng(11 + k)
    for _ in range(3):
        n = int(rng.integers(1, 250))
        x = _walk(rng, n, float(rng.uniform(5, 3000)))
        p, i = int(rng.integers(-32768, 32768)), int(rng.integers(0, 89))
        codes, p2, i2 = _run_search(x, p, i, portable, k, c)
        rc, rp, ri = A.reference_encode_search(x, p, i, survivors=k, candidates=c, portable=portable)
        assert codes.tolist() == rc
        assert (p2, i2) == (rp, ri)


@pytest.mark.parametrize("portable,k,c,w,keep", [(False, 8, 3, 1, False), (False, 4, 2, 0, True),
                                                  (True, 16, 4, 1, True), (True, 6, 3, 2, False)])
def test_dual_search_kernel_equals_reference(portable: bool, k: int, c: int, w: int, keep: bool) -> None:
    rng = np.random.default_rng(21 + k)
    for _ in range(3):
        n = int(rng.integers(1, 250))
        x = _walk(rng, n, float(rng.uniform(5, 3000)))
        p, i = int(rng.integers(-32768, 32768)), int(rng.integers(0, 89))
        codes = np.empty(n, dtype=np.uint8)
        val, code, cnt = T.LEVELS[portable]
        p2, i2 = D.search_dual_run(x, p, i, A.INDEX_TABLE, A.MAG_FFMPEG, val, code, cnt, k, c, w, keep,
                                   codes)
        rc, rp, ri = A.reference_encode_dual(x, p, i, survivors=k, candidates=c, wmax=w,
                                             keep_index=keep, portable=portable)
        assert codes.tolist() == rc
        assert (int(p2), int(i2)) == (rp, ri)


def test_dual_search_keeps_both_decoders_close() -> None:
    """The WAV search bounds the worse decoder's error: ffmpeg's rounding no longer drifts."""
    # a slow loud tone: the single-decoder search's codes let ffmpeg's predictor drift
    x = (20000 * np.sin(2 * np.pi * 60 * np.arange(1016) / 48000)).astype(np.int16)
    val, code, cnt = T.LEVELS[False]
    single = np.empty(x.shape[0], dtype=np.uint8)
    K.search_run(x, 0, 20, A.INDEX_TABLE, val, code, cnt, 8, 3, single)
    dual = np.empty(x.shape[0], dtype=np.uint8)
    D.search_dual_run(x, 0, 20, A.INDEX_TABLE, A.MAG_FFMPEG, val, code, cnt, 8, 3, 1, False, dual)

    def worse(codes: np.ndarray) -> float:
        return min(snr_db(x, np.array(A.reference_decode(codes, 0, 20, v)[0])) for v in A.VARIANTS)

    assert worse(dual) > worse(single) + 5.0


@pytest.mark.parametrize("variant", ["ima", "ffmpeg"])
def test_decode_kernel_equals_reference(variant: str) -> None:
    rng = np.random.default_rng(12)
    mag = A.MAG_IMA if variant == "ima" else A.MAG_FFMPEG
    for _ in range(10):
        n = int(rng.integers(1, 2000))
        codes = rng.integers(0, 16, n).astype(np.uint8)
        p, i = int(rng.integers(-32768, 32768)), int(rng.integers(0, 89))
        out = np.empty(n, dtype=np.int16)
        p2, i2 = K.decode_run(codes, p, i, A.INDEX_TABLE, mag, out)
        ro, rp, ri = A.reference_decode(codes, p, i, variant)
        assert out.tolist() == ro and (int(p2), int(i2)) == (rp, ri)


def test_portable_codes_decode_identically_in_both_formulas() -> None:
    rng = np.random.default_rng(13)
    x = _walk(rng, 3000, 400.0)
    codes, _, _ = _run_search(x, 0, 0, True, 8, 3)
    a, _, _ = A.reference_decode(codes, 0, 0, "ima")
    b, _, _ = A.reference_decode(codes, 0, 0, "ffmpeg")
    assert a == b


def test_float_conversion_rounds_and_clips() -> None:
    pcm = np.array([[0.0], [1.0], [-1.0], [2.5], [-7.0], [0.5 / 32768], [1.5 / 32768]], np.float32)
    assert A.float_to_int16(pcm)[:, 0].tolist() == [0, 32767, -32768, 32767, -32768, 0, 2]
    x = np.array([[-32768, 32767, 0, 1]], dtype=np.int16)
    back = A.int16_to_float(x)
    assert back.dtype == np.float32 and np.array_equal(A.float_to_int16(back), x)
    with pytest.raises(InputError):
        A.float_to_int16(np.array([[np.nan]], np.float32))
    with pytest.raises(InputError):
        A.float_to_int16(np.zeros(4, np.float32))
    with pytest.raises(InputError):
        A.float_to_int16(np.zeros((4, 1), np.int16))


# ------------------------------------------------------------------ packets


def test_packet_size_and_layout() -> None:
    assert A.packet_size(1, 1) == 4
    assert A.packet_size(2, 1) == 7
    assert A.packet_size(1, 3) == 5
    assert A.packet_size(2, 1017) == 6 + 1017
    st = A.AdpcmState(2)
    st.predictor[:] = [-2, 300]
    st.index[:] = [5, 88]
    pcm = np.zeros((3, 2), np.float32)
    payload = encode = A.encode_packet(pcm, st, method="greedy")
    assert len(encode) == A.packet_size(2, 3)
    assert payload[:6] == bytes([0xFE, 0xFF, 5, 0x2C, 0x01, 88])


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("method", ["greedy", "search"])
def test_packets_are_continuous_and_independent(channels: int, method: str) -> None:
    rng = np.random.default_rng(20 + channels)
    pcm = music_like(21, 3001, channels)
    st = A.AdpcmState(channels)
    packets, pos = [], 0
    while pos < pcm.shape[0]:
        n = int(min(rng.integers(1, 400), pcm.shape[0] - pos))
        packets.append((A.encode_packet(pcm[pos : pos + n], st, method=method), n))
        pos += n
    dec = [A.decode_packet(p, channels, n) for p, n in packets]
    for d, (_, n) in zip(dec, packets, strict=True):
        assert d.shape == (n, channels) and d.dtype == np.float32
    whole = np.concatenate(dec)
    assert snr_db(pcm, whole) > 20
    # each packet decodes on its own (state in its header): decoding packet k
    # alone gives the same samples as in the continuous decode
    k = len(packets) // 2
    alone = A.decode_packet(packets[k][0], channels, packets[k][1])
    assert np.array_equal(alone, dec[k])
    # the state after packet j is the header of packet j + 1
    hdr = np.frombuffer(packets[k][0][: 3 * channels], np.uint8).reshape(channels, 3)
    pred = hdr[:, 0].astype(np.int32) | (hdr[:, 1].astype(np.int32) << 8)
    pred = np.where(pred >= 32768, pred - 65536, pred)
    assert np.array_equal(pred, A.float_to_int16(dec[k - 1][-1:])[0].astype(np.int32))


def test_packet_codes_match_reference_decode() -> None:
    pcm = music_like(22, 257, 2)
    st = A.AdpcmState(2)
    payload = A.encode_packet(pcm, st, method="search")
    b = np.frombuffer(payload, np.uint8)
    nib = np.empty(2 * b[6:].size, np.uint8)
    nib[0::2] = b[6:] & 15
    nib[1::2] = b[6:] >> 4
    dec = A.decode_packet(payload, 2, 257)
    for c in range(2):
        ref, p, i = A.reference_decode(nib[c : 2 * 257 : 2], 0, 0)
        assert np.array_equal(A.float_to_int16(dec)[:, c], np.array(ref, np.int16))
        assert (p, i) == (st.predictor[c], st.index[c])


def test_state_reset_and_validation() -> None:
    st = A.AdpcmState(1)
    A.encode_packet(music_like(1, 500, 1), st)
    assert st.index[0] != 0 or st.predictor[0] != 0
    st.reset()
    assert st.predictor.tolist() == [0] and st.index.tolist() == [0]
    with pytest.raises(InputError):
        A.AdpcmState(0)
    with pytest.raises(InputError):
        A.encode_packet(np.zeros((0, 1), np.float32), st)
    with pytest.raises(InputError):
        A.encode_packet(np.zeros((65536, 1), np.float32), st)
    with pytest.raises(InputError):
        A.encode_packet(np.zeros((10, 2), np.float32), st)
    with pytest.raises(InputError):
        A.encode_packet(np.zeros((10, 1), np.float32), st, method="trellis")
    with pytest.raises(InputError):
        A.encode_packet(np.full((10, 1), np.inf, np.float32), st)
    A.encode_packet(np.zeros((65535, 1), np.float32), st)  # the maximum is fine


def test_decode_packet_rejects_bad_payloads() -> None:
    st = A.AdpcmState(2)
    good = A.encode_packet(music_like(2, 11, 2), st)
    assert A.decode_packet(good, 2, 11).shape == (11, 2)
    for args in [
        (good[:-1], 2, 11),
        (good + b"\0", 2, 11),
        (good, 2, 12),
        (good, 1, 11),
        (good, 0, 11),
        (good, 2, 0),
        (good, 2, 70000),
        (b"", 1, 1),
        ("not bytes", 1, 1),
    ]:
        with pytest.raises(FrameError):
            A.decode_packet(*args)  # type: ignore[arg-type]
    bad = bytearray(good)
    bad[2] = 89
    with pytest.raises(FrameError, match="step index"):
        A.decode_packet(bytes(bad), 2, 11)
    st1 = A.AdpcmState(1)
    odd = bytearray(A.encode_packet(music_like(3, 3, 1), st1))  # 3 codes: 1 pad nibble
    odd[-1] |= 0x50
    with pytest.raises(FrameError, match="padding"):
        A.decode_packet(bytes(odd), 1, 3)


def test_decode_packet_fuzz_raises_only_frame_error() -> None:
    rng = np.random.default_rng(30)
    for _ in range(300):
        ch = int(rng.integers(0, 4))
        n = int(rng.integers(0, 40))
        size = A.packet_size(max(ch, 1), n) + int(rng.integers(-2, 3))
        blob = rng.integers(0, 256, max(size, 0)).astype(np.uint8).tobytes()
        try:
            out = A.decode_packet(blob, ch, n)
        except FrameError:
            continue
        assert out.shape == (n, ch) and np.all(np.abs(out) <= 1.0)


# ---------------------------------------------------------- signals, quality


@pytest.mark.parametrize("method", ["greedy", "search"])
def test_silence_is_exact(method: str) -> None:
    st = A.AdpcmState(2)
    out = A.decode_packet(A.encode_packet(np.zeros((1000, 2), np.float32), st, method=method), 2,
                          1000)  # fmt: skip
    assert not out.any()


@pytest.mark.parametrize("method", ["greedy", "search"])
def test_full_scale_square_and_clipping_input(method: str) -> None:
    n = 4800
    sq = np.where((np.arange(n) // 50) % 2, 1.0, -1.0).astype(np.float32)[:, None]
    for pcm in (sq, 1.7 * sq, np.clip(sq * 3.0, -5, 5)):
        st = A.AdpcmState(1)
        out = A.decode_packet(A.encode_packet(pcm, st, method=method), 1, n)
        assert np.all(np.abs(out) <= 1.0)
        ref = A.int16_to_float(A.float_to_int16(pcm))
        # IMA needs ~11 samples to climb from step 0 to a full-scale jump, so a
        # 480 Hz full-scale square only reaches ~5.6 dB; the point is no wrap.
        assert snr_db(ref[2000:], out[2000:]) > 4
        # the rails are reached exactly: no int16 wrap-around
        assert out.max() == pytest.approx(32767 / 32768) and out.min() == -1.0


def test_snr_budget_and_search_beats_greedy() -> None:
    budgets = {"greedy": 24.0, "search": 25.0}
    gains = []
    for seed in (40, 41, 42):
        pcm = music_like(seed, 24000, 2)
        ref = A.int16_to_float(A.float_to_int16(pcm))
        res = {}
        for method in ("greedy", "search"):
            st = A.AdpcmState(2)
            out = A.decode_packet(A.encode_packet(pcm, st, method=method), 2, pcm.shape[0])
            res[method] = snr_db(ref, out)
            assert res[method] > budgets[method], (seed, method, res[method])
        gains.append(res["search"] - res["greedy"])
    assert min(gains) > 0.3, gains


def test_algorithmic_latency_is_zero() -> None:
    assert A.ALGORITHMIC_LATENCY_SAMPLES == 0
    rng = np.random.default_rng(50)
    n = 4096
    pcm = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 48000)
           + 0.05 * rng.standard_normal(n)).astype(np.float32)[:, None]  # fmt: skip
    for method in ("greedy", "search"):
        out = A.decode_packet(A.encode_packet(pcm, A.AdpcmState(1), method=method), 1, n)
        lags = range(-8, 9)
        corr = [float(np.dot(pcm[16:-16, 0], np.roll(out[:, 0], -lag)[16:-16])) for lag in lags]
        assert list(lags)[int(np.argmax(corr))] == A.ALGORITHMIC_LATENCY_SAMPLES
    # an impulse comes out at its own position
    imp = np.zeros((64, 1), np.float32)
    imp[20] = 0.5
    out = A.decode_packet(A.encode_packet(imp, A.AdpcmState(1), method="search"), 1, 64)
    assert int(np.argmax(out[:, 0])) == 20


# ------------------------------------------------------------- WAV blocks


@pytest.mark.parametrize("channels", [1, 2])
def test_blocks_decode_from_any_block(channels: int) -> None:
    spb = 129
    x = A.float_to_int16(music_like(60, spb * 7, channels))
    idx = np.zeros(channels, np.int32)
    data = A.encode_blocks(x, spb, idx, method="search")
    ba = A.block_align_for(spb, channels)
    assert len(data) == 7 * ba
    full = A.decode_blocks(data, channels, ba, spb)
    assert full.shape == x.shape
    assert np.array_equal(full[::spb], x[::spb])  # block headers hold the exact sample
    for k in (1, 3, 6):
        part = A.decode_blocks(data[k * ba :], channels, ba, spb)
        assert np.array_equal(part, full[k * spb :])
    # a short final block decodes its whole 8-sample groups only
    short = A.decode_blocks(data[: 2 * ba + 4 * channels + 4 * channels * 3 + 1], channels, ba,
                            spb)  # fmt: skip
    assert np.array_equal(short, full[: 2 * spb + 1 + 24])


def test_blocks_validate() -> None:
    x = np.zeros((9 * 3, 1), np.int16)
    idx = np.zeros(1, np.int32)
    with pytest.raises(InputError):
        A.encode_blocks(x, 10, idx)
    with pytest.raises(InputError):
        A.encode_blocks(x[:-1], 9, idx)
    data = bytearray(A.encode_blocks(x, 9, idx))
    data[2 + 8] = 200  # step index of block 1
    with pytest.raises(FrameError):
        A.decode_blocks(bytes(data), 1, 8, 9)
    assert issubclass(FrameError, CodecError)
