"""``audiocodec bench``: speed, peak memory and start-up, next to ffmpeg's encoders.

Three sections, each measured in the same run as its reference:

* **speed** (default): encode and decode every input with each of our
  methods and with ffmpeg's peers at one bitrate (128 kbit/s by default), as
  x realtime = audio seconds / wall seconds, best of ``--repeat``. Ours is
  timed file to file in this process (``encode_file``/``decode_file``, WAV
  in, WAV out) after a warm-up, so numba's JIT is not timed; ffmpeg is timed
  as the whole process (its start-up is ~20-40 ms of that). Ratios are ours
  over LAME (``libmp3lame``), the reference of issue 2.
* **memory** (``--memory``): peak resident memory (``ru_maxrss`` of the child
  process, from ``os.wait4``) of ``audiocodec encode`` and ``decode`` on a
  synthesized 10-second and a 10-minute 48 kHz stereo WAV; LAME beside it.
* **startup** (``--startup``): wall time of ``audiocodec --help`` (and of a bare
  ``python -c pass``), which heavy modules it imports, and the numba compile
  time: an encode + decode of one second in a child with an empty
  ``NUMBA_CACHE_DIR`` (first run: compiles) and again with that cache filled.

Only the standard library is imported at module level. The command line is
:mod:`audiocodec.cli.evaluate`.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The folder that holds the ``audiocodec`` package (a checkout's root): child processes
#: get it on ``PYTHONPATH`` so they run this code, not another installed copy.
REPO = Path(__file__).resolve().parents[2]
OURS = ("adaptive", "uniform", "nonuniform", "adpcm")
PEERS = ("mp3", "aac", "opus", "adpcm")


def default_input() -> Path:
    """The input measured when none is given: the bundled demo sample."""
    return REPO / "samples" / "demo48_stereo.flac"


@dataclass(frozen=True)
class BenchOptions:
    """What to measure (the parsed options of ``audiocodec bench``)."""

    inputs: Sequence[Path] = ()
    bitrate: int = 128_000
    methods: Sequence[str] = OURS
    peers: Sequence[str] = PEERS
    repeat: int = 3
    speed: bool = True
    memory: bool = False
    memory_minutes: float = 10.0
    startup: bool = False
    json_path: Path | None = None
    markdown_path: Path | None = None
    quiet: bool = False


# --------------------------------------------------------------------- helpers


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# Linux keeps a process's RSS high-water mark across fork + exec, so a child started by this
# (large) process would report at least our own size. A bare Python launcher starts the
# measured command instead; its own few MiB are the floor of what can be measured.
_LAUNCHER = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(p.pid, 0)
dt = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    json.dump([dt, usage.ru_maxrss, os.waitstatus_to_exitcode(status)], f)
"""


def _child(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    """Run ``cmd``; returns (wall seconds, peak RSS MiB, exit code, stdout)."""
    fd, rep = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, rep, *cmd],
                              capture_output=True, env=env)
        dt, maxrss, rc = json.loads(Path(rep).read_text())
    finally:
        os.unlink(rep)
    if rc != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
    return float(dt), maxrss / 1024.0, int(rc), proc.stdout.decode(errors="replace")


def _cli() -> list[str]:
    exe = shutil.which("audiocodec")
    return [exe] if exe else [sys.executable, "-m", "audiocodec"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


# --------------------------------------------------------------------- speed


Step = tuple[Callable[[], Any], Callable[[], Any], Path]  # (encode, decode, coded file)


def _copy_inputs(inputs: Sequence[Path], tmp: Path) -> tuple[list[tuple[Path, int, int]], float]:
    """16-bit WAV copies of ``inputs`` (what both sides read), as (path, rate, channels),
    and their total duration."""
    import soundfile as sf

    wavs, total_s = [], 0.0
    for i, p in enumerate(inputs):
        x, rate = sf.read(str(p), dtype="float32", always_2d=True)
        w = tmp / f"in{i}.wav"
        sf.write(str(w), x, rate, subtype="PCM_16")
        wavs.append((w, rate, x.shape[1]))
        total_s += x.shape[0] / rate
    return wavs, total_s


def _our_steps(method: str, bitrate: int, wavs: Sequence[tuple[Path, int, int]],
               tmp: Path) -> list[Step]:
    import soundfile as sf

    import audiocodec

    opts: dict[str, Any] = ({"mode": "adpcm", "adpcm_method": "search"} if method == "adpcm"
                            else {"mode": "mdct", "quantizer": method, "bitrate": bitrate})
    warm = tmp / "warm.wav"
    sf.write(str(warm), sf.read(str(wavs[0][0]), frames=8192, dtype="float32")[0],
             wavs[0][1], subtype="PCM_16")
    audiocodec.encode_file(warm, tmp / "warm.aqc", force=True, serial=1, **opts)
    audiocodec.decode_file(tmp / "warm.aqc", tmp / "warm.out.wav", force=True)
    steps: list[Step] = []
    for i, (w, _rate, _ch) in enumerate(wavs):
        coded, back = tmp / f"{method}{i}.aqc", tmp / f"{method}{i}.out.wav"
        steps.append((functools.partial(audiocodec.encode_file, w, coded, force=True, serial=1,
                                        **opts),
                      functools.partial(audiocodec.decode_file, coded, back, force=True), coded))
    return steps


def _peer_steps(name: str, bitrate: int, wavs: Sequence[tuple[Path, int, int]],
                tmp: Path) -> list[Step]:
    from . import peers

    steps: list[Step] = []
    for i, (w, rate, ch) in enumerate(wavs):
        coded = tmp / f"{name}{i}{peers.PEERS[name][1]}"
        back = tmp / f"{name}{i}.peer.wav"
        ecmd = peers.encode_cmd(name, w, coded, bitrate)
        dcmd = peers.decode_cmd(coded, back, rate, ch, "pcm_s16le")  # as ours writes
        steps.append((functools.partial(subprocess.run, ecmd, check=True, capture_output=True),
                      functools.partial(subprocess.run, dcmd, check=True, capture_output=True),
                      coded))
    return steps


def _time_steps(jobs: dict[str, list[Step]], repeat: int
                ) -> tuple[dict[tuple[str, int, int], float], set[str]]:
    """Best time of every (label, input, encode=0/decode=1), and the labels that failed."""
    # repetitions interleave the methods, so a burst of load elsewhere hits all of them
    best: dict[tuple[str, int, int], float] = {}
    failed: set[str] = set()
    for _rep in range(max(1, repeat)):
        for label, steps in jobs.items():
            if label in failed:
                continue
            try:
                for i, (enc_fn, dec_fn, _coded) in enumerate(steps):
                    for j, fn in enumerate((enc_fn, dec_fn)):
                        t = _best(fn, 1)
                        best[(label, i, j)] = min(t, best.get((label, i, j), math.inf))
            except subprocess.CalledProcessError as e:
                msg = e.stderr.decode(errors="replace").strip().splitlines() if e.stderr else []
                print(f"note: {label} failed, skipped ({msg[-1] if msg else e})", file=sys.stderr)
                failed.add(label)
    return best, failed


def speed(inputs: Sequence[Path], bitrate: int, methods: Sequence[str], peer_names: Sequence[str],
          repeat: int, quiet: bool = False) -> dict[str, Any]:
    """x realtime of each method over all ``inputs`` (total audio / total best time)."""
    from . import peers

    res: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="aqc-bench-") as tmpd:
        tmp = Path(tmpd)
        wavs, total_s = _copy_inputs(inputs, tmp)
        jobs = {f"ours {m}": _our_steps(m, bitrate, wavs, tmp) for m in methods}
        for name in peer_names:
            if peers.available(name):
                label = f"ffmpeg {peers.LABELS[name].replace('ffmpeg ', '')}"
                jobs[label] = _peer_steps(name, bitrate, wavs, tmp)
        best, failed = _time_steps(jobs, repeat)
        for label, steps in jobs.items():
            if label in failed:
                continue
            enc = sum(best[(label, i, 0)] for i in range(len(steps)))
            dec = sum(best[(label, i, 1)] for i in range(len(steps)))
            nbytes = sum(c.stat().st_size for _e, _d, c in steps)
            res[label] = {"encode_x": total_s / enc, "decode_x": total_s / dec,
                          "kbps": nbytes * 8 / total_s / 1000}
            if not quiet:
                print(f"  {label}: {total_s / enc:.1f}x / {total_s / dec:.1f}x", file=sys.stderr)
    return {"seconds": total_s, "bitrate": bitrate, "methods": res,
            "ffmpeg": peers.ffmpeg_version_short()}


def speed_table(sp: dict[str, Any]) -> str:
    ref = sp["methods"].get("ffmpeg LAME mp3")
    rows = []
    for name, v in sp["methods"].items():
        r_enc = f"{v['encode_x'] / ref['encode_x']:.2f}" if ref else "n/a"
        r_dec = f"{v['decode_x'] / ref['decode_x']:.2f}" if ref else "n/a"
        rows.append([name, f"{v['kbps']:.1f}", f"{v['encode_x']:.1f}", f"{v['decode_x']:.1f}",
                     r_enc, r_dec])
    return _table(["method", "actual kbit/s", "encode x realtime", "decode x realtime",
                   "encode / LAME", "decode / LAME"], rows)


# --------------------------------------------------------------------- memory


def synth_wav(path: Path, seconds: float, rate: int = 48000, seed: int = 7) -> None:
    """Seeded music-like test signal (tones with vibrato, noise bursts, clicks), written in
    one-second blocks so the parent's memory does not grow with the length."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    freqs = rng.uniform(110, 3000, 6)
    with sf.SoundFile(str(path), "w", rate, 2, subtype="PCM_16") as f:
        n_blocks = int(np.ceil(seconds))
        for b in range(n_blocks):
            n = min(rate, int(seconds * rate) - b * rate)
            if n <= 0:
                break
            t = (b * rate + np.arange(n)) / rate
            x = np.zeros(n)
            for k, fr in enumerate(freqs):
                x += 0.05 * np.sin(2 * np.pi * fr * t + 3 * np.sin(2 * np.pi * 0.3 * (k + 1) * t))
            x += 0.03 * rng.standard_normal(n) * (np.sin(2 * np.pi * 0.5 * t) > 0.7)
            x[:: rate // 4] += 0.5
            st = np.stack([x, np.roll(x, 17) * 0.8], axis=1)
            f.write(np.clip(st, -1, 1).astype(np.float32))


def memory(minutes: float, bitrate: int, quiet: bool = False) -> dict[str, Any]:
    """Peak RSS of ``audiocodec encode/decode`` (default quantizer) and LAME on 10 s vs long."""
    from . import peers

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aqc-mem-") as tmpd:
        tmp = Path(tmpd)
        for label, secs in (("10 s", 10.0), (f"{minutes:g} min", minutes * 60.0)):
            wav = tmp / "in.wav"
            synth_wav(wav, secs)
            row: dict[str, Any] = {"seconds": secs}
            cmd = _cli() + ["encode", str(wav), str(tmp / "o.aqc"), "-b", str(bitrate), "-q", "-f"]
            dt, mib, rc, _ = _child(cmd, _env())
            row["encode_mib"], row["encode_s"], row["encode_rc"] = mib, dt, rc
            cmd = _cli() + ["decode", str(tmp / "o.aqc"), str(tmp / "o.wav"), "-q", "-f"]
            dt, mib, rc, _ = _child(cmd, _env())
            row["decode_mib"], row["decode_s"], row["decode_rc"] = mib, dt, rc
            if peers.available("mp3"):
                dt, mib, rc, _ = _child(peers.encode_cmd("mp3", wav, tmp / "o.mp3", bitrate))
                row["lame_mib"], row["lame_s"] = mib, dt
            out[label] = row
            if not quiet:
                print(f"  {label}: encode {row['encode_mib']:.0f} MiB, "
                      f"decode {row['decode_mib']:.0f} MiB", file=sys.stderr)
            wav.unlink()
    return out


def memory_table(mem: dict[str, Any]) -> str:
    rows = []
    for label, r in mem.items():
        rows.append([label, f"{r['encode_mib']:.0f}", f"{r['encode_s']:.1f}",
                     f"{r['decode_mib']:.0f}", f"{r['decode_s']:.1f}",
                     f"{r['lame_mib']:.0f}" if "lame_mib" in r else "n/a"])
    labels = list(mem)
    if len(labels) == 2:
        a, b = mem[labels[0]], mem[labels[1]]
        rows.append([f"ratio {labels[1]} / {labels[0]}", f"{b['encode_mib'] / a['encode_mib']:.2f}",
                     "", f"{b['decode_mib'] / a['decode_mib']:.2f}", "",
                     f"{b['lame_mib'] / a['lame_mib']:.2f}" if "lame_mib" in a else "n/a"])
    return _table(["input", "encode peak MiB", "encode s", "decode peak MiB", "decode s",
                   "LAME encode peak MiB"], rows)


# --------------------------------------------------------------------- startup


_JIT_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
import audiocodec
x = (np.random.default_rng(1).standard_normal((48000, 2)) * 0.1).astype(np.float32)
for opts in ({"quantizer": "adaptive"}, {"quantizer": "uniform"}, {"quantizer": "nonuniform"},
             {"mode": "adpcm"}):
    audiocodec.decode(audiocodec.encode(x, 48000, bitrate=128000, serial=1, **opts))
print(time.perf_counter() - t0)
"""


def startup(repeat: int = 7) -> dict[str, Any]:
    """``audiocodec --help`` wall time, its heavy imports, and numba first vs cached run."""
    env = _env()
    help_t = [_child(_cli() + ["--help"], env)[0] for _ in range(repeat)]
    bare = [_child([sys.executable, "-c", "pass"], env)[0] for _ in range(repeat)]
    probe = ("import sys; from audiocodec import cli; cli.build_parser(); "
             "print(','.join(m for m in ('numpy', 'scipy', 'numba', 'soundfile', 'matplotlib', "
             "'sounddevice', 'tqdm', 'psychoacoustics') if m in sys.modules))")
    heavy = _child([sys.executable, "-c", probe], env)[3].strip()
    with tempfile.TemporaryDirectory(prefix="aqc-numba-") as cache:
        jenv = dict(env, NUMBA_CACHE_DIR=cache)
        first = _child([sys.executable, "-c", _JIT_SNIPPET], jenv)
        second = _child([sys.executable, "-c", _JIT_SNIPPET], jenv)
    return {"help_best_s": min(help_t), "help_median_s": statistics.median(help_t),
            "python_bare_s": min(bare), "help_imports": heavy or "(none)",
            "help_command": " ".join(Path(c).name for c in _cli()[:1]) + " " +
                            " ".join(_cli()[1:]) + " --help",
            "jit_first_s": float(first[3].strip() or "nan"), "jit_first_wall_s": first[0],
            "jit_cached_s": float(second[3].strip() or "nan"), "jit_cached_wall_s": second[0]}


def startup_table(st: dict[str, Any]) -> str:
    rows = [
        [f"`{st['help_command'].strip()}`", f"{st['help_best_s'] * 1000:.0f} ms best, "
                                            f"{st['help_median_s'] * 1000:.0f} ms median"],
        ["`python -c pass` (baseline)", f"{st['python_bare_s'] * 1000:.0f} ms"],
        ["heavy modules imported by --help", st["help_imports"]],
        ["first run, empty numba cache (import + encode/decode 1 s, 4 methods)",
         f"{st['jit_first_s']:.1f} s (process {st['jit_first_wall_s']:.1f} s)"],
        ["same, numba cache filled", f"{st['jit_cached_s']:.1f} s (process "
                                     f"{st['jit_cached_wall_s']:.1f} s)"],
        ["compile time paid once", f"{st['jit_first_s'] - st['jit_cached_s']:.1f} s"],
    ]
    return _table(["start-up", "time"], rows)


# --------------------------------------------------------------------- main


def _sections(opts: BenchOptions, inputs: Sequence[Path]) -> tuple[dict[str, Any], list[str]]:
    bitrate = opts.bitrate
    report: dict[str, Any] = {}
    md: list[str] = []
    if opts.speed:
        print(f"speed: {len(inputs)} input(s), {bitrate // 1000} kbit/s, best of {opts.repeat}",
              file=sys.stderr)
        sp = speed(inputs, bitrate, opts.methods, opts.peers, opts.repeat, opts.quiet)
        report["speed"] = sp
        md += [f"Speed, {sp['seconds']:.1f} s of audio ({', '.join(Path(p).name for p in inputs)}), "
               f"{bitrate // 1000} kbit/s target, best of {opts.repeat}; ours file to file "
               f"in-process (warm), ffmpeg whole process ({sp['ffmpeg']}):", "",
               speed_table(sp), ""]
    if opts.memory:
        print("memory: synthesizing inputs and encoding in child processes", file=sys.stderr)
        mem = memory(opts.memory_minutes, bitrate, opts.quiet)
        report["memory"] = mem
        md += ["Peak memory (max RSS of the child process), synthesized 48 kHz stereo, "
               f"{bitrate // 1000} kbit/s, default quantizer:", "", memory_table(mem), ""]
    if opts.startup:
        print("startup: timing --help and the numba cache", file=sys.stderr)
        st = startup()
        report["startup"] = st
        md += ["Start-up:", "", startup_table(st), ""]
    return report, md


def bench(opts: BenchOptions) -> int:
    """Measure what ``opts`` asks for, print the tables (and write them where asked)."""
    import platform

    from ..errors import InputError
    from . import peers
    from .plan import check_choices

    check_choices("method", opts.methods, OURS)
    check_choices("peer", opts.peers, PEERS)
    inputs = list(opts.inputs) or [default_input()]
    for p in inputs:
        if not Path(p).exists():
            raise InputError(f"{p}: no such file")
    note = peers.missing_note(list(opts.peers)) if opts.peers else None
    if note:
        print(note, file=sys.stderr)
    report: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                              "cpus": os.cpu_count(), "inputs": [str(p) for p in inputs]}
    sections, md = _sections(opts, inputs)
    report.update(sections)
    load = os.getloadavg()
    report["loadavg"] = load
    md.append(f"Machine: {os.cpu_count()} CPUs, load average at the end {load[0]:.1f} / "
              f"{load[1]:.1f} / {load[2]:.1f} (1/5/15 min); other processes' load slows "
              "every row alike, so the ratios hold better than the absolute figures.")
    text = "\n".join(md)
    print(text)
    if opts.json_path:
        opts.json_path.write_text(json.dumps(report, indent=1))
    if opts.markdown_path:
        opts.markdown_path.write_text(text + "\n")
    return 0
