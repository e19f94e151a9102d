"""Issue 13, item 3: low-delay quality against libopus lowdelay with 10 ms frames, MET or NOT MET.

Ours in ``--low-delay`` (10 ms algorithmic delay: 384-sample hops, 96 overlap, the pitch
post-filter from 28 kbit/s) and, reported beside it, the 16 ms layout (``--frame-size 512``:
512 + 256); libopus with ``-application lowdelay -frame_duration 10`` (12.5 ms algorithmic
delay), its nominal rate searched until its *actual* rate is within 3 % of ours on each item.
Every stereo decode is scored per channel (mean of L and R). Goals:

* **music** (the shared SQAM items), at 48/64/96 kbit/s: ours >= libopus on the mean of
  ViSQOL per channel and on the mean of Zimtohrli;
* **speech** (``speech_alsa48_mono.wav``, 48 kHz): PESQ-WB >= 3.8 at 32k, and Zimtohrli within
  0.2 of libopus at 24/32/48k.

Usage: ``python bench/bench_lowdelay.py [AUDIO_DIR] [--jobs 2] [--json OUT]``. Needs the
``eval`` extra and ffmpeg with libopus; without the shared recordings it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audiocodec.eval import perceptual  # noqa: E402
from audiocodec.eval.metrics import align  # noqa: E402
from audiocodec.eval.peers import available, ffmpeg_path  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "audio"
MUSIC = ("castanets48_stereo", "glock48_stereo", "guitar48_stereo", "harpsichord48_stereo")
SPEECH = "speech_alsa48_mono"
MUSIC_RATES = (48000, 64000, 96000)
SPEECH_RATES = (24000, 32000, 48000)
CODECS: dict[str, dict[str, Any]] = {"ours": {"low_delay": True},
                                    "ours 16 ms": {"low_delay": True, "frame_size": 512}}
RATE_TOLERANCE = 0.03


def _score(ref: np.ndarray, deg: np.ndarray, rate: int, speech: bool,
           known_delay: bool) -> dict[str, float | None]:
    # ours decodes sample-aligned (scored as it comes out); libopus is searched for its delay
    deg_a = deg if known_delay else align(ref, deg, rate)[0]
    s = perceptual.scores(ref, deg_a, rate, use_visqol=not speech, speech=speech)
    return {k: s.get(k) for k in ("visqol", "zimtohrli", "pesq")}


def _opus(src: Path, nominal: int, work: Path, rate: int, channels: int) -> tuple[np.ndarray, float]:
    exe = ffmpeg_path()
    assert exe is not None
    coded, back = work / f"{src.stem}.{nominal}.opus", work / f"{src.stem}.{nominal}.wav"
    base = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    subprocess.run(base + ["-i", str(src), "-c:a", "libopus", "-application", "lowdelay",
                           "-frame_duration", "10", "-b:a", str(nominal), str(coded)], check=True)
    subprocess.run(base + ["-i", str(coded), "-ac", str(channels), "-ar", str(rate),
                           "-c:a", "pcm_f32le", str(back)], check=True)
    y, _ = sf.read(str(back), dtype="float32", always_2d=True)
    frames = sf.info(str(src)).frames
    return y, coded.stat().st_size * 8 / (frames / rate)


def _job(task: tuple[str, str, int, str]) -> dict[str, Any]:
    import audiocodec

    name, codec, bitrate, folder = task
    src = Path(folder) / f"{name}.wav"
    x, rate = sf.read(str(src), dtype="float32", always_2d=True)
    speech = name == SPEECH
    row: dict[str, Any] = {"item": name, "codec": codec, "nominal": bitrate}
    if codec == "libopus":
        target = float(bitrate)  # ours' actual rate on this item
        row["target"] = target
        with tempfile.TemporaryDirectory() as tmp:
            nominal = int(target)
            for _ in range(6):
                y, actual = _opus(src, nominal, Path(tmp), rate, x.shape[1])
                if abs(actual / target - 1) <= RATE_TOLERANCE:
                    break
                nominal = max(6000, int(nominal * target / actual))
        row.update(actual=actual, nominal_used=nominal)
    else:
        data = audiocodec.encode(x, rate, bitrate=bitrate, serial=1, **CODECS[codec])
        y, _ = audiocodec.decode(data)
        row["actual"] = len(data) * 8 / (len(x) / rate)
    n = min(len(x), len(y))
    row.update(_score(x[:n].astype(np.float64), y[:n].astype(np.float64), rate, speech,
                      known_delay=codec != "libopus"))
    return row


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    v = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(v)) if v else math.nan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("audio", nargs="?", type=Path, default=SHARED)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="write every measured row here")
    args = ap.parse_args(argv)
    missing = [n for n in (*MUSIC, SPEECH) if not (args.audio / f"{n}.wav").is_file()]
    if missing:
        print(f"bench_lowdelay: skipped: {args.audio} lacks {', '.join(missing)}")
        return 0
    if not available("opus") or not all(perceptual.available(m) for m in ("visqol", "zimtohrli", "pesq")):
        print("bench_lowdelay: skipped: needs ffmpeg with libopus and the eval extra "
              "(pip install -e '.[eval]')")
        return 0
    cases = [(n, r) for n in MUSIC for r in MUSIC_RATES] + [(SPEECH, r) for r in SPEECH_RATES]
    with Pool(args.jobs) as pool:
        ours = pool.map(_job, [(n, c, r, str(args.audio)) for n, r in cases for c in CODECS], chunksize=1)
        actual = {(o["item"], o["nominal"]): o["actual"] for o in ours if o["codec"] == "ours"}
        peer_tasks = [(n, "libopus", int(round(actual[n, r])), str(args.audio)) for n, r in cases]
        peers = pool.map(_job, peer_tasks, chunksize=1)
    for p, (_n, r) in zip(peers, cases, strict=True):
        p["nominal"] = r  # filed under ours' nominal rate
    rows = ours + peers
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    verdicts = _report(rows)
    print(f"\n{verdicts[0]} met, {verdicts[1]} not met")
    return 0


def _report(rows: list[dict[str, Any]]) -> tuple[int, int]:
    met = not_met = 0
    print("| item | kbit/s | codec | actual | ViSQOL/ch | Zimtohrli | PESQ-WB |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["item"], r["nominal"], r["codec"])):
        cells = [f"{r[k]:.3f}" if r.get(k) is not None else "-" for k in ("visqol", "zimtohrli", "pesq")]
        print(f"| {r['item']} | {r['nominal'] // 1000} | {r['codec']} | {r['actual'] / 1000:.1f} | "
              + " | ".join(cells) + " |")
    print("\n| goal | kbit/s | ours | ours 16 ms | libopus lowdelay | margin | verdict |")
    print("|---|---|---|---|---|---|---|")

    def pick(item: str | None, rate: int, codec: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["nominal"] == rate and r["codec"] == codec
                and (r["item"] == item if item else r["item"] != SPEECH)]

    def line(goal: str, rate: int, key: str, item: str | None, need: float | None,
             fixed: float | None = None) -> None:
        """Goal ``ours - other >= need`` (other: ``fixed``, else libopus); None: reported."""
        nonlocal met, not_met
        a, b = _mean(pick(item, rate, "ours"), key), _mean(pick(item, rate, "ours 16 ms"), key)
        other = fixed if fixed is not None else _mean(pick(item, rate, "libopus"), key)
        margin = a - other
        verdict = "reported"
        if need is not None:
            ok = margin >= need
            met, not_met = met + ok, not_met + (not ok)
            verdict = "MET" if ok else "NOT MET"
        shown = f"{other:.3f}" if fixed is None else f"(target {fixed:.2f})"
        print(f"| {goal} | {rate // 1000} | {a:.3f} | {b:.3f} | {shown} | {margin:+.3f} | {verdict} |")

    for rate in MUSIC_RATES:
        line("music ViSQOL/ch mean >= libopus", rate, "visqol", None, 0.0)
        line("music Zimtohrli mean >= libopus", rate, "zimtohrli", None, 0.0)
    line("speech PESQ-WB >= 3.8", 32000, "pesq", SPEECH, 0.0, 3.8)
    for rate in SPEECH_RATES:
        line("speech Zimtohrli within 0.2 of libopus", rate, "zimtohrli", SPEECH, -0.2)
        line("speech PESQ-WB", rate, "pesq", SPEECH, None)
    return met, not_met


if __name__ == "__main__":
    sys.exit(main())
