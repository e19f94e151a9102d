"""The AQC stream header (with its extension) and the codec packet's TOC byte.

Specification, format version 2. All integers little-endian unless noted.
The pages that carry packets in a ``.aqc`` file are in :mod:`.pages`; RTP
carries one packet per datagram (:mod:`audiocodec.net.rtp`).

Stream header (the first bytes of a file; repeated inside header pages; the
``config`` of an SDP description; the payload of an RTP header packet)::

    offset size field
    0      3    magic            b"AQC"
    3      1    version          2
    4      1    mode             0 = MDCT, 1 = IMA ADPCM
    5      1    channels         1 .. 8; MDCT with 3 .. 8 is multistream and
                                 needs a channel_map record (family 1,
                                 :mod:`audiocodec.multistream.layout`)
    6      1    window           0 = sine, 1 = KBD (MDCT); 0 for ADPCM
    7      1    flags            bit 0: block switching may occur (with
                                 L < N: N a multiple of L); others 0 (*)
    8      4    sample_rate      8000 .. 48000
    12     2    frame_size       MDCT hop N (64..2048, multiple of 8) or
                                 ADPCM samples per packet (32..8192)
    14     2    overlap          MDCT window slope L (8..N, even); 0 for ADPCM
    16     4    delay            samples the decoder drops at the start
                                 (MDCT: equals overlap; ADPCM: 0)
    20     4    bitrate          nominal bits per second (0 = VBR/unknown)
    24     8    total_samples    per channel; 2**64-1 = unknown (live stream)
    32     4    serial           stream id, seeds every data page CRC; the
                                 RTP SSRC
    36     2    ext_size         E, bytes of header extension, 0..4096
    38     E    extension        tagged records, below
    38+E   4    header_crc       CRC-32 (ISO-HDLC, as zlib) of bytes 0..37+E

The header is ``42 + E`` bytes. (*) A decoder rejects a header whose undefined
flag bits are set; a writer that needs them must raise the version.

Header extension: records back to back, filling exactly ``E`` bytes::

    size field
    1    tag      bit 7 set = critical: a decoder that does not know the tag
                  refuses the stream; bit 7 clear = a decoder that does not
                  know the tag skips it
    2    length   L, bytes of value (0 .. what remains of E after these 3)
    L    value

Every tag except 0 appears at most once. A decoder checks each length against
the bytes that remain before it reads the value, and keeps unknown skippable
records so that rewriting the header preserves them. Tags defined so far:

    tag   name             value
    0x00  padding          any bytes, ignored (room for a later rewrite in place)
    0x01  source_rate      u32 sample rate of the source before resampling,
                           1 .. 1_000_000 Hz (issue 14)
    0x02  source_format    ASCII name of the source's sample format, 1..16
                           bytes, a libsndfile subtype name ("PCM_16",
                           "PCM_24", "FLOAT", ...) (issue 14)
    0x03  channel_map      u8 family, then one u8 position per channel;
                           family 0 = the default order (mono; left, right),
                           other families and positions: issue 15
    0x04  seek_index       u64 byte offset, from the start of the file, of
                           a seek-index page; 8 bytes. Reserved: readers seek
                           by the pages' granules (pages.py, "Seeking") and
                           no writer writes it
    0x05  text_tags        UTF-8 "KEY=value" strings, each prefixed with its
                           u16 length; KEY is 1+ ASCII bytes 0x20..0x7D other
                           than "=" (as Vorbis comments) (issue 15)
    0x06 .. 0x7F           reserved, skippable
    0x80  pitch_filter     critical; u16 reset interval R, 2..65535; only in
                           1-2 channel MDCT streams: packets may carry pitch
                           post-filter parameters (info bit 6); an encoder
                           writes none in packets with index % R in {0, 1}
                           (:mod:`audiocodec.core.postfilter`)
    0x81  fec              critical; empty; only in 1-2 channel MDCT streams:
                           every packet's mode bytes end with a redundant
                           copy of the previous frame and its length
                           (:mod:`audiocodec.core.layout`, "In-band FEC")
    0x82  sf_predict       critical; u16 intra interval K, 1..65535; only in
                           MDCT streams: every payload has the prediction
                           bit, and frames may predict their scale factors
                           from the last decoded frame; an encoder predicts
                           in no packet whose index % K is 0
                           (:mod:`audiocodec.core.entropy`); in a multistream
                           stream every sub-stream's payloads
                           (:mod:`audiocodec.multistream.layout`)
    0x83  joint_fields     critical; empty; only in 2-channel MDCT streams:
                           the second channel's g and coded-band count are
                           coded as their differences from the first's
                           (:mod:`audiocodec.core.entropy`)
    0x84  noise_fill_from  critical; u16 bin k0, 0..N (N = frame_size); only
                           in MDCT streams: the first bin a zero band may be
                           noise filled from (the rule is ``quant.noise_filled``);
                           a stream without the record fills from bin
                           floor(3000 / (sample_rate / 2) * N), computed in
                           float64 (``layout.noise_fill_start``), as every
                           stream before the eleventh session did; in a
                           multistream stream it applies to every sub-stream
                           (:mod:`audiocodec.multistream.layout`)
    0x85  lfe_group        critical; u8 group size G, 1..64, then u8 bin
                           count B, 1..255 (at most N); only in multistream
                           streams with an LFE: the LFE is coded G packets
                           at a time, its first B bins, in the sub-packet
                           of every packet whose index % G is 0
                           (:mod:`audiocodec.multistream.layout`, "LFE
                           groups"); a stream without the record codes the
                           LFE as a mono MDCT sub-stream, as every stream
                           before the eleventh session did
    0x86 .. 0xFF           reserved, critical

Codec packet (what :class:`audiocodec.Encoder` returns and
:class:`audiocodec.Decoder` takes; 1 .. 65535 bytes)::

    byte 0      TOC: bit 7 = last packet of the stream; bits 0..6 belong
                to the mode
    bytes 1..8  only when bit 7 is set: the stream's total sample count
                per channel (u64), so a stream whose header said "unknown"
                still ends sample-exactly
    rest        the mode's payload (:mod:`audiocodec.core.layout` for MDCT,
                :mod:`audiocodec.adpcm.mode` for ADPCM)

A packet has no sync, length, CRC or sequence number: the container (pages)
or the transport (RTP) delimits it, checks it and reports losses, which the
decoder conceals (``Decoder.decode(None)``).

Timeline. Packet ``i`` of a stream (counting from 0) covers codec samples
``i*N .. (i+1)*N - 1`` (``N`` = frame_size); every packet but the stream's
last holds exactly ``N`` samples. Output sample ``t`` is codec sample
``t + delay``; the output ends after ``total_samples`` samples.

Reset points (where decoding may start, used by seeking): the first packet of
any data page flagged RESET (:mod:`.pages`); a decoder started there
(``Decoder.start_at(granule of the page before)``) is exact from the packet's
second hop on for MDCT (one packet of pre-roll rebuilds the overlap) and from
its first sample for ADPCM, whose packets carry their predictor state. In a
stream with the ``pitch_filter`` record the post-filter's memory must clear too:
a decoder started at packet ``mR - 1`` (or before) is exact from packet ``mR + 2``
on, so a seek starts at the RESET page at or before packet ``mR - 1`` for the
largest ``m`` with ``mR + 2`` at or before the packet wanted. In a stream with the
``sf_predict`` record (intra interval K) and/or the ``lfe_group`` record (group size G) a
reset point's packet index is a multiple of their reset interval (K, G, or the least common
multiple of both: :func:`reset_interval`): there no frame predicts its scale factors and an
LFE group starts.

Versioning. A decoder reads the version byte first: version 2 is this
layout; version 1 (the 40-byte header followed by 7-byte-framed packets,
without pages) is refused with a one-line error naming the version; any
other version is refused too. A change a version-2 decoder could misread
raises the version; additions a decoder may ignore go into skippable
extension records.
"""

from __future__ import annotations

import binascii
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import FrameError, HeaderError

MAGIC = b"AQC"
VERSION = 2
FIXED_SIZE = 38  # header bytes before the extension
HEADER_SIZE = FIXED_SIZE + 4  # a header without extension (the smallest)
MAX_EXTENSION = 4096
MAX_HEADER_SIZE = HEADER_SIZE + MAX_EXTENSION
MAX_PACKET = 65535
MAX_PAYLOAD = MAX_PACKET  # the MDCT encoder sizes its buffer by it
UNKNOWN_LENGTH = (1 << 64) - 1

MODE_MDCT = 0
MODE_ADPCM = 1
MODE_NAMES = {MODE_MDCT: "mdct", MODE_ADPCM: "adpcm"}
WINDOW_NAMES = {0: "sine", 1: "kbd"}
FLAG_BLOCK_SWITCHING = 1

INFO_LAST = 0x80
CONCEAL_FADE = 0.7  # decoders: gain per concealed frame (about -3 dB)
MAX_GAP_CONCEAL = 256  # readers: packets concealed for one gap (more than a page's 255)

# extension tags
TAG_PADDING = 0x00
TAG_SOURCE_RATE = 0x01
TAG_SOURCE_FORMAT = 0x02
TAG_CHANNEL_MAP = 0x03
TAG_SEEK_INDEX = 0x04
TAG_TEXT_TAGS = 0x05
TAG_CRITICAL = 0x80
TAG_PITCH_FILTER = 0x80
TAG_FEC = 0x81
TAG_SF_PREDICT = 0x82
TAG_JOINT_FIELDS = 0x83
TAG_NOISE_FILL_FROM = 0x84
TAG_LFE_GROUP = 0x85
TAG_NAMES = {TAG_PADDING: "padding", TAG_SOURCE_RATE: "source_rate",
             TAG_SOURCE_FORMAT: "source_format", TAG_CHANNEL_MAP: "channel_map",
             TAG_SEEK_INDEX: "seek_index", TAG_TEXT_TAGS: "text_tags",
             TAG_PITCH_FILTER: "pitch_filter", TAG_FEC: "fec", TAG_SF_PREDICT: "sf_predict",
             TAG_JOINT_FIELDS: "joint_fields", TAG_NOISE_FILL_FROM: "noise_fill_from",
             TAG_LFE_GROUP: "lfe_group"}

# frame-size field ranges (the one home of these rules; encoders check against them)
MDCT_FRAME_MIN, MDCT_FRAME_MAX, MDCT_FRAME_MULTIPLE = 64, 2048, 8
#: with block switching a hop splits into eight short blocks whose folding needs an even length
MDCT_SWITCHING_MULTIPLE = 16
ADPCM_PACKET_MIN, ADPCM_PACKET_MAX = 32, 8192

MIN_RATE, MAX_RATE = 8000, 48000
MAX_CHANNELS = 8
MAX_LFE_GROUP = 64  # the lfe_group record's largest group size

_FIXED = struct.Struct("<3sBBBBBIHHIIQIH")
assert _FIXED.size == FIXED_SIZE
_RECORD = struct.Struct("<BH")


def mdct_frame_size_ok(n: int) -> bool:
    """True for an MDCT hop the format allows (64..2048, a multiple of 8)."""
    return MDCT_FRAME_MIN <= n <= MDCT_FRAME_MAX and n % MDCT_FRAME_MULTIPLE == 0


def mdct_switching_ok(n: int) -> bool:
    """True for a hop that may switch to short blocks (a multiple of 16)."""
    return n % MDCT_SWITCHING_MULTIPLE == 0


def mdct_blocks_tile(n: int, ovl: int) -> bool:
    """True when a layout's short blocks tile its frame: full overlap, or ``N`` a multiple of
    ``L`` (a low-overlap short frame is ``N / L`` blocks of ``L``)."""
    return ovl == n or (0 < ovl and n % ovl == 0)


def crc32(data: bytes | memoryview, seed: int = 0) -> int:
    """CRC-32/ISO-HDLC (zlib's), computed in C by binascii; ``seed`` continues a CRC."""
    return binascii.crc32(data, seed)


def crc16(data: bytes | memoryview, seed: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021), the version-1 CRC (kept for tools and tests)."""
    return binascii.crc_hqx(data, seed)


Extension = tuple[tuple[int, bytes], ...]


def _check_record(tag: int, value: bytes, channels: int) -> None:
    """Field ranges of the defined tags (a record of a known tag that breaks them is refused)."""
    n = len(value)
    if tag == TAG_SOURCE_RATE:
        if n != 4 or not 1 <= int.from_bytes(value, "little") <= 1_000_000:
            raise HeaderError(f"source_rate record must be a u32 in 1..1000000, got {value.hex()}")
    elif tag == TAG_SOURCE_FORMAT:
        if not 1 <= n <= 16 or not all(0x21 <= b <= 0x7E for b in value):
            raise HeaderError(f"source_format record must be 1..16 printable ASCII bytes, got {n} bytes")
    elif tag == TAG_CHANNEL_MAP:
        if n != 1 + channels:
            raise HeaderError(f"channel_map record must be {1 + channels} bytes, got {n}")
    elif tag == TAG_SEEK_INDEX:
        if n != 8:
            raise HeaderError(f"seek_index record must be 8 bytes, got {n}")
    elif tag == TAG_TEXT_TAGS:
        _check_text_tags(value)
    elif tag == TAG_PITCH_FILTER:
        if n != 2 or struct.unpack("<H", value)[0] < 2:
            raise HeaderError(f"pitch_filter record must be a u16 in 2..65535, got {value.hex()}")
    elif tag == TAG_FEC:
        if n != 0:
            raise HeaderError(f"fec record must be empty, got {n} bytes")
    elif tag == TAG_JOINT_FIELDS:
        if n != 0:
            raise HeaderError(f"joint_fields record must be empty, got {n} bytes")
    elif tag == TAG_SF_PREDICT:
        if n != 2 or struct.unpack("<H", value)[0] < 1:
            raise HeaderError(f"sf_predict record must be a u16 in 1..65535, got {value.hex()}")
    elif tag == TAG_NOISE_FILL_FROM:
        if n != 2:
            raise HeaderError(f"noise_fill_from record must be a u16, got {n} bytes")
    elif tag == TAG_LFE_GROUP:
        if n != 2 or not 1 <= value[0] <= MAX_LFE_GROUP or value[1] < 1:
            raise HeaderError(f"lfe_group record must be u8 1..{MAX_LFE_GROUP} and u8 1..255, "
                              f"got {value.hex()}")
    elif tag & TAG_CRITICAL:
        raise HeaderError(f"header extension tag 0x{tag:02x} is critical and unknown to this decoder")


def pitch_filter_record(interval: int) -> tuple[int, bytes]:
    """The ``pitch_filter`` record for a reset interval of ``interval`` packets."""
    return TAG_PITCH_FILTER, struct.pack("<H", interval)


def pitch_filter_interval(h: StreamHeader) -> int | None:
    """The reset interval of a stream whose packets may carry post-filter parameters, or None."""
    value = h.find(TAG_PITCH_FILTER)
    return None if value is None else int(struct.unpack("<H", value)[0])


def sf_predict_record(interval: int) -> tuple[int, bytes]:
    """The ``sf_predict`` record for an intra interval of ``interval`` packets."""
    return TAG_SF_PREDICT, struct.pack("<H", interval)


def sf_predict_interval(h: StreamHeader) -> int | None:
    """The intra interval K of a stream whose frames may predict their scale factors, or None."""
    value = h.find(TAG_SF_PREDICT)
    return None if value is None else int(struct.unpack("<H", value)[0])


def noise_fill_record(first_bin: int) -> tuple[int, bytes]:
    """The ``noise_fill_from`` record: zero bands from bin ``first_bin`` on may be noise filled."""
    return TAG_NOISE_FILL_FROM, struct.pack("<H", first_bin)


def noise_fill_bin(h: StreamHeader) -> int | None:
    """The first bin a zero band may be noise filled from, or None (no record: the rule of
    streams without it, ``layout.noise_fill_start``)."""
    value = h.find(TAG_NOISE_FILL_FROM)
    return None if value is None else int(struct.unpack("<H", value)[0])


def lfe_group_record(group: int, bins: int) -> tuple[int, bytes]:
    """The ``lfe_group`` record: the LFE coded ``group`` packets at a time, ``bins`` bins."""
    return TAG_LFE_GROUP, bytes([group, bins])


def lfe_group(h: StreamHeader) -> tuple[int, int] | None:
    """(group size G, bins B) of a stream whose LFE is coded in groups, or None."""
    value = h.find(TAG_LFE_GROUP)
    return None if value is None else (value[0], value[1])


def reset_interval(h: StreamHeader) -> int | None:
    """Packets between the indices a reset point may have (the docstring's "Reset points"):
    the ``sf_predict`` interval K, the ``lfe_group`` size G, their least common multiple when
    both are there, or None (any packet)."""
    group = lfe_group(h)
    ks = [k for k in (sf_predict_interval(h), None if group is None else group[0]) if k is not None]
    return math.lcm(*ks) if ks else None


def _check_text_tags(value: bytes) -> None:
    pos = 0
    while pos < len(value):
        if pos + 2 > len(value):
            raise HeaderError("text_tags record ends inside a string length")
        (n,) = struct.unpack_from("<H", value, pos)
        if pos + 2 + n > len(value):
            raise HeaderError(f"text tag of {n} bytes overruns its record")
        key, sep, _ = value[pos + 2 : pos + 2 + n].partition(b"=")
        if not sep or not key or not all(0x20 <= b <= 0x7D and b != 0x3D for b in key):
            raise HeaderError("text tag is not KEY=value with an ASCII KEY")
        try:
            value[pos + 2 : pos + 2 + n].decode("utf-8")
        except UnicodeDecodeError:
            raise HeaderError("text tag is not UTF-8") from None
        pos += 2 + n


def text_tags(pairs: Iterable[tuple[str, str]]) -> bytes:
    """The value of a ``text_tags`` record holding ``KEY=value`` pairs."""
    out = b""
    for key, value in pairs:
        s = f"{key}={value}".encode()
        out += struct.pack("<H", len(s)) + s
    return out


def pack_extension(records: Extension, channels: int) -> bytes:
    """Records -> extension bytes; raises :class:`HeaderError` on what a reader would refuse."""
    out = bytearray()
    seen: set[int] = set()
    for tag, value in records:
        if not 0 <= tag <= 0xFF:
            raise HeaderError(f"extension tag must be 0..255, got {tag}")
        if tag in seen and tag != TAG_PADDING:
            raise HeaderError(f"extension tag 0x{tag:02x} given twice")
        seen.add(tag)
        _check_record(tag, value, channels)
        out += _RECORD.pack(tag, len(value)) + value
        if len(out) > MAX_EXTENSION:
            raise HeaderError(f"header extension of {len(out)}+ bytes exceeds {MAX_EXTENSION}")
    return bytes(out)


def parse_extension(data: bytes, channels: int) -> Extension:
    """Mirror of :func:`pack_extension`: every length checked before its value is read."""
    records: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    pos = 0
    while pos < len(data):
        if pos + _RECORD.size > len(data):
            raise HeaderError(f"header extension ends inside a record header at byte {pos}")
        tag, n = _RECORD.unpack_from(data, pos)
        pos += _RECORD.size
        if n > len(data) - pos:
            raise HeaderError(f"extension record 0x{tag:02x} claims {n} bytes, {len(data) - pos} remain")
        if tag in seen and tag != TAG_PADDING:
            raise HeaderError(f"extension tag 0x{tag:02x} appears twice")
        seen.add(tag)
        value = data[pos : pos + n]
        _check_record(tag, value, channels)
        records.append((tag, value))
        pos += n
    return tuple(records)


@dataclass(frozen=True)
class StreamHeader:
    """Parsed stream header. Field meanings: see the module docstring."""

    mode: int
    channels: int
    sample_rate: int
    frame_size: int
    overlap: int
    delay: int
    bitrate: int
    total_samples: int
    serial: int
    window: int = 0
    flags: int = 0
    extension: Extension = ()

    def pack(self) -> bytes:
        self.validate()
        ext = pack_extension(self.extension, self.channels)
        body = _FIXED.pack(
            MAGIC, VERSION, self.mode, self.channels, self.window, self.flags,
            self.sample_rate, self.frame_size, self.overlap, self.delay, self.bitrate,
            self.total_samples, self.serial, len(ext),
        ) + ext
        return body + struct.pack("<I", crc32(body))

    @classmethod
    def unpack(cls, data: bytes | memoryview) -> StreamHeader:
        """Parse and validate the header at the start of ``data`` (trailing bytes ignored).

        Raises :class:`HeaderError` on any defect, naming it.
        """
        if len(data) < 4:
            raise HeaderError(f"stream header needs {HEADER_SIZE}+ bytes, got {len(data)}")
        if data[:3] != MAGIC:
            raise HeaderError(f"not an AQC stream: magic is {bytes(data[:3])!r}, expected {MAGIC!r}")
        if data[3] == 1:
            raise HeaderError("AQC version 1 stream: this decoder reads version 2 only "
                              "(re-encode it from the source)")
        if data[3] != VERSION:
            raise HeaderError(f"unsupported AQC version {data[3]} (this decoder reads {VERSION})")
        if len(data) < HEADER_SIZE:
            raise HeaderError(f"stream header needs {HEADER_SIZE}+ bytes, got {len(data)}")
        fields = _FIXED.unpack_from(data)
        ext_size = fields[-1]
        if ext_size > MAX_EXTENSION:
            raise HeaderError(f"header extension of {ext_size} bytes exceeds {MAX_EXTENSION}")
        size = HEADER_SIZE + ext_size
        if len(data) < size:
            raise HeaderError(f"stream header with a {ext_size}-byte extension needs {size} bytes, "
                              f"got {len(data)}")
        body = bytes(data[: size - 4])
        (crc,) = struct.unpack_from("<I", data, size - 4)
        if crc32(body) != crc:
            raise HeaderError("stream header CRC mismatch (damaged header)")
        (_, _, mode, ch, win, flags, rate, n, ovl, delay, br, total, serial, _) = fields
        h = cls(mode, ch, rate, n, ovl, delay, br, total, serial, win, flags)
        h.validate()  # before the extension: its records' ranges depend on the channel count
        full = cls(mode, ch, rate, n, ovl, delay, br, total, serial, win, flags,
                   parse_extension(body[FIXED_SIZE:], ch))
        full.validate()
        return full

    @property
    def size(self) -> int:
        """Bytes of the packed header."""
        return HEADER_SIZE + sum(_RECORD.size + len(v) for _, v in self.extension)

    def find(self, tag: int) -> bytes | None:
        """The value of the extension record ``tag``, or None."""
        return next((v for t, v in self.extension if t == tag), None)

    def validate(self) -> None:
        """Raise :class:`HeaderError` naming the first defect: the fixed fields, then the
        extension's records."""
        if self.flags & ~FLAG_BLOCK_SWITCHING:
            raise HeaderError(f"header flags {self.flags:#04x} use bits version 2 does not define")
        if self.mode not in MODE_NAMES:
            raise HeaderError(f"unknown mode {self.mode}")
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise HeaderError(f"channels must be 1..{MAX_CHANNELS}, header says {self.channels}")
        if not MIN_RATE <= self.sample_rate <= MAX_RATE:
            raise HeaderError(f"sample rate {self.sample_rate} outside {MIN_RATE}..{MAX_RATE}")
        if self.mode == MODE_MDCT:
            n, ovl = self.frame_size, self.overlap
            if not mdct_frame_size_ok(n):
                raise HeaderError(f"MDCT frame size {n} not in {MDCT_FRAME_MIN}..{MDCT_FRAME_MAX} "
                                  f"or not a multiple of {MDCT_FRAME_MULTIPLE}")
            if self.flags & FLAG_BLOCK_SWITCHING and not mdct_switching_ok(n):
                raise HeaderError(f"MDCT frame size {n} with block switching is not a multiple of "
                                  f"{MDCT_SWITCHING_MULTIPLE}")
            if not (8 <= ovl <= n and ovl % 2 == 0):
                raise HeaderError(f"MDCT overlap {ovl} not an even number in 8..{n}")
            if self.flags & FLAG_BLOCK_SWITCHING and not mdct_blocks_tile(n, ovl):
                raise HeaderError(f"MDCT overlap {ovl} with block switching does not divide "
                                  f"the frame size {n}")
            if self.window not in WINDOW_NAMES:
                raise HeaderError(f"unknown window shape {self.window}")
            if self.delay != ovl:
                raise HeaderError(f"delay {self.delay} does not match the overlap ({ovl})")
        else:
            if not ADPCM_PACKET_MIN <= self.frame_size <= ADPCM_PACKET_MAX:
                raise HeaderError(f"ADPCM packet size {self.frame_size} not in "
                                  f"{ADPCM_PACKET_MIN}..{ADPCM_PACKET_MAX}")
            if self.delay != 0 or self.window != 0 or self.overlap != 0:
                raise HeaderError(f"ADPCM delay, window and overlap must be 0, header says "
                                  f"{self.delay}, {self.window}, {self.overlap}")
        self._validate_records()

    def _validate_records(self) -> None:
        """Each record's own range (also on a header object built in code, which ``unpack``
        never saw), then the records' fit to the stream's fields."""
        for tag, value in self.extension:
            _check_record(tag, value, self.channels)
        for tag in (TAG_PITCH_FILTER, TAG_FEC):
            if self.find(tag) is not None and (self.mode != MODE_MDCT or self.channels > 2):
                raise HeaderError(f"{TAG_NAMES[tag]} record in a stream other than 1-2 channel MDCT")
        if self.find(TAG_JOINT_FIELDS) is not None and (self.mode != MODE_MDCT or self.channels != 2):
            raise HeaderError("joint_fields record in a stream other than 2-channel MDCT")
        if self.find(TAG_SF_PREDICT) is not None and self.mode != MODE_MDCT:
            raise HeaderError("sf_predict record in a stream other than MDCT")
        k0 = noise_fill_bin(self)
        if k0 is not None and (self.mode != MODE_MDCT or k0 > self.frame_size):
            raise HeaderError(f"noise_fill_from record (bin {k0}) in a stream other than MDCT "
                              f"or past its frame size {self.frame_size}")

    @property
    def mode_name(self) -> str:
        return MODE_NAMES[self.mode]


def pack_info(info: int, last: bool, total: int) -> bytes:
    """The packet's TOC byte, with the last-packet bit and sample count when ``last``."""
    if last:
        return bytes([info | INFO_LAST]) + struct.pack("<Q", total)
    return bytes([info])


def read_info(packet: bytes | memoryview) -> tuple[int, int, int | None]:
    """Mirror of :func:`pack_info`: ``(toc, offset of the mode's bytes, total or None)``."""
    if not 1 <= len(packet) <= MAX_PACKET:
        raise FrameError(f"codec packet must be 1..{MAX_PACKET} bytes, got {len(packet)}")
    info = packet[0]
    if not info & INFO_LAST:
        return info, 1, None
    if len(packet) < 9:
        raise FrameError("last packet too short for its sample count")
    (total,) = struct.unpack_from("<Q", packet, 1)
    return info, 9, int(total)
