"""Analyses of one item behind the report's figures: what the stream carried per frame,
one frame's spectrum against our model's masking threshold, and plain round trips.

Each returns a dict of arrays, so :func:`audiocodec.eval.cache.cached_npz` can keep it.
"""

from __future__ import annotations

from typing import Any


def coded_frames(ref: Any, rate: int, **opts: Any) -> dict[str, Any]:
    """Encode with the streaming Encoder and decode its packets, recording through both
    sides' observers what each frame carried: its bits (encoder side), the block type and
    the per-bin step size of channel 0 as the decoder received it (NaN above the coded
    bandwidth). Returns arrays for the plots."""
    import numpy as np

    import audiocodec
    from audiocodec.core import FrameStats, step_of

    x = np.asarray(ref, dtype=np.float32)
    bits: list[int] = []
    enc = audiocodec.Encoder(rate, x.shape[1], total_samples=x.shape[0],
                             observer=lambda st: bits.append(st.bits), **opts)
    packets = [*enc.encode(x), *enc.flush()]
    steps: list[Any] = []
    short: list[bool] = []

    def seen(st: FrameStats) -> None:
        row = np.full(n, np.nan)
        edges = st.edges
        for b in range(int(st.coded_bands[0])):
            row[edges[b] : edges[b + 1]] = 20 * np.log10(step_of(int(st.scale_factors[0, b])))
        steps.append(row)
        short.append(st.short)

    dec = audiocodec.Decoder(enc.header, observer=seen)
    n = dec.frame_size
    pcm = np.concatenate([dec.decode(p) for p in packets])[: x.shape[0]]
    nbytes = len(enc.header) + sum(len(p) for p in packets)
    return {"pcm": pcm.astype(np.float32), "steps_db": np.asarray(steps),
            "short": np.asarray(short), "frame_bits": np.asarray(bits, dtype=np.int64),
            "frame_size": np.asarray(n), "nbytes": np.asarray(nbytes)}


def frame_analysis(ref: Any, rate: int, decoded: dict[str, Any]) -> dict[str, Any]:
    """Spectrum, masking threshold and coding-noise spectra of one loud frame (channel 0).

    ``decoded`` maps a method name to its decoded pcm. The frame is the loudest
    non-transient frame among the 90% quietest (loud but not a peak)."""
    import numpy as np

    from ..core.mdct import analysis
    from . import metrics

    x = np.asarray(ref, dtype=np.float64)[:, 0]
    n = metrics.analysis_size(rate)
    model, edges = metrics.psycho_model(rate, n)
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


def round_trip(ref: Any, rate: int, **opts: Any) -> dict[str, Any]:
    """``{"pcm": decode(encode(ref))}``."""
    import audiocodec

    return {"pcm": audiocodec.decode(audiocodec.encode(ref, rate, **opts))[0]}
