"""Scale factors predicted across frames (the ``sf_predict`` record): the shared predictor
against its plain statement, intra frames where the format says, a decoder that joins late
waits for one, a loss drifts for at most the intra interval, and FEC copies predict nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import music_like  # noqa: E402

import audiocodec  # noqa: E402
from audiocodec.container import aqc  # noqa: E402
from audiocodec.core import FrameStats, entropy  # noqa: E402
from audiocodec.encoder.mdct_encoder import SF_INTRA_INTERVAL  # noqa: E402
from audiocodec.errors import HeaderError, InputError  # noqa: E402
from audiocodec.eval.metrics import snr_db  # noqa: E402

FS = 48000
K = SF_INTRA_INTERVAL


def _prediction_reference(a: int, s_b: int, s_b1: int, g: int, coarse: bool) -> int:
    """The predictor as the format states it: a median of three, then g's parity."""
    p = int(np.median([a, s_b, a + s_b - s_b1]))
    return p - 1 if coarse and (p - g) % 2 else p


def test_prediction_kernel_matches_its_statement() -> None:
    rng = np.random.default_rng(7)
    for a, s_b, s_b1, g in rng.integers(0, 256, (4000, 4)):
        for coarse in (False, True):
            got = entropy.sf_prediction(int(a), int(s_b), int(s_b1), int(g), coarse)
            assert got == _prediction_reference(int(a), int(s_b), int(s_b1), int(g), coarse)


def _packets(x: np.ndarray, **opts: object) -> tuple[bytes, list[bytes]]:
    enc = audiocodec.Encoder(FS, x.shape[1], bitrate=48000, serial=5, total_samples=len(x),
                             **opts)  # type: ignore[arg-type]
    return enc.header, enc.encode(x) + enc.flush()


def _decode_all(header: bytes, packets: list[bytes], lost: frozenset[int] = frozenset()
                ) -> tuple[np.ndarray, audiocodec.Decoder]:
    dec = audiocodec.Decoder(header)
    out = [dec.decode(None if i in lost else p) for i, p in enumerate(packets)]
    return np.concatenate(out), dec


@pytest.mark.parametrize("low_delay", [False, True])
def test_prediction_is_on_by_default_and_pays(low_delay: bool) -> None:
    """The record is written, and at the same bitrate the bits it saves buy finer steps (and,
    in the low-delay layout, whose side information is a third of a packet, SNR) on a seeded
    signal: budgets that a stream without prediction fails."""
    x = music_like(seconds=2.0)
    runs = {}
    for on in (True, False):
        steps: list[float] = []

        def seen(st: FrameStats, steps: list[float] = steps) -> None:
            steps.append(float(st.scale_factors.mean()))

        enc = audiocodec.Encoder(FS, 2, bitrate=48000, serial=5, low_delay=low_delay, postfilter=False,
                                 sf_predict=on, observer=seen)
        pk = enc.encode(x) + enc.flush()
        y, _ = _decode_all(enc.header, pk)
        runs[on] = (aqc.StreamHeader.unpack(enc.header), sum(map(len, pk)), float(np.mean(steps)),
                    snr_db(x, y))
    (h_on, size_on, step_on, snr_on), (h_off, size_off, step_off, snr_off) = runs[True], runs[False]
    assert aqc.sf_predict_interval(h_on) == K
    assert h_off.find(aqc.TAG_SF_PREDICT) is None
    assert abs(size_on - size_off) < 0.03 * size_off  # the same rate ...
    assert step_on < step_off - 0.1  # ... on finer steps (0.17 / 0.19 measured)
    assert snr_on > snr_off + (0.1 if low_delay else 0.0)  # 0.03 / 0.16 dB measured


def test_a_late_decoder_waits_for_the_intra_frame_then_matches() -> None:
    x = music_like(seconds=1.5)
    header, pk = _packets(x, postfilter=False)
    n = aqc.StreamHeader.unpack(header).frame_size
    full = [audiocodec.Decoder(header)]
    ref = [full[0].decode(p) for p in pk]
    for start in (K + 3, 2 * K - 1):
        dec = audiocodec.Decoder(header)
        dec.start_at(start * n)
        got = [dec.decode(p) for p in pk[start:]]
        nxt = -(-start // K) * K  # the first intra frame at or after start
        assert dec.frames_waiting == nxt - start
        # from the packet after that intra frame (its overlap half is pre-roll) on: exact
        for i in range(nxt + 1 - start, len(got)):
            np.testing.assert_array_equal(got[i], ref[start + i])


def test_intra_frames_decode_on_their_own() -> None:
    x = music_like(seconds=1.5)
    header, pk = _packets(x, low_delay=True, postfilter=False)
    n = aqc.StreamHeader.unpack(header).frame_size
    for k in (0, K, 2 * K):
        dec = audiocodec.Decoder(header)
        dec.start_at(k * n)
        dec.decode(pk[k])
        assert dec.frames_waiting == 0


def test_a_loss_drifts_no_further_than_the_next_intra_frame() -> None:
    x = music_like(seconds=1.5)
    header, pk = _packets(x, postfilter=False)
    clean, _ = _decode_all(header, pk)
    lost = K + 5
    y, dec = _decode_all(header, pk, frozenset({lost}))
    assert dec.frames_concealed == 1 and dec.frames_waiting == 0
    n = aqc.StreamHeader.unpack(header).frame_size
    assert np.isfinite(y).all() and np.abs(y).max() < 2.0
    # the frames after the loss decode against an older reference; from the next intra
    # frame's successor on the output is the clean decode's, sample for sample
    exact_from = (2 * K + 1) * n - aqc.StreamHeader.unpack(header).delay
    np.testing.assert_array_equal(y[exact_from:], clean[exact_from:])
    assert not np.array_equal(y[(lost + 1) * n : 2 * K * n], clean[(lost + 1) * n : 2 * K * n])


def test_fec_copies_predict_nothing() -> None:
    """A decoder that has no reference still decodes a redundant copy: copies are intra."""
    x = music_like(seconds=1.0)
    header, pk = _packets(x, low_delay=True, fec=True)
    n = aqc.StreamHeader.unpack(header).frame_size
    for k in (K + 4, K + 9):
        dec = audiocodec.Decoder(header)
        dec.start_at(k * n)
        dec.decode(None, next_packet=pk[k + 1])
        assert dec.frames_recovered == 1 and dec.frames_waiting == 0


def test_options_and_records_are_checked() -> None:
    with pytest.raises(InputError, match="sf_predict"):
        audiocodec.Encoder(FS, 6, sf_predict=True)
    with pytest.raises(InputError, match="sf_predict"):
        audiocodec.Encoder(FS, 2, extension=(aqc.sf_predict_record(4),))
    h = aqc.StreamHeader.unpack(audiocodec.Encoder(FS, 2, serial=1).header)
    for bad in (b"", b"\x00\x00", b"\x01\x00\x00"):
        ext = tuple((t, v) for t, v in h.extension if t != aqc.TAG_SF_PREDICT) + ((aqc.TAG_SF_PREDICT, bad),)
        with pytest.raises(HeaderError, match="sf_predict"):
            aqc.StreamHeader.unpack(aqc.StreamHeader(
                h.mode, h.channels, h.sample_rate, h.frame_size, h.overlap, h.delay, h.bitrate,
                h.total_samples, h.serial, h.window, h.flags, ext).pack())
    # multichannel streams code without it
    six = aqc.StreamHeader.unpack(audiocodec.Encoder(FS, 6, serial=1).header)
    assert six.find(aqc.TAG_SF_PREDICT) is None
