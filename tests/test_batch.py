"""Catalog encoding: local pool and a Dask LocalCluster, failures, skips and resumes."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from support import music_like

import audiocodec
from audiocodec.batch import ENCODED, FAILED, SKIPPED, encode_many, expand_inputs
from audiocodec.errors import InputError

HAS_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAS_DASK and os.environ.get("CI") != "true",
                                reason="dask[distributed] not installed (pip install -e '.[batch]')")


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "album").mkdir(parents=True)
    sf.write(root / "a.wav", music_like(16000, 0.3, 1, seed=1), 16000)
    sf.write(root / "album" / "b.flac", music_like(48000, 0.3, 2, seed=2), 48000)
    sf.write(root / "album" / "c.wav", music_like(22050, 0.3, 2, seed=3), 22050, subtype="PCM_24")
    (root / "album" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "notes.txt").write_text("not audio")
    return root


def _decodes(path: Path, like: Path) -> None:
    ref, rate = sf.read(like, dtype="float32", always_2d=True)
    pcm, r2 = audiocodec.decode(path.read_bytes())
    assert r2 == rate and pcm.shape == ref.shape


def test_directory_expansion_keeps_subfolders_and_skips_non_audio(catalog: Path) -> None:
    found = {str(rel) for _, rel, _ in expand_inputs([catalog])}
    assert found == {"a.wav", "album/b.flac", "album/c.wav", "album/broken.wav"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_pool_encodes_reports_failures_and_resumes(catalog: Path, tmp_path: Path, jobs: int) -> None:
    out = tmp_path / "out"
    seen: list[tuple[int, int]] = []
    res = encode_many([catalog, str(tmp_path / "missing*.wav")], out, jobs=jobs, bitrate=48_000,
                      progress=lambda done, total, _o: seen.append((done, total)))
    assert sorted(Path(o.dst).name for o in res.encoded) == ["a.aqc", "b.aqc", "c.aqc"]
    assert {Path(o.src).name for o in res.failed} == {"broken.wav", "missing*.wav"}
    assert not res.ok and seen[-1] == (5, 5) and len(seen) == 5
    _decodes(out / "album" / "b.aqc", catalog / "album" / "b.flac")
    _decodes(out / "a.aqc", catalog / "a.wav")
    assert not list(out.rglob("*.part")), "no temporary file is left behind"
    again = encode_many([catalog], out, jobs=jobs, bitrate=48_000)
    assert len(again.skipped) == 3 and len(again.encoded) == 0 and len(again.failed) == 1
    stamp = (out / "a.aqc").stat().st_mtime_ns
    forced = encode_many([catalog / "a.wav"], out, jobs=jobs, force=True, bitrate=48_000)
    assert [o.status for o in forced.outcomes] == [ENCODED]
    assert (out / "a.aqc").stat().st_mtime_ns >= stamp


def test_adpcm_catalog_writes_ima_wav(catalog: Path, tmp_path: Path) -> None:
    res = encode_many([catalog / "a.wav"], tmp_path / "o", jobs=1, mode="adpcm")
    (o,) = res.outcomes
    assert o.status == ENCODED and o.dst.endswith("a.wav")
    data, rate = sf.read(o.dst, dtype="float32")
    assert rate == 16000 and data.shape[0] >= 4800


def test_two_inputs_one_output_is_a_failure_not_an_overwrite(catalog: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    sf.write(other / "a.wav", np.zeros((800, 1), np.float32), 8000)
    res = encode_many([catalog / "a.wav", other / "a.wav"], tmp_path / "o", jobs=1)
    assert [o.status for o in res.outcomes] == [FAILED, ENCODED]  # the clash is found up front
    with pytest.raises(InputError):
        encode_many([catalog], tmp_path / "o", jobs=0)


@needs_dask
def test_dask_local_cluster_two_workers(catalog: Path, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            Client(cl) as client:
        res = encode_many([catalog], tmp_path / "o", client=client, bitrate=48_000)
        assert len(res.encoded) == 3 and len(res.failed) == 1
        assert len({o.src for o in res.outcomes}) == 4
        again = encode_many([catalog], tmp_path / "o", client=client)
    assert sorted(o.status for o in again.outcomes) == [FAILED, SKIPPED, SKIPPED, SKIPPED]
    _decodes(tmp_path / "o" / "album" / "c.aqc", catalog / "album" / "c.wav")


def test_cli_out_dir_reports_failures_and_skips(catalog: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from audiocodec.cli import main

    out = tmp_path / "cli-out"
    code = main(["encode", str(catalog), "--out-dir", str(out), "--jobs", "2", "-b", "48k"])
    err = capsys.readouterr().err
    assert code == 2  # something failed: broken.wav
    assert err.count("error:") == 1 and "broken.wav" in err
    assert "3 encoded, 0 skipped" in err and "1 failed" in err
    assert (out / "album" / "c.aqc").exists()
    code = main(["encode", str(catalog), "--out-dir", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "0 encoded, 3 skipped" in err
    assert main(["encode", str(catalog / "a.wav"), "--out-dir", str(out), "-q"]) == 0  # a skip is no failure
    assert main(["encode", str(catalog / "a.wav"), str(out / "x.aqc"), "--jobs", "2"]) == 2
    assert "--jobs and --scheduler go with --out-dir" in capsys.readouterr().err
    assert main(["encode", str(catalog / "a.wav")]) == 2
    assert "INPUT OUTPUT" in capsys.readouterr().err
