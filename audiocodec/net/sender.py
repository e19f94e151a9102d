"""The sending side of ``audiocodec send``: encode a file, pace its packets, resend the header.

The sender can impair its own channel for tests (:class:`Channel`: ``loss``,
``reorder``): that is where a real network would lose and reorder datagrams.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from .pcap import PcapWriter
from .rtp import (
    DEFAULT_CONTROL_PT,
    DEFAULT_PT,
    HEADER_SIZE,
    MAX_DATAGRAM,
    pack_control_end,
    pack_control_header,
    pack_rtp,
)
from .sdp import write_sdp

__all__ = ["Channel", "SendStats", "send_file", "send_packets"]


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
    stats: SendStats | None = None,
    payload_type: int = DEFAULT_PT,
    control_type: int = DEFAULT_CONTROL_PT,
    first_seq: int | None = None,
    first_ts: int | None = None,
) -> SendStats:
    """Send a stream over RTP (spec: :mod:`.rtp`): the header packet (3 times), the audio
    packets paced at ``speed`` times real time with the header packet resent every
    ``header_interval`` seconds of audio, then the end packet (3 times).

    ``packets`` yields ``(packet, frames_in)`` pairs, ``frames_in`` counting the input
    frames consumed so far. The SSRC is the stream serial; the first audio packet's
    sequence number and timestamp are ``first_seq``/``first_ts`` (random by default,
    as RFC 3550 asks).
    """
    stats = stats if stats is not None else SendStats()
    ssrc = struct.unpack_from("<I", header, 32)[0]
    rng = random.Random()
    ts0 = rng.getrandbits(32) if first_ts is None else first_ts
    seq = (rng.getrandbits(16) if first_seq is None else first_seq) - 3  # 3 header packets first
    audio_seq = (seq + 3) & 0xFFFF
    hop_seconds = frame_size / sample_rate
    every = max(1, round(header_interval / hop_seconds))
    t0 = time.monotonic()

    def control(payload: bytes, index: int) -> None:
        nonlocal seq
        send(pack_rtp(control_type, seq, ts0 + index * frame_size, ssrc, payload))
        seq += 1

    def send_header(index: int) -> None:
        control(pack_control_header(ts0, audio_seq, header), index)
        stats.header_sends += 1

    for _ in range(3):
        send_header(0)
    index = 0
    for packet, frames_in in packets:
        if len(packet) + HEADER_SIZE > MAX_DATAGRAM:
            raise InputError(f"codec packet of {len(packet)} bytes does not fit a UDP datagram")
        if index and index % every == 0:
            send_header(index)
        if speed > 0:
            delay = t0 + index * hop_seconds / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        send(pack_rtp(payload_type, seq, ts0 + index * frame_size, ssrc, packet, marker=index == 0))
        seq += 1
        index += 1
        stats.packets = index
        stats.frames = frames_in
        stats.payload_bytes += len(packet)
    flush = getattr(send, "flush", None)
    if flush is not None:  # a Channel still holding reordered datagrams
        flush()
    send_header(index)
    for _ in range(3):
        control(pack_control_end(stats.frames), index)
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
    sdp: str | None = None,
    pcap: str | None = None,
    payload_type: int = DEFAULT_PT,
    first_seq: int | None = None,
    first_ts: int | None = None,
    fec: bool = False,
) -> SendStats:
    """Encode the audio file ``path`` and stream it to ``host:port`` over RTP/UDP.

    ``serial`` fixes the codec's stream serial and RTP SSRC (random by default),
    ``first_seq``/``first_ts`` the first audio packet's RTP fields, which makes the
    datagrams reproducible for tests. ``sdp`` writes the stream description to
    that file before the first packet; ``pcap`` records every datagram sent
    (after the injected impairments) into a libpcap file. ``fec``: in-band FEC
    (:class:`audiocodec.Encoder`'s ``fec``), which the receiver's jitter buffer uses.
    """
    from .. import Encoder  # the codec core; imported late so this module loads on its own

    sample_rate, channels, blocks = _read_blocks(path, 4096)
    extra: dict[str, Any] = {} if serial is None else {"serial": serial}
    if mode == "mdct":  # a lost datagram would make predicted scale factors drift
        extra["sf_predict"] = False
    if fec:
        extra["fec"] = True
    enc = Encoder(sample_rate, channels, bitrate=bitrate, mode=mode, low_delay=low_delay,
                  frame_size=frame_size, **extra)
    try:
        addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except socket.gaierror as exc:
        raise InputError(f"cannot resolve {host!r}: {exc}") from exc
    stats = SendStats()
    if sdp is not None:
        write_sdp(sdp, enc.header, host=str(addr[4][0]), port=port, payload_type=payload_type)
    with socket.socket(addr[0], socket.SOCK_DGRAM) as sock, PcapWriter.open(pcap, port) as capture:

        def raw_send(datagram: bytes) -> None:
            capture.write(datagram)
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
            payload_type=payload_type,
            control_type=(payload_type + 1) & 0x7F,
            first_seq=first_seq,
            first_ts=first_ts,
        )
        channel.flush()
    stats.datagrams_sent = channel.sent
    stats.datagrams_dropped = channel.dropped
    stats.datagrams_reordered = channel.reordered
    return stats
