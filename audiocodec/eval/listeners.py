"""What listeners said: the files the listening page exports, read back into the report.

The page (:mod:`audiocodec.eval.listen`) exports MUSHRA-style ratings as CSV, one
rating a row::

    listener,item,trial,condition,method,nominal,bitrate,score,label

or as JSON, ``{"format": "audiocodec-listening", "version": 1, "listener": ..., "mushra":
[rows as objects], "abx": [{"listener", "item", "a", "b", "trials", "correct", "p"}]}``.
``trial`` is our nominal bitrate of the MUSHRA screen, ``condition`` the page's id of what
was rated (``reference`` is the hidden reference, ``anchor`` the 3.5 kHz low-pass), and
``method``/``nominal``/``bitrate`` say which decode it was. Only ``item``, ``trial``,
``condition`` and ``score`` are required.

The report's "listeners" table gives per trial and method the mean score with its 95%
confidence interval (Student's t over all ratings, every listener and item), next to the
same method's ViSQOL and Zimtohrli on the rated items; an ABX table gives each session's
tally and one-sided binomial p-value.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .render import Block, fmt, kbps, label

FORMAT = "audiocodec-listening"
NAMES = {"reference": "hidden reference", "anchor": "anchor (3.5 kHz low-pass)"}


@dataclass(frozen=True)
class Rating:
    """One MUSHRA-style score (0-100) of one condition."""

    listener: str
    item: str
    trial: int  # our nominal bitrate of the screen it was rated on
    condition: str
    method: str
    nominal: int | None
    bitrate: float | None
    score: float
    source: str  # the file it came from


@dataclass(frozen=True)
class AbxSession:
    """One ABX pair: how many trials, how many right."""

    listener: str
    item: str
    a: str
    b: str
    trials: int
    correct: int
    source: str

    @property
    def p(self) -> float:
        return binomial_p(self.correct, self.trials)


def binomial_p(correct: int, trials: int) -> float:
    """One-sided binomial p-value: the chance of ``correct`` or more right answers out of
    ``trials`` by guessing (foobar2000's ABX comparator reports the same)."""
    return sum(math.comb(trials, k) for k in range(correct, trials + 1)) / 2.0**trials


def mean_ci(scores: Sequence[float], level: float = 0.95) -> tuple[float, float | None]:
    """Mean and the half-width of its ``level`` confidence interval (Student's t); None
    when there is only one score."""
    n = len(scores)
    mean = sum(scores) / n
    if n < 2:
        return mean, None
    from scipy.stats import t

    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
    return mean, float(t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)


def _number(v: Any, what: str, where: str, cast: type = float) -> Any:
    from ..errors import InputError

    if v is None or v == "":
        return None
    try:
        return cast(float(v)) if cast is int else cast(v)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {what} must be a number, got {v!r}") from None


def _rating(row: Mapping[str, Any], listener: str, where: str) -> Rating:
    from ..errors import InputError

    missing = [k for k in ("item", "trial", "condition", "score") if row.get(k) in (None, "")]
    if missing:
        raise InputError(f"{where}: no {missing[0]!r} (a rating needs item, trial, condition, score)")
    score = _number(row["score"], "score", where)
    if not 0 <= score <= 100:
        raise InputError(f"{where}: score must lie in 0..100, got {score:g}")
    cond = str(row["condition"])
    return Rating(str(row.get("listener") or listener), str(row["item"]),
                  _number(row["trial"], "trial", where, int), cond,
                  str(row.get("method") or cond), _number(row.get("nominal"), "nominal", where, int),
                  _number(row.get("bitrate"), "bitrate", where), score, where.split(":")[0])


def _read_json(path: Path) -> tuple[list[Rating], list[AbxSession]]:
    from ..errors import InputError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise InputError(f"{path}: not JSON ({e})") from None
    if isinstance(data, list):
        data = {"mushra": data}
    if not isinstance(data, dict) or data.get("format", FORMAT) != FORMAT:
        raise InputError(f"{path}: not a listening-test export (format {FORMAT!r})")
    who = str(data.get("listener") or path.stem)
    ratings = [_rating(r, who, f"{path}: mushra[{i}]") for i, r in enumerate(data.get("mushra", []))]
    sessions = []
    for i, s in enumerate(data.get("abx", [])):
        where = f"{path}: abx[{i}]"
        n = _number(s.get("trials"), "trials", where, int)
        k = _number(s.get("correct"), "correct", where, int)
        if n is None or k is None or not 0 <= k <= n:
            raise InputError(f"{where}: needs 0 <= correct <= trials, got {k} of {n}")
        sessions.append(AbxSession(str(s.get("listener") or who), str(s.get("item", "")),
                                   str(s.get("a", "")), str(s.get("b", "")), n, k, str(path)))
    return ratings, sessions


def read_results(paths: Iterable[Path]) -> tuple[list[Rating], list[AbxSession]]:
    """The ratings and ABX sessions of the exported ``.csv`` / ``.json`` files ``paths``."""
    from ..errors import InputError

    ratings: list[Rating] = []
    sessions: list[AbxSession] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        if path.suffix.lower() == ".json":
            r, s = _read_json(path)
            ratings += r
            sessions += s
        elif path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                ratings += [_rating(row, path.stem, f"{path}: line {i + 2}")
                            for i, row in enumerate(csv.DictReader(f))]
        else:
            raise InputError(f"{path}: listener results must be .csv or .json, got {path.suffix!r}")
    return ratings, sessions


def _order(method: str) -> tuple[int, str]:
    return ({"reference": 0, "anchor": 9}.get(method, 1 if not method.startswith("peer:") else 2),
            method)


def _objective(results: Sequence[Mapping[str, Any]], rated: Sequence[Rating], metric: str) -> str:
    """``metric`` of the decodes that were rated, averaged over them (whole items)."""
    idx = {(r["item"], r["method"], r.get("nominal")): r for r in results}
    vals = []
    for r in {(x.item, x.method, x.nominal) for x in rated}:
        key = (r[0], "identity", None) if r[1] == "reference" else r
        v = idx.get(key, {}).get(metric)
        if v is not None:
            vals.append(float(v))
    return fmt(sum(vals) / len(vals)) if vals else "n/a"


def listeners_rows(ratings: Sequence[Rating], results: Sequence[Mapping[str, Any]]
                   ) -> tuple[list[str], list[list[str]]]:
    """Per trial and method: ratings, listeners, mean, 95% CI, and ViSQOL and Zimtohrli of
    the same decodes."""
    head = ["trial", "condition", "ratings", "listeners", "mean", "95% CI", "ViSQOL/ch", "Zimtohrli"]
    groups: dict[tuple[int, str], list[Rating]] = {}
    for r in ratings:
        groups.setdefault((r.trial, r.method), []).append(r)
    rows = []
    for (trial, method), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], _order(kv[0][1]))):
        mean, half = mean_ci([r.score for r in rs])
        ci = "n/a" if half is None else f"{mean - half:.1f} - {mean + half:.1f}"
        rows.append([kbps(trial), NAMES.get(method, label(method)), str(len(rs)),
                     str(len({(r.source, r.listener) for r in rs})), f"{mean:.1f}", ci,
                     _objective(results, rs, "visqol"), _objective(results, rs, "zimtohrli")])
    return head, rows


def abx_rows(sessions: Sequence[AbxSession]) -> tuple[list[str], list[list[str]]]:
    head = ["listener", "item", "A", "B", "correct", "p (guessing)"]
    rows = [[s.listener, s.item, s.a, s.b, f"{s.correct} / {s.trials}", fmt(s.p, 3)]
            for s in sessions]
    return head, rows


def report_blocks(out: Path, paths: Sequence[Path], results: Sequence[Mapping[str, Any]]
                  ) -> list[Block]:
    """The report's listening section: a link to ``listen.html`` (if written) and the
    listeners' results read from ``paths``."""
    blocks: list[Block] = []
    if (out / "listen.html").exists() or paths:
        blocks.append(("h", 2, "Listening test"))
    if (out / "listen.html").exists():
        blocks.append(("p", "Blind ABX and MUSHRA-style rating of the decodes, in a browser: open "
                            "[listen.html](listen.html) from this folder (no server needed). "
                            "Export the ratings there and pass the files back with "
                            "`audiocodec eval ... --listener-results FILE...` to see them here, "
                            "beside the objective scores."))
    if not paths:
        return blocks
    ratings, sessions = read_results(paths)
    if ratings:
        head, rows = listeners_rows(ratings, results)
        blocks += [("h", 3, "Listeners"),
                   ("p", f"{len(ratings)} ratings (0-100, 100 = no difference from the reference) "
                         f"from {len(paths)} file(s). Mean and 95% confidence interval (Student's t) "
                         "over all listeners and items, per trial (our nominal bitrate); ViSQOL and "
                         "Zimtohrli are of the same decodes, on the whole items."),
                   ("table", head, rows)]
    if sessions:
        head, rows = abx_rows(sessions)
        blocks += [("h", 3, "ABX"), ("table", head, rows)]
    return blocks
