"""``audiocodec eval``: every method at every bitrate on every input, measured, with a report.

For each input file and each *run* (a method at a bitrate) it encodes, decodes
and measures (:mod:`audiocodec.metrics`): the actual bitrate (whole file, all
overhead), ViSQOL, SNR and segmental SNR after alignment, our model's
noise-to-mask ratio, pre-echo energy before attacks, encode/decode speed, and
for speech (inputs at 16 kHz or below) PESQ-WB and STOI. Methods:

* ours: ``mdct`` with each ``--quantizers`` entry; ``uniform+dither`` with
  ``--dither``; ``adaptive-nobs`` (block switching off) on the pre-echo item;
  ``adpcm`` (our IMA ADPCM, 4 bits/sample) with ``--modes adpcm``;
* peers via ffmpeg (:mod:`audiocodec.peers`): ``mp3``, ``aac``, ``opus`` at
  each bitrate, IMA ``adpcm`` once;
* ``identity`` (the reference itself): the top of every scale.

Results are cached in ``OUT/cache.json`` under a key made of the input file's
hash, the method and its options, and a hash of the code that produced them
(codec and model sources for our methods, the ffmpeg version for peers, the
measurement code for all), so a re-run only computes what changed. Runs go
to ``--jobs`` worker processes; speed figures taken in parallel are
indicative only (``audiocodec bench`` measures speed alone).

The report (``report.md``, a self-contained ``report.html``, PNGs) is built
from the cached results plus a few analyses of one item (frame spectrum and
masking threshold, step-size heat map, pre-echo), cached the same way.

Only the standard library is imported at module level: the CLI imports this
module to build its parser, and ``audiocodec --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OURS = ("adaptive", "uniform", "nonuniform")
PEER_NAMES = ("mp3", "aac", "opus", "adpcm")
MODES = ("mdct", "adpcm")
LABELS = {
    "identity": "reference (PCM)",
    "adaptive": "ours adaptive",
    "uniform": "ours uniform",
    "nonuniform": "ours nonuniform",
    "uniform+dither": "ours uniform + TPDF dither",
    "adaptive-nobs": "ours adaptive, no block switching",
    "adpcm": "ours IMA ADPCM (4 bit)",
    "peer:mp3": "LAME mp3",
    "peer:aac": "ffmpeg aac",
    "peer:opus": "libopus",
    "peer:adpcm": "ffmpeg IMA ADPCM",
}
METHOD_ORDER = list(LABELS)
CODEC_SOURCES = ("codec.py", "quantizers.py", "quant.py", "entropy.py", "mdct.py", "bitstream.py",
                 "api.py", "bands.py", "adpcm.py", "errors.py")
MEASURE_SOURCES = ("metrics.py",)
CACHE_VERSION = 1


# --------------------------------------------------------------------- CLI


def _csv(text: str) -> list[str]:
    return [t.strip().lower() for t in text.split(",") if t.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``audiocodec eval``."""
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="audio files")
    p.add_argument("--bitrates", default="32k,64k,96k,128k", help="comma list (default %(default)s)")
    p.add_argument("--quantizers", default="uniform,nonuniform,adaptive",
                   help="MDCT quantizers (default %(default)s)")
    p.add_argument("--modes", default="mdct,adpcm", help="our modes (default %(default)s)")
    p.add_argument("--peers", default="mp3,aac,opus,adpcm",
                   help="ffmpeg codecs to compare, or 'none' (default %(default)s)")
    p.add_argument("--dither", action="store_true", help="also run uniform with TPDF dither")
    p.add_argument("--out", type=Path, default=Path("eval-report"), help="report folder")
    p.add_argument("--jobs", "-j", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes (default %(default)s)")
    p.add_argument("--no-visqol", action="store_true", help="skip ViSQOL (much faster)")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument("--fresh", action="store_true", help="ignore cached results")
    p.add_argument("--pre-echo-item", default=None,
                   help="input (stem) for the block-switching study (default: castanets if given)")
    p.add_argument("--focus-item", default=None,
                   help="input (stem) for the frame-spectrum and heat-map plots")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


# --------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Item:
    path: str
    name: str
    digest: str
    rate: int
    channels: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate

    @property
    def speech(self) -> bool:
        return self.rate <= 16000


@dataclass(frozen=True)
class RunSpec:
    item: Item
    method: str  # key of LABELS
    bitrate: int | None  # nominal; None for fixed-rate methods
    use_visqol: bool
    key: str
    code: str = ""  # hash of the code that made it (codec sources or ffmpeg version)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _source_hash(names: Iterable[str], extra_dirs: Iterable[Path] = ()) -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for n in names:
        p = here / n
        if p.exists():
            h.update(n.encode() + p.read_bytes())
    for d in extra_dirs:
        for p in sorted(d.glob("*.py")):
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:12]


def codec_hash() -> str:
    """Hash of the sources that decide our codec's output (codec + psychoacoustic model)."""
    import psychoacoustics

    return _source_hash(CODEC_SOURCES, [Path(psychoacoustics.__file__).resolve().parent])


def measure_hash() -> str:
    return _source_hash(MEASURE_SOURCES)


def load_item(path: Path) -> Item:
    import soundfile as sf

    from .errors import InputError, UnsupportedError

    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except Exception as e:
        raise UnsupportedError(f"{path}: not a readable audio file ({str(e).splitlines()[0]})") from None
    if info.channels > 2:
        raise UnsupportedError(f"{path}: {info.channels} channels; mono or stereo only")
    if info.frames <= 0:
        raise InputError(f"{path}: holds no samples")
    return Item(str(path.resolve()), path.stem, file_digest(path), int(info.samplerate),
                int(info.channels), int(info.frames))


def plan_runs(items: Sequence[Item], bitrates: Sequence[int], quantizers: Sequence[str],
              modes: Sequence[str], peers: Sequence[str], dither: bool, pre_echo: Item | None,
              use_visqol: bool, identity: bool = True) -> list[RunSpec]:
    """Every (item, method, bitrate) to measure, each with its cache key."""
    from . import peers as peer_mod

    chash, mhash = codec_hash(), measure_hash()
    fver = peer_mod.ffmpeg_version()
    runs: list[RunSpec] = []

    def add(item: Item, method: str, br: int | None) -> None:
        if method.startswith("peer:"):
            who = f"{fver} {peer_mod.encode_options(method[5:], br)}"
        else:
            who = chash if method != "identity" else ""
        key = json.dumps([CACHE_VERSION, item.digest, method, br, who, mhash, use_visqol,
                          item.speech])
        runs.append(RunSpec(item, method, br, use_visqol, hashlib.sha1(key.encode()).hexdigest(),
                            who if method != "identity" else ""))

    for it in items:
        if identity:
            add(it, "identity", None)
        if "mdct" in modes:
            for q in quantizers:
                for br in bitrates:
                    add(it, q, br)
            if dither:
                for br in bitrates:
                    add(it, "uniform+dither", br)
            if pre_echo is not None and it.path == pre_echo.path:
                for br in bitrates:
                    add(it, "adaptive-nobs", br)
        if "adpcm" in modes:
            add(it, "adpcm", None)
        for p in peers:
            if p == "adpcm":
                add(it, "peer:adpcm", None)
            else:
                for br in bitrates:
                    add(it, f"peer:{p}", br)
    return runs


_WARM: set[str] = set()


def _ours_options(method: str, bitrate: int | None) -> dict[str, Any]:
    if method == "adpcm":
        return {"mode": "adpcm", "adpcm_method": "search", "serial": 1}
    opts: dict[str, Any] = {"mode": "mdct", "bitrate": int(bitrate or 0), "serial": 1}
    if method == "uniform+dither":
        opts.update(quantizer="uniform", dither=True)
    elif method == "adaptive-nobs":
        opts.update(quantizer="adaptive", block_switching=False)
    else:
        opts["quantizer"] = method
    return opts


def execute(spec: RunSpec) -> dict[str, Any]:
    """Encode, decode and measure one run (runs in a worker process)."""
    import numpy as np
    import soundfile as sf

    from . import metrics

    it = spec.item
    ref, rate = sf.read(it.path, dtype="float32", always_2d=True)
    out: dict[str, Any] = {"item": it.name, "method": spec.method, "nominal": spec.bitrate,
                           "seconds": it.seconds, "rate": rate, "channels": it.channels,
                           "code": spec.code}
    if spec.method == "identity":
        deg = ref
        out.update(bitrate=16.0 * rate * it.channels, bytes=it.frames * it.channels * 2,
                   encode_x=None, decode_x=None)
    elif spec.method.startswith("peer:"):
        import tempfile

        from . import peers

        name = spec.method.split(":", 1)[1]
        with tempfile.TemporaryDirectory(prefix="aqc-eval-") as tmp:
            src = Path(tmp) / f"{it.name}.wav"
            sf.write(str(src), ref, rate, subtype="PCM_16")  # bit-exact copy of 16-bit inputs
            r = peers.run_peer(name, src, spec.bitrate, Path(tmp), rate=rate,
                               channels=it.channels, frames=it.frames)
        deg = r.pcm
        out.update(bitrate=r.bitrate, bytes=r.nbytes, encode_x=it.seconds / r.encode_s,
                   decode_x=it.seconds / r.decode_s)
    else:
        from . import api

        opts = _ours_options(spec.method, spec.bitrate)
        warm = json.dumps({k: v for k, v in opts.items() if k != "bitrate"}, sort_keys=True)
        if warm not in _WARM:  # numba kernels load (or compile) outside the timing
            api.encode(ref[: min(len(ref), 8192)], rate, **opts)
            _WARM.add(warm)
        t0 = time.perf_counter()
        data = api.encode(ref, rate, **opts)
        t1 = time.perf_counter()
        deg, _ = api.decode(data)
        t2 = time.perf_counter()
        out.update(bitrate=len(data) * 8 / it.seconds, bytes=len(data),
                   encode_x=it.seconds / (t1 - t0), decode_x=it.seconds / (t2 - t1),
                   stream_sha=hashlib.sha1(data).hexdigest()[:16])
    if deg.shape[0] == 0:
        raise RuntimeError(f"{spec.method} decoded no samples")
    attacks = metrics.find_attacks(ref, rate)
    out.update(metrics.measure(np.asarray(ref), np.asarray(deg), rate, use_visqol=spec.use_visqol,
                               speech=it.speech, attacks=attacks))
    return out


def _execute_safe(spec: RunSpec) -> tuple[str, dict[str, Any] | None, str | None]:
    try:
        return spec.key, execute(spec), None
    except Exception as e:  # one failed run must not sink the whole evaluation
        return spec.key, None, f"{type(e).__name__}: {e}"


# --------------------------------------------------------------------- cache


class Cache:
    """``{key: result}`` in a JSON file, written atomically after every change."""

    def __init__(self, path: Path, fresh: bool = False):
        self.path = path
        self.data: dict[str, Any] = {}
        if path.exists() and not fresh:
            try:
                self.data = json.loads(path.read_text())
            except (OSError, ValueError):
                self.data = {}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".json.part")
        tmp.write_text(json.dumps(self.data, indent=1, allow_nan=True))
        os.replace(tmp, self.path)


def run_all(runs: Sequence[RunSpec], cache: Cache, jobs: int, quiet: bool = False
            ) -> tuple[list[dict[str, Any]], list[str], int]:
    """Results for ``runs`` (cached or computed), errors, and how many were computed."""
    todo = [r for r in runs if cache.get(r.key) is None]
    # longest items first so the workers finish together
    todo.sort(key=lambda r: -r.item.seconds)
    errors: list[str] = []
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="run", desc="eval", file=sys.stderr,
                   disable=not todo)
    by_key = {r.key: r for r in todo}

    def done(key: str, res: dict[str, Any] | None, err: str | None) -> None:
        spec = by_key[key]
        if res is not None:
            cache.put(key, res)
        else:
            errors.append(f"{spec.item.name} {spec.method} {spec.bitrate}: {err}")
        if bar is not None:
            bar.set_postfix_str(f"{spec.item.name} {spec.method} {spec.bitrate or ''}")
            bar.update(1)

    if jobs <= 1 or len(todo) <= 1:
        for spec in todo:
            done(*_execute_safe(spec))
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futs = [pool.submit(_execute_safe, s) for s in todo]
            for f in as_completed(futs):
                done(*f.result())
    if bar is not None:
        bar.close()
    results = []
    for r in runs:
        v = cache.get(r.key)
        if v is not None:
            results.append(v)
    return results, errors, len(todo)


# --------------------------------------------------------------------- analyses for plots


def _cached_npz(cache_dir: Path, key: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    import numpy as np

    path = cache_dir / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    data = fn()
    tmp = path.with_suffix(".part.npz")
    np.savez_compressed(tmp, **data)
    os.replace(tmp, path)
    return data


def coded_frames(ref: Any, rate: int, **opts: Any) -> dict[str, Any]:
    """Encode with the streaming Encoder, then decode frame by frame, recording what the
    decoder received: per-frame bits, the block type and the per-bin step size of
    channel 0 (NaN above the coded bandwidth). Returns arrays for the plots.

    The step sizes are read from the decoder's state after each frame (its
    ``_sf``/``_nbc`` arrays): that is exactly the side information the stream
    carried, but those names are internal and may change.
    """
    import numpy as np

    from . import bitstream as bs
    from . import quant
    from .codec import INFO_SHORT, Decoder, Encoder

    x = np.asarray(ref, dtype=np.float32)
    enc = Encoder(rate, x.shape[1], total_samples=x.shape[0], **opts)
    data = b"".join([enc.header, *enc.encode(x), *enc.flush()])
    dec = Decoder(enc.header)
    n = dec.frame_size
    pieces, steps, short = [], [], []
    for _off, seq, payload, _sk in bs.scan_frames(dec.header.serial, data, bs.HEADER_SIZE):
        if seq < 0:
            break
        info = payload[0]
        pieces.append(dec.decode_payload(seq, payload))
        is_short = bool(info & INFO_SHORT)
        edges = dec.config.edges(is_short)
        row = np.full(n, np.nan)
        sf_ = getattr(dec, "_sf", None)
        nbc = getattr(dec, "_nbc", None)
        if sf_ is not None and nbc is not None:
            for b in range(int(nbc[0])):
                row[edges[b] : edges[b + 1]] = 20 * np.log10(
                    2.0 ** ((int(sf_[0, b]) - quant.SF_BIAS) / 4.0))
        steps.append(row)
        short.append(is_short)
    pcm = np.concatenate(pieces)[: x.shape[0]]
    return {"pcm": pcm.astype(np.float32), "steps_db": np.asarray(steps),
            "short": np.asarray(short), "frame_bits": np.asarray(enc.frame_bits, dtype=np.int64),
            "frame_size": np.asarray(n), "nbytes": np.asarray(len(data))}


def frame_analysis(ref: Any, rate: int, decoded: dict[str, Any]) -> dict[str, Any]:
    """Spectrum, masking threshold and coding-noise spectra of one loud frame (channel 0).

    ``decoded`` maps a method name to its decoded pcm. The frame is the loudest
    non-transient frame among the 90% quietest (loud but not a peak)."""
    import numpy as np

    from . import metrics
    from .mdct import analysis

    x = np.asarray(ref, dtype=np.float64)[:, 0]
    n = metrics.analysis_size(rate)
    model, edges = metrics._psycho(rate, n)
    co = analysis(x, n)
    e = np.sum(co * co, axis=1)
    order = np.argsort(e)
    t = int(order[int(0.9 * (len(order) - 1))])
    res = model.analyze(co[t])
    out: dict[str, Any] = {"frame": np.asarray(t), "signal": co[t] ** 2,
                           "threshold": np.asarray(res.bin_threshold), "edges": np.asarray(edges),
                           "band_threshold": np.asarray(res.threshold)}
    for name, pcm in decoded.items():
        err = analysis(np.asarray(pcm, dtype=np.float64)[: x.shape[0], 0] - x, n)[t]
        out[f"noise_{name}"] = err**2
    return out


# --------------------------------------------------------------------- report model


Block = tuple[Any, ...]  # ("h", level, text) | ("p", text) | ("table", head, rows) | ("img", file, cap)


def _fmt(v: Any, nd: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "inf"
        return f"{v:.{nd}f}"
    return str(v)


def render_md(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for b in blocks:
        if b[0] == "h":
            lines += ["#" * b[1] + " " + b[2], ""]
        elif b[0] == "p":
            lines += [b[1], ""]
        elif b[0] == "table":
            head, rows = b[1], b[2]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join("---" for _ in head) + "|")
            for r in rows:
                lines.append("| " + " | ".join(str(c) for c in r) + " |")
            lines.append("")
        elif b[0] == "img":
            lines += [f"![{b[2]}]({b[1]})", "", f"*{b[2]}*", ""]
    return "\n".join(lines)


def render_html(blocks: Sequence[Block], folder: Path, title: str) -> str:
    import base64
    import html

    def inline(text: str) -> str:
        import re

        t = html.escape(text)
        t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
        return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}",
        "table{border-collapse:collapse;margin:1em 0;font-size:90%}",
        "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}",
        "td:first-child,th:first-child{text-align:left}th{background:#eee}",
        "img{max-width:100%}figcaption{font-style:italic;color:#444}",
        "</style></head><body>",
    ]
    for b in blocks:
        if b[0] == "h":
            parts.append(f"<h{b[1]}>{inline(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            parts.append(f"<p>{inline(b[1])}</p>")
        elif b[0] == "table":
            parts.append("<table><tr>" + "".join(f"<th>{inline(h)}</th>" for h in b[1]) + "</tr>")
            for r in b[2]:
                parts.append("<tr>" + "".join(f"<td>{inline(str(c))}</td>" for c in r) + "</tr>")
            parts.append("</table>")
        elif b[0] == "img":
            data = base64.b64encode((folder / b[1]).read_bytes()).decode()
            parts.append(f"<figure><img alt='{html.escape(b[2])}' src='data:image/png;base64,"
                         f"{data}'><figcaption>{inline(b[2])}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _label(method: str) -> str:
    return LABELS.get(method, method)


def _order(methods: Iterable[str]) -> list[str]:
    return sorted(set(methods), key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 99)


def _kbps(v: Any) -> str:
    return "n/a" if v is None else f"{v / 1000:.0f}k"


def quality_tables(results: Sequence[dict[str, Any]], items: Sequence[Item],
                   bitrates: Sequence[int], metric: str = "visqol") -> list[Block]:
    """One table per item: method rows, bitrate columns, ``score (actual kbit/s)``."""
    blocks: list[Block] = []
    head = ["method"] + [_kbps(b) for b in bitrates] + ["fixed rate"]
    for it in items:
        rs = [r for r in results if r["item"] == it.name]
        rows = []
        for m in _order(r["method"] for r in rs):
            row = [_label(m)]
            for br in [*bitrates, None]:
                hit = [r for r in rs if r["method"] == m and r["nominal"] == br]
                if hit:
                    r = hit[0]
                    row.append(f"{_fmt(r.get(metric))} ({r['bitrate'] / 1000:.1f})")
                else:
                    row.append("")
            rows.append(row)
        blocks += [("h", 3, f"{it.name} ({it.rate} Hz, {it.channels} ch, {it.seconds:.2f} s)"),
                   ("table", head, rows)]
    return blocks


def mean_table(results: Sequence[dict[str, Any]], items: Sequence[Item], bitrates: Sequence[int],
               metric: str = "visqol") -> list[list[str]]:
    """Mean score and mean actual bitrate over the music items (rate > 16 kHz)."""
    music = {it.name for it in items if not it.speech}
    rows = []
    methods = _order(r["method"] for r in results if r["item"] in music)
    for m in methods:
        row = [_label(m)]
        for br in [*bitrates, None]:
            hit = [r for r in results if r["item"] in music and r["method"] == m
                   and r["nominal"] == br and r.get(metric) is not None]
            if len(hit) == len(music) and hit:
                s = sum(float(r[metric]) for r in hit) / len(hit)
                a = sum(float(r["bitrate"]) for r in hit) / len(hit)
                row.append(f"{s:.2f} ({a / 1000:.1f})")
            else:
                row.append("")
        if any(row[1:]):
            rows.append(row)
    return rows


def interpolate_score(results: Sequence[dict[str, Any]], item: str, method: str, bitrate: float,
                      metric: str = "visqol") -> tuple[float, bool] | None:
    """``method``'s score on ``item`` at an actual ``bitrate``, linear in log(bitrate) between
    its measured points; the flag is False when ``bitrate`` lies outside them (nearest end)."""
    pts = sorted((float(r["bitrate"]), float(r[metric])) for r in results
                 if r["item"] == item and r["method"] == method and r.get(metric) is not None
                 and r["nominal"] is not None)
    if not pts:
        return None
    xs = [math.log(p[0]) for p in pts]
    ys = [p[1] for p in pts]
    x = math.log(bitrate)
    inside = xs[0] <= x <= xs[-1]
    if x <= xs[0]:
        return ys[0], inside
    for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:], strict=True):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0 if x1 > x0 else 1.0), inside
    return ys[-1], inside


def delta_rows(results: Sequence[dict[str, Any]], items: Sequence[Item], bitrates: Sequence[int],
               base: str, others: Sequence[str]) -> list[list[str]]:
    """``base`` minus each of ``others`` in ViSQOL, per item and nominal bitrate.

    Cells: the difference at the same nominal bitrate (actual kbit/s of both), and in
    brackets the difference to ``other`` interpolated at ``base``'s actual bitrate
    (``~`` when that needed extrapolation to the nearest measured point)."""
    idx = {(r["item"], r["method"], r["nominal"]): r for r in results}
    rows = []
    for it in items:
        for o in others:
            row = [it.name, f"{_label(base)} - {_label(o)}"]
            any_ = False
            for br in bitrates:
                a, b = idx.get((it.name, base, br)), idx.get((it.name, o, br))
                if a and b and a.get("visqol") is not None and b.get("visqol") is not None:
                    d = float(a["visqol"]) - float(b["visqol"])
                    cell = f"{d:+.2f} ({a['bitrate'] / 1000:.0f} vs {b['bitrate'] / 1000:.0f})"
                    at = interpolate_score(results, it.name, o, float(a["bitrate"]))
                    if at is not None:
                        cell += f" [{float(a['visqol']) - at[0]:+.2f}{'' if at[1] else '~'}]"
                    row.append(cell)
                    any_ = True
                else:
                    row.append("")
            if any_:
                rows.append(row)
    return rows


def full_rows(results: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    head = ["item", "method", "nominal", "actual kbit/s", "ViSQOL", "SNR dB", "segSNR dB",
            "NMR dB (ours)", "NMR>0 %", "pre-echo dBFS", "PESQ-WB", "STOI", "delay", "enc xRT",
            "dec xRT"]
    rows = []
    for r in sorted(results, key=lambda r: (r["item"], METHOD_ORDER.index(r["method"])
                                            if r["method"] in METHOD_ORDER else 99,
                                            r["nominal"] or 0)):
        snr = "inf" if r.get("identical") else _fmt(r.get("snr"), 1)
        rows.append([r["item"], _label(r["method"]), _kbps(r["nominal"]) if r["nominal"] else "-",
                     f"{r['bitrate'] / 1000:.1f}", _fmt(r.get("visqol")), snr,
                     _fmt(r.get("segsnr"), 1), _fmt(r.get("nmr"), 1),
                     _fmt(100 * r["nmr_audible"] if r.get("nmr_audible") is not None else None, 0),
                     _fmt(r.get("pre_echo_db"), 1), _fmt(r.get("pesq")), _fmt(r.get("stoi")),
                     str(r.get("delay", "")), _fmt(r.get("encode_x"), 1),
                     _fmt(r.get("decode_x"), 1)])
    return head, rows


# --------------------------------------------------------------------- main


def _pick(items: Sequence[Item], wanted: str | None, prefer: Sequence[str]) -> Item | None:
    music = [it for it in items if not it.speech] or list(items)
    if wanted:
        for it in items:
            if it.name == wanted or Path(it.path).name == wanted:
                return it
        from .errors import InputError

        raise InputError(f"item {wanted!r} is not among the inputs ({', '.join(i.name for i in items)})")
    for p in prefer:
        for it in music:
            if p in it.name.lower():
                return it
    return music[0] if music else None


def _parse_lists(args: argparse.Namespace) -> tuple[list[int], list[str], list[str], list[str]]:
    from .cli import parse_bitrate
    from .errors import InputError

    try:
        bitrates = sorted({parse_bitrate(b) for b in _csv(args.bitrates)})
    except argparse.ArgumentTypeError as e:
        raise InputError(str(e)) from None
    quants = _csv(args.quantizers)
    modes = _csv(args.modes)
    peers = [] if args.peers.strip().lower() in ("", "none") else _csv(args.peers)
    for name, vals, allowed in (("quantizer", quants, OURS), ("mode", modes, MODES),
                                ("peer", peers, PEER_NAMES)):
        bad = [v for v in vals if v not in allowed]
        if bad:
            raise InputError(f"unknown {name} {bad[0]!r}; choose from {', '.join(allowed)}")
    if not bitrates and (quants or peers):
        raise InputError("--bitrates is empty")
    return bitrates, quants, modes, peers


def run(args: argparse.Namespace) -> int:
    """Entry point of ``audiocodec eval``."""
    from . import metrics, peers
    from .errors import InputError

    bitrates, quants, modes, peer_list = _parse_lists(args)
    if args.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {args.jobs}")
    items = [load_item(Path(p)) for p in args.inputs]
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise InputError("two inputs share a file name; rename one")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "cache").mkdir(exist_ok=True)
    note = peers.missing_note(peer_list) if peer_list else None
    if note:
        print(note, file=sys.stderr)
        peer_list = [p for p in peer_list if peers.available(p)]
    use_visqol = not args.no_visqol
    if use_visqol and not metrics.visqol_available():
        print("note: visqol-python is not installed (pip install 'audiocodec[eval]'); "
              "ViSQOL columns will read n/a", file=sys.stderr)
        use_visqol = False
    pre_item = _pick(items, args.pre_echo_item, ("castanets",)) if "mdct" in modes else None
    if pre_item is not None and "adaptive" not in quants:
        pre_item = None
    # import the codec before hashing its sources and forking the workers, so the results and
    # their cache key describe the same code even while someone edits it
    from . import adpcm, api, codec, quantizers  # noqa: F401

    runs = plan_runs(items, bitrates, quants, modes, peer_list, args.dither, pre_item, use_visqol)
    cache = Cache(out / "cache.json", fresh=args.fresh)
    t0 = time.perf_counter()
    results, errors, computed = run_all(runs, cache, args.jobs, args.quiet)
    dt = time.perf_counter() - t0
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    blocks = build_report(results, items, bitrates, quants, modes, peer_list, args, pre_item,
                          out, note, use_visqol, errors)
    (out / "report.md").write_text(render_md(blocks))
    (out / "report.html").write_text(render_html(blocks, out, "audiocodec evaluation"))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    summary = summary_md(results, items, bitrates)
    (out / "summary.md").write_text(summary)
    if not args.quiet:
        print(summary)
    print(f"{len(runs)} runs ({computed} computed, {len(runs) - computed} cached) in {dt:.1f} s; "
          f"report: {out / 'report.md'}, {out / 'report.html'}", file=sys.stderr)
    return 0 if not errors else 1


def summary_md(results: Sequence[dict[str, Any]], items: Sequence[Item],
               bitrates: Sequence[int]) -> str:
    """The README-sized table: mean ViSQOL (actual kbit/s) over the music items, per method."""
    rows = mean_table(results, items, bitrates)
    music = [it.name for it in items if not it.speech]
    head = ["method"] + [_kbps(b) for b in bitrates] + ["fixed rate"]
    return render_md([
        ("p", f"Mean ViSQOL MOS-LQO (mean actual kbit/s) over {', '.join(music)}:"),
        ("table", head, rows),
    ])


def build_report(results: list[dict[str, Any]], items: Sequence[Item], bitrates: Sequence[int],
                 quants: Sequence[str], modes: Sequence[str], peer_list: Sequence[str],
                 args: argparse.Namespace, pre_item: Item | None, out: Path, note: str | None,
                 use_visqol: bool, errors: Sequence[str]) -> list[Block]:
    import platform

    from . import __version__, peers

    hashes = {str(r.get("code")) for r in results
              if r.get("code") and not str(r["method"]).startswith(("peer:", "identity"))}
    blocks: list[Block] = [("h", 1, "audiocodec evaluation")]
    blocks.append(("p", f"Command: `audiocodec eval {' '.join(str(p) for p in args.inputs)} "
                        f"--bitrates {args.bitrates} --quantizers {args.quantizers} "
                        f"--modes {args.modes} --peers {args.peers}"
                        f"{' --dither' if args.dither else ''}`. "
                        f"audiocodec {__version__} (codec source hash of the results: "
                        f"{', '.join(sorted(hashes)) or 'n/a'}; of the figures: {codec_hash()}), "
                        f"{peers.ffmpeg_version_short()}, Python {platform.python_version()}, "
                        f"{time.strftime('%Y-%m-%d %H:%M')}."))
    if note:
        blocks.append(("p", note))
    if errors:
        blocks.append(("p", "**Runs that failed:** " + "; ".join(errors)))
    blocks.append(("p", "ViSQOL v3 audio mode (visqol-python), MOS-LQO 1..4.73 (4.73 = identical), "
                        "on the mono downmix resampled to 48 kHz. Actual bitrate = whole output "
                        "file (headers, container) over the duration. SNR and segmental SNR "
                        "(20 ms, clamped to -10..35 dB) after aligning by cross-correlation. "
                        "NMR is the noise-to-mask ratio from **our own** psychoacoustic model "
                        "(the one the adaptive quantizer optimises; it flatters that quantizer). "
                        "Pre-echo: coding-error power in the 20 ms before each attack found in "
                        "the reference (dB re full scale, mean over attacks). "
                        + ("" if use_visqol else "ViSQOL was not measured in this run. ")))
    blocks.append(("h", 2, "Quality vs bitrate"))
    blocks.append(("p", "Cells: ViSQOL (actual kbit/s). Columns are the nominal bitrates asked "
                        "for; fixed-rate methods (ADPCM, PCM) in the last column."))
    blocks += quality_tables(results, items, bitrates)
    music = [it for it in items if not it.speech]
    if len(music) > 1:
        blocks.append(("h", 3, "Mean over music items"))
        blocks.append(("table", ["method"] + [_kbps(b) for b in bitrates] + ["fixed rate"],
                       mean_table(results, items, bitrates)))
    if "adaptive" in quants:
        others = [q for q in quants if q != "adaptive"] + [f"peer:{p}" for p in peer_list
                                                           if p != "adpcm"]
        rows = delta_rows(results, items, bitrates, "adaptive", others)
        if rows:
            blocks.append(("h", 3, "Adaptive against the others"))
            blocks.append(("p", "ViSQOL difference at the same nominal bitrate (actual kbit/s of "
                                "each side in parentheses); in brackets the difference at the "
                                "same *actual* bitrate, the other method's score interpolated "
                                "(linear in log bitrate) at adaptive's actual bitrate, `~` = "
                                "outside its measured range. Negative = adaptive loses."))
            blocks.append(("table", ["item", "comparison"] + [_kbps(b) for b in bitrates], rows))
    speech = [it for it in items if it.speech]
    if speech:
        blocks.append(("h", 3, "Speech measures (PESQ-WB, STOI at 16 kHz)"))
        for metric in ("pesq", "stoi"):
            blocks.append(("p", f"{metric.upper()}:"))
            blocks += quality_tables(results, speech, bitrates, metric)[1::2]
    plots_ok = not args.no_plots
    if plots_ok:
        try:
            blocks += make_figures(results, items, bitrates, quants, pre_item, out, args)
        except ImportError as e:
            blocks.append(("p", f"Plots skipped: {e} (pip install matplotlib)."))
    blocks += pre_echo_section(results, pre_item, bitrates)
    if args.dither:
        blocks += dither_section(results, items, bitrates)
    head, rows = full_rows(results)
    blocks += [("h", 2, "All measurements"),
               ("p", f"Speed (x realtime) was measured with {args.jobs} runs in parallel, so it is "
                     "indicative only; peers are timed as whole ffmpeg processes, ours in-process "
                     "(see `audiocodec bench` for speed measured alone)."),
               ("table", head, rows)]
    return blocks


def pre_echo_section(results: Sequence[dict[str, Any]], pre_item: Item | None,
                     bitrates: Sequence[int]) -> list[Block]:
    if pre_item is None:
        return []
    rs = [r for r in results if r["item"] == pre_item.name]
    methods = [m for m in ("adaptive", "adaptive-nobs", "uniform", "nonuniform", "peer:mp3",
                           "peer:aac", "peer:opus") if any(r["method"] == m for r in rs)]
    if not methods:
        return []
    n_att = max((int(r.get("attacks") or 0) for r in rs), default=0)
    rows = []
    for m in methods:
        row = [_label(m)]
        for br in bitrates:
            hit = [r for r in rs if r["method"] == m and r["nominal"] == br]
            if hit:
                r = hit[0]
                row.append(f"{_fmt(r.get('pre_echo_db'), 1)} / {_fmt(r.get('pre_echo_nsr'), 1)} / "
                           f"{_fmt(r.get('visqol'))}")
            else:
                row.append("")
        rows.append(row)
    return [("h", 2, f"Pre-echo and block switching ({pre_item.name})"),
            ("p", f"{n_att} attacks found in the reference. Cells: coding-error power in the "
                  "20 ms before each attack, dBFS / the same relative to the signal in that "
                  "window, dB / ViSQOL. Lower error power = less pre-echo."),
            ("table", ["method"] + [_kbps(b) for b in bitrates], rows)]


def dither_section(results: Sequence[dict[str, Any]], items: Sequence[Item],
                   bitrates: Sequence[int]) -> list[Block]:
    idx = {(r["item"], r["method"], r["nominal"]): r for r in results}
    rows = []
    same = 0
    total = 0
    for it in items:
        for br in bitrates:
            a, b = idx.get((it.name, "uniform", br)), idx.get((it.name, "uniform+dither", br))
            if not (a and b):
                continue
            total += 1
            identical = a.get("stream_sha") is not None and a.get("stream_sha") == b.get("stream_sha")
            same += identical
            def pair(k: str, nd: int = 2, a: dict[str, Any] = a, b: dict[str, Any] = b) -> str:
                return f"{_fmt(a.get(k), nd)} -> {_fmt(b.get(k), nd)}"
            rows.append([it.name, _kbps(br), pair("visqol"), pair("snr", 1), pair("segsnr", 1),
                         pair("nmr", 1), pair("err_corr", 3),
                         "identical stream" if identical else ""])
    if not rows:
        return []
    blocks: list[Block] = [
        ("h", 2, "Dither (uniform quantizer, TPDF)"),
        ("p", "Each cell: without -> with dither. err corr = correlation between the signal and "
              "the coding error (dither's promise is an error independent of the signal)."),
        ("table", ["item", "bitrate", "ViSQOL", "SNR dB", "segSNR dB", "NMR dB (ours)",
                   "err corr", "note"], rows)]
    if same:
        blocks.append(("p", f"**{same} of {total} dithered streams are byte-identical to the "
                            "undithered ones: the encoder ignored `dither=True` in this build, "
                            "so no effect of dither was measured.**"))
    return blocks


def _round_trip(ref: Any, rate: int, **opts: Any) -> dict[str, Any]:
    from . import api

    return {"pcm": api.decode(api.encode(ref, rate, **opts))[0]}


def make_figures(results: list[dict[str, Any]], items: Sequence[Item], bitrates: Sequence[int],
                 quants: Sequence[str], pre_item: Item | None, out: Path,
                 args: argparse.Namespace) -> list[Block]:
    import soundfile as sf

    from . import metrics, plots

    blocks: list[Block] = [("h", 2, "Figures")]
    name = "quality_vs_bitrate.png"
    metric = "visqol" if any(r.get("visqol") is not None for r in results) else "segsnr"
    plots.quality_vs_bitrate(results, [it.name for it in items], LABELS, out / name, metric)
    what = "ViSQOL" if metric == "visqol" else "Segmental SNR (ViSQOL not measured)"
    blocks.append(("img", name, f"{what} against actual bitrate, one line per method and peer, "
                                "per item"))
    chash = codec_hash()
    cache_dir = out / "cache"
    focus = _pick(items, args.focus_item, ("glock", "harpsichord"))
    br = min(bitrates, key=lambda b: abs(b - 64000)) if bitrates else 64000
    if focus is not None and "mdct" in _csv(args.modes):
        ref, rate = sf.read(focus.path, dtype="float32", always_2d=True)
        coded: dict[str, dict[str, Any]] = {}
        for q in [q for q in ("uniform", "adaptive") if q in quants] or list(quants)[:2]:
            key = json.dumps(["frames", focus.digest, q, br, chash])
            coded[q] = _cached_npz(cache_dir, key, functools.partial(
                coded_frames, ref, rate, bitrate=br, quantizer=q, serial=1))
        if coded:
            fa = frame_analysis(ref, rate, {q: d["pcm"] for q, d in coded.items()})
            name = "frame_spectrum.png"
            plots.frame_spectrum(fa, rate, list(coded), out / name,
                                 title=f"{focus.name}, frame {int(fa['frame'])}, {br // 1000} kbit/s")
            blocks.append(("img", name, f"One frame of {focus.name} (channel 0): signal spectrum, "
                                        "our model's masking threshold, and the coding-noise "
                                        "spectrum of each quantizer (band averages)"))
            name = "allocation.png"
            plots.allocation_heatmap(coded, rate, out / name, title=f"{focus.name}, {br // 1000} kbit/s")
            blocks.append(("img", name, "Step size per band over time (channel 0, dB; blank = "
                                        "band not coded), and bits per frame"))
    if pre_item is not None:
        ref, rate = sf.read(pre_item.path, dtype="float32", always_2d=True)
        decs = {}
        for label, opts in (("block switching", {}), ("no block switching",
                                                      {"block_switching": False})):
            key = json.dumps(["pre", pre_item.digest, br, label, chash])
            decs[label] = _cached_npz(cache_dir, key, functools.partial(
                _round_trip, ref, rate, bitrate=br, quantizer="adaptive", serial=1, **opts))["pcm"]
        attacks = metrics.find_attacks(ref, rate)
        if attacks.size:
            name = "pre_echo.png"
            plots.pre_echo(ref, decs, attacks, rate, out / name,
                           title=f"{pre_item.name}, adaptive, {br // 1000} kbit/s")
            blocks.append(("img", name, "Coding error around the strongest attack, with and "
                                        "without block switching; the shaded span is the 20 ms "
                                        "before the attack"))
    return blocks


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - convenience
    p = argparse.ArgumentParser(prog="audiocodec eval")
    add_arguments(p)
    return run(p.parse_args(argv))
