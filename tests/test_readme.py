"""The README's commands, run as a user would run them (issue 14, item 3).

Every command line of the README's fenced ``sh`` blocks is extracted and run, with fixture
files in place of the placeholders (``in.wav``/``in.flac``: a short seeded clip; ``out.*``
and ``back.wav`` in a temporary folder; ``../shared/audio/*.wav``: one short item; port 5004:
a free port). Lines joined with `` / `` are split and run together (the receiver first).
``live`` and ``receive --play`` run against the JACK dummy server (``--hostapi JACK`` is
added; ``live`` is stopped with Ctrl-C as a user would stop it); they skip without one.

Not run here: the two set-up commands, ``pip install -e . && audiocodec demo`` (installs the
package; the demo runs in tests/test_packaging.py) and ``bash tests/run.sh`` (the whole suite,
this test included).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import ROOT, checkout_env, jack_unavailable, music_like  # noqa: E402

SETUP = ("pip install -e . && audiocodec demo", "bash tests/run.sh")


def readme_commands() -> list[str]:
    """Every command line in the README's ``sh`` blocks, comments dropped, `` / `` split."""
    text = (ROOT / "README.md").read_text()
    out: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = re.split(r"\s+#", line)[0].strip()
            if line and line not in SETUP:
                out.append(line)
    return out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Runner:
    """Runs README lines in ``folder`` with the placeholders replaced."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        x = music_like(48000, 1.0, 2, seed=3)
        sf.write(folder / "clip.wav", x, 48000, subtype="PCM_16")
        sf.write(folder / "clip.flac", x, 48000)
        self.port = _free_port()

    def argv(self, line: str, *extra: str) -> list[str]:
        words = []
        for w in shlex.split(line):
            w = {"in.wav": "clip.wav", "in.flac": "clip.flac",
                 "../shared/audio/*.wav": "clip.wav"}.get(w, w)
            words.append(w.replace("5004", str(self.port)))
        assert words[0] == "audiocodec", line
        return [sys.executable, "-m", "audiocodec", *words[1:], *extra]

    def popen(self, line: str, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(line, *extra), cwd=self.folder, env=checkout_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, line: str, *extra: str, timeout: float = 600) -> None:
        r = subprocess.run(self.argv(line, *extra), cwd=self.folder, env=checkout_env(),
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, f"{line}: exit {r.returncode}: {r.stderr[-2000:]}"

    def pair(self, receive: str, send: str, *receive_extra: str) -> None:
        rx = self.popen(receive, *receive_extra)
        try:
            time.sleep(3.0)  # the receiver loads its decoders and binds first
            self.run(send)
            _out, err = rx.communicate(timeout=120)
        finally:
            if rx.poll() is None:
                rx.kill()
                rx.wait()
        assert rx.returncode == 0, f"{receive}: exit {rx.returncode}: {err[-2000:]}"


def _kind(line: str) -> str:
    words = line.split()
    if " / " in line:
        return "pair"
    if words[1] == "live":
        return "live-file" if "--input-file" in words else "live"
    if words[1] == "receive":
        return "play"
    return words[1]


def test_every_readme_command_has_a_runner() -> None:
    cmds = readme_commands()
    assert len(cmds) >= 14
    kinds = {_kind(c) for c in cmds}
    assert kinds <= {"encode", "decode", "info", "live", "live-file", "pair", "play", "eval", "bench"}
    assert {"encode", "decode", "info", "pair", "live", "play", "eval", "bench"} <= kinds


def test_readme_file_commands(tmp_path: Path) -> None:
    """encode, decode, info, the headless live loop and the send / receive pair, in order."""
    r = Runner(tmp_path)
    for line in readme_commands():
        kind = _kind(line)
        if kind in ("encode", "decode", "info", "live-file"):
            r.run(line, *(["--force"] if kind in ("encode", "decode") else []))
        elif kind == "pair":
            receive, send = [s.strip() for s in line.split(" / ")][::-1]
            r.pair(receive, send, "--force")  # out.wav exists: the README lines are independent
    assert sf.info(str(tmp_path / "out.wav")).frames >= 48000
    assert sf.info(str(tmp_path / "back.wav")).frames >= 48000


@pytest.mark.slow
def test_readme_eval_and_bench_on_one_short_item(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    for line in readme_commands():
        if _kind(line) == "eval":
            r.run(line, timeout=1800)
            assert (tmp_path / "eval-report" / "report.md").exists()
        elif _kind(line) == "bench":
            r.run(line, "clip.wav", timeout=1800)


@pytest.mark.jack
def test_readme_live_and_play_through_jack(tmp_path: Path) -> None:
    reason = jack_unavailable(48000, 512)
    if reason is not None:
        pytest.skip(reason)
    r = Runner(tmp_path)
    for line in readme_commands():
        kind = _kind(line)
        if kind == "live":
            p = r.popen(line, "--hostapi", "JACK")
            time.sleep(8.0)
            p.send_signal(signal.SIGINT)  # as a user stops it
            _out, err = p.communicate(timeout=60)
            assert p.returncode == 0, f"{line}: exit {p.returncode}: {err[-2000:]}"
            assert "live:" in err
        elif kind == "play":
            r.pair(line, f"audiocodec send in.wav --to 127.0.0.1:{r.port}", "--hostapi", "JACK")
    assert os.environ.get("JACK_DEFAULT_SERVER")
