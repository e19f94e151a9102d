"""Streaming coded audio over RTP/UDP: the transport behind ``audiocodec send`` and ``receive``.

One concern per module::

    rtp.py        the wire format, RTP (RFC 3550), spec in its docstring: pack and parse
    sdp.py        the out-of-band stream description (send --sdp / receive --sdp)
    pcap.py       a libpcap writer for what send emits (send --pcap), for standard tools
    sender.py     encode a file, pace the packets, resend the header; an impaired Channel for tests
    jitter.py     Receiver: the jitter buffer (RTP seq order, late and duplicate packets) and
                  the hand-off of gaps to the decoder's concealment (``Decoder.decode(None)``)
    receiver.py   socket, receive loop, and the Sink interface decoded audio goes to

No sound card here: a caller that wants to play a stream passes a :class:`Sink`
(the CLI wires in the live app's player). The command-line options live in
:mod:`audiocodec.cli.net`.
"""

from __future__ import annotations

from .jitter import Receiver, ReceiveStats
from .pcap import PcapWriter
from .receiver import FileSink, Sink, open_receiver_socket, receive, receive_to_file
from .rtp import (
    DEFAULT_CONTROL_PT,
    DEFAULT_PT,
    MAX_DATAGRAM,
    RtpPacket,
    pack_control_end,
    pack_control_header,
    pack_rtp,
    parse_control,
    parse_rtp,
    unwrap,
)
from .sdp import Sdp, parse_sdp, read_sdp, render_sdp, write_sdp
from .sender import Channel, SendStats, send_file, send_packets

__all__ = [
    "DEFAULT_CONTROL_PT",
    "DEFAULT_PT",
    "MAX_DATAGRAM",
    "Channel",
    "FileSink",
    "PcapWriter",
    "ReceiveStats",
    "Receiver",
    "RtpPacket",
    "Sdp",
    "SendStats",
    "Sink",
    "open_receiver_socket",
    "pack_control_end",
    "pack_control_header",
    "pack_rtp",
    "parse_control",
    "parse_rtp",
    "parse_sdp",
    "read_sdp",
    "receive",
    "receive_to_file",
    "render_sdp",
    "send_file",
    "send_packets",
    "unwrap",
    "write_sdp",
]
