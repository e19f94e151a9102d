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
from support import ROOT, checkout_env

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


def test_datagram_roundtrip_and_rejects():
    d = net.parse_datagram(net.pack_data(7, 2**32 + 5, b"abc"))
    assert (d.kind, d.stream_id, d.seq, d.payload) == (net.TYPE_DATA, 7, 5, b"abc")
    h = net.parse_datagram(net.pack_header(9, 12, b"HDR"))
    assert (h.kind, h.seq, h.payload) == (net.TYPE_HEADER, 12, b"HDR")
    e = net.parse_datagram(net.pack_end(9, 600, 144000))
    assert (e.kind, e.seq, e.frames) == (net.TYPE_END, 600, 144000)
    for bad in (
        b"",
        b"AQ\x01D",
        b"XX\x01D\0\0\0\0\0\0\0\0",
        b"AQ\x02D\0\0\0\0\0\0\0\0",
        b"AQ\x01Z\0\0\0\0\0\0\0\0",
        b"AQ\x01E\0\0\0\0\0\0\0\0",
    ):
        with pytest.raises(StreamError):
            net.parse_datagram(bad)
    assert net.unwrap_seq(3, 2**32 - 2) == 2**32 + 3
    assert net.unwrap_seq(2**32 - 1, 5) == -1


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
    header, packets, _ = _encode(x, mode, low_delay=(mode == "mdct"))
    rng = np.random.default_rng(11)
    lost = {i for i in range(len(packets)) if rng.random() < 0.1}
    order = [i for i in range(len(packets)) if i not in lost]
    for k in range(0, len(order) - 3, 7):  # swap neighbours: local reordering
        order[k], order[k + 2] = order[k + 2], order[k]
    rx = net.Receiver(max_wait=10.0)  # only the packet-count rule may conceal here
    blocks: list[np.ndarray] = []
    for _ in range(2):  # a header datagram arrives after the first data ones
        blocks += rx.feed(net.pack_data(1, order[0], packets[order[0]]), 0.0)
    assert rx.decoder is None
    blocks += rx.feed(net.pack_header(1, 0, header), 0.0)
    for i in order[1:]:
        blocks += rx.feed(net.pack_data(1, i, packets[i]), 0.0)
    blocks += rx.feed(net.pack_end(1, len(packets), len(x)), 0.0)
    blocks += rx.finish()
    y = np.concatenate(blocks)
    assert set(rx.stats.concealed_seqs) == lost
    assert rx.stats.packets_duplicate == 1 and rx.stats.packets_late == 0
    assert rx.stats.packets_out_of_order > 0
    assert y.shape == x.shape
    np.testing.assert_array_equal(y, _offline_decode(header, packets, lost, len(x)))


def test_receiver_time_rule_and_late_packets():
    x = _signal(0.5)
    header, packets, _ = _encode(x, "mdct", low_delay=True)
    rx = net.Receiver(max_wait=0.05, depth=1000)
    rx.feed(net.pack_header(4, 0, header), 0.0)
    rx.feed(net.pack_data(4, 0, packets[0]), 0.0)
    assert rx.stats.packets_decoded == 1
    rx.feed(net.pack_data(4, 2, packets[2]), 0.01)  # 1 is missing
    rx.poll(0.03)
    assert rx.stats.packets_concealed == 0 and rx.stats.packets_decoded == 1
    rx.poll(0.07)  # 1 concealed after max_wait, then 2 played
    assert rx.stats.concealed_seqs == [1] and rx.stats.packets_decoded == 2
    rx.feed(net.pack_data(4, 1, packets[1]), 0.08)  # too late now
    assert rx.stats.packets_late == 1
    rx.feed(net.pack_data(99, 3, packets[3]), 0.09)  # another stream: ignored
    assert rx.stats.datagrams_foreign == 1
    rx.feed(b"garbage", 0.09)
    assert rx.stats.datagrams_invalid == 1
    out = rx.finish()  # the held-back tail comes out at the end
    assert sum(len(b) for b in out) == 3 * rx.stats.frame_size - rx.decoder.delay


def test_receiver_joins_mid_stream():
    x = _signal(2.0)
    header, packets, _ = _encode(x, "mdct", low_delay=True)
    rx = net.Receiver(max_wait=1.0)
    rx.feed(net.pack_header(2, 150, header), 0.0)
    out = []
    for i in range(150, 200):
        out += rx.feed(net.pack_data(2, i, packets[i]), 0.0)
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
    assert stats.frame_size == (frame_size or 256)
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
        "--stats-json",
        str(tmp_path / "tx.json"),
    )
    _, tx_err = tx.communicate(timeout=30)
    _, rx_err = rx.communicate(timeout=30)
    assert tx.returncode == 0, tx_err
    assert rx.returncode == 0, rx_err
    rxs = json.loads((tmp_path / "rx.json").read_text())
    txs = json.loads((tmp_path / "tx.json").read_text())
    assert rxs["header_received"] and rxs["ended"]
    assert rxs["packets_received"] + rxs["packets_concealed"] <= txs["packets"]
    assert rxs["packets_concealed"] > 0
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
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
