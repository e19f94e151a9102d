"""The ``noise_fill_from`` header record: where zero bands start to be noise filled.

Streams before it filled zero bands from 3 kHz up only; below, a band quantized to zero was a
hole. An MDCT encoder now writes the first fillable bin in the header, and a decoder fills from
there; a stream without the record keeps the old rule.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support import music_like

import audiocodec
from audiocodec.container import aqc
from audiocodec.core.layout import MdctConfig, noise_fill_start
from audiocodec.encoder.mdct_encoder import MdctEncoder, noise_fill_bin
from audiocodec.encoder.tuning import DEFAULT_TUNING
from audiocodec.errors import HeaderError
from audiocodec.multistream.layout import layout_of, sub_header
from audiocodec.oneshot import pack_stream
from audiocodec.stream import Decoder, Encoder


@pytest.mark.parametrize(("low_delay", "n"), [(False, 1024), (True, 384)])
def test_encoder_writes_the_tuned_bin(low_delay: bool, n: int) -> None:
    h = aqc.StreamHeader.unpack(Encoder(48000, 2, bitrate=64000, low_delay=low_delay).header)
    hz = DEFAULT_TUNING.noise_fill_from_hz(n / 48000)
    assert h.frame_size == n
    assert aqc.noise_fill_bin(h) == int(hz * 2 * n / 48000) == noise_fill_bin(48000, n, hz)
    assert aqc.noise_fill_bin(h) < noise_fill_start(48000, n)  # below the old 3 kHz


def test_record_is_checked() -> None:
    h = aqc.StreamHeader.unpack(Encoder(48000, 1, bitrate=32000).header)
    for value, words in ((b"\x01", "u16"), (b"\x01\x00\x00", "u16")):
        bad = dataclasses.replace(h, extension=((aqc.TAG_NOISE_FILL_FROM, value),))
        with pytest.raises(HeaderError, match=words):
            bad.pack()
    past = dataclasses.replace(h, extension=(aqc.noise_fill_record(h.frame_size + 1),))
    with pytest.raises(HeaderError, match="noise_fill_from"):
        past.pack()
    adpcm = aqc.StreamHeader.unpack(Encoder(48000, 1, mode="adpcm").header)
    assert adpcm.find(aqc.TAG_NOISE_FILL_FROM) is None
    with pytest.raises(HeaderError, match="noise_fill_from"):
        dataclasses.replace(adpcm, extension=(aqc.noise_fill_record(0),)).pack()
    # the record is the encoder's own: a caller may not set it
    with pytest.raises(audiocodec.InputError, match="noise_fill_from"):
        Encoder(48000, 1, bitrate=32000, extension=(aqc.noise_fill_record(10),))
    # a header object built in code gets the checks that unpack gives bytes
    for value in (b"", b"\x01", b"\x01\x00\x00", (h.frame_size + 1).to_bytes(2, "little")):
        bad = dataclasses.replace(h, extension=((aqc.TAG_NOISE_FILL_FROM, value),))
        with pytest.raises(HeaderError, match="noise_fill_from"):
            Decoder(bad)
    # and hostile bytes with a good CRC: the extension written by hand
    body = bytearray(h.pack()[: aqc.FIXED_SIZE])
    ext = bytes([aqc.TAG_NOISE_FILL_FROM, 1, 0, 7])  # a 1-byte value
    body[-2:] = len(ext).to_bytes(2, "little")  # the extension length, the fixed part's last field
    raw = bytes(body) + ext
    raw += aqc.crc32(raw).to_bytes(4, "little")
    with pytest.raises(HeaderError, match="noise_fill_from"):
        Decoder(raw)


def test_caller_records_must_fit_beside_the_encoders() -> None:
    """The encoder's own records count against the extension's limit when it is built."""
    with pytest.raises(audiocodec.InputError, match="exceeds"):
        Encoder(48000, 1, bitrate=32000, low_delay=True, postfilter=False, sf_predict=False,
                extension=((0x42, bytes(aqc.MAX_EXTENSION - 6)),))


def test_config_takes_the_record_or_the_old_rule() -> None:
    assert MdctConfig(48000, 2, 1024, 1024).nf_start == 128 == noise_fill_start(48000, 1024)
    assert MdctConfig(48000, 2, 1024, 1024, nf_bin=21).nf_start == 21
    assert MdctConfig(48000, 2, 384, 96, nf_bin=0).nf_start == 0


def _levels(x: np.ndarray, y: np.ndarray, sr: int, lo: float, hi: float) -> float:
    """Mean |dB| of the decoded third-octave band levels from lo to hi, 20 ms frames."""
    n, hop = min(len(x), len(y)), sr // 50
    err = []
    for c in range(x.shape[1]):
        for s in range(0, n - hop, hop):
            X, Y = (np.abs(np.fft.rfft(v[s : s + hop, c])) ** 2 for v in (x, y))
            f = np.fft.rfftfreq(hop, 1 / sr)
            b = lo
            while b < hi:
                m = (f >= b) & (f < b * 2 ** (1 / 3))
                if X[m].sum() > 1e-7:
                    err.append(abs(10 * np.log10((Y[m].sum() + 1e-12) / X[m].sum())))
                b *= 2 ** (1 / 3)
    return float(np.mean(err))


@pytest.mark.parametrize("low_delay", [False, True])
def test_decoder_fills_from_the_record(low_delay: bool) -> None:
    """The same packets, decoded with the record and with a header stripped of it (an older
    stream's rule): they differ, and with the record the band levels from 600 Hz to 3 kHz,
    where the old rule left zero bands empty, are nearer the input's."""
    sr = 48000
    x = music_like(sr, 2.0, 2, seed=13)
    enc = Encoder(sr, 2, bitrate=32000 if not low_delay else 48000, low_delay=low_delay, serial=3)
    packets = enc.encode(x) + enc.flush()
    h = aqc.StreamHeader.unpack(enc.header)
    old = dataclasses.replace(h, extension=tuple(r for r in h.extension
                                                 if r[0] != aqc.TAG_NOISE_FILL_FROM))
    assert Decoder(old.pack()).config.nf_start == noise_fill_start(sr, h.frame_size)
    y_new, _ = audiocodec.decode(pack_stream(enc.header, packets))
    y_old, _ = audiocodec.decode(pack_stream(old.pack(), packets))
    assert not np.array_equal(y_new, y_old)
    new_err, old_err = _levels(x, y_new, sr, 600, 3000), _levels(x, y_old, sr, 600, 3000)
    assert new_err < old_err, (new_err, old_err)
    # above the old edge both fill alike: the same levels within a small tolerance
    assert abs(_levels(x, y_new, sr, 4000, 12000) - _levels(x, y_old, sr, 4000, 12000)) < 0.3


def test_multistream_sub_streams_take_the_record() -> None:
    h = aqc.StreamHeader.unpack(Encoder(48000, 6, bitrate=192000).header)
    k0 = aqc.noise_fill_bin(h)
    assert k0 is not None
    lay = layout_of(6)
    assert all(aqc.noise_fill_bin(sub_header(h, lay, s)) == k0 for s in range(lay.streams))
    # every MDCT sub-encoder and its sub-decoder fill from that bin
    for lfe_group in (True, False):
        enc = Encoder(48000, 6, bitrate=192000, lfe_group=lfe_group)
        dec = Decoder(enc.header)
        coders = [c for c in enc._mode._coders if isinstance(c, MdctEncoder)]
        assert len(coders) == lay.streams - (1 if lfe_group else 0)
        assert all(c.config.nf_start == k0 for c in coders)
        subs = dec._mode._streams
        assert len(subs) == lay.streams and all(d.config.nf_start == k0 for d in subs)
