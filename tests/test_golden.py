"""Golden bytes: the encodes (and decodes) of fixed seeded inputs, pinned by md5.

A change that alters them on purpose (a format or tuning change) updates the
table in the same commit and says why. The format-version-2 container (pages
instead of 7-byte frame headers, a 42-byte header with CRC-32) changed every
encode digest and no decode digest: the PCM decoded from the new container is
the PCM the old one gave for the same payload. Scale-factor prediction (the
``sf_predict`` record, on by default outside low delay) changed those encode
digests and the decode digests of the bitrate-driven streams, whose saved bits
go to the coefficients; the VBR streams decode to the same PCM (the same steps,
coded in fewer bits); ``no_sf_predict_stereo_96k`` pins the coding without it and
``ld_sf_predict_mono_32k`` the low-delay coding with it. ``ld_postfilter_mono_20k`` pins the
pitch filter under 28 kbit/s in the 10 ms layout (mono, from 16k), and the two 5.1 cases the
multistream coding with and without scale-factor prediction.

The digests assume IEEE float64 arithmetic in numpy/scipy's FFT and numba's
kernels as on the project's machines; ``python tests/test_golden.py`` prints
the current table.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import music_like  # noqa: E402

import audiocodec  # noqa: E402

# name -> (channels, rate, seconds, encoder options)
CASES: dict[str, tuple[int, int, float, dict[str, object]]] = {
    "adaptive_stereo_96k": (2, 48000, 1.0, {"bitrate": 96_000}),
    "adaptive_mono_32k": (1, 48000, 1.0, {"bitrate": 32_000}),
    "uniform_stereo_64k": (2, 48000, 1.0, {"bitrate": 64_000, "quantizer": "uniform"}),
    "nonuniform_stereo_64k": (2, 48000, 1.0, {"bitrate": 64_000, "quantizer": "nonuniform"}),
    "uniform_dither_mono_48k": (1, 44100, 0.7, {"bitrate": 48_000, "quantizer": "uniform",
                                                "dither": True}),
    "low_delay_stereo_64k": (2, 48000, 1.0, {"bitrate": 64_000, "low_delay": True}),
    "low_delay_512_mono_32k": (1, 48000, 1.0, {"bitrate": 32_000, "low_delay": True,
                                               "frame_size": 512}),
    "ld_no_postfilter_stereo_64k": (2, 48000, 1.0, {"bitrate": 64_000, "low_delay": True,
                                                    "postfilter": False}),
    "no_sf_predict_stereo_96k": (2, 48000, 1.0, {"bitrate": 96_000, "sf_predict": False}),
    "ld_sf_predict_mono_32k": (1, 48000, 1.0, {"bitrate": 32_000, "low_delay": True, "sf_predict": True}),
    "ld_postfilter_mono_20k": (1, 48000, 1.0, {"bitrate": 20_000, "low_delay": True}),
    "surround_5_1_192k": (6, 48000, 0.6, {"bitrate": 192_000}),
    "surround_5_1_no_sfp_192k": (6, 48000, 0.6, {"bitrate": 192_000, "sf_predict": False}),
    "vbr_q6_stereo": (2, 48000, 1.0, {"quality": 6.0}),
    "vbr_q2_mono_16k": (1, 16000, 1.0, {"quality": 2.0}),
    "no_block_switching_stereo": (2, 32000, 0.8, {"bitrate": 80_000, "block_switching": False}),
    "adpcm_greedy_stereo": (2, 48000, 0.5, {"mode": "adpcm"}),
    "adpcm_search_mono": (1, 22050, 0.5, {"mode": "adpcm", "adpcm_method": "search",
                                          "frame_size": 500}),
}

GOLDEN: dict[str, tuple[str, str]] = {
    'adaptive_stereo_96k': ('cc68eaf5d7ab950f5c43a7c5b45744f3', 'a0499b5ce40958c0570dd174747b05f6'),
    'adaptive_mono_32k': ('863105491dbff326916cba9eeefc9714', 'd24a1bb17838e1c22abb089ab3ca152a'),
    'uniform_stereo_64k': ('579e9c7ef3812579f92cb15bce5bc4ec', 'b7c120a78342e905b3c5489a678dad37'),
    'nonuniform_stereo_64k': ('0803f9690f632a5b9caef436779033f6', '9c74852514b1c3a3e579ff63b5a9a1e2'),
    'uniform_dither_mono_48k': ('e24ed2fbc1f36e7e01e1ff149452ef63', '35d31e1c90682673c72c123487bc95ed'),
    'low_delay_stereo_64k': ('ada0e8e7bc922fb97fc76846f2c135f2', '02e934ebc833443c69e238b10134aa01'),
    'low_delay_512_mono_32k': ('6043b65f3474e903996d0671c67fb175', '4f8f6aa7eb940d2136363275cbfa1d8b'),
    'ld_no_postfilter_stereo_64k': ('128fc755726de27dee27536e238f7214', '05e553ccfbe241646cc36bc2a8827fe3'),
    'no_sf_predict_stereo_96k': ('19ed8a14ce6b02ac1b641ad34c444d1b', 'c9bfc11e1697c24ca285ecff50e4250b'),
    'ld_sf_predict_mono_32k': ('f6d9a1e8118ba559e8c559716156a5c0', 'ad139e3056bef7103b0e500e913ad15e'),
    'ld_postfilter_mono_20k': ('061e4018db3e6532495357847e212c7d', '9536ea55022c8000a6a22aef52b553c1'),
    'surround_5_1_192k': ('468ebd15ebb068ff21d1e820b184e15c', '83e10060a78be729b284a8991f14f694'),
    'surround_5_1_no_sfp_192k': ('f04ee4d508bd88feb41dbd956e3e581f', 'db1d14352d832516ebb295fdf7d1e712'),
    'vbr_q6_stereo': ('b7349d8f1ab6279bdd2db5887ff9186a', '4ce577ae47896b2482f268b7cf1fbfa6'),
    'vbr_q2_mono_16k': ('8dd4c4768d4253bca3e2a13e790c27b9', 'c9bb9c251ad63c5e9f9eb176820edd80'),
    'no_block_switching_stereo': ('b80b327a588900dacc13519b26f7954b', 'd90cd452a33a9a81b4ef64342fc5c413'),
    'adpcm_greedy_stereo': ('23f3cedf220dec52b3d117e2136e4f0c', 'caac5eb59a10248d6c07cc0ad912c19d'),
    'adpcm_search_mono': ('fc4e5d4f6f3877153b5f64d874e6d6ed', '1638fc17fd6ca1f1c477d4f720d29823'),
}

GOLDEN_WAV: dict[str, str] = {
    'imawav_search_stereo': '013ca6b11a11ad8266ac4c63444fe674',
    'imawav_greedy_mono': '6470ee818f7c8bd16e1025fc883ce875',
    'imawav_portable_stereo': '7aee5baef455156d45b06b027e72eb87',
}


def digests(name: str) -> tuple[str, str]:
    ch, rate, seconds, opts = CASES[name]
    x = music_like(rate, seconds, ch, seed=len(name))
    data = audiocodec.encode(x, rate, serial=0x5EED, **opts)
    y, _ = audiocodec.decode(data)
    return hashlib.md5(data).hexdigest(), hashlib.md5(np.ascontiguousarray(y).tobytes()).hexdigest()


# IMA ADPCM WAV files written by encode_file: name -> (channels, rate, options)
WAV_CASES: dict[str, tuple[int, int, dict[str, object]]] = {
    "imawav_search_stereo": (2, 44100, {}),
    "imawav_greedy_mono": (1, 16000, {"adpcm_method": "greedy"}),
    "imawav_portable_stereo": (2, 48000, {"portable": True}),
}


def wav_digest(name: str, folder: Path) -> str:
    import soundfile as sf

    ch, rate, opts = WAV_CASES[name]
    src, dst = folder / f"{name}.flac", folder / f"{name}.wav"
    sf.write(src, music_like(rate, 0.5, ch, seed=len(name)), rate, subtype="PCM_24")
    audiocodec.encode_file(src, dst, mode="adpcm", force=True, **opts)
    return hashlib.md5(dst.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(WAV_CASES))
def test_golden_ima_wav(name: str, tmp_path: Path) -> None:
    assert wav_digest(name, tmp_path) == GOLDEN_WAV[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_encode_and_decode(name: str) -> None:
    assert digests(name) == GOLDEN[name]


if __name__ == "__main__":
    import tempfile

    for n in CASES:
        print(f"    {n!r}: {digests(n)!r},")
    with tempfile.TemporaryDirectory() as d:
        for n in WAV_CASES:
            print(f"    {n!r}: {wav_digest(n, Path(d))!r},")
