"""UDP streaming (audiocodec.net): framing, jitter buffer, loss and reordering.

Everything runs on 127.0.0.1 with impairments injected by the sender's
:class:`~audiocodec.net.Channel`; no sound card or JACK server is needed. The
receiver's output must equal an offline decode that conceals exactly the
packets the receiver reports as concealed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf
from support import ROOT, checkout_env, receive_all

import audiocodec
from audiocodec import net
from audiocodec.errors import StreamError

RATE = 48000


def _signal(seconds: float, channels: int = 2, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    tone = 0.25 * np.sin(2 * np.pi * 440.0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 1.5 * t))
    x = np.stack([tone, np.roll(tone, 37)], axis=1)[:, :channels]
    x += 0.02 * rng.standard_normal(x.shape)
    return x.astype(np.float32)


SERIAL = 0x5EED


def _encode(x: np.ndarray, mode: str, low_delay: bool, frame_size: int | None = None
            ) -> tuple[bytes, list[bytes], int]:
    """Packets exactly as send_file makes them (4096-frame reads, then flush)."""
    enc = audiocodec.Encoder(RATE, x.shape[1], bitrate=64000, mode=mode, low_delay=low_delay, serial=SERIAL,
                             frame_size=frame_size)
    packets: list[bytes] = []
    for start in range(0, len(x), 4096):
        packets += enc.encode(x[start : start + 4096])
    packets += enc.flush()
    return enc.header, packets, int(enc.frame_size)


def _offline_decode(header: bytes, packets: list[bytes], concealed: set[int], frames: int):
    dec = audiocodec.Decoder(header)
    out = [dec.decode(None if i in concealed else p) for i, p in enumerate(packets)]
    return np.concatenate(out)[:frames]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- framing


FIRST_SEQ, FIRST_TS = 65530, 2**32 - 1000  # both wrap inside the test streams


def _datagrams(header: bytes, packets: list[bytes], frames: int, **kw) -> list[bytes]:
    """Every datagram send_packets makes for these packets, in order (no pacing)."""
    out: list[bytes] = []
    net.send_packets(out.append, header, ((p, frames) for p in packets), frame_size=kw.pop("n"),

                     sample_rate=RATE, speed=0, first_seq=FIRST_SEQ, first_ts=FIRST_TS, **kw)
    return out


def _audio_positions(dgs: list[bytes]) -> list[int]:
    return [k for k, d in enumerate(dgs) if net.parse_rtp(d).pt == net.DEFAULT_PT]


def test_rtp_roundtrip_and_rejects():
    d = net.parse_rtp(net.pack_rtp(96, 2**16 + 5, 2**32 + 7, 0xABCDEF01, b"abc", marker=True))
    assert (d.marker, d.pt, d.seq, d.timestamp, d.ssrc, d.payload) == (True, 96, 5, 7, 0xABCDEF01, b"abc")
    raw = net.pack_rtp(97, 1, 2, 3, b"")
    assert raw[0] == 0x80 and len(raw) == 12
    # CSRCs, a header extension and padding are skipped, as RFC 3550 allows
    fancy = bytes([0xB1, 96]) + raw[2:12] + b"CSRC" + b"\xbe\xde\x00\x01" + b"EXT!" + b"pay" + b"\x00\x02"
    assert net.parse_rtp(fancy).payload == b"pay"
    for bad in (b"", b"\x80" * 11, b"\x40" + bytes(11), bytes([0x8F]) + bytes(11), bytes([0xA0]) + bytes(11)):
        with pytest.raises(StreamError):
            net.parse_rtp(bad)
    assert net.parse_control(net.pack_control_header(9, 65535, b"HDR")) == (ord("H"), 9, 65535, b"HDR")
    assert net.parse_control(net.pack_control_end(144000))[:2] == (ord("E"), 144000)
    with pytest.raises(StreamError):
        net.parse_control(b"Z")
    assert net.unwrap(3, 2**16 - 2, 16) == 2**16 + 3
    assert net.unwrap(2**16 - 1, 5, 16) == -1


def test_sender_rtp_fields():
    x = _signal(0.6)
    header, packets, n = _encode(x, "mdct", low_delay=True)
    dgs = _datagrams(header, packets, len(x), n=n, header_interval=0.1)
    parsed = [net.parse_rtp(d) for d in dgs]
    assert [p.seq for p in parsed] == [(FIRST_SEQ - 3 + k) % 2**16 for k in range(len(dgs))]
    audio = [p for p in parsed if p.pt == 96]
    assert [p.timestamp for p in audio] == [(FIRST_TS + i * n) % 2**32 for i in range(len(packets))]
    assert [p.payload for p in audio] == packets and audio[0].marker and not any(p.marker for p in audio[1:])
    assert all(p.ssrc == SERIAL for p in parsed)
    control = [p for p in parsed if p.pt == 97]
    per = max(1, round(0.1 / (n / RATE)))  # packets per 0.1 s of audio (the sender's rule)
    assert len(control) == 3 + len(packets) // per + 1 + 3  # start, every 0.1 s, end header, 3 E


def test_channel_is_seeded_and_counts():
    def run() -> list[bytes]:
        got: list[bytes] = []
        ch = net.Channel(got.append, loss=0.2, reorder=0.2, seed=3)
        for i in range(500):
            ch(i.to_bytes(2, "big"))
        ch.flush()
        assert ch.sent + ch.dropped == 500 and ch.sent == len(got)
        return got

    a, b = run(), run()
    assert a == b
    order = [int.from_bytes(x, "big") for x in a]
    assert order != sorted(order) and 350 < len(order) < 450


# --------------------------------------------------------------------------- receiver logic


@pytest.mark.parametrize("mode", ["mdct", "adpcm"])
def test_receiver_reorders_and_conceals_exactly(mode):
    x = _signal(1.5)
    header, packets, n = _encode(x, mode, low_delay=(mode == "mdct"))
    dgs = _datagrams(header, packets, len(x), n=n)
    pos = _audio_positions(dgs)
    rng = np.random.default_rng(11)
    lost = {i for i in range(len(packets)) if rng.random() < 0.1} | {pos.index(pos[0]) + 1}
    keep = [k for k in range(len(dgs)) if k not in {pos[i] for i in lost} and k not in (1, 2)]
    keep.remove(0)  # the header packet arrives after the first audio packets
    keep = [keep[0], keep[0], 0] + keep[1:]
    for k in range(3, len(keep) - 3, 7):  # swap neighbours: local reordering
        keep[k], keep[k + 2] = keep[k + 2], keep[k]
    rx = net.Receiver(max_wait=10.0)  # only the packet-count rule may conceal here
    blocks: list[np.ndarray] = []
    for k in keep[:2]:
        blocks += rx.feed(dgs[k], 0.0)
    assert rx.decoder is None
    for k in keep[2:]:
        blocks += rx.feed(dgs[k], 0.0)
    blocks += rx.finish()
    y = np.concatenate(blocks)
    assert set(rx.stats.concealed_seqs) == lost
    assert rx.stats.packets_duplicate == 1 and rx.stats.packets_late == 0
    assert rx.stats.packets_out_of_order > 0 and rx.done
    assert y.shape == x.shape
    np.testing.assert_array_equal(y, _offline_decode(header, packets, lost, len(x)))


def test_lost_control_packets_conceal_no_audio():
    x = _signal(1.0)
    header, packets, n = _encode(x, "mdct", low_delay=True)
    dgs = _datagrams(header, packets, len(x), n=n, header_interval=0.05)
    control = [k for k in range(3, len(dgs) - 4) if net.parse_rtp(dgs[k]).pt == 97]
    rx, y = receive_all(dgs, set(control))
    assert len(control) > 5 and rx.stats.packets_concealed == 0
    np.testing.assert_array_equal(y, _offline_decode(header, packets, set(), len(x)))


def test_receiver_with_sdp_needs_no_inband_header():
    x = _signal(1.0)
    header, packets, n = _encode(x, "mdct", low_delay=True)
    dgs = _datagrams(header, packets, len(x), n=n, header_interval=100.0)
    sdp = net.parse_sdp(net.render_sdp(header, host="127.0.0.1", port=5004))
    assert sdp.header == header and sdp.payload_type == 96 and sdp.port == 5004
    inband = {k for k, d in enumerate(dgs) if not (net.parse_rtp(d).pt == 96 or d[12:13] == b"E")}
    rx, y = receive_all(dgs, inband, header=sdp.header)  # no in-band header at all
    assert rx.stats.headers_seen == 0 and rx.done
    np.testing.assert_array_equal(y, _offline_decode(header, packets, set(), len(x)))


def test_receiver_time_rule_and_late_packets():
    x = _signal(0.5)
    header, packets, n = _encode(x, "mdct", low_delay=True)
    dgs = _datagrams(header, packets, len(x), n=n)
    a = _audio_positions(dgs)
    rx = net.Receiver(max_wait=0.05, depth=1000)
    rx.feed(dgs[0], 0.0)
    rx.feed(dgs[a[0]], 0.0)
    assert rx.stats.packets_decoded == 1
    rx.feed(dgs[a[2]], 0.01)  # 1 is missing
    rx.poll(0.03)
    assert rx.stats.packets_concealed == 0 and rx.stats.packets_decoded == 1
    rx.poll(0.07)  # 1 concealed after max_wait, then 2 played
    assert rx.stats.concealed_seqs == [1] and rx.stats.packets_decoded == 2
    rx.feed(dgs[a[1]], 0.08)  # too late now
    assert rx.stats.packets_late == 1
    other = net.parse_rtp(dgs[a[3]])
    rx.feed(net.pack_rtp(96, other.seq, other.timestamp, 99, other.payload), 0.09)  # another SSRC
    assert rx.stats.datagrams_foreign == 1
    rx.feed(b"garbage", 0.09)
    rx.feed(net.pack_rtp(55, other.seq, other.timestamp, SERIAL, b"x"), 0.09)  # unknown PT
    assert rx.stats.datagrams_invalid == 2
    out = rx.finish()  # the held-back tail comes out at the end
    assert sum(len(b) for b in out) == 3 * rx.stats.frame_size - rx.decoder.delay


def test_receiver_joins_mid_stream():
    x = _signal(2.0)
    header, packets, n = _encode(x, "mdct", low_delay=True)
    dgs = _datagrams(header, packets, len(x), n=n)
    heads = [k for k in range(3, len(dgs)) if net.parse_rtp(dgs[k]).pt == 97]
    rx = net.Receiver(max_wait=1.0)
    out = []
    for d in dgs[heads[1] : heads[1] + 51]:  # the second periodic header, then 50 audio packets
        out += rx.feed(d, 0.0)
    assert rx.stats.packets_concealed == 0 and rx.stats.packets_decoded == 50
    assert sum(len(b) for b in out) > 0


# --------------------------------------------------------------------------- sockets


@pytest.mark.parametrize("mode, frame_size", [("mdct", None), ("mdct", 512), ("adpcm", None)])
def test_loopback_udp_with_loss_and_reordering(tmp_path, mode, frame_size):
    x = _signal(2.0)
    src = tmp_path / "in.wav"
    sf.write(src, x, RATE, subtype="FLOAT")
    sock = net.open_receiver_socket(0, "127.0.0.1")
    port = sock.getsockname()[1]
    out = tmp_path / "out.wav"
    result: dict = {}

    def receiver() -> None:
        try:
            result["stats"] = net.receive_to_file(str(out), port, timeout=3.0, sock=sock)
        except BaseException as exc:  # reported below
            result["error"] = exc

    th = threading.Thread(target=receiver)
    th.start()
    low_delay = mode == "mdct"
    sent = net.send_file(
        str(src),
        "127.0.0.1",
        port,
        mode=mode,
        low_delay=low_delay,
        frame_size=frame_size,
        speed=8.0,
        loss=0.1,
        reorder=0.1,
        seed=4,
        serial=SERIAL,
    )
    th.join(10)
    sock.close()
    assert not th.is_alive() and "error" not in result, result.get("error")
    stats = result["stats"]
    assert stats.ended and not stats.timed_out
    assert sent.datagrams_dropped > 0 and sent.datagrams_reordered > 0
    assert stats.packets_received + stats.packets_concealed == sent.packets
    assert 0 < stats.packets_concealed < 0.2 * sent.packets
    assert stats.packets_out_of_order > 0 and stats.packets_late == 0
    y, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == RATE and y.shape == x.shape
    header, packets, _ = _encode(x, mode, low_delay, frame_size)
    assert stats.frame_size == (frame_size or (384 if mode == "mdct" else 256))
    expect = _offline_decode(header, packets, set(stats.concealed_seqs), len(x))
    np.testing.assert_array_equal(y, expect)


def _run_cli(*args: str, timeout: float = 30.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "audiocodec", *args],
        cwd=ROOT,
        env=checkout_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_send_receive(tmp_path):
    x = _signal(1.0)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    port = _free_port()
    rx = _run_cli(
        "receive",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--timeout",
        "5",
        "--stats-json",
        str(tmp_path / "rx.json"),
        str(tmp_path / "out.wav"),
    )
    # the receiver may still be importing; the periodic header makes up for a late start
    tx = _run_cli(
        "send",
        str(tmp_path / "in.wav"),
        "--to",
        f"127.0.0.1:{port}",
        "--low-delay",
        "--speed",
        "2",
        "--loss",
        "0.1",
        "--reorder",
        "0.1",
        "--header-interval",
        "0.1",
        "--sdp",
        str(tmp_path / "s.sdp"),
        "--stats-json",
        str(tmp_path / "tx.json"),
    )
    _, tx_err = tx.communicate(timeout=30)
    _, rx_err = rx.communicate(timeout=30)
    assert tx.returncode == 0, tx_err
    assert rx.returncode == 1, rx_err  # packets were concealed: "recovered", exit 1
    rxs = json.loads((tmp_path / "rx.json").read_text())
    txs = json.loads((tmp_path / "tx.json").read_text())
    assert rxs["header_received"] and rxs["ended"]
    assert rxs["packets_received"] + rxs["packets_concealed"] <= txs["packets"]
    assert rxs["packets_concealed"] > 0
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert (tmp_path / "s.sdp").read_bytes().startswith(b"v=0\r\n")
    assert y.shape[1] == 2 and np.isfinite(y).all() and len(y) > 0.5 * len(x)


def test_cli_receive_times_out_with_one_line(tmp_path):
    rx = _run_cli(
        "receive",
        "--bind",
        "127.0.0.1",
        "--port",
        str(_free_port()),
        "--timeout",
        "0.3",
        str(tmp_path / "out.wav"),
    )
    _, err = rx.communicate(timeout=30)
    assert rx.returncode == 2
    assert err.strip().count("\n") == 0 and "no stream header" in err
    assert not (tmp_path / "out.wav").exists()
    assert not list(tmp_path.glob(".out.wav.*"))  # no temp file left behind


@pytest.mark.parametrize("case", ["exists", "no-output"])
def test_cli_receive_bad_output_one_line(tmp_path, case):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    args = [str(out)] if case == "exists" else []
    rx = _run_cli("receive", "--bind", "127.0.0.1", "--port", str(_free_port()), "--timeout", "0.3", *args)
    _, err = rx.communicate(timeout=30)
    assert rx.returncode == 2
    assert err.strip().count("\n") == 0 and ("exists" in err if case == "exists" else "--play" in err)
    assert out.read_bytes() == b"keep me"


def test_cli_receive_unknown_extension_one_line(tmp_path):
    rx = _run_cli("receive", "--bind", "127.0.0.1", "--port", str(_free_port()), "--timeout", "0.3",
                  str(tmp_path / "out.aqc"))
    _, err = rx.communicate(timeout=30)
    assert rx.returncode == 2 and err.strip().count("\n") == 0 and "format" in err
    assert not list(tmp_path.iterdir())


def test_cli_receive_ctrl_c_keeps_what_arrived(tmp_path):
    """Ctrl-C during a capture: exit 130, and OUT holds the audio received so far."""
    import signal
    import time

    x = _signal(6.0)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    port = _free_port()
    out = tmp_path / "out.wav"
    rx = _run_cli("receive", "--bind", "127.0.0.1", "--port", str(port), "--timeout", "10", str(out))
    tx = _run_cli("send", str(tmp_path / "in.wav"), "--to", f"127.0.0.1:{port}", "--low-delay")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(tmp_path.glob(".out.wav.*.part")):
            time.sleep(0.05)
        while time.monotonic() < deadline and max(
            (p.stat().st_size for p in tmp_path.glob(".out.wav.*.part")), default=0
        ) < 100_000:
            time.sleep(0.05)  # until some audio has been written
        rx.send_signal(signal.SIGINT)
        _, err = rx.communicate(timeout=30)
    finally:
        tx.kill()
        tx.communicate()
        if rx.poll() is None:
            rx.kill()
            rx.communicate()
    assert rx.returncode == 130, err
    y, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == RATE and 0 < len(y) < len(x)
    assert not list(tmp_path.glob(".out.wav.*.part"))


# --------------------------------------------------------------------------- interop


def test_tshark_reads_the_rtp_fields_send_emits(tmp_path):
    """The datagrams `send` emits, written to a pcap file, parse as RTP in tshark with the
    sequence numbers, timestamps, SSRC and payload types that were sent."""
    import os
    import shutil

    if shutil.which("tshark") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tshark is missing under CI=true (tests/run.sh installs it)")
        pytest.skip("tshark not installed")
    x = _signal(0.5)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    port = _free_port()
    pcap = tmp_path / "send.pcap"
    net.send_file(str(tmp_path / "in.wav"), "127.0.0.1", port, low_delay=True, speed=0, serial=SERIAL,
                  first_seq=FIRST_SEQ, first_ts=FIRST_TS, header_interval=0.1, pcap=str(pcap))
    header, packets, n = _encode(x, "mdct", low_delay=True)
    sent = [net.parse_rtp(d) for d in _datagrams(header, packets, len(x), n=n, header_interval=0.1)]
    r = subprocess.run(["tshark", "-r", str(pcap), "-d", f"udp.port=={port},rtp", "-T", "fields",
                        "-e", "rtp.seq", "-e", "rtp.timestamp", "-e", "rtp.ssrc", "-e", "rtp.p_type",
                        "-e", "rtp.marker"], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines() if line.strip()]
    got = [(int(a), int(b), int(c, 0), int(d), e in ("1", "True")) for a, b, c, d, e in rows]
    assert got == [(p.seq, p.timestamp, p.ssrc, p.pt, p.marker) for p in sent]
    assert {g[3] for g in got} == {96, 97} and got[3][4] and got[0][0] == FIRST_SEQ - 3
    assert any(g[0] == 0 for g in got) and any(g[1] < FIRST_TS for g in got)  # both fields wrapped


def test_receive_output_sample_format_rule(tmp_path):
    """receive follows decode's rule: --subtype, else the recorded source format, else float."""
    from audiocodec.net.receiver import FileSink

    for asked, source, want in ((None, None, "FLOAT"), (None, "PCM_24", "PCM_24"),
                                ("PCM_16", "PCM_24", "PCM_16"), (None, "VORBIS", "PCM_16")):
        path = tmp_path / f"o_{asked}_{source}.wav"
        sink = FileSink(str(path), "WAV", str(path), asked)
        sink.start(RATE, 1, source)
        sink.write(np.zeros((100, 1), np.float32))
        sink.close()
        assert sf.info(str(path)).subtype == want, (asked, source)
