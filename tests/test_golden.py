"""Golden bytes: the encodes (and decodes) of fixed seeded inputs, pinned by md5.

The architecture work moved every module without changing the format or the
encoder's decisions; these digests were recorded before the move and must stay
identical. A change that alters them on purpose (a format or tuning change)
updates the table in the same commit and says why.

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
    "vbr_q6_stereo": (2, 48000, 1.0, {"quality": 6.0}),
    "vbr_q2_mono_16k": (1, 16000, 1.0, {"quality": 2.0}),
    "no_block_switching_stereo": (2, 32000, 0.8, {"bitrate": 80_000, "block_switching": False}),
    "adpcm_greedy_stereo": (2, 48000, 0.5, {"mode": "adpcm"}),
    "adpcm_search_mono": (1, 22050, 0.5, {"mode": "adpcm", "adpcm_method": "search",
                                          "frame_size": 500}),
}

GOLDEN: dict[str, tuple[str, str]] = {
    'adaptive_stereo_96k': ('e8eeee819d4b1033345219c42767a0cb', 'b64a93bdce9481c79fd442b293dbe402'),
    'adaptive_mono_32k': ('f25046c871fcb2a46f1b3afb3c9ef77b', '10608db954859d5479b5d5cf63f04f2a'),
    'uniform_stereo_64k': ('e5f3a486503a630249dde6ed4682f4e2', 'acb0d0ed3fbc93e2f0bf3f7a0e9b4a99'),
    'nonuniform_stereo_64k': ('9063222fe774ac87722791e609b67d11', '6b9b3c57d2c7d4881bc71d52daebff32'),
    'uniform_dither_mono_48k': ('5e24ea02abd79881bff9ddd729e23ec3', '867ea43ee4965b02c9a54954ffb4823e'),
    'low_delay_stereo_64k': ('952b50ce38d272f8205d8a00fbdecbab', '98386d8b65500f939009177e0dc102a1'),
    'low_delay_512_mono_32k': ('1ec0c76e8b3eebee5db19485250bc9f4', 'c9c1a9847c8b98461fecf97cfee46591'),
    'vbr_q6_stereo': ('6f834721080296c88294da59be35928d', '0393e2a854e4ec5231c5905da4993409'),
    'vbr_q2_mono_16k': ('168d835ecfbf2534c9a848c666c60c40', '9103a64134e84553ca3add82a4542802'),
    'no_block_switching_stereo': ('ca1f121aad1a0ef80576c9ae1fbc9de3', '5ab49a67a480350fe850ba8bb1aa8a1b'),
    'adpcm_greedy_stereo': ('cb7839dc1ce0c58593b326122edff732', 'caac5eb59a10248d6c07cc0ad912c19d'),
    'adpcm_search_mono': ('a1d46c591f7223eb3cc3c37ee3a55af8', '1638fc17fd6ca1f1c477d4f720d29823'),
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
