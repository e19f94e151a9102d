"""libopus with lost packets, for ``bench_loss.py``: the peer's own concealment in the same run.

ffmpeg cannot drop packets between libopus's encoder and decoder, so this drives the system
libopus (``libopus.so.0``, which Debian's ffmpeg links) through ``ctypes``: the restricted
low-delay application (CELT only), 10 ms frames, the bitrate given (its default VBR), and for a
lost packet ``opus_decode_float`` without data, which runs its packet-loss concealment. The
output is aligned by the encoder's look-ahead (``OPUS_GET_LOOKAHEAD``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

import numpy as np

APPLICATION_RESTRICTED_LOWDELAY = 2051
SET_BITRATE = 4002
GET_LOOKAHEAD = 4027
MAX_PACKET = 4000


def load() -> ctypes.CDLL | None:
    """The libopus shared library, or None when the system has none."""
    for name in ("libopus.so.0", ctypes.util.find_library("opus")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.opus_encoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int,
                                            ctypes.POINTER(ctypes.c_int)]
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_encode_float.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int,
                                          ctypes.c_char_p, ctypes.c_int32]
        lib.opus_decode_float.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                          ctypes.POINTER(ctypes.c_float), ctypes.c_int, ctypes.c_int]
        lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        return lib
    return None


def run(lib: ctypes.CDLL, x: np.ndarray, rate: int, bitrate: int,
        lost_of: Callable[[int], np.ndarray]) -> tuple[np.ndarray, float, int, int]:
    """``x`` (frames, channels) through libopus with the losses ``lost_of(packets)`` marks:
    (output aligned to ``x``, actual bit/s, packets lost, packets)."""
    frame = rate // 100
    nch = x.shape[1]
    err = ctypes.c_int()
    enc = lib.opus_encoder_create(rate, nch, APPLICATION_RESTRICTED_LOWDELAY, ctypes.byref(err))
    if err.value != 0:
        raise RuntimeError(f"opus_encoder_create failed ({err.value})")
    dec = lib.opus_decoder_create(rate, nch, ctypes.byref(err))
    if err.value != 0 or not dec:
        lib.opus_encoder_destroy(enc)
        raise RuntimeError(f"opus_decoder_create failed ({err.value})")
    try:
        lib.opus_encoder_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int32]
        lib.opus_encoder_ctl(enc, SET_BITRATE, bitrate)
        look = ctypes.c_int32()
        lib.opus_encoder_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int32)]
        lib.opus_encoder_ctl(enc, GET_LOOKAHEAD, ctypes.byref(look))
        padded = np.zeros((-(-(len(x) + look.value) // frame) * frame, nch), np.float32)
        padded[: len(x)] = x
        buf = ctypes.create_string_buffer(MAX_PACKET)
        packets = []
        for i in range(0, len(padded), frame):
            block = np.ascontiguousarray(padded[i : i + frame])
            n = lib.opus_encode_float(enc, block.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), frame,
                                      buf, MAX_PACKET)
            if n < 0:
                raise RuntimeError(f"opus_encode_float failed ({n})")
            packets.append(buf.raw[:n])
        lost = lost_of(len(packets))
        out = np.zeros_like(padded)
        for i, p in enumerate(packets):
            o = out[i * frame : (i + 1) * frame]
            ptr = o.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            got = (lib.opus_decode_float(dec, None, 0, ptr, frame, 0) if lost[i]
                   else lib.opus_decode_float(dec, p, len(p), ptr, frame, 0))
            if got != frame:
                raise RuntimeError(f"opus_decode_float gave {got} samples for packet {i}, not {frame}")
        bits = 8.0 * sum(map(len, packets)) / (len(padded) / rate)
        return out[look.value : look.value + len(x)], bits, int(lost.sum()), len(packets)
    finally:
        lib.opus_encoder_destroy(enc)
        lib.opus_decoder_destroy(dec)
