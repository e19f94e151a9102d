"""What an evaluation runs: the inputs, the methods, and the cache key of every run.

A *run* is one method at one bitrate on one input. Its key is a hash of the
input file's contents, the method and its options, and the code that decides
the result: the codec and model sources for our methods, the ffmpeg version
and options for peers, the measurement code for all. A result found under
its key is never computed again.

Only the standard library is imported at module level.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

OURS = ("adaptive", "uniform", "nonuniform")
PEER_NAMES = ("mp3", "aac", "opus", "vorbis", "adpcm")
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
    "peer:vorbis": "libvorbis",
    "peer:adpcm": "ffmpeg IMA ADPCM",
}
METHOD_ORDER = list(LABELS)

PACKAGE = Path(__file__).resolve().parents[1]  # audiocodec/
#: What decides our codec's output, relative to ``audiocodec/``: whole folders, so a module
#: added or moved inside them is covered. Paths that do not exist are skipped; the flat
#: modules at the end are the ones the folders replace, hashed while they still exist.
CODEC_SOURCES = ("core", "encoder", "adpcm", "container", "stream.py", "files.py", "errors.py",
                 "codec.py", "quantizers.py", "quant.py", "entropy.py", "mdct.py", "bitstream.py",
                 "api.py", "bands.py", "adpcm.py")
MEASURE_SOURCES = ("eval/metrics.py", "eval/perceptual.py")
CACHE_VERSION = 2
#: Nominal bitrates every peer is coded at (besides the evaluation's own), so that its
#: metric can be interpolated at the *actual* bitrate of ours: libopus VBR, for one,
#: overshoots by up to 100% (glock: 32k nominal gives 64k actual).
PEER_LADDER = (16000, 24000, 32000, 48000, 64000, 96000, 128000, 160000)
#: Inputs whose file name holds one of these count as speech (PESQ-WB and STOI too, and
#: they stay out of the music means); inputs at 16 kHz or below always do.
SPEECH_NAMES = ("speech", "arctic")


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate (the parsed options of ``audiocodec eval``)."""

    inputs: Sequence[Path]
    bitrates: Sequence[int] = (24000, 32000, 48000, 64000, 96000, 128000)
    quantizers: Sequence[str] = ("adaptive", "uniform")
    modes: Sequence[str] = ("mdct", "adpcm")
    peers: Sequence[str] = ("opus", "aac", "mp3", "vorbis", "adpcm")
    speech_names: Sequence[str] = SPEECH_NAMES
    dither: bool = False
    out: Path = Path("eval-report")
    jobs: int = 2
    visqol: bool = True
    plots: bool = True
    fresh: bool = False
    pre_echo_item: str | None = None
    focus_item: str | None = None
    quiet: bool = False
    command: str = ""  # the command line, for the report's first paragraph
    # the listening page (audiocodec.eval.listen) and the listeners' results read back
    listen: bool = True
    listen_seconds: float = 8.0
    listen_excerpts: tuple[tuple[str, float], ...] = ()  # (item, start s): the user's excerpts
    listener_results: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Item:
    """One input file."""

    path: str
    name: str
    digest: str
    rate: int
    channels: int
    frames: int
    speech: bool = False

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


@dataclass(frozen=True)
class RunSpec:
    """One method at one bitrate on one item, with its cache key."""

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


def source_hash(paths: Iterable[Path]) -> str:
    """Hash of the ``.py`` files at ``paths`` (files, or folders searched recursively), each
    named by its path below the folder that holds it; missing paths are skipped."""
    h = hashlib.sha256()
    for p in paths:
        if p.is_dir():
            files = sorted(f for f in p.rglob("*.py") if "__pycache__" not in f.parts)
        else:
            files = [p] if p.is_file() else []
        for f in files:
            h.update(str(f.relative_to(p.parent)).encode() + f.read_bytes())
    return h.hexdigest()[:12]


def codec_hash() -> str:
    """Hash of the sources that decide our codec's output (codec + psychoacoustic model)."""
    import psychoacoustics

    model = Path(psychoacoustics.__file__).resolve().parent
    return source_hash([*(PACKAGE / n for n in CODEC_SOURCES), model])


def measure_hash() -> str:
    return source_hash(PACKAGE / n for n in MEASURE_SOURCES)


def load_item(path: Path, speech_names: Sequence[str] = SPEECH_NAMES) -> Item:
    """Describe one input, refusing what eval cannot measure. It is speech when its rate is
    16 kHz or below or its file name holds one of ``speech_names``."""
    import soundfile as sf

    from ..errors import InputError, UnsupportedError

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
    speech = info.samplerate <= 16000 or any(s and s in path.stem.lower() for s in speech_names)
    return Item(str(path.resolve()), path.stem, file_digest(path), int(info.samplerate),
                int(info.channels), int(info.frames), bool(speech))


def peer_ladder(bitrates: Sequence[int]) -> list[int]:
    """The nominal bitrates peers are coded at: ``bitrates`` and the :data:`PEER_LADDER`
    rates from half the lowest to 1.25 times the highest."""
    if not bitrates:
        return []
    lo, hi = min(bitrates) / 2, max(bitrates) * 1.25
    return sorted({*bitrates, *(b for b in PEER_LADDER if lo <= b <= hi)})


def plan_runs(items: Sequence[Item], bitrates: Sequence[int], quantizers: Sequence[str],
              modes: Sequence[str], peers: Sequence[str], dither: bool, pre_echo: Item | None,
              use_visqol: bool, identity: bool = True) -> list[RunSpec]:
    """Every (item, method, bitrate) to measure, each with its cache key.

    The key names the metrics and their versions (:func:`audiocodec.eval.perceptual.versions`),
    so a new metric version re-measures."""
    from . import peers as peer_mod
    from .perceptual import versions

    chash, mhash = codec_hash(), measure_hash()
    fver = peer_mod.ffmpeg_version()
    metric_versions = versions()
    runs: list[RunSpec] = []

    def add(item: Item, method: str, br: int | None) -> None:
        if method.startswith("peer:"):
            who = f"{fver} {peer_mod.encode_options(method[5:], br)}"
        else:
            who = chash if method != "identity" else ""
        key = json.dumps([CACHE_VERSION, item.digest, method, br, who, mhash, metric_versions,
                          use_visqol, item.speech])
        runs.append(RunSpec(item, method, br, use_visqol, hashlib.sha1(key.encode()).hexdigest(),
                            who if method != "identity" else ""))

    for it in items:
        if identity:
            add(it, "identity", None)
        for method, br in _our_runs(it, bitrates, quantizers, modes, dither, pre_echo):
            add(it, method, br)
        for p in peers:
            if p == "adpcm":
                add(it, "peer:adpcm", None)
                continue
            for br in peer_ladder(bitrates):
                if br >= peer_mod.lowest_bitrate(p, it.rate):
                    add(it, f"peer:{p}", br)
    return runs


def _our_runs(it: Item, bitrates: Sequence[int], quantizers: Sequence[str], modes: Sequence[str],
              dither: bool, pre_echo: Item | None) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    if "mdct" in modes:
        out += [(q, br) for q in quantizers for br in bitrates]
        if dither:
            out += [("uniform+dither", br) for br in bitrates]
        if pre_echo is not None and it.path == pre_echo.path:
            out += [("adaptive-nobs", br) for br in bitrates]
    if "adpcm" in modes:
        out.append(("adpcm", None))
    return out


def pick_item(items: Sequence[Item], wanted: str | None, prefer: Sequence[str]) -> Item | None:
    """The item named ``wanted``; else the first music item whose name holds one of
    ``prefer``; else the first music item."""
    music = [it for it in items if not it.speech] or list(items)
    if wanted:
        for it in items:
            if it.name == wanted or Path(it.path).name == wanted:
                return it
        from ..errors import InputError

        raise InputError(f"item {wanted!r} is not among the inputs ({', '.join(i.name for i in items)})")
    for p in prefer:
        for it in music:
            if p in it.name.lower():
                return it
    return music[0] if music else None


def check_choices(what: str, given: Iterable[str], allowed: Sequence[str]) -> None:
    """Raise :class:`~audiocodec.errors.InputError` naming the first of ``given`` that is
    not in ``allowed``."""
    from ..errors import InputError

    bad = [v for v in given if v not in allowed]
    if bad:
        raise InputError(f"unknown {what} {bad[0]!r}; choose from {', '.join(allowed)}")
