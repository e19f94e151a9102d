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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .container import aqc as bs
from .errors import CodecError, HeaderError, InputError, StreamError, UnsupportedError
from .oneshot import DecodeReport, decode, encode, iter_decode
from .stream import Encoder

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
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=parent)
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


def _open_audio(path: str | os.PathLike[str]) -> Any:
    import soundfile as sf

    p = _existing_file(path)
    try:
        f = sf.SoundFile(str(p))
    except Exception as e:  # soundfile raises its own LibsndfileError / RuntimeError
        raise UnsupportedError(f"{p}: not a readable audio file ({str(e).splitlines()[0]})") from None
    if f.channels > 2:
        f.close()
        raise UnsupportedError(f"{p}: {f.channels} channels; AQC codes mono or stereo only")
    if not bs.MIN_RATE <= f.samplerate <= bs.MAX_RATE:
        f.close()
        raise UnsupportedError(
            f"{p}: sample rate {f.samplerate} Hz; supported {bs.MIN_RATE}..{bs.MAX_RATE} Hz "
            f"(resample first, e.g. sox in.wav -r 48000 out.wav)"
        )
    return f


def encode_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, force: bool = False,
    progress: Callable[[int, int], None] | None = None, sanitize: bool = False, **options: Any,
) -> dict[str, Any]:
    """Encode an audio file (anything soundfile reads) to ``.aqc``.

    NaN/Inf samples are an :class:`InputError` unless ``sanitize`` is true, in
    which case NaN becomes 0 and +-Inf full scale (values beyond +-1 are always clipped).

    With ``mode="adpcm"`` and a ``.wav`` destination a standard IMA ADPCM WAV
    is written instead. Returns a summary dict (samples, bytes, bitrate...).
    ``progress(done, total)`` is called after every block.
    """
    if _same_file(src, dst):
        raise InputError(f"output {dst} is the input file")
    f = _open_audio(src)
    with f:
        total = f.frames
        if total <= 0:
            raise InputError(f"{src}: the file holds no audio samples")
        ima_wav = options.get("mode") == "adpcm" and str(dst).lower().endswith(".wav")
        with atomic_output(dst, force) as tmp:
            if ima_wav:
                from .adpcm.wav import ImaWavWriter

                method = options.get("adpcm_method", "search")
                with ImaWavWriter(tmp, f.samplerate, f.channels, encoder=method,
                                  portable=bool(options.get("portable", False))) as w:
                    done = 0
                    for block in f.blocks(BLOCK, dtype="float32", always_2d=True):
                        block = _finite(block, src, done, sanitize)
                        w.write(block)
                        done += block.shape[0]
                        if progress:
                            progress(done, total)
            else:
                options.setdefault("total_samples", total)
                enc = Encoder(f.samplerate, f.channels, **options)
                with open(tmp, "wb") as out:
                    out.write(enc.header)
                    done = 0
                    for block in f.blocks(BLOCK, dtype="float32", always_2d=True):
                        block = _finite(block, src, done, sanitize)
                        for p in enc.encode(block):
                            out.write(p)
                        done += block.shape[0]
                        if progress:
                            progress(done, total)
                    for p in enc.flush():
                        out.write(p)
                    if done != total:
                        # the reader's length was an estimate: patch the header with the truth
                        enc.total_samples = done
                        out.seek(0)
                        out.write(enc.header)
                total = done
            nbytes = os.path.getsize(tmp)
    seconds = total / f.samplerate
    return {"samples": total, "sample_rate": f.samplerate, "channels": f.channels, "bytes": nbytes,
            "seconds": seconds, "bitrate": nbytes * 8 / seconds if seconds else 0.0}


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
    subtype: str | None = None,
) -> DecodeReport:
    """Decode ``.aqc`` (or an IMA ADPCM WAV) to any format soundfile writes (by extension)."""
    if _same_file(src, dst):
        raise InputError(f"output {dst} is the input file")
    return _decode_file(src, dst, force, subtype, output_format(dst))


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


def _decode_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], force: bool,
                 subtype: str | None, fmt: str) -> DecodeReport:
    import soundfile as sf

    rep = DecodeReport()
    from .adpcm.wav import ImaWavReader, is_ima_wav

    if is_ima_wav(src):
        with ImaWavReader(src, variant="auto") as r, atomic_output(dst, force) as tmp:
            rep.sample_rate, rep.channels = r.sample_rate, r.channels
            with sf.SoundFile(tmp, "w", r.sample_rate, r.channels, subtype=subtype or "PCM_16",
                              format=fmt) as out:
                for block in r.blocks(BLOCK):
                    out.write(block)
                    rep.samples += block.shape[0]
        return rep
    data = _read_source_bytes(src)
    if data[:3] != bs.MAGIC:
        raise StreamError(f"{src}: not an AQC file or IMA ADPCM WAV")
    header = bs.StreamHeader.unpack(data[: bs.HEADER_SIZE])
    st = subtype or ("PCM_16" if fmt != "OGG" else "VORBIS")
    with atomic_output(dst, force) as tmp:
        with sf.SoundFile(tmp, "w", header.sample_rate, header.channels, subtype=st,
                          format=fmt) as out:
            for y in _chunked(iter_decode(data, rep), BLOCK):
                out.write(np.clip(y, -1.0, 1.0, out=y))
        if rep.frames == 0 and header.total_samples != 0:  # concealment alone is not a decode
            raise StreamError(f"{src}: no decodable frame in the file")
    if header.total_samples != bs.UNKNOWN_LENGTH and rep.samples < header.total_samples:
        rep.truncated = True
        rep.notes.append(f"file ends early: {header.total_samples - rep.samples} samples missing")
    return rep


def info(src: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe an ``.aqc`` file: rate, channels, duration, mode, bitrate, frames."""
    data = _read_source_bytes(src)
    header = bs.StreamHeader.unpack(data[: bs.HEADER_SIZE])
    frames = 0
    skipped = 0
    total = header.total_samples
    for _o, seq, payload, sk in bs.scan_frames(header.serial, data, bs.HEADER_SIZE):
        skipped += sk
        if seq < 0:
            break
        frames += 1
        if payload[0] & bs.INFO_LAST and len(payload) >= 9:
            (total,) = struct.unpack_from("<Q", payload, 1)
    known = total != bs.UNKNOWN_LENGTH
    seconds = total / header.sample_rate if known else frames * header.frame_size / header.sample_rate
    return {
        "sample_rate": header.sample_rate, "channels": header.channels, "mode": header.mode_name,
        "frame_size": header.frame_size, "delay": header.delay, "samples": total if known else None,
        "duration": seconds, "frames": frames, "bytes": len(data),
        "bitrate": len(data) * 8 / seconds if seconds else 0.0,
        "nominal_bitrate": header.bitrate, "damaged_bytes": skipped,
    }


__all__ = ["encode", "decode", "encode_file", "decode_file", "info", "iter_decode", "DecodeReport",
           "atomic_output", "CodecError", "HeaderError"]
