"""Streaming coded audio over UDP: ``audiocodec send`` and ``audiocodec receive``.

This module owns the network transport: datagram framing, the sender's pacing
and resending of the stream header, the receiver's jitter buffer (reordering,
late and duplicate packets) and the hand-off of gaps to the decoder's
concealment (``Decoder.decode(None)``). It never touches a sound card.

Datagram format (one codec packet per datagram, all integers big-endian)::

    offset size field
    0      2    magic      b"AQ"
    2      1    version    1
    3      1    type       b"H" header, b"D" data, b"E" end of stream
    4      4    stream_id  u32, random per sender run; a receiver locks onto the
                           first stream_id it sees and ignores all others
    -- type H (stream header, resent periodically so a late or unlucky
       receiver still gets it) --
    8      4    next_seq   u32, sequence number of the next data datagram
    12     ...  header     the Encoder's stream-header packet (``Encoder.header``)
    -- type D (one codec packet) --
    8      4    seq        u32, 0 for the first packet, +1 per packet (mod 2**32)
    12     ...  packet     one codec packet (``Encoder.encode`` output)
    -- type E (end of stream, sent a few times) --
    8      4    packets    u32, number of data packets sent
    12     8    frames     u64, frames of audio that went into the encoder

A datagram is valid if it is at least as long as its fixed fields and its magic
and version match; anything else is counted and ignored. The receiver trusts
nothing else about the sender: the codec validates the header and the packets.

Lost packets are concealed, never skipped, so the decoded timeline stays aligned
with the sender's: a packet still missing when the jitter buffer gives up on it
(``depth`` later packets have arrived, or it is ``max_wait`` seconds overdue)
becomes ``Decoder.decode(None)``; if it arrives after that it is dropped as late.

The sender can impair its own channel for tests (``loss``, ``reorder``): that
is where a real network would lose and reorder datagrams.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .errors import InputError, StreamError

__all__ = [
    "Channel",
    "ReceiveStats",
    "Receiver",
    "SendStats",
    "add_receive_arguments",
    "add_send_arguments",
    "pack_data",
    "pack_end",
    "pack_header",
    "parse_datagram",
    "receive_to_file",
    "run_receive",
    "run_send",
    "send_file",
]

MAGIC = b"AQ"
VERSION = 1
TYPE_HEADER = ord("H")
TYPE_DATA = ord("D")
TYPE_END = ord("E")
_PREFIX = struct.Struct(">2sBBI")  # magic, version, type, stream_id
_SEQ = struct.Struct(">I")
_END = struct.Struct(">IQ")
PREFIX_SIZE = _PREFIX.size  # 8
MAX_DATAGRAM = 65507  # largest UDP payload over IPv4
_SEQ_MOD = 1 << 32


# --------------------------------------------------------------------------- framing


def pack_header(stream_id: int, next_seq: int, header: bytes) -> bytes:
    return _PREFIX.pack(MAGIC, VERSION, TYPE_HEADER, stream_id) + _SEQ.pack(next_seq % _SEQ_MOD) + header


def pack_data(stream_id: int, seq: int, packet: bytes) -> bytes:
    return _PREFIX.pack(MAGIC, VERSION, TYPE_DATA, stream_id) + _SEQ.pack(seq % _SEQ_MOD) + packet


def pack_end(stream_id: int, packets: int, frames: int) -> bytes:
    return _PREFIX.pack(MAGIC, VERSION, TYPE_END, stream_id) + _END.pack(packets % _SEQ_MOD, frames)


@dataclass(frozen=True)
class Datagram:
    kind: int  # TYPE_HEADER, TYPE_DATA or TYPE_END
    stream_id: int
    seq: int  # H: next_seq, D: seq, E: packet count (all mod 2**32)
    payload: bytes = b""  # H: stream header, D: codec packet
    frames: int = 0  # E only


def parse_datagram(data: bytes) -> Datagram:
    """Split one datagram into its fields; raise StreamError if it is not ours."""
    if len(data) < PREFIX_SIZE + _SEQ.size:
        raise StreamError(
            f"datagram of {len(data)} bytes is shorter than the {PREFIX_SIZE + _SEQ.size}-byte minimum"
        )
    magic, version, kind, stream_id = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise StreamError(f"datagram magic is {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise StreamError(f"datagram version is {version}, expected {VERSION}")
    if kind == TYPE_END:
        if len(data) < PREFIX_SIZE + _END.size:
            raise StreamError(f"end datagram of {len(data)} bytes, expected {PREFIX_SIZE + 12}")
        packets, frames = _END.unpack_from(data, PREFIX_SIZE)
        return Datagram(kind, stream_id, packets, b"", frames)
    if kind not in (TYPE_HEADER, TYPE_DATA):
        raise StreamError(f"datagram type is {kind}, expected one of H, D, E")
    (seq,) = _SEQ.unpack_from(data, PREFIX_SIZE)
    return Datagram(kind, stream_id, seq, bytes(data[PREFIX_SIZE + _SEQ.size :]))


def _unwrap(seq32: int, reference: int) -> int:
    """Map a 32-bit sequence number to the unwrapped value nearest ``reference``."""
    delta = (seq32 - reference) % _SEQ_MOD
    if delta >= _SEQ_MOD // 2:
        delta -= _SEQ_MOD
    return reference + delta


# --------------------------------------------------------------------------- sender


class Channel:
    """An impaired datagram channel: drops with probability ``loss`` and holds a
    datagram back behind the next 1-3 with probability ``reorder``. Seeded, so a
    test sees the same impairment every run."""

    def __init__(
        self,
        send: Callable[[bytes], None],
        *,
        loss: float = 0.0,
        reorder: float = 0.0,
        seed: int = 0,
    ) -> None:
        for name, value in (("loss", loss), ("reorder", reorder)):
            if not 0.0 <= value < 1.0:
                raise InputError(f"{name} must be in [0, 1), got {value}")
        self._send = send
        self._loss = loss
        self._reorder = reorder
        self._rng = random.Random(seed)
        self._held: list[list[Any]] = []  # [datagrams still to pass, datagram]
        self.sent = 0
        self.dropped = 0
        self.reordered = 0

    def __call__(self, datagram: bytes) -> None:
        if self._loss and self._rng.random() < self._loss:
            self.dropped += 1
        elif self._reorder and self._rng.random() < self._reorder:
            self.reordered += 1
            self._held.append([self._rng.randint(1, 3), datagram])
        else:
            self._emit(datagram)
        still: list[list[Any]] = []
        for entry in self._held:
            entry[0] -= 1
            if entry[0] < 0:
                self._emit(entry[1])
            else:
                still.append(entry)
        self._held = still

    def flush(self) -> None:
        for _, datagram in self._held:
            self._emit(datagram)
        self._held = []

    def _emit(self, datagram: bytes) -> None:
        self._send(datagram)
        self.sent += 1


@dataclass
class SendStats:
    packets: int = 0
    frames: int = 0
    payload_bytes: int = 0
    datagrams_sent: int = 0
    datagrams_dropped: int = 0
    datagrams_reordered: int = 0
    header_sends: int = 0
    seconds: float = 0.0
    bitrate_kbps: float = 0.0


def _read_blocks(path: str, blocksize: int) -> tuple[int, int, Iterator[np.ndarray]]:
    import soundfile as sf

    try:
        f = sf.SoundFile(path)
    except (RuntimeError, OSError) as exc:
        raise InputError(f"cannot read {path!r}: {exc}") from exc

    def blocks() -> Iterator[np.ndarray]:
        with f:
            while True:
                block = f.read(blocksize, dtype="float32", always_2d=True)
                if len(block) == 0:
                    return
                yield block

    return int(f.samplerate), int(f.channels), blocks()


def send_packets(
    send: Callable[[bytes], None],
    header: bytes,
    packets: Iterable[tuple[bytes, int]],
    *,
    frame_size: int,
    sample_rate: int,
    speed: float = 1.0,
    header_interval: float = 0.5,
    stream_id: int | None = None,
    stats: SendStats | None = None,
) -> SendStats:
    """Send a stream: header (3 times), the data packets paced at ``speed`` times
    real time with the header resent every ``header_interval`` seconds of audio,
    then the end datagram (3 times). ``packets`` yields ``(packet, frames_in)``
    pairs, ``frames_in`` counting the input frames consumed so far."""
    stats = stats if stats is not None else SendStats()
    sid = stream_id if stream_id is not None else random.getrandbits(32)
    hop_seconds = frame_size / sample_rate
    every = max(1, round(header_interval / hop_seconds))
    t0 = time.monotonic()

    def send_header(next_seq: int) -> None:
        send(pack_header(sid, next_seq, header))
        stats.header_sends += 1

    for _ in range(3):
        send_header(0)
    seq = 0
    for packet, frames_in in packets:
        if len(packet) + PREFIX_SIZE + _SEQ.size > MAX_DATAGRAM:
            raise InputError(f"codec packet of {len(packet)} bytes does not fit a UDP datagram")
        if seq and seq % every == 0:
            send_header(seq)
        if speed > 0:
            due = t0 + seq * hop_seconds / speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        send(pack_data(sid, seq, packet))
        seq += 1
        stats.packets = seq
        stats.frames = frames_in
        stats.payload_bytes += len(packet)
    flush = getattr(send, "flush", None)
    if flush is not None:  # a Channel still holding reordered datagrams
        flush()
    send_header(seq)
    for _ in range(3):
        send(pack_end(sid, seq, stats.frames))
        time.sleep(0.01)
    stats.seconds = time.monotonic() - t0
    if stats.packets:
        stats.bitrate_kbps = stats.payload_bytes * 8 / (stats.packets * hop_seconds) / 1000
    return stats


def send_file(
    path: str,
    host: str,
    port: int,
    *,
    mode: str = "mdct",
    bitrate: int = 64000,
    low_delay: bool = False,
    frame_size: int | None = None,
    speed: float = 1.0,
    loss: float = 0.0,
    reorder: float = 0.0,
    seed: int = 0,
    header_interval: float = 0.5,
    serial: int | None = None,
) -> SendStats:
    """Encode the audio file ``path`` and stream it to ``host:port`` over UDP.

    ``serial`` fixes the codec's stream serial (random by default), which makes
    the packets reproducible for tests.
    """
    from . import Encoder  # the codec core; imported late so this module loads on its own

    sample_rate, channels, blocks = _read_blocks(path, 4096)
    extra: dict[str, Any] = {} if serial is None else {"serial": serial}
    enc = Encoder(sample_rate, channels, bitrate=bitrate, mode=mode, low_delay=low_delay,
                  frame_size=frame_size, **extra)
    try:
        addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except socket.gaierror as exc:
        raise InputError(f"cannot resolve {host!r}: {exc}") from exc
    stats = SendStats()
    with socket.socket(addr[0], socket.SOCK_DGRAM) as sock:

        def raw_send(datagram: bytes) -> None:
            try:
                sock.sendto(datagram, addr[4])
            except OSError:  # e.g. ICMP port unreachable reported late; UDP goes on
                pass

        channel = Channel(raw_send, loss=loss, reorder=reorder, seed=seed)

        def packets() -> Iterator[tuple[bytes, int]]:
            frames = 0
            for block in blocks:
                frames += len(block)
                for packet in enc.encode(block):
                    yield packet, frames
            for packet in enc.flush():
                yield packet, frames

        send_packets(
            channel,
            enc.header,
            packets(),
            frame_size=int(enc.frame_size),
            sample_rate=sample_rate,
            speed=speed,
            header_interval=header_interval,
            stats=stats,
        )
        channel.flush()
    stats.datagrams_sent = channel.sent
    stats.datagrams_dropped = channel.dropped
    stats.datagrams_reordered = channel.reordered
    return stats


# --------------------------------------------------------------------------- receiver


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
    playback: dict[str, Any] | None = None  # app.play.PlayStats with --play


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
            from . import Decoder

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
            start = min(start, *(_unwrap(s, next_seq) for s in self._early))
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
        seq = _unwrap(seq32, self._next)
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

    def _end_limit(self) -> int:
        assert self._end_packets is not None and self._next is not None
        return _unwrap(self._end_packets, self._next)

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


def open_receiver_socket(port: int, bind: str = "0.0.0.0") -> socket.socket:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        sock.bind((bind, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {bind}:{port}: {exc}") from exc
    return sock


def receive(
    sock: socket.socket,
    sink: Callable[[np.ndarray], None],
    *,
    timeout: float = 5.0,
    max_wait: float = 0.06,
    depth: int | None = None,
    on_start: Callable[[Receiver], None] | None = None,
) -> ReceiveStats:
    """Receive one stream from ``sock`` and pass its decoded blocks to ``sink``.

    Returns at the end datagram, or after ``timeout`` seconds without a datagram
    of our stream (before the header arrives, that is an error).
    """
    rx = Receiver(max_wait=max_wait, depth=depth)
    poll_interval = max(0.002, min(max_wait / 4, 0.02))
    sock.settimeout(poll_interval)
    last_heard = time.monotonic()
    started = False
    while True:
        now = time.monotonic()
        try:
            data = sock.recv(MAX_DATAGRAM + 1)
        except TimeoutError:
            data = None
        now = time.monotonic()
        blocks = rx.poll(now) if data is None else rx.feed(data, now)
        if data is not None and rx.stats.stream_id is not None:
            last_heard = now
        if rx.decoder is not None and not started:
            started = True
            if on_start is not None:
                on_start(rx)
        for block in blocks:
            sink(block)
        if rx.stats.ended and rx._end_limit() <= (rx._next or 0):
            break
        if now - last_heard > timeout:
            rx.stats.timed_out = True
            break
    if rx.decoder is None:
        raise StreamError(f"no stream header received within {timeout:g} s")
    for block in rx.finish():
        sink(block)
    return rx.stats


def receive_to_file(
    path: str | None,
    port: int,
    *,
    bind: str = "0.0.0.0",
    timeout: float = 5.0,
    max_wait: float = 0.06,
    sock: socket.socket | None = None,
    force: bool = False,
    play: dict[str, Any] | None = None,
) -> ReceiveStats:
    """Receive one stream on ``port``; write it to the audio file ``path`` and/or play it.

    The file is written to a temp file beside ``path`` and renamed into place when the
    stream ends, or when Ctrl-C stops a capture that has started (what arrived is kept;
    the KeyboardInterrupt is re-raised after the rename). An existing ``path`` needs
    ``force``; its extension picks the format (``.wav``, ``.flac``, ...). ``play``
    (keyword arguments of :class:`app.play.Player`, e.g. ``{"hostapi": "JACK"}``) also
    plays the stream on an output device; its statistics land in ``stats.playback``.
    """
    import contextlib

    import soundfile as sf

    from .api import atomic_output, output_format

    fmt = "" if path is None else output_format(path)
    own = sock is None
    sock = sock if sock is not None else open_receiver_socket(port, bind)
    out: list[Any] = []
    players: list[Any] = []
    tmp: str | None = None

    def on_start(rx: Receiver) -> None:
        if tmp is not None and path is not None:
            subtype = "FLOAT" if sf.check_format(fmt, "FLOAT") else None
            try:
                out.append(sf.SoundFile(tmp, "w", rx.stats.sample_rate, rx.stats.channels,
                                        subtype=subtype, format=fmt))
            except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
                raise InputError(f"cannot write {path!r}: {exc}") from exc
        if play is not None:
            from app.play import Player

            players.append(Player(rx.stats.sample_rate, rx.stats.channels, **play))

    def sink(block: np.ndarray) -> None:
        if out:
            out[0].write(block)
        if players:
            players[0].write(block)

    interrupted = False
    stats: ReceiveStats | None = None
    try:
        with contextlib.ExitStack() as stack:
            if path is not None:
                tmp = stack.enter_context(atomic_output(path, force=force))
            if play is not None:
                from app.play import warm_up_decoders

                warm_up_decoders()  # datagrams queue in the socket meanwhile
            try:
                stats = receive(sock, sink, timeout=timeout, max_wait=max_wait, on_start=on_start)
            except KeyboardInterrupt:
                if not out:
                    raise  # nothing captured: nothing to keep
                interrupted = True
            finally:
                if out:
                    out[0].close()
            if players:
                played = players[0].close(drain=not interrupted)
                players.clear()
                if stats is not None:
                    stats.playback = asdict(played)
    finally:
        for player in players:
            with contextlib.suppress(Exception):
                player.close(drain=False)
        if own:
            sock.close()
    if interrupted or stats is None:
        raise KeyboardInterrupt
    return stats


# --------------------------------------------------------------------------- CLI


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1), got {text}")
    return value


def add_send_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``audiocodec send IN --to HOST:PORT``."""
    p.add_argument("input", metavar="IN", help="audio file to stream")
    p.add_argument("--to", required=True, type=_host_port, metavar="HOST:PORT", help="receiver address")
    p.add_argument("--mode", choices=("mdct", "adpcm"), default="mdct")
    p.add_argument("--bitrate", type=int, default=64000, help="bit/s (default: %(default)s)")
    p.add_argument("--low-delay", action="store_true", help="low-delay MDCT framing")
    p.add_argument("--frame-size", type=int, default=None, metavar="N",
                   help="MDCT hop / ADPCM packet in samples (default: the mode's)")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="pace at SPEED times real time; 0 sends as fast as possible",
    )
    p.add_argument(
        "--loss",
        type=_probability,
        default=0.0,
        metavar="P",
        help="inject loss: drop each datagram with probability P",
    )
    p.add_argument(
        "--reorder",
        type=_probability,
        default=0.0,
        metavar="P",
        help="inject reordering: delay a datagram behind the next 1-3 with probability P",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the injected impairments")
    p.add_argument(
        "--header-interval",
        type=float,
        default=0.5,
        metavar="S",
        help="resend the stream header every S seconds of audio",
    )
    p.add_argument("--stats-json", metavar="PATH", help="write the send statistics to PATH")


def run_send(args: argparse.Namespace) -> int:
    host, port = args.to
    stats = send_file(
        args.input,
        host,
        port,
        mode=args.mode,
        bitrate=args.bitrate,
        low_delay=args.low_delay,
        frame_size=args.frame_size,
        speed=args.speed,
        loss=args.loss,
        reorder=args.reorder,
        seed=args.seed,
        header_interval=args.header_interval,
    )
    if args.stats_json:
        _write_json(args.stats_json, asdict(stats))
    print(
        f"send: {stats.packets} packets, {stats.frames} frames, {stats.bitrate_kbps:.1f} kbit/s, "
        f"{stats.datagrams_dropped} dropped and {stats.datagrams_reordered} reordered by "
        "injection",
        file=sys.stderr,
    )
    return 0


def add_receive_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``audiocodec receive --port PORT OUT``."""
    p.add_argument("output", metavar="OUT", nargs="?", help="audio file to write (optional with --play)")
    p.add_argument("--play", action="store_true", help="play the stream on an output device")
    p.add_argument("--device", type=int_or_str, default=None, help="--play: output device index or name")
    p.add_argument("--hostapi", default=None, help="--play: host API name, e.g. JACK or ALSA")
    p.add_argument(
        "--prebuffer-ms",
        type=float,
        default=80.0,
        help="--play: audio queued before playback starts (default: %(default)s)",
    )
    p.add_argument("-f", "--force", action="store_true", help="overwrite OUT")
    p.add_argument("--port", required=True, type=int, help="UDP port to listen on")
    p.add_argument("--bind", default="0.0.0.0", help="address to listen on (default: %(default)s)")
    p.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="give up after S seconds without a datagram (default: %(default)s)",
    )
    p.add_argument(
        "--jitter-ms",
        type=float,
        default=60.0,
        help="jitter buffer: wait this long for a missing packet (default: %(default)s)",
    )
    p.add_argument("--stats-json", metavar="PATH", help="write the receive statistics to PATH")


def run_receive(args: argparse.Namespace) -> int:
    if args.output is None and not args.play:
        raise InputError("give an output file OUT, --play, or both")
    play = None
    if args.play:
        play = {"device": args.device, "hostapi": args.hostapi, "prebuffer_ms": args.prebuffer_ms}
    stats = receive_to_file(
        args.output,
        args.port,
        bind=args.bind,
        timeout=args.timeout,
        max_wait=args.jitter_ms / 1000.0,
        force=args.force,
        play=play,
    )
    if args.stats_json:
        _write_json(args.stats_json, asdict(stats))
    print(
        f"receive: {stats.packets_received} packets, {stats.packets_concealed} concealed, "
        f"{stats.packets_late} late, {stats.packets_out_of_order} out of order, "
        f"{stats.frames_out} frames" + (" (timed out)" if stats.timed_out else "")
        + (f"; played {stats.playback['frames_played']} frames, {stats.playback['underflows']} "
           f"underflows, latency {stats.playback['latency_ms']:.1f} ms" if stats.playback else ""),
        file=sys.stderr,
    )
    return 0


def int_or_str(text: str) -> int | str:
    """argparse type of a device option: an index, or else a name."""
    try:
        return int(text)
    except ValueError:
        return text


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """``python -m audiocodec.net send|receive ...`` (the CLI proper registers the same)."""
    from .errors import CodecError

    parser = argparse.ArgumentParser(prog="audiocodec")
    sub = parser.add_subparsers(dest="command", required=True)
    add_send_arguments(sub.add_parser("send", help="stream an audio file over UDP"))
    add_receive_arguments(sub.add_parser("receive", help="receive a UDP stream into a file"))
    args = parser.parse_args(argv)
    try:
        return run_send(args) if args.command == "send" else run_receive(args)
    except CodecError as exc:
        print(f"audiocodec {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
