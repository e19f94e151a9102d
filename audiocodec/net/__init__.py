"""Streaming coded audio over UDP: the transport behind ``audiocodec send`` and ``receive``.

One concern per module::

    datagram.py   the wire format (spec in its docstring): pack and parse
    sender.py     encode a file, pace the packets, resend the header; an impaired Channel for tests
    jitter.py     Receiver: the jitter buffer (reordering, late and duplicate packets) and
                  the hand-off of gaps to the decoder's concealment (``Decoder.decode(None)``)
    receiver.py   socket, receive loop, and the Sink interface decoded audio goes to

No sound card here: a caller that wants to play a stream passes a :class:`Sink`
(the CLI wires in the live app's player). The command-line options live in
:mod:`audiocodec.cli.net`.
"""

from __future__ import annotations

from .datagram import (
    MAX_DATAGRAM,
    TYPE_DATA,
    TYPE_END,
    TYPE_HEADER,
    Datagram,
    pack_data,
    pack_end,
    pack_header,
    parse_datagram,
    unwrap_seq,
)
from .jitter import Receiver, ReceiveStats
from .receiver import FileSink, Sink, open_receiver_socket, receive, receive_to_file
from .sender import Channel, SendStats, send_file, send_packets

__all__ = [
    "MAX_DATAGRAM",
    "TYPE_DATA",
    "TYPE_END",
    "TYPE_HEADER",
    "Channel",
    "Datagram",
    "FileSink",
    "ReceiveStats",
    "Receiver",
    "SendStats",
    "Sink",
    "open_receiver_socket",
    "pack_data",
    "pack_end",
    "pack_header",
    "parse_datagram",
    "receive",
    "receive_to_file",
    "send_file",
    "send_packets",
    "unwrap_seq",
]
