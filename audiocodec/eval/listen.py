"""The listening page: a blind ABX and a MUSHRA-style test of the decodes, in a browser.

``audiocodec eval`` writes ``listen.html`` beside its report and, in ``listen/`` next to
it, one ``.js`` file per condition that holds its audio as base64 FLAC, plus a plain
``.flac`` copy for download. The page loads the audio with ``<script>`` tags because
Chromium refuses ``fetch()`` of ``file://`` URLs and a Web Audio ``MediaElementSource``
plays them as silence; so the page opens from the folder, with no server.

Per item one excerpt of ``seconds`` (the user's start, or by default the window where our
psychoacoustic model finds our decode nearest 64 kbit/s worst: the highest mean
noise-to-mask ratio), in these conditions, each delay-aligned to the original
(:func:`audiocodec.eval.metrics.align`) and cut to the same samples:

* ``reference``: the original (in a MUSHRA trial also the hidden reference);
* ours (the report's base method) at each nominal bitrate;
* each peer at the nominal bitrate whose *actual* bitrate on this item is nearest ours'
  (one MUSHRA trial per our bitrate);
* ``anchor``: the original low-passed at 3.5 kHz (zero phase), as BS.1534 asks.

Levels are not matched: every condition plays as decoded, and the page lists how far each
is from the original. All conditions of an item share one gain, below 1 only where a
decode would clip in 16-bit FLAC. All get the same 10 ms fade at both ends.

The page (HTML, CSS, JS) is package data in ``listen_assets/``; reading the exported
ratings back is :mod:`audiocodec.eval.listeners`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .plan import Item
from .render import kbps, label

if TYPE_CHECKING:
    from .plan import EvalOptions
    from .report import Collected

LISTEN_VERSION = 1  # in the cache keys of the excerpts: bump when the audio written changes
SECONDS = 8.0
ANCHOR_HZ = 3500.0
FADE_S = 0.01
TARGET_BITRATE = 64000  # the excerpt is where ours nearest this rate is worst
PEAK = 0.999  # 16-bit FLAC: conditions are scaled together below this
FOLDER = "listen"

#: ``decode(item, method, nominal)``: the whole decode of ``item`` by ``method``, (frames, channels).
Decode = Callable[[Item, str, int | None], NDArray[np.float32]]


@dataclass(frozen=True)
class Condition:
    """One thing to listen to. ``cid`` names its files and is unique within the item."""

    cid: str
    method: str  # "reference", "anchor", or a method of the report
    nominal: int | None = None
    bitrate: float | None = None  # actual, bits per second
    code: str = ""  # the hash that made the decode (part of its cache key)

    @property
    def label(self) -> str:
        if self.method == "reference":
            return "original (reference)"
        if self.method == "anchor":
            return f"anchor: original low-passed at {ANCHOR_HZ / 1000:g} kHz"
        actual = "" if self.bitrate is None else f", {self.bitrate / 1000:.1f} kbit/s"
        return f"{label(self.method)} {kbps(self.nominal)}{actual}"


@dataclass(frozen=True)
class Trial:
    """One MUSHRA screen: our nominal bitrate and the conditions rated on it."""

    bitrate: int
    cids: tuple[str, ...]


@dataclass
class Excerpt:
    """One item's excerpt in every condition, ready to write."""

    item: Item
    start: int  # first sample of the excerpt in the item
    frames: int
    how: str  # how the start was chosen, for the page
    conditions: list[Condition]
    trials: list[Trial]
    audio: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    gain_db: float = 0.0


# --------------------------------------------------------------------- which conditions


def nearest_run(results: Sequence[Mapping[str, Any]], item: str, method: str, bitrate: float
                ) -> Mapping[str, Any] | None:
    """The run of ``method`` on ``item`` whose actual bitrate is nearest ``bitrate`` (in log
    bitrate; of two equally near, the lower nominal)."""
    runs = [r for r in results if r["item"] == item and r["method"] == method
            and r.get("nominal") and r.get("bitrate")]
    if not runs:
        return None
    return min(runs, key=lambda r: (abs(math.log(float(r["bitrate"]) / bitrate)), r["nominal"]))


def _run_condition(r: Mapping[str, Any]) -> Condition:
    method = str(r["method"])
    short = method.split(":", 1)[-1]
    return Condition(f"{short}-{kbps(r['nominal'])}", method, int(r["nominal"]),
                     float(r["bitrate"]), str(r.get("code") or ""))


def plan_conditions(item: Item, results: Sequence[Mapping[str, Any]], base: str,
                    peers: Sequence[str], bitrates: Sequence[int]
                    ) -> tuple[list[Condition], list[Trial]]:
    """The conditions of ``item`` and one MUSHRA trial per bitrate of ``base`` that has a
    result: the hidden reference, ours, each peer at our actual bitrate, the anchor."""
    conds = {"reference": Condition("reference", "reference")}
    trials = []
    for br in sorted(bitrates):
        ours = [r for r in results if r["item"] == item.name and r["method"] == base
                and r.get("nominal") == br]
        if not ours:
            continue
        cids = ["reference"]
        for r in [ours[0], *(nearest_run(results, item.name, f"peer:{p}", float(ours[0]["bitrate"]))
                             for p in peers if p != "adpcm")]:
            if r is not None:
                c = _run_condition(r)
                conds.setdefault(c.cid, c)
                cids.append(c.cid)
        trials.append(Trial(br, (*cids, "anchor")))
    conds["anchor"] = Condition("anchor", "anchor")
    return list(conds.values()), trials


# --------------------------------------------------------------------- which excerpt


def frame_nmr(ref: NDArray[np.floating], deg: NDArray[np.floating], rate: int
              ) -> tuple[NDArray[np.float64], int]:
    """Per MDCT frame of the codec's long size, the mean over bands and channels of the
    coding error's energy over our model's masking threshold of ``ref``; and the hop. Frame
    ``t`` is centred on sample ``t * hop``."""
    from ..core.mdct import analysis
    from .metrics import analysis_size, psycho_model

    n = analysis_size(rate)
    model, edges = psycho_model(rate, n)
    starts = (edges[:-1] - edges[0]).astype(np.intp)
    total: NDArray[np.float64] | None = None
    for ch in range(ref.shape[1]):
        thr = model.analyze(analysis(ref[:, ch], n)).threshold
        err = analysis(deg[:, ch] - ref[:, ch], n)[:, int(edges[0]) : int(edges[-1])] ** 2
        q = np.mean(np.add.reduceat(err, starts, axis=1) / thr, axis=1)
        total = q if total is None else total + q
    assert total is not None
    return total / ref.shape[1], n


def demanding_start(ref: NDArray[np.floating], deg: NDArray[np.floating], rate: int,
                    frames: int) -> int:
    """The start (sample) of the ``frames``-long window of ``ref`` where ``deg`` has the
    highest mean :func:`frame_nmr`; on a grid of one hop, or the item's end."""
    total = ref.shape[0]
    if frames >= total:
        return 0
    q, hop = frame_nmr(ref, deg, rate)
    csum = np.concatenate(([0.0], np.cumsum(q)))
    starts = sorted({*range(0, total - frames + 1, hop), total - frames})
    best, best_score = 0, -1.0
    for s in starts:
        lo, hi = -(-s // hop), min(len(q), -(-(s + frames) // hop))  # frames centred inside
        score = (csum[hi] - csum[lo]) / max(1, hi - lo)
        if score > best_score:
            best, best_score = s, score
    return best


# --------------------------------------------------------------------- audio of one excerpt


def anchor(x: NDArray[np.floating], rate: int, cutoff_hz: float = ANCHOR_HZ) -> NDArray[np.float32]:
    """``x`` low-passed at ``cutoff_hz`` (8th-order Butterworth, forward and backward: zero
    phase, so the anchor stays aligned)."""
    from scipy.signal import butter, sosfiltfilt

    if cutoff_hz >= rate / 2 or x.shape[0] < 64:
        return np.asarray(x, dtype=np.float32)
    sos = butter(8, cutoff_hz, fs=rate, output="sos")
    return np.asarray(sosfiltfilt(sos, x, axis=0), dtype=np.float32)


def decode_run(item: Item, method: str, nominal: int | None) -> NDArray[np.float32]:
    """The decode of one run, made as the eval runner makes it (same options, same code)."""
    import soundfile as sf

    from .plan import RunSpec
    from .runner import _code_ours, _code_peer

    ref, rate = sf.read(item.path, dtype="float32", always_2d=True)
    code = _code_peer if method.startswith("peer:") else _code_ours
    deg, _info = code(RunSpec(item, method, nominal, False, ""), ref, rate)
    return np.asarray(deg, dtype=np.float32)


def _cached(cache_dir: Path | None, key: list[Any], fn: Callable[[], NDArray[Any]]) -> NDArray[Any]:
    if cache_dir is None:
        return fn()
    from .cache import cached_npz

    return cached_npz(cache_dir, json.dumps(["listen", LISTEN_VERSION, *key]),
                      lambda: {"a": fn()})["a"]


def build_excerpt(item: Item, conditions: Sequence[Condition], trials: Sequence[Trial],
                  decode: Decode, *, seconds: float = SECONDS, start_s: float | None = None,
                  cache_dir: Path | None = None) -> Excerpt:
    """Choose ``item``'s excerpt and cut every condition to it (decodes aligned first,
    cached in ``cache_dir`` by what made them)."""
    import soundfile as sf

    from ..errors import InputError
    from .metrics import align

    ref, rate = sf.read(item.path, dtype="float32", always_2d=True)
    frames = min(ref.shape[0], max(1, round(seconds * rate)))
    full: dict[str, NDArray[np.float32]] = {}

    def aligned(c: Condition) -> NDArray[np.float32]:
        if c.cid not in full:
            assert c.method not in ("reference", "anchor")
            full[c.cid] = align(ref, decode(item, c.method, c.nominal), rate)[0].astype(np.float32)
        return full[c.cid]

    if start_s is not None:
        if not 0 <= start_s < item.seconds:
            raise InputError(f"--listen-excerpt {item.name}={start_s:g}: the item is "
                             f"{item.seconds:.2f} s long")
        start = min(round(start_s * rate), ref.shape[0] - frames)
        how = "chosen by the user"
    else:
        start, how = _default_start(item, ref, rate, frames, conditions, trials, aligned, cache_dir)
    ex = Excerpt(item, start, frames, how, list(conditions), list(trials))
    for c in conditions:
        if c.method in ("reference", "anchor"):
            src = ref if c.method == "reference" else anchor(ref, rate)
            ex.audio[c.cid] = np.array(src[start : start + frames], dtype=np.float32)
        else:
            def cut(c: Condition = c) -> NDArray[np.float32]:
                return aligned(c)[start : start + frames]

            key = [item.digest, c.method, c.nominal, c.code, start, frames]
            ex.audio[c.cid] = _cached(cache_dir, key, cut)
    _finish(ex)
    return ex


def _default_start(item: Item, ref: NDArray[np.float32], rate: int, frames: int,
                   conditions: Sequence[Condition], trials: Sequence[Trial],
                   aligned: Callable[[Condition], NDArray[np.float32]], cache_dir: Path | None
                   ) -> tuple[int, str]:
    if frames >= ref.shape[0]:
        return 0, "the whole item"
    by_cid = {c.cid: c for c in conditions}
    ours = [by_cid[t.cids[1]] for t in trials if len(t.cids) > 2]
    if not ours:
        return 0, "the start (no decode of ours to choose by)"
    c = min(ours, key=lambda c: (abs(math.log((c.nominal or 1) / TARGET_BITRATE)), c.nominal))
    key = ["start", item.digest, c.method, c.nominal, c.code, frames]
    start = int(_cached(cache_dir, key, lambda: np.array(
        [demanding_start(ref, aligned(c), rate, frames)]))[0])
    return start, (f"the most demanding {frames / rate:.1f} s by our model: the highest mean "
                   f"noise-to-mask ratio of {c.label}")


def _finish(ex: Excerpt) -> None:
    """One gain for all conditions (only if one would clip), the same fades at both ends."""
    peak = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in ex.audio.values())
    gain = 1.0 if peak <= PEAK else PEAK / peak
    ex.gain_db = 20.0 * math.log10(gain)
    n = min(int(FADE_S * ex.item.rate), ex.frames // 4)
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)[:, None]
    for cid, a in ex.audio.items():
        a = a * np.float32(gain)
        if n:
            a[:n] *= ramp
            a[-n:] *= ramp[::-1]
        ex.audio[cid] = a


def level_db(ex: Excerpt, cid: str) -> float | None:
    """Level of condition ``cid`` relative to the original in the excerpt, dB."""
    ref = float(np.mean(ex.audio["reference"].astype(np.float64) ** 2))
    own = float(np.mean(ex.audio[cid].astype(np.float64) ** 2))
    return None if ref <= 0 or own <= 0 else 10.0 * math.log10(own / ref)


# --------------------------------------------------------------------- writing the page


def safe_name(name: str) -> str:
    """``name`` with every character a file name or URL could trip on replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


def flac_bytes(pcm: NDArray[np.float32], rate: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(pcm, -1.0, 1.0), rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def audio_key(item: str, cid: str) -> str:
    """The key of a condition's base64 FLAC in the page's ``window.LISTEN_AUDIO``."""
    return f"{item}/{cid}"


def write_audio(folder: Path, ex: Excerpt) -> dict[str, dict[str, Any]]:
    """Write each condition's ``.flac`` and ``.js`` into ``folder``; the manifest entries."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, Any]] = {}
    for c in ex.conditions:
        data = flac_bytes(ex.audio[c.cid], ex.item.rate)
        stem = f"{safe_name(ex.item.name)}.{safe_name(c.cid)}"
        (folder / f"{stem}.flac").write_bytes(data)
        key = json.dumps(audio_key(ex.item.name, c.cid))
        (folder / f"{stem}.js").write_text(
            f"(window.LISTEN_AUDIO = window.LISTEN_AUDIO || {{}})[{key}] =\n"
            f"\"{base64.b64encode(data).decode()}\";\n")
        lv = level_db(ex, c.cid)
        out[c.cid] = {"label": c.label, "method": c.method, "nominal": c.nominal,
                      "bitrate": c.bitrate, "script": f"{folder.name}/{stem}.js",
                      "flac": f"{folder.name}/{stem}.flac",
                      "level_db": None if lv is None else round(lv, 2)}
    return out


def manifest_item(ex: Excerpt, conditions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rate = ex.item.rate
    trials = [{"bitrate": t.bitrate, "name": f"{kbps(t.bitrate)}", "conditions": list(t.cids)}
              for t in ex.trials]
    near = min(ex.trials, key=lambda t: abs(math.log(t.bitrate / TARGET_BITRATE)), default=None)
    return {"name": ex.item.name, "rate": rate, "channels": ex.item.channels,
            "frames": ex.frames, "first": ex.start, "start": round(ex.start / rate, 3),
            "seconds": round(ex.frames / rate, 3), "how": ex.how, "gain_db": round(ex.gain_db, 2),
            "conditions": conditions, "trials": trials,
            "abx": ["reference", near.cids[1] if near else "anchor"]}


def _asset(name: str) -> str:
    from importlib.resources import files

    return (files("audiocodec.eval") / "listen_assets" / name).read_text(encoding="utf-8")


def render_page(manifest: Mapping[str, Any], title: str = "audiocodec listening test") -> str:
    """``listen.html``: the template with its CSS, script and ``manifest`` inlined."""
    data = json.dumps(manifest, indent=1).replace("</", "<\\/")
    page = _asset("listen.html")
    for mark, text in (("@@TITLE@@", html.escape(title)), ("@@CSS@@", _asset("listen.css")),
                       ("@@MANIFEST@@", data), ("@@JS@@", _asset("listen.js"))):
        page = page.replace(mark, text)
    return page


def write_page(out: Path, excerpts: Sequence[Excerpt], notes: Sequence[str] = ()) -> Path:
    """Write ``out/listen.html`` and the audio of ``excerpts`` into ``out/listen/``."""
    items = [manifest_item(ex, write_audio(out / FOLDER, ex)) for ex in excerpts]
    manifest = {"version": LISTEN_VERSION, "items": items, "notes": list(notes),
                "fade_ms": FADE_S * 1000, "anchor_hz": ANCHOR_HZ}
    path = out / "listen.html"
    path.write_text(render_page(manifest), encoding="utf-8")
    return path


def write_for_eval(c: Collected, opts: EvalOptions, decode: Decode | None = None) -> Path | None:
    """The listening page of one evaluation: every item, ours (``c.base``) at each of
    ``opts.bitrates``, the peers at our actual bitrate. An item that fails is left out
    (named on the page and on stderr); None when no item could be written."""
    from ..errors import InputError

    if not opts.listen_seconds > 0:
        raise InputError(f"--listen-seconds must be positive, got {opts.listen_seconds:g}")
    starts = dict(opts.listen_excerpts)
    unknown = set(starts) - {it.name for it in c.items}
    if unknown:
        raise InputError(f"--listen-excerpt names {sorted(unknown)[0]!r}, not among the inputs "
                         f"({', '.join(it.name for it in c.items)})")
    (opts.out / "cache").mkdir(parents=True, exist_ok=True)
    excerpts, notes = [], []
    for it in c.items:
        conds, trials = plan_conditions(it, c.results, c.base, c.peers, opts.bitrates)
        try:
            excerpts.append(build_excerpt(it, conds, trials, decode or decode_run,
                                          seconds=opts.listen_seconds, start_s=starts.get(it.name),
                                          cache_dir=opts.out / "cache"))
        except InputError:
            raise
        except Exception as e:  # one item's failure must not cost the others their page
            notes.append(f"{it.name} is left out: {type(e).__name__}: {e}")
            print(f"listen: {notes[-1]}", file=sys.stderr)
    if not excerpts:
        return None
    path = write_page(opts.out, excerpts, notes)
    n = sum(len(ex.conditions) for ex in excerpts)
    print(f"listening page: {path} ({len(excerpts)} items, {n} conditions)", file=sys.stderr)
    return path
