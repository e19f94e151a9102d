"""Text tags: carried from the input, set with --tag, shown by info, written back on decode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiocodec import InputError, files
from audiocodec.container import aqc
from audiocodec.tags import of_header, parse_tag, records


def _tagged_wav(path: Path) -> None:
    x = (0.1 * np.sin(np.arange(24000) * 0.05)).astype(np.float32)
    with sf.SoundFile(str(path), "w", 48000, 1, subtype="PCM_16") as f:
        f.title = "Air on the G String"
        f.artist = "J. S. Bach"
        f.write(x)


def test_tags_carried_overridden_and_written_back(tmp_path: Path) -> None:
    src, aqc_path, back = tmp_path / "in.wav", tmp_path / "t.aqc", tmp_path / "back.flac"
    _tagged_wav(src)
    files.encode_file(src, aqc_path, bitrate=64000, serial=1,
                      tags={"album": "Orchestral Suite No. 3", "TITLE": "Air (ré-édition)"})
    tags = files.info(aqc_path)["tags"]
    assert tags == {"ALBUM": "Orchestral Suite No. 3", "ARTIST": "J. S. Bach",
                    "TITLE": "Air (ré-édition)"}
    files.decode_file(aqc_path, back)
    with sf.SoundFile(str(back)) as f:
        assert (f.title, f.artist, f.album) == ("Air (ré-édition)", "J. S. Bach", "Orchestral Suite No. 3")


def test_untagged_input_has_no_record(tmp_path: Path) -> None:
    src, out = tmp_path / "plain.wav", tmp_path / "p.aqc"
    sf.write(str(src), np.zeros(4800, np.float32), 48000)
    files.encode_file(src, out, bitrate=64000, serial=1)
    assert files.info(out)["tags"] == {}
    assert "text_tags" not in files.info(out)["extension"]


def test_record_round_trip_and_limits() -> None:
    rec = records({"TITLE": "x" * 100, "COMMENT": "ünïcode"})
    h = aqc.StreamHeader(aqc.MODE_MDCT, 1, 48000, 1024, 1024, 1024, 64000, 0, 1, 1, 0, extension=rec)
    assert of_header(aqc.StreamHeader.unpack(h.pack())) == {"COMMENT": "ünïcode", "TITLE": "x" * 100}
    with pytest.raises(InputError, match="tags"):
        records({"COMMENT": "y" * 5000})  # over the header extension's 4096 bytes
    assert parse_tag("artist=A=B") == ("ARTIST", "A=B")
    for bad in ("noequals", "=v", "kéy=v"):
        with pytest.raises(InputError, match="KEY=VALUE"):
            parse_tag(bad)


def test_cli_tag_and_info(tmp_path: Path) -> None:
    src, out = tmp_path / "in.wav", tmp_path / "c.aqc"
    _tagged_wav(src)
    run = [sys.executable, "-m", "audiocodec"]
    r = subprocess.run(run + ["encode", str(src), str(out), "--tag", "genre=Baroque"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(run + ["info", str(out)], capture_output=True, text=True)
    assert "genre: Baroque" in r.stdout and "artist: J. S. Bach" in r.stdout
    r = subprocess.run(run + ["encode", str(src), str(tmp_path / "o.wav"), "--tag", "a=b"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
