"""Tests of the measurement path: metrics, ``audiocodec eval`` and its report.

Everything runs on a short seeded clip; ViSQOL/Zimtohrli/PESQ/STOI parts skip when
the packages are absent, and ffmpeg peers when ffmpeg is.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import audiocodec
from audiocodec.cli.evaluate import add_eval_arguments, run_eval
from audiocodec.eval import compare, metrics, perceptual
from audiocodec.eval.cache import Cache
from audiocodec.eval.plan import load_item, peer_ladder, plan_runs
from audiocodec.eval.runner import run_all

RATE = 48000


def clip(seconds: float = 1.0, seed: int = 3) -> np.ndarray:
    """Seeded stereo test clip: two quiet tones, noise in the second half, three clicks."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    x = 0.05 * np.sin(2 * np.pi * 440 * t) + 0.025 * np.sin(2 * np.pi * 3150 * t)
    x = x + 0.01 * rng.standard_normal(t.size) * (t > 0.5)
    burst = 0.7 * rng.standard_normal(240) * np.exp(-np.arange(240) / 60.0)
    for c in range(RATE // 4, t.size - 240, RATE // 3):  # 5-ms castanet-like clicks
        x[c : c + 240] += burst
    return np.stack([x, 0.7 * x + 0.02 * rng.standard_normal(t.size)], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("clip") / "seeded_clip.wav"
    sf.write(str(p), clip(), RATE, subtype="PCM_16")
    return p


# --------------------------------------------------------------------- metrics


def test_identity_gives_top_scores() -> None:
    x = clip()
    assert metrics.snr_db(x, x) == math.inf
    assert metrics.segmental_snr_db(x, x, RATE) == pytest.approx(metrics.SEG_CLAMP[1])
    m = metrics.measure(x, x, RATE, use_visqol=False)
    assert m["identical"] == 1 and m["delay"] == 0
    assert m["nmr"] is None and m["nmr_audible"] == 0.0


def test_alignment_recovers_a_known_delay() -> None:
    x = clip()
    late = np.concatenate([np.zeros((357, 2), np.float32), x])
    aligned, delay = metrics.align(x, late, RATE)
    assert delay == 357
    assert metrics.snr_db(x, aligned) == math.inf
    early = x[200:]
    _, delay = metrics.align(x, early, RATE)
    assert delay == -200


def test_a_known_delay_is_not_searched() -> None:
    """Ours is scored at its promised delay 0: a decode that came out late is measured as
    the damage it is, where the search would have aligned it away."""
    x = clip()
    late = np.concatenate([np.zeros((40, 2), np.float32), x])
    searched = metrics.measure(x, late, RATE, use_visqol=False)
    known = metrics.measure(x, late, RATE, use_visqol=False, delay=0)
    assert searched["delay"] == 40 and searched["identical"] == 1
    assert known["delay"] == 0 and known["snr"] < 10.0


def test_segmental_snr_and_nmr_follow_the_noise_level() -> None:
    x = clip()
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(x.shape)
    quiet, loud = x + 1e-3 * noise, x + 1e-2 * noise
    assert metrics.snr_db(x, quiet) == pytest.approx(metrics.snr_db(x, loud) + 20, abs=0.2)
    assert metrics.segmental_snr_db(x, quiet, RATE) > metrics.segmental_snr_db(x, loud, RATE)
    assert metrics.nmr(x, quiet, RATE).total_db == pytest.approx(
        metrics.nmr(x, loud, RATE).total_db - 20, abs=0.2)


def test_attacks_found_at_the_clicks() -> None:
    x = clip()
    a = metrics.find_attacks(x, RATE)
    clicks = np.arange(RATE // 4, RATE, RATE // 3)
    assert len(a) >= len(clicks) - 1
    for c in clicks[1:]:
        assert np.min(np.abs(a - c)) < RATE // 500  # within 2 ms


@pytest.mark.parametrize("quantizer", ["uniform", "nonuniform", "adaptive"])
def test_more_bits_never_lower_snr(quantizer: str) -> None:
    x = clip()
    snrs = []
    for br in (32000, 64000, 128000):
        y, _ = audiocodec.decode(audiocodec.encode(x, RATE, bitrate=br, quantizer=quantizer,
                                                   serial=1))
        snrs.append(metrics.snr_db(x, y))
    assert snrs == sorted(snrs), f"{quantizer}: SNR at 32/64/128k = {snrs}"


def test_low_band_snr_sees_only_the_low_band() -> None:
    x = clip()
    t = np.arange(x.shape[0]) / RATE
    high = (0.01 * np.sin(2 * np.pi * 9000 * t))[:, None]  # error above 2 kHz only
    assert metrics.low_band_snr_db(x, x + high, RATE) > metrics.snr_db(x, x + high) + 20
    low = (0.01 * np.sin(2 * np.pi * 300 * t))[:, None]
    assert metrics.low_band_snr_db(x, x + low, RATE) < metrics.snr_db(x, x + low) + 3


needs_visqol = pytest.mark.skipif(importlib.util.find_spec("visqol") is None,
                                  reason="visqol-python absent")
needs_zimtohrli = pytest.mark.skipif(importlib.util.find_spec("zimtohrli") is None,
                                     reason="zimtohrli absent")


def _mean(score: perceptual.Score | None) -> float:
    assert score is not None
    return score[0]


def _side_channel_damage() -> tuple[np.ndarray, np.ndarray]:
    """A stereo decode whose right channel is broken and whose left channel carries the
    opposite error: its mono mix equals the reference's exactly."""
    x = clip()
    e = np.float32(0.05) * np.random.default_rng(5).standard_normal(x.shape[0], dtype=np.float32)
    y = x.copy()
    y[:, 0] += e
    y[:, 1] -= e
    assert np.allclose(metrics.mono(y), metrics.mono(x), atol=1e-6)
    return x, y


@pytest.mark.parametrize("score", [pytest.param(perceptual.visqol, marks=needs_visqol, id="visqol"),
                                   pytest.param(perceptual.zimtohrli, marks=needs_zimtohrli,
                                                id="zimtohrli")])
def test_per_channel_scoring_sees_what_the_mono_mix_hides(score: Any) -> None:
    x, y = _side_channel_damage()
    mean, per_ch = score(x, y, RATE)
    mono_mix = score(metrics.mono(x), metrics.mono(y), RATE)[0]
    assert len(per_ch) == 2 and mean == pytest.approx(sum(per_ch) / 2)
    assert mono_mix > mean + 1.0, (mono_mix, per_ch)
    top, _ = score(x, x, RATE)
    assert top > mean + 1.0


@needs_visqol
@needs_zimtohrli
def test_measure_reports_per_channel_scores() -> None:
    x, y = _side_channel_damage()
    m = metrics.measure(x, y, RATE)
    assert len(m["visqol_ch"]) == 2 and len(m["zimtohrli_ch"]) == 2
    assert m["visqol"] == pytest.approx(sum(m["visqol_ch"]) / 2)
    assert m["zimtohrli"] == pytest.approx(sum(m["zimtohrli_ch"]) / 2)


@needs_zimtohrli
def test_zimtohrli_resamples_to_48k_first() -> None:
    x = clip()[:, :1]
    from scipy.signal import resample_poly

    x16 = resample_poly(x, 1, 3, axis=0)
    noisy = x16 + 0.003 * np.random.default_rng(1).standard_normal(x16.shape)
    assert _mean(perceptual.zimtohrli(x16, x16, 16000)) == pytest.approx(5.0, abs=0.05)
    assert _mean(perceptual.zimtohrli(x16, noisy, 16000)) < 4.9


@pytest.mark.skipif(importlib.util.find_spec("pesq") is None
                    or importlib.util.find_spec("pystoi") is None, reason="pesq/pystoi absent")
def test_speech_measures_identity() -> None:
    x = clip(2.0)[:, :1]
    assert _mean(perceptual.pesq_wb(x, x, RATE)) == pytest.approx(4.64, abs=0.05)
    assert _mean(perceptual.stoi(x, x, RATE)) == pytest.approx(1.0, abs=1e-3)


# --------------------------------------------------------------------- equal actual bitrate


def _result(method: str, nominal: int, actual: float, score: float, item: str = "a"
            ) -> dict[str, object]:
    return {"item": item, "method": method, "nominal": nominal, "bitrate": actual,
            "visqol": score}


def test_peer_is_read_at_our_actual_bitrate_in_log_bitrate() -> None:
    # a VBR peer that overshoots: asked for 32k it writes 40k, asked for 64k it writes 80k
    results = [_result("peer:opus", 32000, 40000.0, 3.0), _result("peer:opus", 64000, 80000.0, 4.0),
               _result("adaptive", 64000, math.sqrt(40000.0 * 80000.0), 3.8)]
    c = compare.versus(results, "a", "adaptive", "peer:opus", 64000, "visqol")
    assert c is not None and c.inside
    assert c.other == pytest.approx(3.5)  # the log-rate midpoint, not the peer's 64k nominal
    assert c.base == 3.8 and c.bitrate == pytest.approx(56568.5, abs=0.1)
    # beyond the measured range: the nearest end, flagged
    low = compare.interpolate_score(results, "a", "peer:opus", 30000.0)
    assert low == (3.0, False)
    assert compare.interpolate_score(results, "a", "peer:opus", 160000.0) == (4.0, False)


def test_equal_rate_merges_repeated_files_and_averages_items() -> None:
    # LAME clamps a low ask to 32k: the same file at two nominals is one point
    results = [_result("peer:mp3", 16000, 32100.0, 2.0), _result("peer:mp3", 32000, 32100.0, 2.0),
               _result("peer:mp3", 64000, 64200.0, 3.0)]
    assert compare.curve(results, "a", "peer:mp3", "visqol") == [(32100.0, 2.0), (64200.0, 3.0)]
    results += [_result("adaptive", 48000, math.sqrt(32100.0 * 64200.0), 4.0),
                _result("adaptive", 48000, 32100.0, 3.0, item="b"),
                _result("peer:mp3", 32000, 32100.0, 1.0, item="b"),
                _result("peer:mp3", 64000, 64200.0, 2.0, item="b")]
    m = compare.mean_versus(results, ["a", "b"], "adaptive", "peer:mp3", 48000, "visqol")
    assert m is not None and m.inside
    assert m.base == pytest.approx(3.5) and m.other == pytest.approx((2.5 + 1.0) / 2)


def test_peer_ladder_brackets_our_bitrates() -> None:
    ladder = peer_ladder([32000, 64000, 128000])
    assert ladder[0] == 16000 and ladder[-1] == 160000
    assert {32000, 64000, 128000} <= set(ladder)


# --------------------------------------------------------------------- eval command


def _args(wav: Path, out: Path, **kw: object) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_eval_arguments(p)
    argv = [str(wav), "--out", str(out), "--bitrates", "32k,128k", "--quantizers",
            "uniform,adaptive", "--modes", "mdct", "--peers", "none", "--no-visqol", "--jobs", "1",
            "--quiet"]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}"] + ([] if v is True else [str(v)])
    return p.parse_args(argv)


def test_eval_writes_report_and_caches(wav: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "rep"
    assert run_eval(_args(wav, out, dither=True)) == 0
    for name in ("report.md", "report.html", "results.json", "cache.json",
                 "quality_vs_bitrate.png", "frame_spectrum.png", "allocation.png"):
        assert (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "<img src='quality" not in html
    md = (out / "report.md").read_text()
    assert "seeded_clip" in md and "Dither" in md
    assert "Headline" in md and "equal actual bitrate" in md
    results = json.loads((out / "results.json").read_text())
    by = {(r["method"], r["nominal"]): r for r in results}
    assert by[("identity", None)]["identical"] == 1
    for q in ("uniform", "adaptive"):
        lo, hi = by[(q, 32000)], by[(q, 128000)]
        assert lo["snr"] <= hi["snr"]
        assert lo["bitrate"] < hi["bitrate"]
    # a second run computes nothing: every key is in the cache
    items = [load_item(wav)]
    runs = plan_runs(items, [32000, 128000], ["uniform", "adaptive"], ["mdct"], [], True,
                              items[0], False)
    assert len(runs) == len(results)
    cache = Cache(out / "cache.json")
    assert all(cache.get(r.key) is not None for r in runs)
    got = run_all(runs, cache, 1, quiet=True)
    assert got.computed == 0 and not got.errors


def test_cache_key_holds_the_metric_versions(wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [load_item(wav)]

    def keys() -> list[str]:
        runs = plan_runs(items, [64000], ["adaptive"], ["mdct"], [], False, None, True)
        return [r.key for r in runs]

    before = keys()
    assert keys() == before
    v = perceptual.versions()
    assert all(name in v for name in ("visqol", "zimtohrli", "pesq", "stoi"))
    assert "per channel" in v["visqol"]
    monkeypatch.setattr(perceptual, "versions", lambda: {**v, "zimtohrli": "zimtohrli 9.9 (x)"})
    after = keys()
    assert len(after) == len(before) and not set(after) & set(before)


def test_eval_rejects_bad_options(wav: Path, tmp_path: Path) -> None:
    with pytest.raises(audiocodec.CodecError, match="quantizer"):
        run_eval(_args(wav, tmp_path, quantizers="fancy"))
    with pytest.raises(audiocodec.CodecError, match="no such file"):
        run_eval(_args(tmp_path / "missing.wav", tmp_path))


@pytest.mark.ffmpeg
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg absent")
def test_peer_round_trip_is_aligned(wav: Path, tmp_path: Path) -> None:
    from audiocodec.eval import peers

    if not peers.available("mp3"):
        pytest.skip("ffmpeg without libmp3lame")
    ref, _ = sf.read(str(wav), dtype="float32", always_2d=True)
    r = peers.run_peer("mp3", wav, 128000, tmp_path, rate=RATE, channels=2, frames=ref.shape[0])
    assert 100_000 < r.bitrate < 170_000
    m = metrics.measure(ref, r.pcm, RATE, use_visqol=False)
    assert abs(int(m["delay"] or 0)) < 2000
    assert (m["snr"] or 0) > 5


@pytest.mark.ffmpeg
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg absent")
def test_vorbis_peer_round_trip(wav: Path, tmp_path: Path) -> None:
    from audiocodec.eval import peers

    if not peers.available("vorbis"):
        pytest.skip("ffmpeg without libvorbis")
    ref, _ = sf.read(str(wav), dtype="float32", always_2d=True)
    r = peers.run_peer("vorbis", wav, 96000, tmp_path, rate=RATE, channels=2, frames=ref.shape[0])
    assert 40_000 < r.bitrate < 200_000
    with pytest.raises(peers.PeerError):  # below libvorbis's floor for 48 kHz stereo
        peers.run_peer("vorbis", wav, 16000, tmp_path, rate=RATE, channels=2, frames=ref.shape[0])
