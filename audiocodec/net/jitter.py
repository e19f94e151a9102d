"""The jitter buffer: datagrams in, decoded PCM blocks out, in stream order; no sockets.

Lost packets are concealed, never skipped, so the decoded timeline stays aligned
with the sender's: a packet still missing when the jitter buffer gives up on it
(``depth`` later packets have arrived, or it is ``max_wait`` seconds overdue)
becomes ``Decoder.decode(None)``; if it arrives after that it is dropped as late.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import StreamError
from .datagram import TYPE_DATA, TYPE_HEADER, parse_datagram, unwrap_seq

__all__ = ["ReceiveStats", "Receiver"]


@dataclass
class ReceiveStats:
    header_received: bool = False
    stream_id: int | None = None
    sample_rate: int = 0
    channels: int = 0
    frame_size: int = 0
    packets_received: int = 0
    packets_decoded: int = 0
    packets_concealed: int = 0
    packets_late: int = 0
    packets_duplicate: int = 0
    packets_corrupt: int = 0
    packets_out_of_order: int = 0
    datagrams_invalid: int = 0
    datagrams_foreign: int = 0
    headers_seen: int = 0
    frames_out: int = 0
    ended: bool = False
    timed_out: bool = False
    concealed_seqs: list[int] = field(default_factory=list)
    playback: dict[str, Any] | None = None  # what the extra sink's close() reported (--play)


class Receiver:
    """Jitter buffer plus decoder: datagrams in, PCM blocks out, no sockets.

    ``feed(datagram, now)`` and ``poll(now)`` return the blocks that became
    ready, in stream order, each ``(frames, channels)`` float32; ``finish()``
    conceals what is still missing up to the end of the stream.

    A packet is played when it and all before it are here; a missing one is
    concealed once ``depth`` packets after it have arrived or it has been
    overdue for ``max_wait`` seconds (``depth`` defaults to ``max_wait`` worth
    of packets, at least 2).
    """

    def __init__(
        self,
        *,
        max_wait: float = 0.06,
        depth: int | None = None,
        decoder_factory: Callable[[bytes], Any] | None = None,
        max_pending: int = 4096,
    ) -> None:
        self.max_wait = max_wait
        self._depth_opt = depth
        self.depth = depth or 2
        self._factory = decoder_factory
        self._max_pending = max_pending
        self.stats = ReceiveStats()
        self.decoder: Any = None
        self._next: int | None = None  # unwrapped seq of the next packet to play
        self._pending: dict[int, bytes] = {}  # unwrapped seq -> packet
        self._early: dict[int, bytes] = {}  # 32-bit seq -> packet, before the header came
        self._gap_since: float | None = None  # when the packet at _next became overdue
        self._end_packets: int | None = None
        self._end_frames: int | None = None
        self._started_at_zero = False
        self._held: list[np.ndarray] = []  # decoded blocks not yet released (see _trim)
        self._holdback = 0

    # ---- input

    def feed(self, data: bytes, now: float) -> list[np.ndarray]:
        try:
            dg = parse_datagram(data)
        except StreamError:
            self.stats.datagrams_invalid += 1
            return []
        if self.stats.stream_id is None:
            self.stats.stream_id = dg.stream_id
        elif dg.stream_id != self.stats.stream_id:
            self.stats.datagrams_foreign += 1
            return []
        if dg.kind == TYPE_HEADER:
            self.stats.headers_seen += 1
            if self.decoder is None:
                self._start(dg.payload, dg.seq)
        elif dg.kind == TYPE_DATA:
            self._add(dg.seq, dg.payload)
        else:
            self._end_packets = dg.seq
            self._end_frames = dg.frames
            self.stats.ended = True
        return self.poll(now)

    def _start(self, header: bytes, next_seq: int) -> None:
        factory = self._factory
        if factory is None:
            from .. import Decoder

            factory = Decoder
        self.decoder = factory(header)  # StreamError propagates: a bad header is fatal
        self.stats.header_received = True
        self.stats.sample_rate = int(self.decoder.sample_rate)
        self.stats.channels = int(self.decoder.channels)
        self.stats.frame_size = int(self.decoder.frame_size)
        self._holdback = 2 * self.stats.frame_size + int(self.decoder.delay)
        if self._depth_opt is None:
            per_second = self.stats.sample_rate / self.stats.frame_size
            self.depth = max(2, math.ceil(self.max_wait * per_second))
        # Start where the header says, or earlier if packets from before it were
        # kept. A stream joined at (or within a few packets of) its start begins
        # at 0, so that even its first packets are concealed if they were lost.
        start = next_seq
        if self._early:
            start = min(start, *(unwrap_seq(s, next_seq) for s in self._early))
        if start < next_seq and start <= 2 * self.depth:
            start = 0
        self._next = start
        self._started_at_zero = start == 0
        early, self._early = self._early, {}
        for seq32, packet in early.items():
            self._insert(seq32, packet)

    def _add(self, seq32: int, packet: bytes) -> None:
        self.stats.packets_received += 1
        if self._next is not None:
            self._insert(seq32, packet)
        elif seq32 in self._early:
            self.stats.packets_duplicate += 1
        elif len(self._early) < self._max_pending:
            self._early[seq32] = packet

    def _insert(self, seq32: int, packet: bytes) -> None:
        assert self._next is not None
        seq = unwrap_seq(seq32, self._next)
        if seq < self._next:
            self.stats.packets_late += 1
            return
        if seq in self._pending:
            self.stats.packets_duplicate += 1
            return
        if self._pending and seq < max(self._pending):
            self.stats.packets_out_of_order += 1
        if len(self._pending) >= self._max_pending:
            return
        self._pending[seq] = packet

    # ---- output

    def poll(self, now: float) -> list[np.ndarray]:
        """Play what is ready and conceal what the jitter buffer gave up on."""
        out: list[np.ndarray] = []
        if self._next is None:
            return out
        while True:
            if self._next in self._pending:
                out.append(self._decode(self._pending.pop(self._next)))
                self._next += 1
                self._gap_since = None
                continue
            newest = max(self._pending) if self._pending else None
            if self._end_packets is not None:
                end = self._end_limit()
                if self._next >= end:
                    break
                newest = end - 1 if newest is None else max(newest, end - 1)
            if newest is None:
                self._gap_since = None
                break
            if self._gap_since is None:
                self._gap_since = now
            if newest - self._next >= self.depth or now - self._gap_since >= self.max_wait:
                out.append(self._conceal())
                continue
            break
        return self._trim(out)

    def finish(self) -> list[np.ndarray]:
        """End of stream (or timeout): conceal every gap up to the last packet."""
        out: list[np.ndarray] = []
        if self._next is None:
            return out
        last = (
            self._end_limit()
            if self._end_packets is not None
            else (max(self._pending) + 1 if self._pending else self._next)
        )
        while self._next < last:
            if self._next in self._pending:
                out.append(self._decode(self._pending.pop(self._next)))
                self._next += 1
            else:
                out.append(self._conceal())
        self._pending.clear()
        return self._trim(out, final=True)

    @property
    def started(self) -> bool:
        """The stream header has arrived: ``decoder`` and the format in ``stats`` are set."""
        return self.decoder is not None

    @property
    def done(self) -> bool:
        """The end datagram has come and every packet up to it is played or concealed."""
        return self.stats.ended and self._end_limit() <= (self._next or 0)

    def _end_limit(self) -> int:
        assert self._end_packets is not None and self._next is not None
        return unwrap_seq(self._end_packets, self._next)

    def _decode(self, packet: bytes) -> np.ndarray:
        try:
            pcm = self.decoder.decode(packet)
            self.stats.packets_decoded += 1
        except StreamError:
            self.stats.packets_corrupt += 1
            pcm = self.decoder.decode(None)
        return pcm

    def _conceal(self) -> np.ndarray:
        assert self._next is not None
        self.stats.packets_concealed += 1
        if len(self.stats.concealed_seqs) < 100000:
            self.stats.concealed_seqs.append(self._next)
        self._next += 1
        self._gap_since = None
        return self.decoder.decode(None)

    def _trim(self, blocks: list[np.ndarray], final: bool = False) -> list[np.ndarray]:
        """Release decoded blocks, cutting the encoder's flush tail at the end.

        The sender states the input length only in its end datagram, after the
        flush packets, so the last ``2 * frame_size + delay`` frames are held
        back until it is known (or the stream is finished without it).
        """
        self._held.extend(b for b in blocks if len(b))
        limit = self._end_frames if (self._started_at_zero and self._end_frames) else None
        keep = 0 if (final or limit is not None) else self._holdback
        out = []
        while self._held and self._held_frames() - len(self._held[0]) >= keep:
            block = self._held.pop(0)
            if limit is not None:
                block = block[: max(0, limit - self.stats.frames_out)]
            if len(block):
                self.stats.frames_out += len(block)
                out.append(block)
        return out

    def _held_frames(self) -> int:
        return sum(len(b) for b in self._held)

