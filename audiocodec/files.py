"""File helpers over the streaming :class:`Encoder`/:class:`Decoder` and the one-shot functions.

Files are streamed in blocks (memory does not grow with length), written to a
temporary file beside the output and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import struct
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import tags as tagging
from .container import aqc as bs
from .container.pages import PageWriter
from .container.reader import ReadStats, find_header_copy, locate_header, read_packets
from .downmix import downmix as downmix_block
from .downmix import downmix_matrix
from .errors import CodecError, HeaderError, InputError, StreamError, UnsupportedError
from .multistream.layout import MAX_CHANNELS
from .oneshot import DecodeReport, decode, encode, iter_decode, slice_samples
from .resample import MAX_INPUT_RATE, MIN_INPUT_RATE, coding_rate, resample_blocks
from .stream import Encoder
from .wavmask import wav_format, write_channel_mask

BLOCK = 65536  # frames read per step when streaming files


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], force: bool = False) -> Iterator[str]:
    """Yield a temp path beside ``path``; rename it into place only on success."""
    out = Path(path)
    if out.exists() and not force:
        raise InputError(f"{out} exists (use --force to overwrite)")
    if out.is_dir():
        raise InputError(f"{out} is a directory")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output directory {parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=parent)
    except OSError as e:  # e.g. a read-only directory: name the output, not the hidden temp file
        raise OSError(e.errno, f"cannot create {out} ({e.strerror})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the output gets the usual permissions
    try:
        yield tmp
        os.replace(tmp, out)
    except BaseException as e:
        sf = sys.modules.get("soundfile")
        # libsndfile reports a failed write (e.g. a full disk) as "System error.", not an
        # OSError: name the cause while the temp file still fills the disk, then remove it
        err = _write_error(out, e) if sf and isinstance(e, sf.SoundFileError) else None
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if err is not None:
            raise err from None
        if isinstance(e, OSError) and not e.filename:  # a failed write() names no file
            raise OSError(e.errno, e.strerror or str(e), str(out)) from None
        raise


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    pa, pb = Path(a), Path(b)
    try:
        return pa.resolve() == pb.resolve() or (pb.exists() and os.path.samefile(pa, pb))
    except OSError:
        return False


def _existing_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, or an InputError naming what is wrong with it."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a directory")
    return p


def _open_audio(path: str | os.PathLike[str], downmix: bool = False) -> Any:
    import soundfile as sf

    p = _existing_file(path)
    try:
        f = sf.SoundFile(str(p))
    except Exception as e:  # soundfile raises its own LibsndfileError / RuntimeError
        raise UnsupportedError(f"{p}: not a readable audio file ({str(e).splitlines()[0]})") from None
    if f.channels > MAX_CHANNELS:
        f.close()
        raise UnsupportedError(f"{p}: {f.channels} channels; the codec codes 1..{MAX_CHANNELS}")
    if downmix:
        downmix_matrix(f.channels)
    if not MIN_INPUT_RATE <= f.samplerate <= MAX_INPUT_RATE:
        f.close()
        raise UnsupportedError(
            f"{p}: sample rate {f.samplerate} Hz; supported {MIN_INPUT_RATE}..{MAX_INPUT_RATE} Hz "
            f"(AQC codes {bs.MIN_RATE}..{bs.MAX_RATE} Hz and resamples the rest)"
        )
    return f


def output_kind(dst: str | os.PathLike[str]) -> str:
    """What an encode writes, from the extension: ``"aqc"`` or ``"wav"`` (IMA ADPCM WAV)."""
    ext = Path(dst).suffix.lower()
    if ext not in (".aqc", ".wav"):
        raise InputError(f"output {dst}: the extension picks the format: .aqc (AQC) or .wav "
                         f"(IMA ADPCM WAV), got {ext or 'none'!r}")
    return ext[1:]


def encode_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, force: bool = False,
    progress: Callable[[int, int], None] | None = None, sanitize: bool = False,
    downmix: bool = False, tags: Mapping[str, str] | None = None, **options: Any,
) -> dict[str, Any]:
    """Encode an audio file (anything soundfile reads); the extension of ``dst`` picks the format.

    ``.aqc`` is an AQC stream (``mode`` "mdct" by default, or "adpcm"); ``.wav`` is a
    standard IMA ADPCM WAV (``mode`` "adpcm" or omitted; "mdct" is an :class:`InputError`).
    NaN/Inf samples are an :class:`InputError` unless ``sanitize`` is true, in
    which case NaN becomes 0 and +-Inf full scale (values beyond +-1 are always clipped).
    ``downmix`` mixes 3-8 channels to stereo (:mod:`audiocodec.downmix`). ``.aqc`` keeps the
    input's title/artist/album ... tags (:mod:`audiocodec.tags`), with ``tags`` (KEY -> value)
    added over them; a .wav output takes no ``tags``.
    Returns a summary dict (samples, bytes, bitrate...).
    ``progress(done, total)`` is called after every block.
    """
    if _same_file(src, dst):
        raise InputError(f"output {dst} is the input file")
    kind = output_kind(dst)
    if kind == "wav" and tags:
        raise InputError(f"output {dst}: tags go into .aqc output only (an IMA ADPCM WAV keeps none)")
    if kind == "wav" and options.setdefault("mode", "adpcm") != "adpcm":
        raise InputError(f"output {dst}: a .wav output is an IMA ADPCM WAV; use .aqc for mode "
                         f"{options['mode']!r}")
    f = _open_audio(src, downmix)
    with f:
        total = f.frames
        if total <= 0:
            raise InputError(f"{src}: the file holds no audio samples")
        channels = 2 if downmix and f.channels > 2 else f.channels
        blocks = _blocks(f, src, sanitize, total, progress, downmix)
        # IMA WAV records any rate; AQC codes 8..48 kHz and resamples the rest (soxr)
        rate = f.samplerate if kind == "wav" else coding_rate(f.samplerate, bs.MIN_RATE, bs.MAX_RATE)
        if rate != f.samplerate:
            blocks = resample_blocks(blocks, f.samplerate, rate, channels)
            total = int(round(total * rate / f.samplerate))  # an estimate; the header is patched
        with atomic_output(dst, force) as tmp:
            if kind == "wav":
                total = _write_ima_wav(tmp, blocks, rate, channels, options)
            else:
                carried = {**tagging.from_soundfile(f), **{k.upper(): v for k, v in (tags or {}).items()}}
                options["extension"] = (tuple(options.get("extension", ()))
                                        + source_records(f.samplerate, f.subtype) + tagging.records(carried))
                total = _write_aqc(tmp, blocks, rate, channels, total, options)
            nbytes = os.path.getsize(tmp)
    seconds = total / rate
    return {"samples": total, "sample_rate": rate, "source_rate": f.samplerate, "channels": channels,
            "bytes": nbytes, "seconds": seconds, "bitrate": nbytes * 8 / seconds if seconds else 0.0}


def source_records(rate: int, subtype: str) -> bs.Extension:
    """Header-extension records for the source's sample rate and sample format (soundfile's
    subtype name, e.g. ``PCM_24``), which a decode restores by default."""
    records: list[tuple[int, bytes]] = [(bs.TAG_SOURCE_RATE, int(rate).to_bytes(4, "little"))]
    fmt = subtype.encode("ascii", "replace")[:16]
    if fmt and all(0x21 <= b <= 0x7E for b in fmt):
        records.append((bs.TAG_SOURCE_FORMAT, fmt))
    return tuple(records)


def source_of(header: bs.StreamHeader) -> tuple[int | None, str | None]:
    """The recorded source sample rate and sample format (None where not recorded)."""
    r, f = header.find(bs.TAG_SOURCE_RATE), header.find(bs.TAG_SOURCE_FORMAT)
    return (int.from_bytes(r, "little") if r else None), (f.decode("ascii") if f else None)


def output_subtype(fmt: str, asked: str | None, source: str | None) -> str:
    """The sample format a decode writes: the one asked for, else the source's when ``fmt``
    can hold it, else 16-bit PCM (Vorbis for OGG)."""
    import soundfile as sf

    if asked is not None:
        if not sf.check_format(fmt, asked):
            raise InputError(f"a .{fmt.lower()} output cannot hold --subtype {asked}")
        return asked
    if source is not None and sf.check_format(fmt, source):
        return source
    return "VORBIS" if fmt == "OGG" else "PCM_16"


def _blocks(f: Any, src: Any, sanitize: bool, total: int, progress: Callable[[int, int], None] | None,
            downmix: bool = False) -> Iterator[NDArray[np.float32]]:
    """The input's checked float32 blocks (with ``downmix``, mixed to stereo beyond two channels)."""
    done = 0
    for block in f.blocks(BLOCK, dtype="float32", always_2d=True):
        block = _finite(block, src, done, sanitize)
        done += block.shape[0]
        yield downmix_block(block) if downmix and block.shape[1] > 2 else block
        if progress:
            progress(done, total)


def _write_ima_wav(tmp: str, blocks: Iterator[NDArray[np.float32]], rate: int, channels: int,
                   options: dict[str, Any]) -> int:
    from .adpcm.wav import ImaWavWriter

    unknown = set(options) - {"mode", "adpcm_method", "portable"}
    if unknown:
        raise InputError(f"IMA ADPCM WAV output takes no {', '.join(sorted(unknown))} option")
    with ImaWavWriter(tmp, rate, channels, encoder=options.get("adpcm_method", "search"),
                      portable=bool(options.get("portable", False))) as w:
        for block in blocks:
            w.write(block)
        return w.frames


def _write_aqc(tmp: str, blocks: Iterator[NDArray[np.float32]], rate: int, channels: int,
               total: int, options: dict[str, Any]) -> int:
    if options.get("portable"):
        raise InputError("portable applies to IMA ADPCM .wav output only")
    options.pop("portable", None)
    options.setdefault("total_samples", total)
    enc = Encoder(rate, channels, **options)
    done = 0
    pw = PageWriter(bs.StreamHeader.unpack(enc.header))
    with open(tmp, "wb") as out:
        out.write(pw.start())
        for block in blocks:
            for p in enc.encode(block):
                out.write(pw.add(p))
            done += block.shape[0]
        for p in enc.flush():
            out.write(pw.add(p))
        out.write(pw.finish())
        if done != total:
            # the reader's length was an estimate: patch the header and its copies
            for off, data in pw.patch_total(done):
                out.seek(off)
                out.write(data)
    return done


def _finite(block: NDArray[np.float32], src: Any, offset: int, sanitize: bool) -> NDArray[np.float32]:
    if sanitize:
        return np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
    _check_finite(block, src, offset)
    return block


def _check_finite(block: NDArray[np.float32], src: Any, offset: int) -> None:
    if not np.isfinite(block).all():
        bad = int(np.argmax(~np.isfinite(block).all(axis=1)))
        raise InputError(f"{src}: NaN or Inf sample at frame {offset + bad}")


def _read_source_bytes(src: str | os.PathLike[str]) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped read-only (so decoding a long file does not load it)."""
    p = _existing_file(src)
    try:
        with open(p, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return b""
            # closed by the garbage collector once no frame view refers to it any more
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror})") from None


def decode_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, force: bool = False,
    subtype: str | None = None, progress: Callable[[int, int], None] | None = None,
    rate: int | None = None, start: float = 0.0, duration: float | None = None,
) -> DecodeReport:
    """Decode ``.aqc`` (or an IMA ADPCM WAV) to any format soundfile writes (by extension).

    By default the output has the source's sample rate and sample format, as the stream
    header recorded them (a source resampled for coding is resampled back with soxr);
    ``rate`` and ``subtype`` (``PCM_16``, ``PCM_24``, ``FLOAT`` ...) override them.
    ``start``/``duration`` (seconds) write only that slice: from an ``.aqc`` it is decoded from
    the page before ``start`` (:func:`audiocodec.oneshot.iter_decode`) and equals the same
    samples of a whole decode; an IMA ADPCM WAV is decoded from its start and cut. A slice
    resampled back to the source rate matches a whole decode's up to the resampler's start-up.

    The report says what was damaged: concealed frames, skipped bytes, or a file that
    ends early (``truncated``, with a note naming what is missing). ``progress(done,
    total)`` is called after every block written (``total`` from :func:`decoded_length`).
    """
    if _same_file(src, dst):
        raise InputError(f"output {dst} is the input file")
    total, coded_rate = _decoded_shape(src) if progress else (0, 0)
    if progress and (start or duration is not None):
        a, b = slice_samples(start, duration, coded_rate)
        total = max(0, (total if b is None else min(total, b)) - a)
    cb = (lambda done: progress(done, total)) if progress else None
    return _decode_file(src, dst, force, subtype, output_format(dst), cb, rate, (start, duration))


def decoded_length(src: str | os.PathLike[str]) -> int:
    """Frames a decode of ``src`` should yield, from its header (0 when unknown or unreadable)."""
    return _decoded_shape(src)[0]


def _decoded_shape(src: str | os.PathLike[str]) -> tuple[int, int]:
    """``(frames, sample rate)`` of what ``src`` decodes to before any resampling, from its
    header; 0 for what is unknown or unreadable."""
    from .adpcm.wav import ImaWavReader, is_ima_wav

    try:
        if is_ima_wav(src):
            with ImaWavReader(src) as r:
                return int(r.expected_frames), int(r.sample_rate)
        with open(src, "rb") as fh:
            header = bs.StreamHeader.unpack(fh.read(bs.MAX_HEADER_SIZE))
    except (CodecError, OSError):
        return 0, 0
    known = header.total_samples != bs.UNKNOWN_LENGTH
    return (int(header.total_samples) if known else 0), header.sample_rate


def ima_wav_info(src: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe an IMA ADPCM WAV as :func:`info` describes an ``.aqc`` (``audiocodec info``)."""
    from .adpcm.wav import ImaWavReader

    size = _existing_file(src).stat().st_size
    with ImaWavReader(src) as r:
        seconds = r.frames / r.sample_rate
        missing = max(0, r.expected_frames - r.decodable_frames)
        return {
            "sample_rate": r.sample_rate, "channels": r.channels, "mode": "ima-adpcm-wav",
            "frame_size": r.block_samples, "delay": 0, "samples": r.frames, "duration": seconds,
            "frames": -(-r.data_size // r.block_align), "bytes": size,
            "bitrate": size * 8 / seconds if seconds else 0.0,
            "nominal_bitrate": r.sample_rate * r.block_align * 8 // r.block_samples,
            "damaged_bytes": r.missing_bytes, "missing_samples": missing,
            "writer": "ffmpeg" if r.writer_is_ffmpeg else "other",
        }


def output_format(dst: str | os.PathLike[str]) -> str:
    """soundfile format of an audio output, from its extension (InputError if there is none)."""
    ext = Path(dst).suffix.lower().lstrip(".")
    fmt = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "aiff": "AIFF", "aif": "AIFF"}.get(ext)
    if fmt is None:
        raise InputError(f"output {dst}: the extension picks the format and must be .wav, .flac, "
                         ".ogg or .aiff")
    return fmt


def _chunked(pieces: Iterator[NDArray[np.float32]], size: int) -> Iterator[NDArray[np.float32]]:
    """Regroup decoded frames into blocks of about ``size`` samples (one write call each)."""
    buf: list[NDArray[np.float32]] = []
    n = 0
    for y in pieces:
        buf.append(y)
        n += y.shape[0]
        if n >= size:
            yield np.concatenate(buf)
            buf, n = [], 0
    if buf:
        yield np.concatenate(buf)


def _write_error(dst: str | os.PathLike[str], e: Exception) -> OSError:
    """An OSError the CLI prints as one line, naming a full disk when that is the cause."""
    try:
        full = os.statvfs(Path(dst).parent).f_bavail == 0
    except OSError:
        full = False
    if full:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
    return OSError(errno.EIO, f"cannot write the output ({str(e).strip()})", str(dst))


def _decode_ima_wav(src: str | os.PathLike[str], dst: str | os.PathLike[str], force: bool,
                    subtype: str | None, fmt: str, progress: Callable[[int], None] | None,
                    window: tuple[float, float | None] = (0.0, None)) -> DecodeReport:
    import soundfile as sf

    from .adpcm.wav import ImaWavReader

    rep = DecodeReport()
    with ImaWavReader(src, variant="auto") as r, atomic_output(dst, force) as tmp:
        rep.sample_rate, rep.channels = r.sample_rate, r.channels
        first, stop = slice_samples(*window, r.sample_rate)
        if 0 < r.frames <= first:
            raise InputError(f"start {window[0]:g} s is at or past the end of {src} "
                             f"({r.frames / r.sample_rate:.3f} s)")
        pos = 0
        with sf.SoundFile(tmp, "w", r.sample_rate, r.channels, subtype=subtype or "PCM_16",
                          format=wav_format(fmt, r.channels)) as out:
            for block in r.blocks(BLOCK):
                lo = max(0, first - pos)
                hi = block.shape[0] if stop is None else min(block.shape[0], stop - pos)
                pos += block.shape[0]
                if hi > lo:
                    out.write(block[lo:hi])
                    rep.samples += hi - lo
                if stop is not None and pos >= stop:
                    break
                if progress:
                    progress(rep.samples)
        if wav_format(fmt, r.channels) != fmt:
            write_channel_mask(tmp, r.channels)
        if r.missing_bytes:
            rep.truncated = True
            rep.notes.append(f"file ends early: the data chunk lacks {r.missing_bytes} of "
                             f"{r.declared_data_size} bytes "
                             f"({max(0, r.expected_frames - rep.samples)} samples missing)")
    return rep


def _decode_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], force: bool,
                 subtype: str | None, fmt: str, progress: Callable[[int], None] | None = None,
                 rate: int | None = None, window: tuple[float, float | None] = (0.0, None)
                 ) -> DecodeReport:
    import soundfile as sf

    from .adpcm.wav import is_ima_wav

    if is_ima_wav(src):
        return _decode_ima_wav(src, dst, force, subtype, fmt, progress, window)
    rep = DecodeReport()
    data = _read_source_bytes(src)
    if data[:3] != bs.MAGIC and find_header_copy(data) is None:
        raise StreamError(f"{src}: not an AQC file or IMA ADPCM WAV")
    header, _ = locate_header(data)
    src_rate, src_format = source_of(header)
    st = output_subtype(fmt, subtype, src_format)
    out_rate = rate or src_rate or header.sample_rate
    if not MIN_INPUT_RATE <= out_rate <= MAX_INPUT_RATE:
        raise InputError(f"--rate {out_rate}: must be {MIN_INPUT_RATE}..{MAX_INPUT_RATE} Hz")
    first, stop = slice_samples(*window, header.sample_rate)
    if 0 < header.total_samples <= first and header.total_samples != bs.UNKNOWN_LENGTH:
        raise InputError(f"start {window[0]:g} s is at or past the end of {src} "
                         f"({header.total_samples / header.sample_rate:.3f} s)")
    pieces = _chunked(iter_decode(data, rep, start=first, stop=stop), BLOCK)
    if out_rate != header.sample_rate:
        pieces = resample_blocks(pieces, header.sample_rate, out_rate, header.channels)
    with atomic_output(dst, force) as tmp:
        with sf.SoundFile(tmp, "w", out_rate, header.channels, subtype=st,
                          format=wav_format(fmt, header.channels)) as out:
            tagging.to_soundfile(out, tagging.of_header(header))
            for y in pieces:
                out.write(np.clip(y, -1.0, 1.0, out=y))
                if progress:
                    progress(rep.samples)
        if wav_format(fmt, header.channels) != fmt:
            write_channel_mask(tmp, header.channels)
        if rep.frames == 0 and header.total_samples != 0:  # concealment alone is not a decode
            raise StreamError(f"{src}: no decodable frame in the file")
    if header.total_samples != bs.UNKNOWN_LENGTH:
        want = header.total_samples if stop is None else min(stop, header.total_samples)
        if rep.samples < want - first:
            rep.truncated = True
            rep.notes.append(f"file ends early: {want - first - rep.samples} samples missing")
    return rep


def info(src: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe an ``.aqc`` file: rate, channels, duration, mode, bitrate, packets, pages."""
    data = _read_source_bytes(src)
    stats = ReadStats()
    header, start = locate_header(data, stats)
    frames = 0
    total = header.total_samples
    for packet in read_packets(header, data, start, stats):
        if packet is None:
            continue
        frames += 1
        if packet[0] & bs.INFO_LAST and len(packet) >= 9:
            (total,) = struct.unpack_from("<Q", packet, 1)
            break
    known = total != bs.UNKNOWN_LENGTH
    seconds = total / header.sample_rate if known else frames * header.frame_size / header.sample_rate
    return {
        "sample_rate": header.sample_rate, "channels": header.channels, "mode": header.mode_name,
        "frame_size": header.frame_size, "delay": header.delay, "samples": total if known else None,
        "duration": seconds, "frames": frames, "pages": stats.pages, "bytes": len(data),
        "bitrate": len(data) * 8 / seconds if seconds else 0.0,
        "nominal_bitrate": header.bitrate, "damaged_bytes": stats.skipped_bytes,
        "version": bs.VERSION, "extension": [bs.TAG_NAMES.get(t, f"0x{t:02x}") for t, _ in header.extension],
        "header_from_copy": stats.header_from_copy, "tags": tagging.of_header(header),
        "postfilter_reset_interval": bs.pitch_filter_interval(header),
        "sf_intra_interval": bs.sf_predict_interval(header),
        "fec": header.find(bs.TAG_FEC) is not None,
        "noise_fill_from_hz": _noise_fill_hz(header),
        "lfe_group": bs.lfe_group(header),
    }


def _noise_fill_hz(header: bs.StreamHeader) -> float | None:
    """Where an MDCT stream's noise fill starts (the ``noise_fill_from`` record's bin, or the
    rule of streams without it), in Hz; None for ADPCM."""
    if header.mode != bs.MODE_MDCT:
        return None
    from .core.layout import noise_fill_start

    k0 = bs.noise_fill_bin(header)
    k0 = noise_fill_start(header.sample_rate, header.frame_size) if k0 is None else k0
    return k0 * header.sample_rate / (2.0 * header.frame_size)


__all__ = ["encode", "decode", "encode_file", "decode_file", "info", "iter_decode", "DecodeReport",
           "atomic_output", "CodecError", "HeaderError"]
