"""The receiving side of ``audiocodec receive``: socket, receive loop and sinks.

Decoded blocks go to sinks (:class:`Sink`): the library's own :class:`FileSink`
writes the audio file; a caller may add one more, such as the live app's
player, which the CLI wires in for ``--play``. Nothing here touches a sound card.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ..container import aqc
from ..errors import InputError, StreamError
from .jitter import Receiver, ReceiveStats
from .rtp import DEFAULT_PT, MAX_DATAGRAM
from .sdp import Sdp, read_sdp

__all__ = ["FileSink", "Sink", "open_receiver_socket", "receive", "receive_to_file"]


class Sink(Protocol):
    """Where a received stream's decoded audio goes.

    ``prepare`` runs once before the first datagram is read (it may take a while:
    datagrams queue in the socket meanwhile); ``start`` once the stream header has
    told the format; ``write`` for each ``(frames, channels)`` float32 block, in
    order; ``close`` at the end, with ``drain`` false when the capture was cut
    short. What ``close`` returns lands in :attr:`ReceiveStats.playback`.
    """

    def prepare(self) -> None: ...

    def start(self, sample_rate: int, channels: int) -> None: ...

    def write(self, pcm: np.ndarray) -> None: ...

    def close(self, *, drain: bool) -> dict[str, Any] | None: ...


class FileSink:
    """Writes the stream to ``tmp``; ``path`` names the final file in messages. The sample
    format is ``subtype`` if given, else the source's as the stream header recorded it
    (the rule :func:`audiocodec.files.output_subtype` applies to decode), else float where
    ``fmt`` has it (a live stream records none: float keeps the decode as it is)."""

    def __init__(self, tmp: str, fmt: str, path: str, subtype: str | None = None) -> None:
        self._tmp = tmp
        self._fmt = fmt
        self._path = path
        self._subtype = subtype
        self._file: Any = None

    @property
    def started(self) -> bool:
        return self._file is not None

    def prepare(self) -> None:
        pass

    def start(self, sample_rate: int, channels: int, source_format: str | None = None) -> None:
        import soundfile as sf

        from ..files import output_subtype

        if self._subtype is None and source_format is None and sf.check_format(self._fmt, "FLOAT"):
            subtype: str | None = "FLOAT"
        else:
            subtype = output_subtype(self._fmt, self._subtype, source_format)
        try:
            self._file = sf.SoundFile(self._tmp, "w", sample_rate, channels, subtype=subtype,
                                      format=self._fmt)
        except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
            raise InputError(f"cannot write {self._path!r}: {exc}") from exc

    def write(self, pcm: np.ndarray) -> None:
        self._file.write(pcm)

    def close(self, *, drain: bool = True) -> None:
        self._file.close()


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
    emit: Callable[[np.ndarray], None],
    *,
    timeout: float = 5.0,
    max_wait: float = 0.06,
    depth: int | None = None,
    on_start: Callable[[Receiver], None] | None = None,
    sdp: Sdp | None = None,
) -> ReceiveStats:
    """Receive one stream from ``sock`` and pass its decoded blocks to ``emit``.

    Returns at the end datagram, or after ``timeout`` seconds without a datagram
    of our stream (before the header arrives, that is an error).
    """
    pt = DEFAULT_PT if sdp is None else sdp.payload_type
    rx = Receiver(max_wait=max_wait, depth=depth, header=None if sdp is None else sdp.header,
                  payload_type=pt, control_type=(pt + 1) & 0x7F)
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
        if rx.started and not started and (sdp is None or rx.stats.stream_id is not None):
            started = True
            if on_start is not None:
                on_start(rx)
        for block in blocks:
            emit(block)
        if rx.done:
            break
        if now - last_heard > timeout:
            rx.stats.timed_out = True
            break
    if not rx.started:
        raise StreamError(f"no stream header received within {timeout:g} s")
    for block in rx.finish():
        emit(block)
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
    sink: Sink | None = None,
    sdp: str | None = None,
    subtype: str | None = None,
) -> ReceiveStats:
    """Receive one stream on ``port``; write it to the audio file ``path`` and/or pass it to ``sink``.

    The file is written to a temp file beside ``path`` and renamed into place when the
    stream ends, or when Ctrl-C stops a capture that has started (what arrived is kept;
    the KeyboardInterrupt is re-raised after the rename). An existing ``path`` needs
    ``force``; its extension picks the format (``.wav``, ``.flac``, ...). ``sink`` (for
    example the live app's player, for ``receive --play``) gets the stream as well;
    what its ``close`` reports lands in ``stats.playback``. ``sdp`` names an SDP file
    (``send --sdp``) that describes the stream, so no in-band header is needed.
    """
    from ..files import atomic_output, output_format

    fmt = "" if path is None else output_format(path)
    description = None if sdp is None else read_sdp(sdp)
    own = sock is None
    sock = sock if sock is not None else open_receiver_socket(port, bind)
    try:
        with contextlib.ExitStack() as stack:
            file_sink = None
            if path is not None:
                file_sink = FileSink(stack.enter_context(atomic_output(path, force=force)), fmt, path,
                                     subtype)
            stats = _capture(sock, file_sink, sink, timeout=timeout, max_wait=max_wait,
                             sdp=description)
    finally:
        if own:
            sock.close()
    if stats is None:  # interrupted; the file kept what arrived
        raise KeyboardInterrupt
    return stats


def _capture(
    sock: socket.socket, file_sink: FileSink | None, sink: Sink | None, *, timeout: float, max_wait: float,
    sdp: Sdp | None = None,
) -> ReceiveStats | None:
    """Run :func:`receive` into the file and the extra sink; None when Ctrl-C cut a capture
    whose file had started (the caller keeps the file, then re-raises)."""
    started: list[Sink] = []  # the extra sink, once started

    def on_start(rx: Receiver) -> None:
        if file_sink is not None:
            header = getattr(rx.decoder, "header", None)
            fmt = header.find(aqc.TAG_SOURCE_FORMAT) if header is not None else None
            file_sink.start(rx.stats.sample_rate, rx.stats.channels,
                            fmt.decode("ascii") if fmt else None)
        if sink is not None:
            sink.start(rx.stats.sample_rate, rx.stats.channels)
            started.append(sink)

    def emit(block: np.ndarray) -> None:
        if file_sink is not None and file_sink.started:
            file_sink.write(block)
        for s in started:
            s.write(block)

    interrupted = False
    stats: ReceiveStats | None = None
    try:
        if sink is not None:
            sink.prepare()
        try:
            stats = receive(sock, emit, timeout=timeout, max_wait=max_wait, on_start=on_start, sdp=sdp)
        except KeyboardInterrupt:
            if file_sink is None or not file_sink.started:
                raise  # nothing captured: nothing to keep
            interrupted = True
        finally:
            if file_sink is not None and file_sink.started:
                file_sink.close()
        if started:
            reported = started.pop().close(drain=not interrupted)
            if stats is not None:
                stats.playback = reported
    finally:
        for s in started:
            with contextlib.suppress(Exception):
                s.close(drain=False)
    return None if interrupted else stats
