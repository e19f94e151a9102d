"""The multistream decoder: one :class:`audiocodec.core.decoder.MdctDecoder` per sub-stream.

Mirror of :class:`audiocodec.multistream.encoder.MultistreamEncoder`; the
channel mapping and the packet layout are in :mod:`audiocodec.multistream.layout`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ..container import aqc
from ..core.decoder import MdctDecoder
from ..core.layout import FrameStats
from ..errors import FrameError
from .layout import check_channel_map, sub_header, unpack_packet


class MultistreamDecoder:
    """Per-stream state of a 3..8-channel MDCT stream: its sub-stream decoders."""

    conceals_tail = True

    def __init__(self, h: aqc.StreamHeader, observer: Callable[[FrameStats], None] | None = None):
        self.layout = lay = check_channel_map(h)
        self.channels = h.channels
        self._streams = [MdctDecoder(sub_header(h, lay, s), observer) for s in range(lay.streams)]
        self._columns = [np.asarray(lay.wav_columns(s), np.intp) for s in range(lay.streams)]
        self.config = self._streams[0].config
        self._held: NDArray[np.float64] | None = None
        self.frames_waiting = 0  # packets a sub-stream concealed for want of a reference

    def _waited(self) -> int:
        return sum(d.frames_waiting for d in self._streams)

    def decode(self, info: int, body: bytes) -> NDArray[np.float64]:
        """Decode one multistream packet's mode bytes (``info``: its TOC byte)."""
        if info & 0x7F:
            raise FrameError(f"reserved multistream TOC bits set (0x{info:02x})")
        subs = unpack_packet(body, len(self._streams))
        for s, p in enumerate(subs):
            if p and p[0] & aqc.INFO_LAST:
                raise FrameError(f"sub-stream {s}'s info byte has the last-packet bit")
        n = self.config.frame_size
        self._held = None
        out = np.zeros((n, self.channels))
        waited = self._waited()
        for s, (dec, cols, p) in enumerate(zip(self._streams, self._columns, subs, strict=True)):
            try:
                out[:, cols] = dec.decode(p[0], p[1:]) if p else dec.decode_silent()
            except FrameError:
                if s > 0:  # streams before s took this frame: the others conceal it, to stay in step
                    for later, lcols in zip(self._streams[s:], self._columns[s:], strict=True):
                        out[:, lcols] = later.conceal()
                    self._held = out  # what the caller's conceal() of this packet returns
                raise
        if self._waited() > waited:
            self.frames_waiting += 1
        return out

    def set_index(self, index: int) -> None:
        """The packet index of the next packet, in every sub-stream (see MdctDecoder)."""
        for dec in self._streams:
            dec.set_index(index)

    def conceal(self) -> NDArray[np.float64]:
        """One frame of concealment (after a packet rejected part-way, that packet's frame)."""
        if self._held is not None:
            out, self._held = self._held, None
            return out
        out = np.zeros((self.config.frame_size, self.channels))
        for cols, dec in zip(self._columns, self._streams, strict=True):
            out[:, cols] = dec.conceal()
        return out
