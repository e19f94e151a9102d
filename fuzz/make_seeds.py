"""Write valid streams from every mode into ``fuzz/seeds/`` (the fuzzer's starting corpus).

Seeds are short (a fraction of a second) so the fuzzer runs fast, and
deterministic (fixed serials and RNG seeds) so re-running this script
reproduces them byte for byte. Each file is prefixed with one selector byte
that :mod:`fuzz_decode` uses to pick the entry point; see ``fuzz/README.md``.

Run from the repository root::

    python fuzz/make_seeds.py            # writes fuzz/seeds/*.bin
"""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import tones_and_burst  # noqa: E402

from audiocodec import oneshot  # noqa: E402
from audiocodec.adpcm.wav import write_ima_wav  # noqa: E402
from audiocodec.container import aqc as bs  # noqa: E402
from audiocodec.container import reader  # noqa: E402

SEEDS = Path(__file__).resolve().parent / "seeds"

# selector byte -> entry point (must match fuzz_decode.TARGETS)
(SEL_DECODE, SEL_PACKETS, SEL_HEADER, SEL_SCAN, SEL_ADPCM_PACKET, SEL_IMAWAV, SEL_DECODE_FIXED,
 SEL_PACKETS_FIXED) = range(8)


def signal(n: int, channels: int, seed: int) -> np.ndarray:
    """Tones plus one burst (so block switching has a transient to find)."""
    return tones_and_burst(n, channels, seed, rate=16000, f0=300.0, df=150.0, amp=0.4, noise=0.02,
                           burst=0.6)


def streams() -> dict[str, bytes]:
    """name -> a valid AQC stream, one per coding mode and option that changes the bytes."""
    out: dict[str, bytes] = {}
    cases: list[tuple[str, int, int, int, dict[str, object]]] = [
        ("mdct_long_mono", 16000, 1, 2400, {}),
        ("mdct_long_stereo", 48000, 2, 4000, {}),
        ("mdct_lowdelay_mono", 16000, 1, 1200, {"low_delay": True}),
        ("mdct_lowdelay_stereo", 48000, 2, 1500, {"low_delay": True}),
        ("mdct_vbr_stereo", 32000, 2, 3000, {"quality": 5.0}),
        ("mdct_uniform_mono", 8000, 1, 1600, {"quantizer": "uniform"}),
        ("mdct_nonuniform_stereo", 22050, 2, 2000, {"quantizer": "nonuniform"}),
        ("mdct_live_unknown_length", 16000, 1, 1500, {"total_samples": None}),
        ("mdct_empty", 16000, 2, 0, {}),
        ("adpcm_mono", 8000, 1, 700, {"mode": "adpcm", "frame_size": 256}),
        ("adpcm_stereo", 44100, 2, 500, {"mode": "adpcm", "frame_size": 128}),
        ("adpcm_odd_nibbles", 11025, 1, 97, {"mode": "adpcm", "frame_size": 33}),
        ("adpcm_empty", 16000, 1, 0, {"mode": "adpcm"}),
        # the pitch post-filter's fields and FEC sections (low delay from 28 kbit/s)
        ("mdct_lowdelay_fec_postfilter", 48000, 1, 4800, {"low_delay": True, "bitrate": 32000,
                                                         "fec": True}),
        # multistream 5.1: its sub-packets and the LFE groups (the lfe_group record)
        ("mdct_surround_5_1", 48000, 6, 9000, {"bitrate": 192000}),
    ]
    for i, (name, rate, ch, n, opts) in enumerate(cases):
        out[name] = oneshot.encode(signal(n, ch, i), rate, serial=0x5EED0000 + i, **opts)
    return out


def packet_stream(data: bytes) -> bytes:
    """The stream header, then every packet with a u16 length prefix (fuzz_packets' input)."""
    stats = reader.ReadStats()
    h, start = reader.locate_header(data, stats)
    packets = [bytes(p) for p in reader.read_packets(h, data, start, stats) if p is not None]
    return data[: h.size] + b"".join(struct.pack("<H", len(p)) + p for p in packets)


def ima_wav(channels: int, n: int) -> bytes:
    buf = io.BytesIO()
    write_ima_wav(buf, signal(n, channels, 99), 16000, block_samples=65)
    return buf.getvalue()


def main() -> None:
    SEEDS.mkdir(parents=True, exist_ok=True)
    for old in SEEDS.glob("*.bin"):
        old.unlink()
    written = 0

    def put(name: str, sel: int, data: bytes) -> None:
        nonlocal written
        (SEEDS / f"{name}.bin").write_bytes(bytes([sel]) + data)
        written += 1

    for name, data in streams().items():
        put(f"decode_{name}", SEL_DECODE, data)
        put(f"packets_{name}", SEL_PACKETS, packet_stream(data))
        put(f"scan_{name}", SEL_SCAN, data)
        put(f"decodefix_{name}", SEL_DECODE_FIXED, data)
        put(f"packetsfix_{name}", SEL_PACKETS_FIXED, packet_stream(data))
        put(f"header_{name}", SEL_HEADER, data[: bs.StreamHeader.unpack(data).size])
    # raw ADPCM packet bodies: [channels-1 bit | n u16] + body, see fuzz_decode
    from audiocodec import adpcm

    for ch, n in ((1, 64), (2, 33), (1, 1)):
        st = adpcm.AdpcmState(ch)
        body = adpcm.encode_packet(signal(n, ch, 5), st)
        put(f"adpcm_packet_{ch}ch_{n}", SEL_ADPCM_PACKET,
            bytes([ch - 1]) + n.to_bytes(2, "little") + body)
    put("imawav_mono", SEL_IMAWAV, ima_wav(1, 300))
    put("imawav_stereo", SEL_IMAWAV, ima_wav(2, 200))
    print(f"wrote {written} seeds to {SEEDS}")


if __name__ == "__main__":
    main()
