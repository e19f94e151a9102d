"""The listening page (audiocodec.eval.listen) and the listeners' results read back
(audiocodec.eval.listeners); and the page in a real browser (headless Chromium).

The page is made from a short synthetic item with faked decodes (no codec, no ffmpeg):
ours adds noise in one known second only, the peers are delayed copies, so the excerpt
choice and the alignment can be checked exactly. The browser test needs Debian's
``chromium`` and ``chromium-driver`` and ``selenium``; it skips without them, except under
``CI=true`` (``tests/run.sh`` installs them), where it must run.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from audiocodec.eval import listen, listeners
from audiocodec.eval.plan import EvalOptions, Item, load_item
from audiocodec.eval.report import Collected

RATE = 48000
SECONDS = 6.0
NOISY = (3.5, 4.5)  # the second where ours is worst
DELAY = {"peer:opus": 312, "peer:mp3": -57}  # samples late (negative: early)
ACTUAL = {("adaptive", 32000): 31500.0, ("adaptive", 64000): 63400.0,
          ("peer:opus", 24000): 33000.0, ("peer:opus", 48000): 61000.0,
          ("peer:opus", 64000): 80000.0, ("peer:mp3", 32000): 32300.0,
          ("peer:mp3", 64000): 64400.0}


def _signal() -> np.ndarray:
    rng = np.random.default_rng(16)
    t = np.arange(int(SECONDS * RATE)) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 6000 * t)
    x = np.stack([tone, np.roll(tone, 100)], axis=1) + 0.01 * rng.standard_normal((t.size, 2))
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def item(tmp_path_factory: pytest.TempPathFactory) -> Item:
    path = tmp_path_factory.mktemp("listen") / "synth_item.wav"
    sf.write(str(path), _signal(), RATE, subtype="PCM_16")
    return load_item(path)


def fake_decode(item: Item, method: str, nominal: int | None) -> np.ndarray:
    """Ours: the reference plus noise inside ``NOISY`` (more at low rates); peers: the
    reference shifted by ``DELAY`` with a little noise everywhere."""
    ref, _ = sf.read(item.path, dtype="float32", always_2d=True)
    rng = np.random.default_rng(nominal or 0)
    if method.startswith("peer:"):
        d = DELAY[method]
        out = np.zeros_like(ref)
        if d >= 0:
            out[d:] = ref[: ref.shape[0] - d]
        else:
            out[:d] = ref[-d:]
        return out + 0.001 * rng.standard_normal(ref.shape).astype(np.float32)
    out = ref.copy()
    lo, hi = (int(s * item.rate) for s in NOISY)
    out[lo:hi] += (0.02 * 64000 / (nominal or 64000)) * rng.standard_normal((hi - lo, 2)).astype(np.float32)
    return out


def _results(item: Item) -> list[dict[str, Any]]:
    rs: list[dict[str, Any]] = [{"item": item.name, "method": "identity", "nominal": None,
                                 "bitrate": 1536000.0, "visqol": 4.73, "zimtohrli": 5.0}]
    for (m, br), actual in ACTUAL.items():
        rs.append({"item": item.name, "method": m, "nominal": br, "bitrate": actual,
                   "code": "fake", "visqol": 4.0 + br / 1e5, "zimtohrli": 4.5})
    return rs


def _options(out: Path, **kw: Any) -> EvalOptions:
    return EvalOptions(inputs=[], bitrates=(32000, 64000), out=out, listen_seconds=2.0, **kw)


def _collected(item: Item) -> Collected:
    return Collected([item], _results(item), [], [], ["opus", "mp3", "adpcm"], None, None,
                     False, 0, 0, 0.0)


@pytest.fixture(scope="module")
def page(item: Item, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page")
    path = listen.write_for_eval(_collected(item), _options(out), decode=fake_decode)
    assert path == out / "listen.html"
    return out


def _manifest(page: Path) -> dict[str, Any]:
    text = (page / "listen.html").read_text()
    m = re.search(r"window\.LISTEN_MANIFEST = (.*?);\n</script>", text, re.S)
    assert m is not None
    return json.loads(m.group(1).replace("<\\/", "</"))


def _audio(page: Path, script: str) -> tuple[str, np.ndarray]:
    m = re.match(r'\(window\.LISTEN_AUDIO = window\.LISTEN_AUDIO \|\| \{\}\)\[(".*?")\] =\n"(.*)";\n$',
                 (page / script).read_text(), re.S)
    assert m is not None, script
    pcm, rate = sf.read(io.BytesIO(base64.b64decode(m.group(2))), dtype="float32", always_2d=True)
    assert rate == RATE
    return json.loads(m.group(1)), pcm


# --------------------------------------------------------------------- the page's files


def test_peers_are_matched_at_our_actual_bitrate(item: Item) -> None:
    conds, trials = listen.plan_conditions(item, _results(item), "adaptive", ["opus", "mp3", "adpcm"],
                                           [32000, 64000])
    assert [t.bitrate for t in trials] == [32000, 64000]
    # ours at 63.4k: opus 48k (61k actual) is nearer than 64k (80k); at 31.5k: opus 24k (33k)
    assert trials[0].cids == ("reference", "adaptive-32k", "opus-24k", "mp3-32k", "anchor")
    assert trials[1].cids == ("reference", "adaptive-64k", "opus-48k", "mp3-64k", "anchor")
    assert {c.cid for c in conds} == {"reference", "anchor", *trials[0].cids, *trials[1].cids}


def test_page_files_decode_to_equal_aligned_excerpts(item: Item, page: Path) -> None:
    man = _manifest(page)
    (it,) = man["items"]
    frames = int(2.0 * RATE)
    assert it["frames"] == frames and it["channels"] == 2 and it["rate"] == RATE
    ref_full, _ = sf.read(item.path, dtype="float32", always_2d=True)
    start = it["first"]  # sample
    assert it["start"] == round(start / RATE, 3)
    audio = {}
    for cid, c in it["conditions"].items():
        key, pcm = _audio(page, c["script"])
        assert key == f"{item.name}/{cid}"
        assert pcm.shape == (frames, 2), cid  # every condition: the same number of samples
        flac, _ = sf.read(str(page / c["flac"]), dtype="float32", always_2d=True)
        np.testing.assert_array_equal(flac, pcm)
        audio[cid] = pcm
    ref = audio["reference"]
    mid = slice(RATE // 10, frames - RATE // 10)  # inside the fades
    np.testing.assert_allclose(ref[mid], ref_full[start:][mid], atol=1 / 32768)
    for cid in ("opus-24k", "opus-48k", "mp3-32k", "mp3-64k"):  # delayed peers come back aligned
        assert np.max(np.abs(audio[cid][mid] - ref[mid])) < 0.01, cid
    assert np.max(np.abs(audio["reference"][:10])) < np.max(np.abs(ref[mid])) / 10  # faded in
    # the anchor is the reference without what lies above 3.5 kHz
    spec = np.abs(np.fft.rfft(audio["anchor"][mid, 0]))
    f = np.fft.rfftfreq(mid.stop - mid.start, 1 / RATE)
    assert spec[np.argmin(np.abs(f - 6000))] < 0.01 * spec[np.argmin(np.abs(f - 440))]
    assert it["trials"][1]["conditions"][1] == "adaptive-64k"
    assert it["abx"] == ["reference", "adaptive-64k"]
    levels = [c["level_db"] for c in it["conditions"].values()]
    assert all(abs(v) < 0.5 for v in levels if v is not None)


def test_report_links_the_page(page: Path) -> None:
    from audiocodec.eval.render import render_html

    blocks = listeners.report_blocks(page, [], [])
    assert blocks[0] == ("h", 2, "Listening test")
    assert "<a href='listen.html'>listen.html</a>" in render_html(blocks, page, "t")
    assert listeners.report_blocks(page / "nothing-here", [], []) == []


def test_default_excerpt_is_where_ours_is_worst(page: Path) -> None:
    (it,) = _manifest(page)["items"]
    assert it["start"] <= NOISY[0] and it["start"] + it["seconds"] >= NOISY[1]
    assert "noise-to-mask" in it["how"] and "64k" in it["how"]


def test_user_excerpt_and_its_checks(item: Item, tmp_path: Path) -> None:
    from audiocodec.errors import InputError

    opts = _options(tmp_path, listen_excerpts=((item.name, 0.5),))
    listen.write_for_eval(_collected(item), opts, decode=fake_decode)
    (it,) = _manifest(tmp_path)["items"]
    assert it["start"] == 0.5 and it["how"] == "chosen by the user"
    with pytest.raises(InputError, match="not among the inputs"):
        listen.write_for_eval(_collected(item), _options(tmp_path, listen_excerpts=(("nope", 1.0),)),
                              decode=fake_decode)
    with pytest.raises(InputError, match="6.00 s long"):
        listen.write_for_eval(_collected(item), _options(tmp_path, listen_excerpts=((item.name, 9.0),)),
                              decode=fake_decode)


def test_cli_parses_the_listen_options(tmp_path: Path) -> None:
    import argparse

    from audiocodec.cli.evaluate import add_eval_arguments, eval_options
    from audiocodec.errors import InputError

    p = argparse.ArgumentParser()
    add_eval_arguments(p)
    (tmp_path / "r1.csv").write_text(CSV)
    (tmp_path / "r2.json").write_text(json.dumps(_json_export()))
    files = [str(tmp_path / "r1.csv"), str(tmp_path / "r2.json")]
    args = p.parse_args(["a.wav", "--listen-excerpt", "a=1.5", "--listen-excerpt", "b=2",
                         "--listen-seconds", "6", "--listener-results", *files])
    opts = eval_options(args)
    assert opts.listen and opts.listen_seconds == 6.0
    assert opts.listen_excerpts == (("a", 1.5), ("b", 2.0))
    assert opts.listener_results == tuple(map(Path, files))
    with pytest.raises(InputError, match="no such file"):  # before the evaluation, not after
        eval_options(p.parse_args(["a.wav", "--listener-results", str(tmp_path / "gone.csv")]))
    assert not eval_options(p.parse_args(["a.wav", "--no-listen"])).listen
    with pytest.raises(InputError, match="ITEM=START"):
        eval_options(p.parse_args(["a.wav", "--listen-excerpt", "a:1"]))


# --------------------------------------------------------------------- results read back


CSV = """listener,item,trial,condition,method,nominal,bitrate,score,label
ann,synth_item,64000,reference,reference,,,100,hidden reference
ann,synth_item,64000,adaptive-64k,adaptive,64000,63400,80,ours
ann,synth_item,64000,opus-48k,peer:opus,48000,61000,70,opus
ann,synth_item,64000,anchor,anchor,,,20,anchor
"""


def _json_export() -> dict[str, Any]:
    rows = [{"item": "synth_item", "trial": 64000, "condition": c, "method": m, "nominal": n,
             "bitrate": None, "score": s}
            for c, m, n, s in (("reference", "reference", None, 96), ("adaptive-64k", "adaptive", 64000, 90),
                               ("opus-48k", "peer:opus", 48000, 60), ("anchor", "anchor", None, 30))]
    return {"format": "audiocodec-listening", "version": 1, "listener": "bob", "mushra": rows,
            "abx": [{"item": "synth_item", "a": "reference", "b": "adaptive-64k", "trials": 10,
                     "correct": 9}]}


def test_results_read_back_into_the_listeners_table(item: Item, tmp_path: Path) -> None:
    (tmp_path / "ann.csv").write_text(CSV)
    (tmp_path / "bob.json").write_text(json.dumps(_json_export()))
    paths = [tmp_path / "ann.csv", tmp_path / "bob.json"]
    ratings, sessions = listeners.read_results(paths)
    assert len(ratings) == 8 and {r.listener for r in ratings} == {"ann", "bob"}
    assert sessions[0].correct == 9 and sessions[0].p == pytest.approx(11 / 1024)
    assert listeners.read_results([tmp_path / "bob.json"])[0][0].listener == "bob"
    head, rows = listeners.listeners_rows(ratings, _results(item))
    by = {r[1]: dict(zip(head, r, strict=True)) for r in rows}
    assert list(by) == ["hidden reference", "ours adaptive", "libopus", "anchor (3.5 kHz low-pass)"]
    ours = by["ours adaptive"]
    assert ours["mean"] == "85.0" and ours["ratings"] == "2" and ours["listeners"] == "2"
    half = 12.706 * 5 * np.sqrt(2) / np.sqrt(2)  # t(0.975, 1) * sd / sqrt(n)
    assert ours["95% CI"] == f"{85 - half:.1f} - {85 + half:.1f}"
    assert ours["ViSQOL/ch"] == "4.64" and by["hidden reference"]["ViSQOL/ch"] == "4.73"
    blocks = listeners.report_blocks(tmp_path, paths, _results(item))
    assert ("h", 3, "Listeners") in blocks and ("h", 3, "ABX") in blocks
    assert listeners.mean_ci([50.0]) == (50.0, None)


@pytest.mark.parametrize("bad, message", [
    ("item,trial,condition\nx,64000,anchor\n", "no 'score'"),
    ("item,trial,condition,score\nx,64000,anchor,120\n", "0..100"),
    ("item,trial,condition,score\nx,fast,anchor,50\n", "trial must be a number"),
])
def test_bad_result_files_are_named(tmp_path: Path, bad: str, message: str) -> None:
    from audiocodec.errors import InputError

    (tmp_path / "r.csv").write_text(bad)
    with pytest.raises(InputError, match=message):
        listeners.read_results([tmp_path / "r.csv"])
    (tmp_path / "r.txt").write_text("x")
    with pytest.raises(InputError, match=".csv or .json"):
        listeners.read_results([tmp_path / "r.txt"])


def test_binomial_p_is_foobars() -> None:
    assert listeners.binomial_p(0, 0) == 1.0
    assert listeners.binomial_p(3, 4) == pytest.approx(5 / 16)
    assert listeners.binomial_p(12, 16) == pytest.approx(0.0384, abs=1e-4)


# --------------------------------------------------------------------- in a real browser


def _browser(downloads: Path) -> Any:
    """Headless Chromium through selenium, or a skip (never under CI=true)."""
    in_ci = os.environ.get("CI", "").lower() == "true"
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    if webdriver is None or not chromium or not driver:
        what = "selenium" if webdriver is None else "chromium and chromium-driver"
        if in_ci:
            pytest.fail(f"CI=true but missing: {what} (tests/run.sh installs it)")
        pytest.skip(f"needs {what}")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required",
                 "--window-size=1100,1250"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    return webdriver.Chrome(options=opts, service=Service(driver))


def _wait(drv: Any, script: str, seconds: float = 20.0) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = drv.execute_script(script)
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def _keys(drv: Any, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(drv).send_keys(keys).perform()


def _abx_trial(drv: Any) -> None:
    """Play, switch A/B/X at the same position, answer 4 times (3 right, 1 wrong)."""
    from selenium.webdriver.common.by import By

    _keys(drv, " ")
    _wait(drv, "return listen.player.playing && listen.player.position() > 0.2")
    for key, want in (("b", "adaptive-64k"), ("a", "reference")):
        before = drv.execute_script("return listen.player.position()")
        _keys(drv, key)
        got = drv.execute_script("return [listen.player.current, listen.player.position(), "
                                 "listen.player.seg.sources.length]")
        assert got[0] == want and got[1] >= before and got[2] == 2  # no restart, both running
    _keys(drv, "x")
    for right in (True, True, False, True):
        x_is_a = drv.execute_script("return listen.debug.xIsA()")
        _keys(drv, "1" if x_is_a == right else "2")
    tally = drv.find_element(By.ID, "abx-tally").text
    assert "3 / 4 correct" in tally and "p = 0.313" in tally, tally  # P(K >= 3 | n = 4) = 5/16
    assert drv.execute_script("return listen.pGuess(3, 4)") == pytest.approx(5 / 16)
    _keys(drv, "[")  # loop from the playing position
    loop = drv.execute_script("return [listen.player.loopA, listen.player.loopB, "
                              "document.getElementById('loop-start').value]")
    assert 0 < loop[0] < loop[1] == 2.0 and float(loop[2]) == pytest.approx(loop[0], abs=0.01)
    _keys(drv, "\\")  # the whole excerpt again
    assert drv.execute_script("return [listen.player.loopA, listen.player.loopB]") == [0, 2]


def _mushra_rating(drv: Any) -> dict[str, int]:
    """Rate every condition of the 64k trial; the scores by condition, as the page has them."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _keys(drv, "v")
    assert drv.execute_script("return listen.view") == "mushra"
    Select(drv.find_element(By.ID, "trial")).select_by_index(1)
    order = drv.execute_script("return listen.trialOrder()")
    assert sorted(order) == sorted(["reference", "adaptive-64k", "opus-48k", "mp3-64k", "anchor"])
    want = {}
    for i, cid in enumerate(order):
        _keys(drv, str(i + 1))
        assert drv.execute_script("return listen.player.current") == cid
        for _ in range(i + 1):
            _keys(drv, "\ue013")  # arrow up: +5 for the playing condition
        want[cid] = 50 + 5 * (i + 1)
    assert drv.find_element(By.ID, "mushra-status").text == f"rated {len(order)} of {len(order)}"
    return want


def test_page_in_a_real_browser(page: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    drv = _browser(tmp_path)
    try:
        drv.get((page / "listen.html").as_uri())
        _wait(drv, "return window.listen && (listen.ready || listen.errors.length)")
        assert drv.execute_script("return listen.errors") == []
        assert drv.execute_script("return listen.ready") is True
        decoded = drv.execute_script("return Object.keys(listen.player.map).length")
        assert decoded == len(_manifest(page)["items"][0]["conditions"])
        _abx_trial(drv)
        if os.environ.get("LISTEN_SCREENSHOTS"):
            drv.save_screenshot(os.path.join(os.environ["LISTEN_SCREENSHOTS"], "listen_abx.png"))
        want = _mushra_rating(drv)
        if os.environ.get("LISTEN_SCREENSHOTS"):
            drv.save_screenshot(os.path.join(os.environ["LISTEN_SCREENSHOTS"], "listen_mushra.png"))
        drv.find_element(By.ID, "listener").send_keys("selenium")
        drv.find_element(By.ID, "export-csv").click()
        drv.find_element(By.ID, "export-json").click()
        _keys(drv, " ")
        assert drv.execute_script("return listen.player.playing") is False
        files = _wait(drv, "return 1") and _downloads(tmp_path)
        logs = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
        assert logs == [], logs
    finally:
        drv.quit()
    ratings, sessions = listeners.read_results([files["csv"]])
    assert {r.condition: r.score for r in ratings} == want
    assert {r.listener for r in ratings} == {"selenium"}
    ratings, sessions = listeners.read_results([files["json"]])
    assert {r.condition: r.score for r in ratings} == want
    assert [(s.a, s.b, s.trials, s.correct) for s in sessions] == [("reference", "adaptive-64k", 4, 3)]


def _downloads(folder: Path, seconds: float = 10.0) -> dict[str, Path]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = {p.suffix[1:]: p for p in folder.glob("listening-selenium-*") if p.suffix in (".csv", ".json")}
        if len(got) == 2:
            return got
        time.sleep(0.1)
    raise AssertionError(f"the exports did not arrive in {folder}: {list(folder.iterdir())}")
