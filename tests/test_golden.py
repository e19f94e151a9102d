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
multistream coding with and without scale-factor prediction. The music cap on the tonal
masking offset (``AdaptiveTuning.tmn_max_db`` 13.5 -> 7.5 dB, speech keeps 13.5) changed every
adaptive digest, encode and decode. The music noise band (``AdaptiveTuning.music_noise_band``,
``music_noise_band_short_hop``) changed the adaptive streams whose rate per channel puts its
edge under the cut (mono 32k, the low-delay cases, 5.1 at 192k), encode and decode; the
stereo 96k, VBR and 16 kHz streams did not move.
The energy match of coded bands (``AdaptiveTuning.energy_match``, ``rate.match_energy``) changed
every adaptive digest from 16 kbit/s per channel (20k in the low-delay hops), encode and
decode; the uniform, nonuniform and ADPCM ones did not move.
The shallower music shape from 16 kbit/s per channel (``AdaptiveTuning.shape_alpha_mid`` 0.9)
changed the long-hop adaptive streams between 16k and 48k per channel, encode and decode, and
``shape_alpha_mid_short_hop`` 0.95 the low-delay ones from 16k per channel.
The LFE's band limit (no bin above 150 Hz, long blocks) and budget (5500), and empty sub-packets
for frames that code nothing, changed the two 5.1 digests, encode and decode.
Short blocks in low delay (N/L blocks of the overlap; the header's block-switching
flag) changed the five low-delay digests, encode and decode; the default-mode ones did not move.
Noise fill in short-block frames, shaped to the blocks' coded energy (``quant.fill_gains``),
changed the two 5.1 digests, encode and decode, and the decode of ``ld_postfilter_mono_20k``
(its short frames were filled flat before); the other cases code no short frame with a fill.
The joint_fields record (a stereo stream's second g and band count as differences) changed
every 2-channel MDCT digest, encode and decode (the bits saved go to the coefficients; the VBR
one decodes as before: its steps do not depend on the bits); mono, 5.1 and ADPCM did not move.
The noise_fill_from record (zero bands filled from 500 Hz, 1.5 kHz in the low-delay hops,
instead of 3 kHz) and the fill cap in every frame changed every MDCT encode digest (the record
is in the header) and the adaptive ones' decode digests; the uniform and nonuniform streams
decode as before, and ADPCM did not move. Streams written before it decode as they did:
``OLDER_STREAMS`` pins the PCM of streams of the tenth session's final encoder (commit
b98a157: stereo in both modes and 5.1, whose sub-streams have no record), kept in
``tests/streams/``. The higher offset floor of the low-delay hops
(``AdaptiveTuning.minval_db_short_hop``) changed the low-delay digests from 16 kbit/s per
channel, encode and decode. The LFE coded 8 packets at a time (the ``lfe_group`` record,
eleventh session: 0.75 kbit/s while it sounds, 4.1 before) changed the two 5.1 digests, encode
and decode; the other cases did not move, and ``OLDER_STREAMS`` pins a 5.1 stream of the
encoder before it (commit 1288085), whose LFE is a mono sub-stream, decoding as it did.

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
    'adaptive_stereo_96k': ('a86087cd7e92c06663fdc915b78a9900', 'fdd9c7bc1f37cedaea91271584668587'),
    'adaptive_mono_32k': ('15fd230cfa24ea2562bb2a9efc4680db', '5f01692a60617254e923443fdb17268f'),
    'uniform_stereo_64k': ('964b7308ca6199f632b046cf4c46d876', 'd28386a76c4742863e00c7d8aa8ce250'),
    'nonuniform_stereo_64k': ('54f113865292c5615750a5ce3eb19f50', '8f53866c3130fb4e16110fa7ce3063f1'),
    'uniform_dither_mono_48k': ('92f575ac47992d088101020a38c7f76d', '35d31e1c90682673c72c123487bc95ed'),
    'low_delay_stereo_64k': ('86776ec2e104b25eda093c70690cdd4b', 'd1a5cecdc0c3d1f077b4ba623fdc9cb2'),
    'low_delay_512_mono_32k': ('84435c073ddcfe32cd52e208a6ce0c0f', '43c387df080f6fe5c27f32ba6c2cb657'),
    'ld_no_postfilter_stereo_64k': ('8374cea7c4605996418c448e9dc4fc58', '08f9ecc1a43df264357bc28843fd4a59'),
    'no_sf_predict_stereo_96k': ('7b2a25218324ce3a577c390f7a464fe3', '394bd55f0418a55e8f6b33ba6849af1e'),
    'ld_sf_predict_mono_32k': ('3919bb5d9b85d9f4b5f71b696d5b896e', '7617574b56d88753c95b93cb7026fc79'),
    'ld_postfilter_mono_20k': ('c620c41b244db70eb7e9256c6bec159a', '77383b2f9617118bb2f91dd7e9fb8670'),
    'surround_5_1_192k': ('e5741fe19aec75e37ba55fba3a5fdabe', '0382ab1086739cb8fe0d81592a789a75'),
    'surround_5_1_no_sfp_192k': ('cbe98f7b6d83868f7f303a81d74325d1', '438a6bfc0bf0b426dca7d04ec6df5573'),
    'vbr_q6_stereo': ('b8148d41e6ac0a3da12da659b6e7ab8b', '097e94be99fe3ae06123dc67bf1da112'),
    'vbr_q2_mono_16k': ('a0be04664f7683ee9e5784103d53829d', '8ee23538442580b5401588adf55986f4'),
    'no_block_switching_stereo': ('99b03cdddc3fe9ce880bddbaded80785', 'c56ab685dc149387c5e1be2ddb50a89a'),
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


# streams of an older encoder -> md5 of the float32 PCM that encoder's decoder gave them
OLDER_STREAMS: dict[str, str] = {
    "b98a157_default_stereo_32k.aqc": "fe9e09d50c95188202f22203d1562aca",
    "b98a157_lowdelay_stereo_48k.aqc": "d010c3680467e7472e57b30017631e66",
    "1288085_surround_5_1_192k.aqc": "d4e8a104ebf8b4ad88377a0e03f42617",  # LFE as a mono sub-stream
    "b98a157_surround_5_1_192k.aqc": "8b298b7bbf3b320b4913b26ee36cebd7",  # sub-streams: no record
}


@pytest.mark.parametrize("name", sorted(OLDER_STREAMS))
def test_older_streams_decode_as_they_did(name: str) -> None:
    """A stream without the noise_fill_from record keeps the 3 kHz rule, one without the
    lfe_group record its LFE as a mono MDCT sub-stream (and every other record it has its
    meaning): the PCM is bit-identical to the old decoder's."""
    data = (Path(__file__).resolve().parent / "streams" / name).read_bytes()
    y, _ = audiocodec.decode(data)
    assert hashlib.md5(np.ascontiguousarray(y, dtype="<f4").tobytes()).hexdigest() == OLDER_STREAMS[name]


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
