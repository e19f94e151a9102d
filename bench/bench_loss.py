"""Issue 13, item 4: quality under packet loss, with concealment alone and with in-band FEC.

Each shared item goes through the streaming Encoder and Decoder (low delay: music at 64 kbit/s,
speech at 48k; ADPCM for music too). Packets are dropped by a seeded pattern: random at 5, 10
and 20 %, and in bursts (a loss event drops 1-3 packets, 10 % of packets in all). A lost packet
is concealed, or, in an FEC stream whose next packet arrived, decoded from that packet's copy.
Scores: ViSQOL and Zimtohrli per channel for music, PESQ-WB and Zimtohrli for speech. Goals
(against the same configuration without loss): at 5 and 10 % random loss a Zimtohrli drop of
at most 0.3 for music and a PESQ-WB drop of at most 0.5 for speech. The peer in the same run:
libopus at 10 ms, restricted low delay, its own concealment (``opus_loss.py``; skipped when the
system has no libopus), at the same rates and loss patterns.

    python bench/bench_loss.py [AUDIO_DIR] [--seconds S] [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import opus_loss  # noqa: E402

from audiocodec.eval import perceptual  # noqa: E402
from audiocodec.stream import Decoder, Encoder  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "audio"
SPEECH = "speech_alsa48_mono"
PATTERNS = ("0%", "5%", "10%", "20%", "10% bursts")
CONFIGS: dict[str, dict[str, Any]] = {
    "low delay": {"low_delay": True},
    "low delay + FEC": {"low_delay": True, "fec": True},
    "adpcm": {"mode": "adpcm"},
}


def lost_mask(n: int, pattern: str, seed: int) -> np.ndarray:
    """Which of ``n`` packets are lost (never the last, which carries the stream's length)."""
    rng = np.random.default_rng(seed)
    rate = float(pattern.split("%")[0]) / 100.0
    if "burst" in pattern:
        lost = np.zeros(n, bool)
        i = 0
        while i < n:
            if rng.random() < rate / 2.0:  # events of 1-3 packets, 2 on average
                k = int(rng.integers(1, 4))
                lost[i : i + k] = True
                i += k + 1
            else:
                i += 1
    else:
        lost = rng.random(n) < rate
    lost[-1] = False
    return lost


def run(x: np.ndarray, rate: int, pattern: str, **opts: Any) -> tuple[np.ndarray, int, int, int]:
    """Decode ``x`` through the codec with the pattern's losses: (output, lost, recovered, n)."""
    enc = Encoder(rate, x.shape[1], serial=1, total_samples=len(x), **opts)
    packets = enc.encode(x) + enc.flush()
    dec = Decoder(enc.header)
    lost = lost_mask(len(packets), pattern, seed=7)
    out = []
    for i, p in enumerate(packets):
        if lost[i]:
            out.append(dec.decode(None, next_packet=None if lost[i + 1] else packets[i + 1]))
        else:
            out.append(dec.decode(p))
    return np.concatenate(out)[: len(x)], int(lost.sum()), dec.frames_recovered, len(packets)


def _job(task: tuple[str, str, str, float, str]) -> dict[str, Any]:
    name, config, pattern, seconds, folder = task
    x, rate = sf.read(str(Path(folder) / f"{name}.wav"), dtype="float32", always_2d=True)
    x = x[: int(seconds * rate)]
    speech = name == SPEECH
    opts = dict(CONFIGS.get(config, {}))
    if opts.get("mode") != "adpcm":
        opts["bitrate"] = 48000 if speech else 64000
    if config == "libopus":
        lib = opus_loss.load()
        assert lib is not None
        y, _, lost, n = opus_loss.run(lib, x, rate, 48000 if speech else 64000,
                                      lambda count: lost_mask(count, pattern, seed=7))
        recovered = 0
    else:
        y, lost, recovered, n = run(x, rate, pattern, **opts)
    s = perceptual.scores(x.astype(np.float64), y.astype(np.float64), rate, use_visqol=not speech,
                          speech=speech)
    return {"item": name, "config": config, "pattern": pattern, "lost": lost, "recovered": recovered,
            "packets": n, **{k: s.get(k) for k in ("visqol", "zimtohrli", "pesq")}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", type=Path, default=SHARED)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    music = sorted(p.stem for p in a.audio.glob("*48_stereo.wav"))
    if not music or not (a.audio / f"{SPEECH}.wav").is_file():
        print(f"bench_loss: skipped: no shared music items or {SPEECH}.wav in {a.audio}")
        return 0
    if not all(perceptual.available(m) for m in ("visqol", "zimtohrli", "pesq")):
        print("bench_loss: skipped: needs the eval extra (pip install -e '.[eval]')")
        return 0
    where = str(a.audio)
    peers = ["libopus"] if opus_loss.load() is not None else []
    if not peers:
        print("bench_loss: no libopus on this system: the peer rows are skipped")
    tasks = [(m, c, p, a.seconds, where) for m in music for c in [*CONFIGS, *peers] for p in PATTERNS]
    tasks += [(SPEECH, c, p, a.seconds, where) for c in ("low delay", "low delay + FEC", *peers)
              for p in PATTERNS]
    with Pool(a.jobs) as pool:
        rows = pool.map(_job, tasks, chunksize=1)
    print("| item | config | loss | lost / recovered / packets | ViSQOL/ch | Zimtohrli | PESQ-WB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{r[k]:.3f}" if r[k] is not None else "-" for k in ("visqol", "zimtohrli", "pesq")]
        print(f"| {r['item']} | {r['config']} | {r['pattern']} | {r['lost']} / {r['recovered']} / "
              f"{r['packets']} | " + " | ".join(cells) + " |")
    met = not_met = 0

    def mean_of(config: str, pattern: str, key: str, speech: bool) -> float:
        return float(np.mean([r[key] for r in rows if r["config"] == config
                              and r["pattern"] == pattern and (r["item"] == SPEECH) == speech]))

    print("\n| goal | config | loss | drop | verdict |\n|---|---|---|---|---|")
    for config in ("low delay", "low delay + FEC", *peers):
        for pattern in ("5%", "10%"):
            for kind, key, limit in (("music Zimtohrli", "zimtohrli", 0.3),
                                     ("speech PESQ-WB", "pesq", 0.5)):
                speech = kind.startswith("speech")
                drop = mean_of(config, "0%", key, speech) - mean_of(config, pattern, key, speech)
                ok = drop <= limit
                if config in peers:  # the peer's own drop, for comparison: not a goal of ours
                    print(f"| {kind} drop (peer) | {config} | {pattern} | {drop:.3f} | - |")
                    continue
                met, not_met = met + ok, not_met + (not ok)
                print(f"| {kind} drop <= {limit} | {config} | {pattern} | {drop:.3f} | "
                      f"{'MET' if ok else 'NOT MET'} |")
    print(f"\n{met} met, {not_met} not met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
