"""Issue 2, item 10: speed, peak memory and start-up, with LAME measured in the same run.

* encode/decode x realtime at 48 kHz stereo, 128 kbit/s, over the 48 kHz
  items of ../shared/audio (or the folder given), ours and ffmpeg's encoders;
* peak memory encoding a 10-minute synthesized input vs a 10-second one
  (child processes, ``ru_maxrss``);
* ``audiocodec --help`` start-up, and numba's first-run (empty
  ``NUMBA_CACHE_DIR``) vs cached time.

It runs ``audiocodec bench --all`` (see :mod:`audiocodec.eval.benchmark`).

Usage: ``python bench/bench_speed.py [AUDIO_DIR] [--repeat 3] [--minutes 10] [--json FILE]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audiocodec.cli.evaluate import add_bench_arguments, run_bench  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", type=Path, default=REPO.parent / "shared" / "audio")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    import soundfile as sf

    inputs = [p for p in sorted(a.audio.glob("*.wav"))
              if sf.info(str(p)).samplerate == 48000 and sf.info(str(p)).channels == 2]
    if not inputs:
        print(f"no 48 kHz stereo .wav files in {a.audio}", file=sys.stderr)
        return 2
    p = argparse.ArgumentParser()
    add_bench_arguments(p)
    argv2 = [*map(str, inputs), "--all", "--repeat", str(a.repeat), "--memory-minutes",
             str(a.minutes)]
    if a.json:
        argv2 += ["--json", str(a.json)]
    return run_bench(p.parse_args(argv2))


if __name__ == "__main__":
    sys.exit(main())
