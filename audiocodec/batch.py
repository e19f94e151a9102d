"""Catalog encoding: many files on all cores of one machine, or on a Dask cluster.

:func:`encode_many` expands the inputs (files, directories searched recursively for
audio, glob patterns), maps each to an output under ``out_dir`` (directory inputs keep
their sub-folders), and encodes each file with :func:`audiocodec.files.encode_file`,
which writes through a temporary file and a rename: an interrupted run leaves no
partial output, and a rerun skips what exists (unless ``force``), so it resumes.
A file that fails is reported and the others go on.

Workers are a local process pool (one per core by default) or, given a
``dask.distributed.Client``, the cluster's workers: the same task function runs on
both, so a catalog job moves from a laptop to a cluster unchanged.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CodecError, InputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3", ".caf", ".w64")
ENCODED = "encoded"
SKIPPED = "skipped"
FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What happened to one input."""

    src: str
    dst: str
    status: str  # ENCODED, SKIPPED or FAILED
    message: str = ""
    audio_seconds: float = 0.0
    bytes: int = 0


@dataclass
class BatchResult:
    """Every input's :class:`Outcome`, and the run's wall time."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def _with(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def encoded(self) -> list[Outcome]:
        return self._with(ENCODED)

    @property
    def skipped(self) -> list[Outcome]:
        return self._with(SKIPPED)

    @property
    def failed(self) -> list[Outcome]:
        return self._with(FAILED)

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped outputs are not failures)."""
        return not self.failed

    def summary(self) -> str:
        audio = sum(o.audio_seconds for o in self.encoded)
        speed = f", {audio / self.seconds:.1f}x realtime" if self.seconds > 0 and audio else ""
        rate = f", {len(self.encoded) / self.seconds:.2f} files/s" if self.seconds > 0 else ""
        return (f"{len(self.encoded)} encoded, {len(self.skipped)} skipped (exist; --force "
                f"re-encodes), {len(self.failed)} failed in {self.seconds:.1f} s{rate}{speed}")


def _audio_files(folder: Path) -> Iterator[Path]:
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith("."):
            yield p


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[tuple[Path | None, Path, str]]:
    """``(source or None, path relative to the output folder, text given)`` for every input.

    A directory contributes its audio files (recursively, keeping sub-folders); a name
    that does not exist is tried as a glob pattern; a pattern or path that matches nothing
    gives one entry with source None (reported as a failure, not raised).
    """
    out: list[tuple[Path | None, Path, str]] = []
    for item in inputs:
        text = os.fspath(item)
        p = Path(text)
        if p.is_dir():
            out += [(f, f.relative_to(p), text) for f in _audio_files(p)]
        elif p.exists():
            out.append((p, Path(p.name), text))
        else:
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            files = [m for m in matches if m.is_file()]
            out += [(m, Path(m.name), text) for m in files]
            if not files:
                out.append((None, Path(p.name), text))
    return out


def plan_outputs(inputs: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                 suffix: str = ".aqc") -> tuple[list[tuple[Path, Path]], list[Outcome]]:
    """``(src, dst)`` pairs for the inputs, and failures found before any work
    (inputs that match nothing, two inputs that would write one output)."""
    base = Path(out_dir)
    pairs: list[tuple[Path, Path]] = []
    bad: list[Outcome] = []
    claimed: dict[Path, Path] = {}
    for src, rel, text in expand_inputs(inputs):
        dst = base / rel.with_suffix(suffix)
        if src is None:
            bad.append(Outcome(text, "", FAILED, f"{text}: no such file or matching pattern"))
        elif dst in claimed and claimed[dst].resolve() != src.resolve():
            bad.append(Outcome(str(src), str(dst), FAILED,
                               f"{src}: would write {dst}, as {claimed[dst]} does"))
        elif dst not in claimed:
            claimed[dst] = src
            pairs.append((src, dst))
    return pairs, bad


def encode_one(src: str, dst: str, force: bool, options: dict[str, Any]) -> Outcome:
    """Encode one file (the task each worker runs); never raises for a bad input."""
    from .files import encode_file

    out = Path(dst)
    if out.exists() and not force:
        return Outcome(src, dst, SKIPPED)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        res = encode_file(src, dst, force=force, **options)
    except (CodecError, OSError) as e:
        msg = str(e) if isinstance(e, CodecError) else f"{src}: {e.strerror or e}"
        return Outcome(src, dst, FAILED, msg)
    return Outcome(src, dst, ENCODED, "", float(res["seconds"]), int(res["bytes"]))


Progress = Callable[[int, int, Outcome], None]


def _run_local(pairs: Sequence[tuple[Path, Path]], jobs: int, force: bool, options: dict[str, Any],
               report: Callable[[Outcome], None]) -> None:
    if jobs <= 1:
        for src, dst in pairs:
            report(encode_one(str(src), str(dst), force, options))
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures: list[Future[Outcome]] = [
            pool.submit(encode_one, str(src), str(dst), force, options) for src, dst in pairs]
        try:
            for f in as_completed(futures):
                report(f.result())
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _run_dask(client: Any, pairs: Sequence[tuple[Path, Path]], force: bool, options: dict[str, Any],
              report: Callable[[Outcome], None]) -> None:
    from distributed import as_completed as dask_completed

    n = len(pairs)
    futures = client.map(encode_one, [str(s) for s, _ in pairs], [str(d) for _, d in pairs],
                         [force] * n, [options] * n, pure=False)
    try:
        for f in dask_completed(futures):
            report(f.result())
    except BaseException:
        client.cancel(futures)
        raise


def encode_many(inputs: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *,
                client: Any = None, jobs: int | None = None, force: bool = False,
                progress: Progress | None = None, **encode_options: Any) -> BatchResult:
    """Encode every input into ``out_dir``; returns a :class:`BatchResult`.

    Parameters
    ----------
    inputs : files, directories or glob patterns
    out_dir : folder for the outputs (created); ``.aqc``, or ``.wav`` with ``mode="adpcm"``
    client : dask.distributed.Client or None
        Run the tasks on this cluster instead of a local process pool.
    jobs : int or None
        Local worker processes (None: one per core; 1: in this process).
    force : bool
        Re-encode outputs that exist (otherwise they are skipped, so a rerun resumes).
    progress : callable(done, total, outcome) or None
    **encode_options
        Passed to :func:`audiocodec.files.encode_file` (``bitrate``, ``mode``, ...).
    """
    if jobs is not None and jobs < 1:
        raise InputError(f"jobs must be at least 1, got {jobs}")
    suffix = ".wav" if encode_options.get("mode") == "adpcm" else ".aqc"
    t0 = time.perf_counter()
    pairs, bad = plan_outputs(inputs, out_dir, suffix)
    result = BatchResult()
    total = len(pairs) + len(bad)

    def report(o: Outcome) -> None:
        result.outcomes.append(o)
        if progress is not None:
            progress(len(result.outcomes), total, o)

    for o in bad:
        report(o)

    if client is not None:
        _run_dask(client, pairs, force, encode_options, report)
    else:
        _run_local(pairs, jobs or os.cpu_count() or 1, force, encode_options, report)
    result.seconds = time.perf_counter() - t0
    return result
