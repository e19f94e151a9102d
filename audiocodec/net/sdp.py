"""The out-of-band stream description (RFC 4566 SDP) of ``send --sdp`` / ``receive --sdp``.

What ``send --sdp FILE`` writes (``\\r\\n`` line ends)::

    v=0
    o=- SERIAL 0 IN IP4 ADDRESS
    s=audiocodec
    c=IN IP4 ADDRESS
    t=0 0
    m=audio PORT RTP/AVP 96
    a=rtpmap:96 AQC/RATE/CHANNELS
    a=fmtp:96 config=BASE64

``config`` is the stream header (:mod:`audiocodec.container.aqc`) in base64;
the control packets use payload type 96 + 1 (:mod:`.rtp`). A reader takes the
``m=audio`` line's first payload type, the matching ``rtpmap`` (encoding name
AQC) and ``fmtp`` config; it checks the header, and that rate and channels
agree with the rtpmap, and ignores every other line.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from ..container.aqc import MAX_HEADER_SIZE, StreamHeader
from ..errors import InputError, StreamError

__all__ = ["Sdp", "read_sdp", "render_sdp", "write_sdp"]

MAX_SDP = 64 * 1024


@dataclass(frozen=True)
class Sdp:
    header: bytes
    payload_type: int
    port: int


def render_sdp(header: bytes, *, host: str, port: int, payload_type: int = 96) -> str:
    h = StreamHeader.unpack(header)
    family = "IP6" if ":" in host else "IP4"
    lines = ["v=0", f"o=- {h.serial} 0 IN {family} {host}", "s=audiocodec", f"c=IN {family} {host}",
             "t=0 0", f"m=audio {port} RTP/AVP {payload_type}",
             f"a=rtpmap:{payload_type} AQC/{h.sample_rate}/{h.channels}",
             f"a=fmtp:{payload_type} config={base64.b64encode(header).decode()}"]
    return "\r\n".join(lines) + "\r\n"


def write_sdp(path: str | os.PathLike[str], header: bytes, *, host: str, port: int,
              payload_type: int = 96) -> None:
    text = render_sdp(header, host=host, port=port, payload_type=payload_type)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def parse_sdp(text: str) -> Sdp:
    m = re.search(r"^m=audio (\d+) RTP/AVP (\d+)", text, re.M)
    if not m:
        raise StreamError("SDP has no 'm=audio PORT RTP/AVP PT' line")
    port, pt = int(m.group(1)), int(m.group(2))
    rtpmap = re.search(rf"^a=rtpmap:{pt} AQC/(\d+)/(\d+)\s*$", text, re.M)
    fmtp = re.search(rf"^a=fmtp:{pt} .*?config=([A-Za-z0-9+/=]+)", text, re.M)
    if not rtpmap or not fmtp:
        raise StreamError(f"SDP has no AQC rtpmap and fmtp config for payload type {pt}")
    if len(fmtp.group(1)) > 2 * MAX_HEADER_SIZE:
        raise StreamError("SDP config is longer than any stream header")
    try:
        header = base64.b64decode(fmtp.group(1), validate=True)
    except binascii.Error:
        raise StreamError("SDP config is not base64") from None
    h = StreamHeader.unpack(header)
    if (h.sample_rate, h.channels) != (int(rtpmap.group(1)), int(rtpmap.group(2))):
        raise StreamError(f"SDP rtpmap says {rtpmap.group(1)}/{rtpmap.group(2)}, its config "
                          f"{h.sample_rate}/{h.channels}")
    return Sdp(header[: h.size], pt, port)


def read_sdp(path: str | os.PathLike[str]) -> Sdp:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            text = fh.read(MAX_SDP + 1)
    except OSError as e:
        raise InputError(f"{path}: cannot read the SDP file ({e.strerror})") from None
    if len(text) > MAX_SDP:
        raise StreamError(f"{path}: SDP file larger than {MAX_SDP} bytes")
    return parse_sdp(text)
