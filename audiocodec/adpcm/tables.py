"""The IMA/DVI ADPCM tables: steps, index changes, reconstruction magnitudes and levels.

Decoding one code (the IMA reference, what sox and libsndfile do)
----------------------------------------------------------------
For step ``s = STEP_TABLE[index]`` and code ``c = sign<<3 | m`` (``m`` = 0..7)::

    diff  = (s >> 3) + (s if m & 4) + (s >> 1 if m & 2) + (s >> 2 if m & 1)
    pred  = clip(pred - diff if sign else pred + diff, -32768, 32767)
    index = clip(index + INDEX_TABLE[m], 0, 88)

ffmpeg's decoder computes ``diff = ((2*m + 1) * s) >> 3`` instead. That differs
from the reference by 0..2 for steps with ``s % 8`` in {3, 5, 6, 7} and some
``m``, so ffmpeg decodes a file to slightly different samples than sox and
libsndfile do (ffmpeg's own encoder models its own decoder). Decoders here take
``variant="ima"`` (default) or ``variant="ffmpeg"`` to reproduce either exactly.
Encoders take ``portable=True`` to use only the codes on which both formulas
agree at the current step (``m`` in {0, 4} always; all ``m`` when ``s % 8`` is
0, 1, 2 or 4), so every decoder yields identical samples. That costs 2.6-3.1 dB
of SNR against the default (measured on ../shared/audio), so it is opt-in: the
default WAV search (:mod:`audiocodec.adpcm.dual`) already follows both formulas
and plays at the same SNR in ffmpeg as in sox and libsndfile.

``STEP_TABLE`` and ``INDEX_TABLE`` are the published literal tables. The
magnitude and level tables below are derived from them at import with the
integer formulas above only (shifts and adds, no floating point), so they are
the same bits on every platform. :func:`step_diff` is that formula, written out
once (the reference oracles use it too); ``tests/test_adpcm.py`` pins rows of
the derived tables as literals.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ALL_MASK",
    "INDEX_TABLE",
    "LEVELS",
    "MAG_FFMPEG",
    "MAG_IMA",
    "N_STEPS",
    "PORTABLE_MASK",
    "SEARCH_CANDIDATES",
    "SEARCH_SURVIVORS",
    "STEP_TABLE",
    "VARIANTS",
    "kernel_tables",
    "magnitudes",
    "step_diff",
]

VARIANTS = ("ima", "ffmpeg")

# IMA/DVI step sizes: roughly 7 * 1.1**n rounded (the published table is the
# normative one; it drifts a few units from the formula), capped at 32767.
STEP_TABLE = np.array(
    [
        7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
        50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230,
        253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963,
        1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327,
        3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442,
        11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
        32767,
    ],
    dtype=np.int32,
)  # fmt: skip
# Index change per code magnitude: small codes shrink the step, large ones grow it.
INDEX_TABLE = np.array([-1, -1, -1, -1, 2, 4, 6, 8], dtype=np.int32)
N_STEPS = STEP_TABLE.shape[0]  # 89, valid indices 0..88


def step_diff(s: int, m: int, variant: str) -> int:
    """Reconstruction magnitude ``diff`` of magnitude code ``m`` at step ``s``.

    ``variant="ima"`` is the reference sum of shifted steps, ``"ffmpeg"`` is
    ``((2*m + 1) * s) >> 3`` (see the module docstring).
    """
    if variant == "ffmpeg":
        return ((2 * m + 1) * s) >> 3
    d = s >> 3
    if m & 4:
        d += s
    if m & 2:
        d += s >> 1
    if m & 1:
        d += s >> 2
    return d


def _magnitudes(variant: str) -> np.ndarray:
    """Reconstruction magnitude ``diff`` for every (step index, m): int32 (89, 8)."""
    mag = np.empty((N_STEPS, 8), dtype=np.int32)
    for i, s in enumerate(STEP_TABLE.tolist()):
        for m in range(8):
            mag[i, m] = step_diff(s, m, variant)
    return mag


MAG_IMA = _magnitudes("ima")
MAG_FFMPEG = _magnitudes("ffmpeg")
# Codes both decoders reconstruct identically at each step index.
PORTABLE_MASK = MAG_IMA == MAG_FFMPEG
ALL_MASK = np.ones_like(PORTABLE_MASK)


def magnitudes(variant: str) -> np.ndarray:
    """The magnitude table a decoder of ``variant`` ('ima' or 'ffmpeg') uses."""
    return MAG_IMA if variant == "ima" else MAG_FFMPEG


def _levels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed reconstruction levels allowed by ``mask``, strictly ascending per index.

    Returns ``(value int32 (89, 16), code uint8 (89, 16), count int32 (89,))``.
    Negative zero (code 8 when ``s >> 3 == 0``) is left out: it duplicates code 0.
    """
    val = np.zeros((N_STEPS, 16), dtype=np.int32)
    code = np.zeros((N_STEPS, 16), dtype=np.uint8)
    cnt = np.zeros(N_STEPS, dtype=np.int32)
    for i in range(N_STEPS):
        k = 0
        for m in range(7, -1, -1):
            if mask[i, m] and MAG_IMA[i, m] > 0:
                val[i, k] = -MAG_IMA[i, m]
                code[i, k] = 8 | m
                k += 1
        for m in range(8):
            if mask[i, m]:
                val[i, k] = MAG_IMA[i, m]
                code[i, k] = m
                k += 1
        cnt[i] = k
    return val, code, cnt


# Survivors kept and candidate codes tried per survivor by the search encoder
# (encoder tuning, not part of the format; every survivor proposes all candidates).
# Measured on ../shared/audio: larger values add < 0.1 dB for a linear slowdown.
SEARCH_SURVIVORS = 8
SEARCH_CANDIDATES = 3

# Keyed by ``portable``: the search encoder's sorted levels for all or portable codes.
LEVELS = {False: _levels(ALL_MASK), True: _levels(PORTABLE_MASK)}


def kernel_tables(portable: bool) -> tuple[np.ndarray, ...]:
    """The tables the encoder kernels take, in their argument order.

    ``(step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt)``.
    """
    val, code, cnt = LEVELS[bool(portable)]
    mask = PORTABLE_MASK if portable else ALL_MASK
    return STEP_TABLE, INDEX_TABLE, MAG_IMA, mask, val, code, cnt
