"""Comparisons at equal *actual* bitrate.

A nominal bitrate is a request: libopus VBR overshoots it by up to 100% on
some items, LAME clamps low requests to 32 kbit/s, AAC floors near 26. So every
method's score is a curve over the actual bitrates it produced (the file's
size over its duration), and another method is read off that curve at the
actual bitrate of the one it is compared with: linear in log(bitrate) between
the two measured points around it. Outside its measured range it takes the
nearest end, flagged, so a table can mark it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Two runs whose actual bitrates differ by less than this fraction are one point (their
#: mean): LAME, asked for less than it can give, writes the same file at several nominals.
SAME_RATE = 0.005


def curve(results: Sequence[dict[str, Any]], item: str, method: str, metric: str
          ) -> list[tuple[float, float]]:
    """``(actual bitrate, score)`` of ``method`` on ``item``, by rising bitrate."""
    pts = sorted((float(r["bitrate"]), float(r[metric])) for r in results
                 if r["item"] == item and r["method"] == method and r.get(metric) is not None
                 and r["nominal"] is not None)
    merged: list[list[float]] = []  # [rate sum, score sum, count]
    for b, s in pts:
        if merged and b <= merged[-1][0] / merged[-1][2] * (1 + SAME_RATE):
            merged[-1] = [merged[-1][0] + b, merged[-1][1] + s, merged[-1][2] + 1]
        else:
            merged.append([b, s, 1])
    return [(b / n, s / n) for b, s, n in merged]


def at_rate(points: Sequence[tuple[float, float]], bitrate: float) -> tuple[float, bool] | None:
    """The score of a :func:`curve` at ``bitrate``, and whether that lies inside it."""
    if not points:
        return None
    xs = [math.log(p[0]) for p in points]
    ys = [p[1] for p in points]
    x = math.log(bitrate)
    inside = xs[0] * (1 - 1e-9) <= x <= xs[-1] * (1 + 1e-9)
    if x <= xs[0]:
        return ys[0], inside
    for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:], strict=True):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0), inside
    return ys[-1], inside


def interpolate_score(results: Sequence[dict[str, Any]], item: str, method: str, bitrate: float,
                      metric: str = "visqol") -> tuple[float, bool] | None:
    """``method``'s ``metric`` on ``item`` at an actual ``bitrate`` (see :func:`at_rate`)."""
    return at_rate(curve(results, item, method, metric), bitrate)


@dataclass(frozen=True)
class Cell:
    """One comparison: the base method's actual bitrate and score, and the other method's
    score at that bitrate (``inside`` False when read off the end of its curve)."""

    bitrate: float
    base: float | None
    other: float | None
    inside: bool = True


def versus(results: Sequence[dict[str, Any]], item: str, base: str, other: str, nominal: int,
           metric: str) -> Cell | None:
    """``other`` at the actual bitrate ``base`` produced at ``nominal`` on ``item``."""
    hit = [r for r in results if r["item"] == item and r["method"] == base
           and r["nominal"] == nominal]
    if not hit:
        return None
    r = hit[0]
    score = r.get(metric)
    if other == base:
        return Cell(float(r["bitrate"]), score, score)
    at = interpolate_score(results, item, other, float(r["bitrate"]), metric)
    return Cell(float(r["bitrate"]), score, None if at is None else at[0],
                True if at is None else at[1])


def mean_versus(results: Sequence[dict[str, Any]], items: Sequence[str], base: str, other: str,
                nominal: int, metric: str) -> Cell | None:
    """:func:`versus` averaged over ``items`` (None unless every item has both scores)."""
    cells = [versus(results, it, base, other, nominal, metric) for it in items]
    if not items or any(c is None or c.base is None or c.other is None for c in cells):
        return None
    ok = [c for c in cells if c is not None]
    return Cell(sum(c.bitrate for c in ok) / len(ok), sum(float(c.base or 0) for c in ok) / len(ok),
                sum(float(c.other or 0) for c in ok) / len(ok), all(c.inside for c in ok))
