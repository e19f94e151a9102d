"""The jitter buffer: RTP datagrams in, decoded PCM blocks out, in stream order; no sockets.

Packets are ordered by RTP sequence number (16-bit, unwrapped). A missing
sequence number is given up on once ``depth`` later packets have arrived or it
is ``max_wait`` seconds overdue; how many *audio* packets the gap held comes
from the timestamps on either side (a lost control packet holds none), and
those are concealed (``Decoder.decode(None)``), never skipped, so the decoded
timeline stays aligned with the sender's. A packet arriving after its slot
was given up is dropped as late.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..container.aqc import MAX_GAP_CONCEAL
from ..errors import StreamError
from .rtp import (
    CONTROL_END,
    CONTROL_HEADER,
    DEFAULT_CONTROL_PT,
    DEFAULT_PT,
    RtpPacket,
    parse_control,
    parse_rtp,
    unwrap,
)

__all__ = ["ReceiveStats", "Receiver"]


@dataclass
class ReceiveStats:
    header_received: bool = False
    stream_id: int | None = None  # the RTP SSRC (= the stream serial)
    sample_rate: int = 0
    channels: int = 0
    frame_size: int = 0
    packets_received: int = 0
    packets_decoded: int = 0
    packets_concealed: int = 0
    packets_recovered: int = 0  # lost packets decoded from the next packet's FEC copy
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
    concealed_seqs: list[int] = field(default_factory=list)  # audio packet indices concealed
    playback: dict[str, Any] | None = None  # what the extra sink's close() reported (--play)


class Receiver:
    """Jitter buffer plus decoder: RTP datagrams in, PCM blocks out, no sockets.

    ``feed(datagram, now)`` and ``poll(now)`` return the blocks that became
    ready, in stream order, each ``(frames, channels)`` float32; ``finish()``
    conceals what is still missing up to the end of the stream. ``header``
    (from an SDP file) starts the decoder before any in-band header arrives.
    """

    def __init__(
        self,
        *,
        max_wait: float = 0.06,
        depth: int | None = None,
        decoder_factory: Callable[[bytes], Any] | None = None,
        max_pending: int = 4096,
        header: bytes | None = None,
        payload_type: int = DEFAULT_PT,
        control_type: int = DEFAULT_CONTROL_PT,
    ) -> None:
        self.max_wait = max_wait
        self._depth_opt = depth
        self.depth = depth or 2
        self._factory = decoder_factory
        self._max_pending = max_pending
        self._pt, self._cpt = payload_type, control_type
        self.stats = ReceiveStats()
        self.decoder: Any = None
        self._next: int | None = None  # unwrapped seq of the next packet to play
        self._pending: dict[int, RtpPacket] = {}
        self._early: dict[int, RtpPacket] = {}  # 16-bit seq -> packet, before the start is known
        self._early_since: float | None = None
        self._gap_since: float | None = None
        self._first: tuple[int, int] | None = None  # (first_ts, first_seq) of the stream
        self._ts_ref: int | None = None  # unwrapped timestamp of audio index 0
        self._next_idx: int | None = None  # audio index of the next audio packet
        self._skipped = 0  # sequence numbers given up on since the last one played
        self._end_idx: int | None = None
        self._end_frames: int | None = None
        self._started_at_zero = False
        self._held: list[np.ndarray] = []
        self._holdback = 0
        if header is not None:
            self._make_decoder(header)

    # ---- input

    def feed(self, data: bytes, now: float) -> list[np.ndarray]:
        try:
            pkt = parse_rtp(data)
            if pkt.pt not in (self._pt, self._cpt):
                raise StreamError(f"RTP payload type {pkt.pt} is neither {self._pt} nor {self._cpt}")
            control = parse_control(pkt.payload) if pkt.pt == self._cpt else None
        except StreamError:
            self.stats.datagrams_invalid += 1
            return []
        if self.stats.stream_id is None:
            self.stats.stream_id = pkt.ssrc
        elif pkt.ssrc != self.stats.stream_id:
            self.stats.datagrams_foreign += 1
            return []
        if control is None:
            self.stats.packets_received += 1
            if pkt.marker and self._first is None:
                self._first = (pkt.timestamp, pkt.seq)
        elif control[0] == CONTROL_HEADER:
            self.stats.headers_seen += 1
            if self._first is None:
                self._first = (control[1], control[2])
            if self.decoder is None:
                self._make_decoder(control[3])  # StreamError propagates: a bad header is fatal
        if self._next is None:
            self._hold_early(pkt, control is not None and control[0] == CONTROL_HEADER, now)
        else:
            self._insert(pkt)
        return self.poll(now)

    def _make_decoder(self, header: bytes) -> None:
        factory = self._factory
        if factory is None:
            from .. import Decoder

            factory = Decoder
        self.decoder = factory(header)
        self.stats.header_received = True
        self.stats.sample_rate = int(self.decoder.sample_rate)
        self.stats.channels = int(self.decoder.channels)
        self.stats.frame_size = int(self.decoder.frame_size)
        self._holdback = 2 * self.stats.frame_size + int(self.decoder.delay)
        if self._depth_opt is None:
            per_second = self.stats.sample_rate / self.stats.frame_size
            self.depth = max(2, math.ceil(self.max_wait * per_second))

    def _hold_early(self, pkt: RtpPacket, is_header: bool, now: float) -> None:
        if is_header and self.decoder is not None:  # applied already; decoding starts after it
            self._start(pkt.seq + 1)
            return
        if pkt.seq in self._early:
            self.stats.packets_duplicate += 1
        elif len(self._early) < self._max_pending:
            self._early[pkt.seq] = pkt
        if self._early_since is None:
            self._early_since = now
        if self.decoder is not None and (pkt.marker or len(self._early) > self.depth):
            self._start(pkt.seq)

    def _start(self, next_seq: int) -> None:
        """Begin playing at ``next_seq``, or earlier if packets from before it were kept; a
        stream joined within a few packets of its start begins at its first packet."""
        start = min([next_seq] + [unwrap(s, next_seq, 16) for s in self._early])
        if self._first is not None:
            first = unwrap(self._first[1], start, 16)
            # header packets before the first audio one, or joined within a few packets of it
            if start <= first or (start < next_seq and start <= first + 2 * self.depth):
                start = first
            self._started_at_zero = start == first
            self._ts_ref = self._first[0]
            if self._started_at_zero:
                self._next_idx = 0
        self._next = start
        early, self._early = self._early, {}
        for pkt in early.values():
            self._insert(pkt)

    def _insert(self, pkt: RtpPacket) -> None:
        assert self._next is not None
        seq = unwrap(pkt.seq, self._next, 16)
        audio = pkt.pt == self._pt
        if seq < self._next:
            self.stats.packets_late += audio
            return
        if seq in self._pending:
            self.stats.packets_duplicate += audio
            return
        if audio and self._pending and seq < max(self._pending):
            self.stats.packets_out_of_order += 1
        if len(self._pending) < self._max_pending:
            self._pending[seq] = pkt

    # ---- output

    def poll(self, now: float) -> list[np.ndarray]:
        """Play what is ready and give up on what the jitter buffer waited for long enough."""
        out: list[np.ndarray] = []
        if self._next is None:
            if self.decoder is not None and self._early and self._early_since is not None \
                    and now - self._early_since >= self.max_wait:
                self._start(min(self._early, key=lambda s: unwrap(s, next(iter(self._early)), 16)))
            else:
                return out
        assert self._next is not None
        while True:
            if self._next in self._pending:
                out += self._play(self._pending.pop(self._next), self._next)
                self._next += 1
                self._gap_since = None
                continue
            if not self._pending:
                self._gap_since = None
                break
            if self._gap_since is None:
                self._gap_since = now
            if max(self._pending) - self._next >= self.depth or now - self._gap_since >= self.max_wait:
                self._next += 1
                self._skipped += 1
                continue
            break
        return self._trim(out)

    def _index(self, ts: int) -> int:
        assert self._ts_ref is not None
        delta = (ts - self._ts_ref + (1 << 31)) % (1 << 32) - (1 << 31)
        return delta // self.stats.frame_size

    def _play(self, pkt: RtpPacket, seq: int) -> list[np.ndarray]:
        """Conceal the audio packets a gap before ``pkt`` (sequence number ``seq``, unwrapped)
        held, then decode or apply it."""
        audio = pkt.pt == self._pt
        if self._ts_ref is None:  # joined mid-stream without the stream's first timestamp
            self._ts_ref = pkt.timestamp
        idx = self._index(pkt.timestamp)
        if self._next_idx is None:
            self._next_idx = idx
            if self._first is not None and idx > 0:
                self.decoder.start_at(idx * self.stats.frame_size)
        out: list[np.ndarray] = []
        lost = idx - self._next_idx
        if lost < 0 and audio:
            self.stats.packets_late += 1
            return out
        gap = max(0, min(lost, self._skipped, MAX_GAP_CONCEAL))
        # the gap's last packet may come back from the FEC copy in the audio packet after it:
        # this one, or (a header resent in between) the next datagram if it has arrived
        follow = pkt if audio else self._pending.get(seq + 1)
        nxt = (follow.payload if follow is not None and follow.pt == self._pt
               and self._index(follow.timestamp) == idx and gap == lost else None)
        for i in range(gap):
            out.append(self._conceal(nxt if i == gap - 1 else None))
        self._skipped = 0
        self._next_idx = max(self._next_idx, idx)
        if audio:
            out.append(self._decode(pkt.payload))
            self._next_idx = idx + 1
        elif pkt.payload[:1] == bytes([CONTROL_END]):
            self._end_idx = idx
            self._end_frames = parse_control(pkt.payload)[1]
            self.stats.ended = True
        return out

    def finish(self) -> list[np.ndarray]:
        """End of stream (or timeout): conceal every gap up to the last packet."""
        out: list[np.ndarray] = []
        if self._next is None:
            return out
        while self._pending:
            seq = min(self._pending)
            self._skipped += seq - self._next
            self._next = seq + 1
            out += self._play(self._pending.pop(seq), seq)
        return self._trim(out, final=True)

    @property
    def started(self) -> bool:
        """The stream header has arrived: ``decoder`` and the format in ``stats`` are set."""
        return self.decoder is not None

    @property
    def done(self) -> bool:
        """The end packet has been played: every audio packet before it is played or concealed."""
        return self._end_idx is not None

    def _decode(self, packet: bytes) -> np.ndarray:
        try:
            pcm = self.decoder.decode(packet)
            self.stats.packets_decoded += 1
        except StreamError:
            self.stats.packets_corrupt += 1
            pcm = self.decoder.decode(None)
        return pcm

    def _conceal(self, next_packet: bytes | None = None) -> np.ndarray:
        assert self._next_idx is not None
        before = self.decoder.frames_recovered
        pcm = self.decoder.decode(None, next_packet=next_packet)
        if self.decoder.frames_recovered > before:
            self.stats.packets_recovered += 1
        else:
            self.stats.packets_concealed += 1
            if len(self.stats.concealed_seqs) < 100000:
                self.stats.concealed_seqs.append(self._next_idx)
        self._next_idx += 1
        return pcm

    def _trim(self, blocks: list[np.ndarray], final: bool = False) -> list[np.ndarray]:
        """Release decoded blocks, cutting the encoder's flush tail at the end.

        The sender states the input length in its end packet, after the flush
        packets, so the last ``2 * frame_size + delay`` frames are held back until
        it is known (or the stream is finished without it).
        """
        self._held.extend(b for b in blocks if len(b))
        limit = self._end_frames if (self._started_at_zero and self._end_frames) else None
        keep = 0 if (final or limit is not None) else self._holdback
        out = []
        while self._held and sum(len(b) for b in self._held) - len(self._held[0]) >= keep:
            block = self._held.pop(0)
            if limit is not None:
                block = block[: max(0, limit - self.stats.frames_out)]
            if len(block):
                self.stats.frames_out += len(block)
                out.append(block)
        return out
