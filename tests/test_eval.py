"""Tests of the measurement path: metrics, ``audiocodec eval`` and its report.

Everything runs on a short seeded clip; ViSQOL/PESQ/STOI parts skip when the
packages are absent, and ffmpeg peers when ffmpeg is.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audiocodec
from audiocodec.cli.evaluate import add_eval_arguments, run_eval
from audiocodec.eval import metrics
from audiocodec.eval.cache import Cache
from audiocodec.eval.plan import load_item, plan_runs
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


@pytest.mark.skipif(importlib.util.find_spec("visqol") is None, reason="visqol-python absent")
@pytest.mark.slow
def test_visqol_identity_is_top() -> None:
    x = clip()
    assert metrics.visqol(x, x, RATE) == pytest.approx(4.73, abs=0.01)


@pytest.mark.skipif(importlib.util.find_spec("pesq") is None
                    or importlib.util.find_spec("pystoi") is None, reason="pesq/pystoi absent")
def test_speech_measures_identity() -> None:
    x = clip(2.0)[:, :1]
    assert metrics.pesq_wb(x, x, RATE) == pytest.approx(4.64, abs=0.05)
    assert metrics.stoi(x, x, RATE) == pytest.approx(1.0, abs=1e-3)


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
    _, errors, computed = run_all(runs, cache, 1, quiet=True)
    assert computed == 0 and not errors


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
