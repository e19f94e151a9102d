"""Issue 14, what a new user tripped over: one bitrate parser, the extension picks the format,
ignored options refused, truncated IMA WAV reported, downmix, messages, exit codes, progress,
the API's edge (bitrate strings, integer rates, dir, CodecWarning) and a missing PortAudio."""

from __future__ import annotations

import argparse
import errno
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import ROOT, music_like  # noqa: E402

import audiocodec  # noqa: E402
from audiocodec import files  # noqa: E402
from audiocodec.cli import main  # noqa: E402
from audiocodec.cli.common import parse_bitrate  # noqa: E402
from audiocodec.downmix import downmix, downmix_matrix  # noqa: E402
from audiocodec.errors import InputError, UnsupportedError  # noqa: E402
from audiocodec.units import parse_bitrate as api_bitrate  # noqa: E402
from audiocodec.units import sample_rate_of  # noqa: E402


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    src = tmp_path / "in.wav"
    sf.write(src, music_like(16000, 0.5, 2), 16000, subtype="PCM_16")
    return src


# ------------------------------------------------------------------ item 1, 16


@pytest.mark.parametrize("text,bps", [("96k", 96000), ("64000", 64000), ("1.5m", 1_500_000),
                                      ("128kbps", 128000), (" 32K ", 32000)])
def test_one_bitrate_parser(text: str, bps: int) -> None:
    assert parse_bitrate(text) == api_bitrate(text) == bps
    with pytest.raises(argparse.ArgumentTypeError, match="96k"):
        parse_bitrate("fast")
    with pytest.raises(InputError, match="positive"):
        api_bitrate("-5k")


def test_every_command_takes_the_same_bitrate_and_b_means_bitrate() -> None:
    from audiocodec.cli import build_parser
    from audiocodec.cli import live as cli_live
    from audiocodec.cli import net as cli_net

    enc = build_parser().parse_args(["encode", "a.wav", "b.aqc", "-b", "64k"])
    assert enc.bitrate == 64000
    for add, argv in ((cli_live.add_arguments, ["-b", "32k", "-B", "256"]),
                      (cli_net.add_send_arguments, ["x.wav", "--to", "h:1", "-b", "32k"])):
        p = argparse.ArgumentParser()
        add(p)
        args = p.parse_args(argv)
        assert args.bitrate == 32000
    assert args.bitrate == 32000 and p.parse_args(["x.wav", "--to", "h:1"]).bitrate == 64000
    p = argparse.ArgumentParser()
    cli_live.add_arguments(p)
    assert p.parse_args(["--blocksize", "128"]).blocksize == 128


def test_api_bitrate_string_and_integer_sample_rate() -> None:
    x = music_like(16000, 0.2, 1)
    assert audiocodec.encode(x, 16000, bitrate="32k", serial=1) == audiocodec.encode(
        x, 16000, bitrate=32000, serial=1)
    with pytest.raises(InputError, match="bitrate"):
        audiocodec.encode(x, 16000, bitrate="lots")
    for bad in (44100.5, "48000", 48000.0, True):
        with pytest.raises(InputError, match="integer"):
            audiocodec.encode(x, bad)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="integer"):
            sample_rate_of(bad)
    assert sample_rate_of(np.int64(8000)) == 8000


# ------------------------------------------------------------------ items 18, 19


def test_dir_lists_the_api_and_only_the_api() -> None:
    names = dir(audiocodec)
    assert names == sorted(audiocodec.__all__)
    assert {"encode", "decode", "Encoder", "Decoder", "CodecWarning"} <= set(names)
    assert not hasattr(audiocodec, "Any") and "annotations" not in names


def test_decode_of_damaged_bytes_warns_unless_a_report_is_asked_for() -> None:
    from audiocodec.oneshot import DecodeReport

    data = bytearray(audiocodec.encode(music_like(16000, 0.5, 1), 16000, bitrate=32000, serial=1))
    for k in range(len(data) // 2, len(data) // 2 + 40):
        data[k] ^= 0x5A
    with pytest.warns(audiocodec.CodecWarning, match="damaged"):
        audiocodec.decode(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = DecodeReport()
        audiocodec.decode(bytes(data), report=rep)
        assert rep.damaged
        clean = audiocodec.encode(music_like(16000, 0.2, 1), 16000, serial=1)
        audiocodec.decode(clean)  # no warning for a clean stream


# ------------------------------------------------------------------ item 4, 10


def test_the_extension_picks_the_format(wav: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _cli(capsys, "encode", "-q", str(wav), str(tmp_path / "o.wav"))
    assert code == 0, err
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                        str(tmp_path / "o.wav")], capture_output=True, text=True)
    if r.returncode == 0 or "not found" not in r.stderr:
        assert r.stdout.strip() == "adpcm_ima_wav", r.stderr
    code, err = _cli(capsys, "encode", "-q", str(wav), str(tmp_path / "o.aqc"))
    assert code == 0 and (tmp_path / "o.aqc").read_bytes()[:3] != b"RIF"
    code, err = _cli(capsys, "encode", "-q", "--mode", "adpcm", str(wav), str(tmp_path / "a.aqc"))
    assert code == 0 and audiocodec.info(tmp_path / "a.aqc")["mode"] == "adpcm"
    for argv, msg in ((["--mode", "mdct", "x.wav"], "a .wav output is an IMA ADPCM WAV"),
                      (["x.flac"], "the extension picks the format"),
                      (["x"], "the extension picks the format")):
        code, err = _cli(capsys, "encode", str(wav), *argv[:-1], str(tmp_path / argv[-1]))
        assert code == 2 and msg in err and err.count("\n") == 1, err
    with pytest.raises(InputError, match="IMA ADPCM WAV"):
        files.encode_file(wav, tmp_path / "y.wav", mode="mdct")


@pytest.mark.parametrize("argv,out,msg", [
    (["--quality", "5", "-b", "64k"], "o.aqc", "not both"),
    (["--dither"], "o.aqc", "--dither applies to --quantizer uniform"),
    (["--dither", "--quantizer", "nonuniform"], "o.aqc", "--dither applies"),
    (["--portable"], "o.aqc", "--portable applies to IMA ADPCM .wav"),
    (["--low-delay"], "o.wav", "--low-delay applies to --mode mdct"),
    (["--low-delay", "--mode", "adpcm"], "o.aqc", "--low-delay applies to --mode mdct"),
    (["-b", "64k"], "o.wav", "--bitrate applies to --mode mdct"),
    (["--quantizer", "uniform"], "o.wav", "--quantizer applies"),
    (["--adpcm-encoder", "greedy"], "o.aqc", "--adpcm-encoder applies to --mode adpcm"),
    (["--frame-size", "512"], "o.wav", "--frame-size applies to .aqc"),
])
def test_ignored_options_are_errors(argv: list[str], out: str, msg: str, wav: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _cli(capsys, "encode", *argv, str(wav), str(tmp_path / out))
    assert code == 2 and msg in err and err.count("\n") == 1, err
    assert not (tmp_path / out).exists()


def test_dither_with_uniform_and_quality_alone_still_work(wav: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(capsys, "encode", "-q", "--dither", "--quantizer", "uniform", str(wav),
                str(tmp_path / "d.aqc"))[0] == 0
    assert _cli(capsys, "encode", "-q", "--quality", "4", str(wav), str(tmp_path / "q.aqc"))[0] == 0


# ------------------------------------------------------------------ item 6, 11 (info), 13


def test_truncated_ima_wav_is_damage(wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = tmp_path / "full.wav"
    files.encode_file(wav, full)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:3000])
    code, err = _cli(capsys, "decode", "-q", str(cut), str(tmp_path / "back.wav"))
    assert code == 1, err
    assert "file ends early" in err and "samples missing" in err and err.count("\n") == 1
    assert sf.info(str(tmp_path / "back.wav")).frames > 0  # what was there is still written
    code, err = _cli(capsys, "decode", "-q", str(full), str(tmp_path / "ok.wav"))
    assert code == 0 and err == ""
    assert main(["info", str(cut)]) == 1
    assert "truncated" in capsys.readouterr().out


def test_info_describes_ima_wav_and_names_the_file(wav: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    ima = tmp_path / "o.wav"
    files.encode_file(wav, ima)
    assert main(["info", str(ima)]) == 0
    out = capsys.readouterr().out
    assert "ima-adpcm-wav" in out and "16000 Hz" in out and "channels: 2" in out
    code, err = _cli(capsys, "info", str(wav))
    assert code == 2 and str(wav) in err and "not an AQC file or IMA ADPCM WAV" in err
    assert err.count("\n") == 1


def test_decode_and_receive_share_one_exit_rule() -> None:
    from audiocodec.cli import common
    from audiocodec.cli import net as cli_net

    assert common.exit_status(False) == 0 and common.exit_status(True) == common.EXIT_DAMAGED == 1
    src = Path(cli_net.__file__).read_text()
    assert "return exit_status(bool(stats.packets_concealed or stats.packets_recovered))" in src
    assert "exit_status(rep.damaged)" in Path(files.__file__).with_name("cli").joinpath(
        "codec.py").read_text()


# ------------------------------------------------------------------ item 8


def test_downmix_matrix_is_bs775_and_does_not_clip() -> None:
    g = 1 / np.sqrt(2)
    m = downmix_matrix(6)  # L R C LFE Ls Rs
    np.testing.assert_allclose(m[:, 0] * (1 + 2 * g), [1, 0, g, 0, g, 0], atol=1e-6)
    np.testing.assert_allclose(m[:, 1] * (1 + 2 * g), [0, 1, g, 0, 0, g], atol=1e-6)
    for ch in range(3, 9):
        assert np.all(np.abs(downmix(np.ones((4, ch), np.float32))) <= 1.0 + 1e-6)
    with pytest.raises(UnsupportedError, match="3 to 8"):
        downmix_matrix(10)


def test_more_than_two_channels_coded_or_downmixed(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "six.wav"
    x = np.zeros((8000, 6), np.float32)
    x[:, 2] = 0.5 * np.sin(np.arange(8000) / 10)  # centre only
    sf.write(src, x, 16000, subtype="PCM_16")
    code, err = _cli(capsys, "encode", "-q", str(src), str(tmp_path / "o.aqc"))
    assert code == 0, err  # 5.1 is coded as it is (multistream) ...
    assert audiocodec.info(tmp_path / "o.aqc")["channels"] == 6
    code, err = _cli(capsys, "encode", "-q", "--downmix", str(src), str(tmp_path / "o.wav"))
    assert code == 0, err
    y, _ = sf.read(str(tmp_path / "o.wav"), always_2d=True)
    assert y.shape[1] == 2 and np.allclose(y[:, 0], y[:, 1], atol=2e-3)
    g = 1 / np.sqrt(2)
    assert abs(np.abs(y).max() - 0.5 * g / (1 + 2 * g)) < 0.01  # the centre at -3 dB, normalised


# ------------------------------------------------------------------ item 11


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_names_the_output(wav: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, err = _cli(capsys, "encode", str(wav), str(ro / "o.aqc"))
    finally:
        ro.chmod(0o755)
    assert code == 2 and str(ro / "o.aqc") in err and ".part" not in err and err.count("\n") == 1


def test_read_only_directory_message_from_mkstemp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def denied(**_kw: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".o.aqc.x.part"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(OSError) as e, files.atomic_output(tmp_path / "o.aqc"):
        pass
    assert str(tmp_path / "o.aqc") in str(e.value) and ".part" not in str(e.value)


def test_failed_write_names_the_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.aqc"
    with pytest.raises(OSError) as e, files.atomic_output(out):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert e.value.filename == str(out) and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ item 14


def test_progress_bars_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from audiocodec.cli import common

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert common.progress(False, 48000 * 60, "decode") == (None, None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    cb, bar = common.progress(False, 48000 * 60, "decode")
    assert cb is not None and bar is not None
    bar.close()


def test_decode_reports_progress(wav: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    aqc = tmp_path / "o.aqc"
    files.encode_file(wav, aqc)
    files.decode_file(aqc, tmp_path / "b.wav", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (8000, 8000)
    ima = tmp_path / "o.wav"
    files.encode_file(wav, ima)
    seen.clear()
    files.decode_file(ima, tmp_path / "c.wav", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] >= 8000


def test_eval_progress_is_plain_lines_in_a_log() -> None:
    src = (ROOT / "audiocodec" / "eval" / "runner.py").read_text()
    assert "isatty()" in src and "eval: {len(finished)}/{len(todo)}" in src


# ------------------------------------------------------------------ item 2


def test_missing_portaudio_is_one_line_that_says_what_to_install(tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    env = {**os.environ, "PYTHONPATH": f"{fake}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for argv in (["live", "--duration", "1"], ["live", "--list-devices"],
                 ["receive", "--port", "5999", "--play", "--timeout", "1"]):
        r = subprocess.run([sys.executable, "-m", "audiocodec", *argv], capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=120)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and "apt-get install libportaudio2" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_sounddevice_is_a_dependency_imported_only_by_the_app() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    deps = text[text.index("dependencies = ["):text.index("]", text.index("dependencies = ["))]
    assert '"sounddevice' in deps
    for p in (ROOT / "audiocodec").rglob("*.py"):
        assert "import sounddevice" not in p.read_text(), p


# ------------------------------------------------------------------ item 7 (resampling part)


@pytest.mark.parametrize("rate,coded", [(96000, 48000), (88200, 44100), (192000, 48000)])
def test_high_rates_are_resampled_with_soxr(rate: int, coded: int, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "hi.wav"
    t = np.arange(rate // 2) / rate
    sf.write(src, (0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), rate, subtype="PCM_24")
    code, err = _cli(capsys, "encode", str(src), str(tmp_path / "o.aqc"))
    assert code == 0 and f"resampled {rate} -> {coded} Hz" in err, err
    y, r = audiocodec.decode((tmp_path / "o.aqc").read_bytes())
    assert r == coded and abs(y.shape[0] - coded // 2) <= 2
    assert 0.28 < np.abs(y[coded // 10:]).max() < 0.32  # a 1 kHz tone survives at its level
    assert _cli(capsys, "encode", "-q", str(src), str(tmp_path / "o.wav"))[0] == 0
    assert sf.info(str(tmp_path / "o.wav")).samplerate == rate  # IMA WAV keeps any rate
    sf.write(tmp_path / "x.wav", np.zeros(100, np.float32), 400000)
    code, err = _cli(capsys, "encode", str(tmp_path / "x.wav"), str(tmp_path / "x.aqc"))
    assert code == 2 and "8000..384000" in err
    # items 7 and 9: decode restores the recorded source rate and sample format by default
    assert _cli(capsys, "decode", "-q", str(tmp_path / "o.aqc"), str(tmp_path / "back.wav"))[0] == 0
    info = sf.info(str(tmp_path / "back.wav"))
    assert (info.samplerate, info.subtype) == (rate, "PCM_24")
    back, _ = sf.read(str(tmp_path / "back.wav"), dtype="float32")
    assert abs(back.shape[0] - rate // 2) <= 4 and 0.28 < np.abs(back[rate // 10:]).max() < 0.32
    code, err = _cli(capsys, "decode", "-q", "--rate", str(coded), "--subtype", "FLOAT",
                     str(tmp_path / "o.aqc"), str(tmp_path / "coded.wav"))
    info = sf.info(str(tmp_path / "coded.wav"))
    assert code == 0 and (info.samplerate, info.subtype) == (coded, "FLOAT"), err
    code, err = _cli(capsys, "decode", "--subtype", "FLOAT", str(tmp_path / "o.aqc"),
                     str(tmp_path / "f.flac"))
    assert code == 2 and "cannot hold --subtype FLOAT" in err


def test_decode_keeps_the_source_bit_depth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = music_like(48000, 0.5, 2, seed=4)
    for subtype, out in (("PCM_24", "b.wav"), ("PCM_16", "c.flac"), ("FLOAT", "d.wav")):
        src = tmp_path / f"in_{subtype}.wav"
        sf.write(src, x, 48000, subtype=subtype)
        assert _cli(capsys, "encode", "-q", str(src), str(tmp_path / "o.aqc"), "-f")[0] == 0
        assert _cli(capsys, "decode", "-q", str(tmp_path / "o.aqc"), str(tmp_path / out))[0] == 0
        assert sf.info(str(tmp_path / out)).subtype == subtype


def test_headless_live_loop_needs_no_sound_card(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, music_like(48000, 1.0, 2), 48000)
    out = tmp_path / "back.wav"
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    env = {**os.environ, "PYTHONPATH": f"{fake}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    r = subprocess.run([sys.executable, "-m", "audiocodec", "live", "--input-file", str(src),
                        "--output-file", str(out), "-b", "64k"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    y, rate = sf.read(str(out), always_2d=True)
    assert rate == 48000 and y.shape[1] == 2 and y.shape[0] >= 48000 and np.abs(y).max() > 0.05


def test_lfe_group_flag(tmp_path: Path, wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--lfe-group on|off`` reaches the encoder; on a stream without an LFE it is an error."""
    from audiocodec.container import aqc

    six = tmp_path / "six.wav"
    sf.write(six, music_like(48000, 0.5, 6), 48000, subtype="PCM_16")
    for flag, want in (("on", True), ("off", False)):
        out = tmp_path / f"six_{flag}.aqc"
        code, err = _cli(capsys, "encode", str(six), str(out), "--bitrate", "192k", "--lfe-group", flag)
        assert code == 0, err
        h = aqc.StreamHeader.unpack(out.read_bytes())
        assert (aqc.lfe_group(h) is not None) == want
    code, err = _cli(capsys, "encode", str(wav), str(tmp_path / "st.aqc"), "--lfe-group", "on")
    assert code != 0 and "lfe_group" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "st.aqc").exists()


def test_info_shows_where_the_noise_fill_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``info`` reports the noise_fill_from record's frequency (the bin's lower edge), and the
    3 kHz rule for a stream without it (a b98a157 stream)."""
    src = tmp_path / "in.wav"
    sf.write(src, music_like(48000, 0.3, 2), 48000, subtype="PCM_16")
    out = tmp_path / "o.aqc"
    assert main(["encode", str(src), str(out), "--bitrate", "64k"]) == 0
    d = files.info(out)
    assert d["noise_fill_from_hz"] == 21 * 48000 / 2048  # bin 21 of 1024: 492 Hz
    assert d["lfe_group"] is None
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert "noise fill: zero bands from 492 Hz up" in capsys.readouterr().out
    old = Path(__file__).resolve().parent / "streams" / "b98a157_default_stereo_32k.aqc"
    assert files.info(old)["noise_fill_from_hz"] == 128 * 48000 / 2048  # 3 kHz
