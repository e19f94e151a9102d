"""IMA/DVI ADPCM: 4 bits per sample, backward-adaptive, no look-ahead in the decoder.

The package owns the ADPCM arithmetic and its two byte layouts, one concern a module:

=================  ==============================================================
``tables``         step and index tables, reconstruction magnitudes and levels,
                   the decoding formula (IMA reference and ffmpeg variants)
``reference``      slow scalar encoders and decoder: the test oracles
``kernels``        numba kernels for one channel: greedy, search (trellis), decode
``dual``           the WAV encoder's trellis over both decoders (IMA reference and ffmpeg)
``pcm``            float32 <-> int16 sample conversion
``packets``        the AQC packet payload and :class:`AdpcmState`
``blocks``         Microsoft's IMA ADPCM WAV block layout
``wav``            IMA ADPCM WAV files (:class:`~audiocodec.adpcm.wav.ImaWavReader`,
                   :class:`~audiocodec.adpcm.wav.ImaWavWriter`)
=================  ==============================================================

Imports point one way: ``wav`` -> ``blocks`` -> ``kernels``, ``pcm`` ->
``tables``; ``packets`` -> ``kernels``, ``pcm`` -> ``tables``; ``reference`` ->
``tables`` only. The codec's per-mode ADPCM stream class, when it comes, sits
beside ``packets`` and builds on it.

The names below are re-exported so ``from audiocodec import adpcm;
adpcm.encode_packet(...)`` works; the WAV file API is imported from
:mod:`audiocodec.adpcm.wav`.
"""

from __future__ import annotations

from audiocodec.adpcm.blocks import block_align_for, block_samples_for, decode_blocks, encode_blocks
from audiocodec.adpcm.kernels import METHODS
from audiocodec.adpcm.packets import (
    ALGORITHMIC_LATENCY_SAMPLES,
    MAX_PACKET_FRAMES,
    AdpcmState,
    decode_packet,
    encode_packet,
    packet_size,
)
from audiocodec.adpcm.pcm import float_to_int16, int16_to_float
from audiocodec.adpcm.reference import (
    reference_decode,
    reference_encode_dual,
    reference_encode_greedy,
    reference_encode_search,
)
from audiocodec.adpcm.tables import (
    ALL_MASK,
    INDEX_TABLE,
    MAG_FFMPEG,
    MAG_IMA,
    PORTABLE_MASK,
    SEARCH_CANDIDATES,
    SEARCH_SURVIVORS,
    STEP_TABLE,
    VARIANTS,
)

__all__ = [
    "ALGORITHMIC_LATENCY_SAMPLES",
    "ALL_MASK",
    "INDEX_TABLE",
    "MAG_FFMPEG",
    "MAG_IMA",
    "MAX_PACKET_FRAMES",
    "METHODS",
    "PORTABLE_MASK",
    "SEARCH_CANDIDATES",
    "SEARCH_SURVIVORS",
    "STEP_TABLE",
    "VARIANTS",
    "AdpcmState",
    "block_align_for",
    "block_samples_for",
    "decode_blocks",
    "decode_packet",
    "encode_blocks",
    "encode_packet",
    "float_to_int16",
    "int16_to_float",
    "packet_size",
    "reference_decode",
    "reference_encode_dual",
    "reference_encode_greedy",
    "reference_encode_search",
]
