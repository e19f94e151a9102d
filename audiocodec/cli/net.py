"""``audiocodec send`` and ``audiocodec receive``: options and entry points.

The transport is :mod:`audiocodec.net`; for ``receive --play`` this module wires
the live app's player (:class:`audiocodec_app.play.PlayerSink`) into the
receiver as its sink, so the library never needs a sound card.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Any

from ..errors import InputError
from ..net import receive_to_file, send_file
from .common import exit_status, parse_bitrate
from .live import int_or_str

__all__ = ["add_receive_arguments", "add_send_arguments", "run_receive", "run_send"]


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
    p.add_argument("-b", "--bitrate", type=parse_bitrate, default=64000, help="e.g. 64k (default: 64k)")
    p.add_argument("--low-delay", action="store_true", help="low-delay MDCT framing")
    p.add_argument("--fec", action="store_true",
                   help="MDCT: in-band FEC, a coarse copy of each frame in the next packet (a quarter "
                        "of the bitrate); the receiver uses it for a lost packet")
    p.add_argument("--frame-size", type=int, default=None, metavar="N",
                   help="MDCT hop / ADPCM packet in samples (default: the mode's)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="pace at SPEED times real time; 0 sends as fast as possible")
    p.add_argument("--loss", type=_probability, default=0.0, metavar="P",
                   help="inject loss: drop each datagram with probability P")
    p.add_argument("--reorder", type=_probability, default=0.0, metavar="P",
                   help="inject reordering: delay a datagram behind the next 1-3 with probability P")
    p.add_argument("--seed", type=int, default=0, help="seed of the injected impairments")
    p.add_argument("--header-interval", type=float, default=0.5, metavar="S",
                   help="resend the stream header every S seconds of audio")
    p.add_argument("--sdp", metavar="FILE", help="write the stream description (SDP) to FILE")
    p.add_argument("--pcap", metavar="FILE", help="also record every datagram sent in a pcap file")
    p.add_argument("--payload-type", type=int, default=96, choices=range(96, 127), metavar="PT",
                   help="RTP dynamic payload type of the audio (control: PT+1; default: %(default)s)")
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
        fec=args.fec,
        frame_size=args.frame_size,
        speed=args.speed,
        loss=args.loss,
        reorder=args.reorder,
        seed=args.seed,
        header_interval=args.header_interval,
        sdp=args.sdp,
        pcap=args.pcap,
        payload_type=args.payload_type,
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
    p.add_argument("--prebuffer-ms", type=float, default=80.0,
                   help="--play: audio queued before playback starts (default: %(default)s)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite OUT")
    p.add_argument("--port", required=True, type=int, help="UDP port to listen on")
    p.add_argument("--bind", default="0.0.0.0", help="address to listen on (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S",
                   help="give up after S seconds without a datagram (default: %(default)s)")
    p.add_argument("--jitter-ms", type=float, default=60.0,
                   help="jitter buffer: wait this long for a missing packet (default: %(default)s)")
    p.add_argument("--sdp", metavar="FILE", help="read the stream description from FILE (send --sdp)")
    p.add_argument("--subtype", choices=("PCM_16", "PCM_24", "PCM_32", "FLOAT"), default=None,
                   help="OUT's sample format (default: the source's if the stream records it, else "
                        "float)")
    p.add_argument("--stats-json", metavar="PATH", help="write the receive statistics to PATH")


def run_receive(args: argparse.Namespace) -> int:
    if args.output is None and not args.play:
        raise InputError("give an output file OUT, --play, or both")
    if args.subtype is not None and args.output is None:
        raise InputError("--subtype sets OUT's sample format; it needs an output file OUT")
    sink = None
    if args.play:
        from audiocodec_app.devices import check_output_device
        from audiocodec_app.play import PlayerSink

        check_output_device(args.device, args.hostapi)  # before the first packet, not after it

        sink = PlayerSink(device=args.device, hostapi=args.hostapi, prebuffer_ms=args.prebuffer_ms)
    stats = receive_to_file(
        args.output,
        args.port,
        bind=args.bind,
        timeout=args.timeout,
        max_wait=args.jitter_ms / 1000.0,
        force=args.force,
        sink=sink,
        sdp=args.sdp,
        subtype=args.subtype,
    )
    if args.stats_json:
        _write_json(args.stats_json, asdict(stats))
    print(
        f"receive: {stats.packets_received} packets, {stats.packets_concealed} concealed, "
        f"{stats.packets_recovered} recovered (FEC), "
        f"{stats.packets_late} late, {stats.packets_out_of_order} out of order, "
        f"{stats.frames_out} frames" + (" (timed out)" if stats.timed_out else "")
        + (f"; played {stats.playback['frames_played']} frames, {stats.playback['underflows']} "
           f"underflows, latency {stats.playback['latency_ms']:.1f} ms" if stats.playback else ""),
        file=sys.stderr,
    )
    return exit_status(bool(stats.packets_concealed or stats.packets_recovered))  # packets were lost


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
