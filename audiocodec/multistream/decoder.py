"""The multistream decoder: one :class:`audiocodec.core.decoder.MdctDecoder` per sub-stream.

Mirror of :class:`audiocodec.multistream.encoder.MultistreamEncoder`; the
channel mapping and the packet layout are in :mod:`audiocodec.multistream.layout`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ..container import aqc
from ..core import entropy, quant
from ..core.decoder import MdctDecoder
from ..core.layout import FrameStats
from ..errors import FrameError, HeaderError
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
        self._index = 0  # the next packet's index
        self._group = aqc.lfe_group(h)
        if self._group is not None:
            if not lay.lfe:
                raise HeaderError(f"lfe_group record in a {lay.name} stream, which has no LFE")
            if self._group[1] > h.frame_size:
                raise HeaderError(f"lfe_group codes {self._group[1]} bins of a {h.frame_size}-bin frame")
            g, b = self._group
            self._lfe_q = np.zeros((g, b), dtype=np.int32)
            self._lfe_coefs = np.zeros((g, h.frame_size))
            self._lfe_g = np.zeros(1, dtype=np.int32)
            self._lfe_edges = np.array([0, b], dtype=np.int32)
            self._lfe_held = -1  # the group whose sub-packet this decoder decoded

    def _waited(self) -> int:
        return sum(d.frames_waiting for d in self._streams)

    def decode(self, info: int, body: bytes) -> NDArray[np.float64]:
        """Decode one multistream packet's mode bytes (``info``: its TOC byte)."""
        if info & 0x7F:
            raise FrameError(f"reserved multistream TOC bits set (0x{info:02x})")
        subs = unpack_packet(body, len(self._streams))
        for s, p in enumerate(subs[:-1] if self._group is not None else subs):
            if p and p[0] & aqc.INFO_LAST:
                raise FrameError(f"sub-stream {s}'s info byte has the last-packet bit")
        n = self.config.frame_size
        self._held = None
        out = np.zeros((n, self.channels))
        waited = self._waited()
        for s, (dec, cols, p) in enumerate(zip(self._streams, self._columns, subs, strict=True)):
            try:
                if self._group is not None and s == len(self._streams) - 1:
                    out[:, cols] = self._lfe_frame(dec, p)
                else:
                    out[:, cols] = dec.decode(p[0], p[1:]) if p else dec.decode_silent()
            except FrameError:
                if s > 0:  # streams before s took this frame: the others conceal it, to stay in step
                    for later, lcols in zip(self._streams[s:], self._columns[s:], strict=True):
                        out[:, lcols] = later.conceal()
                    self._held = out  # what the caller's conceal() of this packet returns
                raise
        if self._waited() > waited:
            self.frames_waiting += 1
        self._index += 1
        return out

    def _lfe_frame(self, dec: MdctDecoder, p: bytes) -> NDArray[np.float64]:
        """The LFE of this packet in a stream with LFE groups (layout, "LFE groups")."""
        assert self._group is not None
        size = self._group[0]
        j, group = self._index % size, self._index // size
        if j == 0:
            self._lfe_held = -1
            if p:
                body = np.frombuffer(p, dtype=np.uint8)
                mag0, sf0, ms0 = entropy.model_tables()
                if entropy.decode_lfe_group(body, body.shape[0], mag0, sf0, ms0, self._lfe_q,
                                            self._lfe_g) != 0:
                    raise FrameError("LFE group sub-packet does not decode (damaged)")
                b = self._group[1]
                sf = np.full((size, 1), self._lfe_g[0], dtype=np.int32)
                quant.dequantize(self._lfe_q, sf, self._lfe_edges, 1, quant.LAW_UNIFORM,
                                 self._lfe_coefs[:, :b])
            else:
                self._lfe_coefs[:] = 0.0
            self._lfe_held = group
        elif p:
            raise FrameError(f"LFE sub-packet of {len(p)} bytes in packet {self._index}, which "
                             f"does not start an LFE group of {size}")
        if self._lfe_held != group:  # its group's sub-packet was lost, or came before a reset
            return dec.conceal()
        return dec.decode_coefs(self._lfe_coefs[j])

    def set_index(self, index: int) -> None:
        """The packet index of the next packet, in every sub-stream (see MdctDecoder)."""
        for dec in self._streams:
            dec.set_index(index)
        self._index = int(index)

    def conceal(self) -> NDArray[np.float64]:
        """One frame of concealment (after a packet rejected part-way, that packet's frame)."""
        self._index += 1
        if self._held is not None:
            out, self._held = self._held, None
            return out
        out = np.zeros((self.config.frame_size, self.channels))
        for cols, dec in zip(self._columns, self._streams, strict=True):
            out[:, cols] = dec.conceal()
        return out
