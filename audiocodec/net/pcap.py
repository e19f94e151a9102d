"""A libpcap file writer for the datagrams ``send`` emits (``send --pcap FILE``), for standard tools.

Classic libpcap format (magic 0xA1B2C3D4 little-endian, version 2.4, LINKTYPE_ETHERNET):
each record is an Ethernet II frame (zero MACs, type IPv4) around an IPv4 header
(127.0.0.1 -> 127.0.0.1, protocol UDP, header checksum set) around a UDP header
(source port ``dst_port + 1``, UDP checksum 0 = none) around the datagram. Nothing
is captured live: the writer records what the sender hands to its socket.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from collections.abc import Iterator
from typing import IO

__all__ = ["PcapWriter"]

LINKTYPE_ETHERNET = 1
_LOOPBACK = bytes([127, 0, 0, 1])


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f">{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapWriter:
    """``write(datagram)`` appends one UDP datagram as an Ethernet/IPv4/UDP record."""

    def __init__(self, fh: IO[bytes] | None, dst_port: int) -> None:
        self._fh = fh
        self._dst = dst_port
        self._id = 0
        if fh is not None:
            fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: str | os.PathLike[str] | None, dst_port: int) -> Iterator[PcapWriter]:
        """A writer to ``path``, or one that writes nothing when ``path`` is None."""
        if path is None:
            yield cls(None, dst_port)
            return
        with open(path, "wb") as fh:
            yield cls(fh, dst_port)

    def write(self, datagram: bytes) -> None:
        if self._fh is None:
            return
        udp = struct.pack(">HHHH", (self._dst + 1) & 0xFFFF, self._dst, 8 + len(datagram), 0) + datagram
        ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), self._id & 0xFFFF, 0x4000, 64,
                                   17, 0, _LOOPBACK, _LOOPBACK))
        struct.pack_into(">H", ip, 10, _ip_checksum(bytes(ip)))
        self._id += 1
        frame = bytes(12) + b"\x08\x00" + bytes(ip) + udp
        now = time.time()
        self._fh.write(struct.pack("<IIII", int(now), int(now % 1 * 1e6), len(frame), len(frame)) + frame)
