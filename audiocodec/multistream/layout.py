"""Multistream MDCT (3 to 8 channels): the channel mapping and the packet layout.

Modelled on Opus's channel mapping family 1 (RFC 7845 section 5.1.1, Vorbis
channel order). A stream of ``C`` channels is coded as ``S`` MDCT sub-streams:
``M`` coupled (stereo, M/S per band) streams, then ``S - M`` mono streams; the
LFE, when the layout has one, is the last mono stream. Every sub-stream has
the stream header's frame size, overlap, window and block-switching flag.

Channel orders. At the API edge and in WAV files channels are in WAV/SMPTE
order (the order of the ``WAVE_FORMAT_EXTENSIBLE`` mask bits: FL FR FC LFE BL
BR FLC FRC BC SL SR). Inside the stream they are in *coded* order: the
channels of coupled stream 0 (left, right), of coupled stream 1, ..., then one
channel per mono stream. :data:`LAYOUTS` is the one table of both, with the
Vorbis order between them for reference (``vorbis``: the Vorbis-order
position of each WAV channel; ``coded``: Opus's family-1 mapping, the coded
channel of each Vorbis-order channel)::

    C  name  WAV order                    Vorbis order                 S M  LFE
    3  3.0   FL FR FC                     FL FC FR                     2 1  -
    4  quad  FL FR BL BR                  FL FR BL BR                  2 2  -
    5  5.0   FL FR FC BL BR               FL FC FR BL BR               3 2  -
    6  5.1   FL FR FC LFE BL BR           FL FC FR BL BR LFE           4 2  yes
    7  6.1   FL FR FC LFE BC SL SR        FL FC FR SL SR BC LFE        5 2  yes
    8  7.1   FL FR FC LFE BL BR SL SR     FL FC FR SL SR BL BR LFE     5 3  yes

So 5.1 codes (FL, FR) and (BL, BR) as stereo pairs, FC and LFE as mono
streams; 7.1 pairs (FL, FR), (SL, SR), (BL, BR). One and two channels are
not multistream (a plain MDCT stream, family 0).

Stream header (:mod:`audiocodec.container.aqc`): mode 0 (MDCT), ``channels``
= C, and a ``channel_map`` extension record (tag 0x03) of ``1 + C`` bytes:
family = 1, then for each WAV-order channel ``j`` its coded channel
``coded[vorbis[j]]``. A decoder refuses a family-1 stream whose map is not
this table's row for ``C`` (the family fixes it; the bytes let a reader route
the channels without the table). Sub-stream ``s`` (0-based) decodes with the
header's fields, its own channel count (2 for ``s < M``, else 1), the
serial ``(serial + s) mod 2**32`` (which seeds its noise filling and
concealment, so the channels' noise is not identical) and, of the header's
extension, the ``sf_predict`` and ``noise_fill_from`` records when there are:
every sub-stream then predicts its scale factors from its own last frame, with
the stream's intra packets (index % K = 0) intra in all of them, where pages
start and seeking lands, and noise fills from the record's bin. The other coding
records (``pitch_filter``, ``fec``) are for 1-2 channel streams only.

Multistream packet (the codec packet's mode bytes; TOC bits 0..6 are 0, bit 7
and the sample count of the last packet are the container's)::

    for s in 0 .. S-2:   length L_s (1 or 2 bytes, below), then L_s bytes
    stream S-1:          the rest of the packet

    length: b0 < 0x80       -> L = b0                         (0..127)
            b0 >= 0x80, b1  -> L = (b0 & 0x7F) | (b1 << 7)    (128..32767)

Each sub-packet is one MDCT payload of :mod:`audiocodec.core.layout`: its
info byte (bit 7 = 0: the end of the stream is the outer TOC's), then the
range-coded data; or it is empty (``L_s = 0``, or nothing left for the last
stream): a frame that codes nothing. A decoder decodes an empty sub-packet as
a long frame whose coefficients are all zero (its overlap-add goes on, the
packet index advances) and which is not a scale-factor reference: the next
frame predicts from the one before it. An encoder sends one for a frame with
info bits 0-2 and 6 clear (long, no post-filter) that codes no band of any
channel: a silent channel (a surround pair, the LFE between effects) costs one
length byte or nothing. A decoder checks each length against the bytes that remain before it
reads; a packet that fails any check is rejected whole (every sub-stream
conceals it), so the channels stay in step.

LFE groups (a stream with the ``lfe_group`` header record, (G, B); the eleventh session). The
LFE's sub-packet carries no MDCT payload of :mod:`audiocodec.core.layout`: the LFE is coded G
packets at a time, in the sub-packet of the group's first packet (index % G = 0), every other
packet of the group sending it empty (a decoder rejects the packet otherwise). The group's
sub-packet is one range-coded stream (:mod:`audiocodec.core.rangecoder`), no info byte::

    g        8 bits raw   the group's one quantizer step index (step 2**((g - 160) / 4))
    for j in 0 .. G-1:    |q[j, k]| and signs for k < B, coded as the magnitude loop of
                          :mod:`audiocodec.core.entropy` codes a channel (context models fresh
                          at the group's start, adapting over the group's frames)

or it is empty: the group codes nothing (all q = 0). Packet ``p`` of the group's first packet
``p0`` decodes as a long frame (both slopes the stream's overlap) whose coefficients are
``q[p - p0, k] * step`` for ``k < B`` (the uniform law, no noise filling) and 0 above: its
overlap-add goes on as a sub-stream's. Nothing predicts across groups. A decoder that has not
decoded the sub-packet of the group a packet belongs to (it was lost or rejected, or the
decoder started or was reset inside the group) conceals the LFE in that packet; so reset points
are at multiples of G (:func:`audiocodec.container.aqc.reset_interval`), and a writer aligns
its RESET pages to them. An encoder needs G - 1 frames of look-ahead for the LFE (its latency).
B is at most N; the encoder codes the bins below ``LFE_CODED_HZ``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..container import aqc
from ..errors import FrameError, HeaderError

FAMILY_DEFAULT = 0
FAMILY_VORBIS = 1
MIN_CHANNELS, MAX_CHANNELS = 1, aqc.MAX_CHANNELS  # the header's channel field range
LFE_CUTOFF_HZ = 120.0
LONG_LENGTH = 0x80  # first length byte >= this: a 2-byte length
MAX_SUB_PACKET = 0x7FFF


@dataclass(frozen=True)
class Layout:
    """One row of :data:`LAYOUTS` (field meanings: the module docstring)."""

    name: str
    mask: int  # WAVE_FORMAT_EXTENSIBLE dwChannelMask of the WAV order
    vorbis: tuple[int, ...]  # Vorbis-order position of each WAV channel
    coded_of_vorbis: tuple[int, ...]  # Opus family-1 mapping: coded channel of each Vorbis channel
    streams: int
    coupled: int
    lfe: bool

    @property
    def channels(self) -> int:
        return len(self.vorbis)

    @property
    def coded(self) -> tuple[int, ...]:
        """Coded channel of each WAV-order channel (the channel_map record's positions)."""
        return tuple(self.coded_of_vorbis[v] for v in self.vorbis)

    def stream_channels(self, s: int) -> tuple[int, ...]:
        """Coded channels of sub-stream ``s``."""
        m = self.coupled
        return (2 * s, 2 * s + 1) if s < m else (m + s,)

    def wav_columns(self, s: int) -> tuple[int, ...]:
        """WAV-order channels of sub-stream ``s``, in the sub-stream's channel order."""
        coded = self.coded
        return tuple(coded.index(k) for k in self.stream_channels(s))


# Channel masks: FL 0x1, FR 0x2, FC 0x4, LFE 0x8, BL 0x10, BR 0x20, BC 0x100, SL 0x200, SR 0x400.
# vorbis / coded_of_vorbis: Vorbis I spec section 4.3.9 and RFC 7845 section 5.1.1.2.
LAYOUTS: dict[int, Layout] = {
    1: Layout("mono", 0x4, (0,), (0,), 1, 0, False),
    2: Layout("stereo", 0x3, (0, 1), (0, 1), 1, 1, False),
    3: Layout("3.0", 0x7, (0, 2, 1), (0, 2, 1), 2, 1, False),
    4: Layout("quad", 0x33, (0, 1, 2, 3), (0, 1, 2, 3), 2, 2, False),
    5: Layout("5.0", 0x37, (0, 2, 1, 3, 4), (0, 4, 1, 2, 3), 3, 2, False),
    6: Layout("5.1", 0x3F, (0, 2, 1, 5, 3, 4), (0, 4, 1, 2, 3, 5), 4, 2, True),
    7: Layout("6.1", 0x70F, (0, 2, 1, 6, 5, 3, 4), (0, 4, 1, 2, 3, 5, 6), 5, 2, True),
    8: Layout("7.1", 0x63F, (0, 2, 1, 7, 5, 6, 3, 4), (0, 6, 1, 2, 3, 4, 5, 7), 5, 3, True),
}


def layout_of(channels: int) -> Layout:
    """The family-1 layout of ``channels`` (1..8); raises :class:`HeaderError` otherwise."""
    if channels not in LAYOUTS:
        raise HeaderError(f"channels must be {MIN_CHANNELS}..{MAX_CHANNELS}, got {channels}")
    return LAYOUTS[channels]


def channel_map_record(channels: int) -> tuple[int, bytes]:
    """The header extension's ``channel_map`` record of a multistream stream."""
    return (aqc.TAG_CHANNEL_MAP, bytes([FAMILY_VORBIS, *layout_of(channels).coded]))


def check_channel_map(h: aqc.StreamHeader) -> Layout:
    """The layout a multistream header declares; raises :class:`HeaderError` if its map is
    missing or is not the family-1 row for its channel count."""
    lay = layout_of(h.channels)
    value = h.find(aqc.TAG_CHANNEL_MAP)
    want = channel_map_record(h.channels)[1]
    if value is None:
        raise HeaderError(f"{h.channels}-channel MDCT stream without a channel_map record")
    if value != want:
        raise HeaderError(f"channel_map {value.hex()} is not family 1's {lay.name} map {want.hex()}")
    return lay


#: the stream header's records that reach every sub-stream (the module docstring)
SHARED_RECORDS = (aqc.TAG_SF_PREDICT, aqc.TAG_NOISE_FILL_FROM)


def shared_records(h: aqc.StreamHeader) -> aqc.Extension:
    """The records of ``h`` that every sub-stream decodes with, in ``SHARED_RECORDS`` order."""
    return tuple((tag, v) for tag in SHARED_RECORDS if (v := h.find(tag)) is not None)


def sub_header(h: aqc.StreamHeader, lay: Layout, s: int) -> aqc.StreamHeader:
    """The header sub-stream ``s`` decodes with (the module docstring says which fields)."""
    return dataclasses.replace(h, channels=len(lay.stream_channels(s)), extension=shared_records(h),
                               serial=(h.serial + s) & 0xFFFFFFFF)


def pack_packet(subs: list[bytes]) -> bytes:
    """Sub-packets -> the multistream packet's mode bytes (all but the last length-prefixed)."""
    out = bytearray()
    for p in subs[:-1]:
        n = len(p)
        if n > MAX_SUB_PACKET:
            raise FrameError(f"sub-packet of {n} bytes outside 0..{MAX_SUB_PACKET}")
        out += (bytes([n]) if n < LONG_LENGTH else bytes([LONG_LENGTH | (n & 0x7F), n >> 7])) + p
    return bytes(out + subs[-1])


def unpack_packet(body: bytes, streams: int) -> list[bytes]:
    """Mirror of :func:`pack_packet`: every length checked against what remains."""
    subs: list[bytes] = []
    pos = 0
    for s in range(streams - 1):
        if pos >= len(body):
            raise FrameError(f"multistream packet ends before sub-stream {s}'s length")
        n = body[pos]
        pos += 1
        if n >= LONG_LENGTH:
            if pos >= len(body):
                raise FrameError(f"multistream packet ends inside sub-stream {s}'s length")
            n = (n & 0x7F) | (body[pos] << 7)
            pos += 1
        if n > len(body) - pos:
            raise FrameError(f"sub-stream {s} claims {n} bytes, {len(body) - pos} remain")
        subs.append(body[pos : pos + n])
        pos += n
    subs.append(body[pos:])  # may be empty: a frame that codes nothing
    return subs
