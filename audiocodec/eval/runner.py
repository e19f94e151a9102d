"""Running the planned runs: encode, decode and measure each, in worker processes.

One run fails alone: its error is collected and the others go on. Results
go into the :class:`~audiocodec.eval.cache.Cache` as each finishes, so an
interrupted evaluation keeps what it measured.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import Cache
from .plan import RunSpec

_WARM: set[str] = set()


def ours_options(method: str, bitrate: int | None) -> dict[str, Any]:
    """Encoder options of one of our methods."""
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


def _code_peer(spec: RunSpec, ref: Any, rate: int) -> tuple[Any, dict[str, Any]]:
    import tempfile

    import soundfile as sf

    from . import peers

    it = spec.item
    name = spec.method.split(":", 1)[1]
    with tempfile.TemporaryDirectory(prefix="aqc-eval-") as tmp:
        src = Path(tmp) / f"{it.name}.wav"
        sf.write(str(src), ref, rate, subtype="PCM_16")  # bit-exact copy of 16-bit inputs
        r = peers.run_peer(name, src, spec.bitrate, Path(tmp), rate=rate,
                           channels=it.channels, frames=it.frames)
    return r.pcm, {"bitrate": r.bitrate, "bytes": r.nbytes, "encode_x": it.seconds / r.encode_s,
                   "decode_x": it.seconds / r.decode_s}


def _code_ours(spec: RunSpec, ref: Any, rate: int) -> tuple[Any, dict[str, Any]]:
    import audiocodec

    it = spec.item
    opts = ours_options(spec.method, spec.bitrate)
    warm = json.dumps({k: v for k, v in opts.items() if k != "bitrate"}, sort_keys=True)
    if warm not in _WARM:  # numba kernels load (or compile) outside the timing
        audiocodec.encode(ref[: min(len(ref), 8192)], rate, **opts)
        _WARM.add(warm)
    t0 = time.perf_counter()
    data = audiocodec.encode(ref, rate, **opts)
    t1 = time.perf_counter()
    deg, _ = audiocodec.decode(data)
    t2 = time.perf_counter()
    return deg, {"bitrate": len(data) * 8 / it.seconds, "bytes": len(data),
                 "encode_x": it.seconds / (t1 - t0), "decode_x": it.seconds / (t2 - t1),
                 "stream_sha": hashlib.sha1(data).hexdigest()[:16]}


def execute(spec: RunSpec) -> dict[str, Any]:
    """Encode, decode and measure one run (runs in a worker process)."""
    import numpy as np
    import soundfile as sf

    from ..errors import CodecError
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
    else:
        code = _code_peer if spec.method.startswith("peer:") else _code_ours
        deg, info = code(spec, ref, rate)
        out.update(info)
    if deg.shape[0] == 0:
        raise CodecError(f"{spec.method} decoded no samples")
    attacks = metrics.find_attacks(ref, rate)
    # ours (and the reference) decode sample-aligned by the format's contract: scored at delay 0
    known = None if spec.method.startswith("peer:") else 0
    out.update(metrics.measure(np.asarray(ref), np.asarray(deg), rate, use_visqol=spec.use_visqol,
                               speech=it.speech, attacks=attacks, delay=known))
    return out


def execute_safe(spec: RunSpec) -> tuple[str, dict[str, Any] | None, str | None]:
    """:func:`execute`, with an error returned as text instead of raised. A peer that
    refuses a nominal bitrate (libvorbis below its floor, say) is not an error: its result
    is ``{"refused": message}`` (cached like any other, so it is not asked again)."""
    from .peers import PeerError

    try:
        return spec.key, execute(spec), None
    except PeerError as e:
        return spec.key, {"refused": str(e), "item": spec.item.name, "method": spec.method,
                          "nominal": spec.bitrate}, None
    except Exception as e:  # one failed run must not sink the whole evaluation
        return spec.key, None, f"{type(e).__name__}: {e}"


@dataclass
class Outcome:
    """What :func:`run_all` found: results (cached or computed), errors, the runs a peer
    refused (``item method nominal``), and how many runs were computed."""

    results: list[dict[str, Any]]
    errors: list[str]
    refused: list[str]
    computed: int


def run_all(runs: Sequence[RunSpec], cache: Cache, jobs: int, quiet: bool = False) -> Outcome:
    """Results for ``runs``: from the cache, or computed in ``jobs`` worker processes."""
    todo = [r for r in runs if cache.get(r.key) is None]
    # longest items first so the workers finish together
    todo.sort(key=lambda r: -r.item.seconds)
    errors: list[str] = []
    bar = None
    plain = not quiet and not sys.stderr.isatty()  # a log file: one plain line per run, no \r
    if not quiet and not plain:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="run", desc="eval", file=sys.stderr,
                   disable=not todo)
    by_key = {r.key: r for r in todo}
    finished: list[str] = []

    def done(key: str, res: dict[str, Any] | None, err: str | None) -> None:
        spec = by_key[key]
        if res is not None:
            cache.put(key, res)
        else:
            errors.append(f"{spec.item.name} {spec.method} {spec.bitrate}: {err}")
        if bar is not None:
            bar.set_postfix_str(f"{spec.item.name} {spec.method} {spec.bitrate or ''}")
            bar.update(1)
        elif plain:
            finished.append(key)
            print(f"eval: {len(finished)}/{len(todo)} {spec.item.name} {spec.method} "
                  f"{spec.bitrate or ''} {'done' if res is not None else 'failed'}",
                  file=sys.stderr, flush=True)

    if jobs <= 1 or len(todo) <= 1:
        for spec in todo:
            done(*execute_safe(spec))
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futs = [pool.submit(execute_safe, s) for s in todo]
            for f in as_completed(futs):
                done(*f.result())
    if bar is not None:
        bar.close()
    found = [v for v in (cache.get(r.key) for r in runs) if v is not None]
    refused = [f"{v['item']} {v['method']} {v['nominal']}" for v in found if "refused" in v]
    return Outcome([v for v in found if "refused" not in v], errors, refused, len(todo))
