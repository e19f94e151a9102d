"""The IMA ADPCM mode's stream classes: packets of the AQC container.

ADPCM payload (after the container of :mod:`audiocodec.container.aqc`)::

    byte 0   info (bit 7 last frame; others 0)  [8 bytes total_samples if last]
    2 bytes  n, samples per channel in this packet (LE)
    rest     :func:`audiocodec.packets.encode_packet` payload

:class:`AdpcmEncoder` and :class:`AdpcmDecoder` are the mirrored pair.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..container import aqc
from ..errors import FrameError, InputError
from . import packets

if TYPE_CHECKING:
    from ..stream import Fifo

DEFAULT_PACKET = 256


class AdpcmEncoder:
    """Per-stream ADPCM encoding state: the predictor of each channel."""

    delay = 0

    def __init__(self, sample_rate: int, channels: int, *, frame_size: int | None = None,
                 adpcm_method: str = "greedy", **_unused: Any) -> None:
        n = frame_size or DEFAULT_PACKET
        if not aqc.ADPCM_PACKET_MIN <= int(n) <= aqc.ADPCM_PACKET_MAX:
            raise InputError(f"ADPCM packet size must be {aqc.ADPCM_PACKET_MIN}..{aqc.ADPCM_PACKET_MAX} "
                             f"samples, got {n}")
        self.sample_rate = sample_rate
        self.channels = channels
        self.frame_size = self.latency = int(n)
        self.method = adpcm_method
        self._state = packets.AdpcmState(channels)

    def capacity(self) -> int:
        return 4 * self.frame_size

    def lead_in(self) -> int:
        return 0

    def header(self, total: int, serial: int) -> aqc.StreamHeader:
        return aqc.StreamHeader(aqc.MODE_ADPCM, self.channels, self.sample_rate, self.frame_size, 0, 0,
                                4 * self.sample_rate * self.channels, total, serial)

    def drain(self, pending: Fifo, final: bool, in_count: int) -> list[bytes]:
        n = self.frame_size
        out: list[bytes] = []
        while len(pending) >= n or (final and len(pending) > 0):
            blk = pending.view()[:n]
            pending.consume(blk.shape[0])
            last = final and len(pending) == 0
            body = packets.encode_packet(np.ascontiguousarray(blk, dtype=np.float32), self._state,
                                       method=self.method)
            out.append(aqc.pack_info(0, last, in_count) + struct.pack("<H", blk.shape[0]) + body)
        if final and not out:
            out.append(aqc.pack_info(0, True, in_count) + struct.pack("<H", 0))  # empty stream: still end it
        return out


class AdpcmDecoder:
    """Per-stream ADPCM decoding state: the last sample, for concealment."""

    conceals_tail = False

    def __init__(self, h: aqc.StreamHeader, observer: Any = None) -> None:
        self.channels = h.channels
        self.frame_size = h.frame_size
        self._last = np.zeros(h.channels, dtype=np.float32)

    def decode(self, info: int, body: bytes) -> NDArray[np.float64]:
        if info & 0x7F:
            raise FrameError(f"reserved ADPCM info bits set (0x{info:02x})")
        if len(body) < 2:
            raise FrameError("ADPCM packet too short for its sample count")
        (n,) = struct.unpack_from("<H", body, 0)
        if n > self.frame_size:
            raise FrameError(f"ADPCM packet claims {n} samples, stream packets hold {self.frame_size}")
        if n == 0:
            return np.zeros((0, self.channels))
        y = packets.decode_packet(body[2:], self.channels, n)
        self._last = y[-1].copy()
        return y.astype(np.float64)

    def conceal(self) -> NDArray[np.float64]:
        """One packet of concealment: the last sample held and faded."""
        n = self.frame_size
        y = np.repeat(self._last[None, :].astype(np.float64), n, axis=0)
        fade = np.linspace(1.0, aqc.CONCEAL_FADE, n)[:, None]
        self._last = (self._last * aqc.CONCEAL_FADE).astype(np.float32)
        return y * fade
