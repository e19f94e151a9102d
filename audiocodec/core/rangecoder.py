"""The range coder of the MDCT payload (:mod:`.entropy` holds its models and the layout).

The classic carry-propagating byte-wise coder (32-bit range, 64-bit ``low`` with a cached
byte for carries, renormalise when the range falls below ``TOP`` = 2**24), as used by LZMA.
What a decoder must do, given the payload's ``n`` bytes ``b[0..n-1]``, reading ``b[i]`` as 0
for ``i >= n`` (an encoder trims trailing zero bytes, at most 4)::

    init:    range = 2**32 - 1; code = b[0] b[1] b[2] b[3] (big-endian u32); pos = 4
    symbol of a model with counts f[0..S-1], total T = sum(f):
             r = range // T;  v = min(code // r, T - 1)
             s = the symbol with start(s) <= v < start(s) + f[s], start(s) = f[0] + .. + f[s-1]
             code -= start(s) * r;  range = f[s] * r
             while range < 2**24:  code = ((code << 8) | b[pos]) mod 2**32; pos += 1;
                                   range <<= 8
             then the model adapts: f[s] += INC (24); when T reaches LIMIT (2**16) every
             count is halved, rounding up ((f + 1) >> 1)
    nbits raw bits (1..16), most significant first: a symbol of a flat model of 2**nbits
             (every f = 1; r = range >> nbits), which does not adapt
    Exp-Golomb order 0: zero bits up to the first one bit (z of them, z <= MAX_EG_BITS =
             24, else the value is invalid), then z more bits: value = (1 << z | bits) - 1

The encoder's first output byte is always 0 and is not stored (``b[0]`` is the second), and
its flush picks the value in ``[low, low + range)`` with the most trailing zero bits, so the
stream ends one or two bytes after its information. The encoder's and decoder's state are
small int64 arrays, indexed by the slots below; :mod:`.entropy`'s magnitude loops inline the
symbol step on them.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

TOP = 1 << 24
LIMIT = 1 << 16  # adaptive totals stay below this (range/total >= 2**8)
INC = 24
MAX_EG_BITS = 24

# encoder state slots
LOW, RANGE, CACHE, CSIZE, POS, OVF, FIRST = range(7)
# decoder state slots
CODE, DRANGE, DPOS, DOVR, DR = range(5)  # DR: range // total of the pending symbol

ERR_OVERRUN = -1
ERR_BAD_VALUE = -2


# ---------------------------------------------------------------- encoder


@njit(cache=True, inline="always")
def _put(st: NDArray[np.int64], buf: NDArray[np.uint8], byte: int) -> None:
    if st[FIRST] == 1:
        # the first byte of this coder is always 0: it is not stored
        st[FIRST] = 0
        return
    p = st[POS]
    if p < buf.shape[0]:
        buf[p] = byte & 0xFF
    else:
        st[OVF] = 1
    st[POS] = p + 1


@njit(cache=True, inline="always")
def _shift_low(st: NDArray[np.int64], buf: NDArray[np.uint8]) -> None:
    low = st[LOW]
    if low < 0xFF000000 or low >= (1 << 32):
        carry = low >> 32
        temp = st[CACHE]
        while True:
            _put(st, buf, (temp + carry) & 0xFF)
            temp = 0xFF
            st[CSIZE] -= 1
            if st[CSIZE] == 0:
                break
        st[CACHE] = (low >> 24) & 0xFF
    st[CSIZE] += 1
    st[LOW] = (low & 0x00FFFFFF) << 8


@njit(cache=True)
def enc_init(st: NDArray[np.int64]) -> None:
    st[LOW] = 0
    st[RANGE] = 0xFFFFFFFF
    st[CACHE] = 0
    st[CSIZE] = 1
    st[POS] = 0
    st[OVF] = 0
    st[FIRST] = 1


@njit(cache=True, inline="always")
def enc_encode(
    st: NDArray[np.int64], buf: NDArray[np.uint8], start: int, size: int, total: int
) -> None:
    r = np.int64(np.uint32(st[RANGE]) // np.uint32(total))  # 32-bit values (see dec_target)
    st[LOW] += start * r
    st[RANGE] = size * r
    while st[RANGE] < TOP:
        st[RANGE] <<= 8
        _shift_low(st, buf)


@njit(cache=True, inline="always")
def enc_bits(st: NDArray[np.int64], buf: NDArray[np.uint8], value: int, nbits: int) -> None:
    """Raw bits, most significant first, at most 16 per call: :func:`enc_encode` of
    ``(value, 1, 2**nbits)``, its division a shift."""
    r = st[RANGE] >> nbits
    st[LOW] += (value & ((1 << nbits) - 1)) * r
    st[RANGE] = r
    while st[RANGE] < TOP:
        st[RANGE] <<= 8
        _shift_low(st, buf)


@njit(cache=True)
def enc_finish(st: NDArray[np.int64], buf: NDArray[np.uint8]) -> int:
    """Flush; returns bytes written, or ERR_OVERRUN if ``buf`` was too small.

    The decoder reads zero bytes past the end, so the flush writes the value in
    ``[low, low + range)`` with the most trailing zero bits (``low`` rounded up to a
    multiple of ``2**k`` for the largest ``k`` that stays inside): the zeros are then
    trimmed, and the stream ends one or two bytes after its information, not four.
    """
    low = st[LOW]
    end_excl = low + st[RANGE]
    k = 32
    while k > 0:
        mask = (np.int64(1) << k) - 1
        v = (low + mask) & ~mask
        if v < end_excl:
            st[LOW] = v
            break
        k -= 1
    for _ in range(5):
        _shift_low(st, buf)
    if st[OVF]:
        return ERR_OVERRUN
    # trailing zero bytes are implied by the decoder (it reads zeros past the end)
    n = st[POS]
    end = max(0, n - 4)
    while n > end and buf[n - 1] == 0:
        n -= 1
    return n


@njit(cache=True, inline="always")
def enc_symbol(
    st: NDArray[np.int64], buf: NDArray[np.uint8], model: NDArray[np.int32], tot: NDArray[np.int32],
    m: int, s: int,
) -> None:
    start = 0
    for i in range(s):
        start += model[m, i]
    enc_encode(st, buf, start, model[m, s], tot[m])
    adapt_model(model, tot, m, s)


@njit(cache=True, inline="always")
def adapt_model(model: NDArray[np.int32], tot: NDArray[np.int32], m: int, s: int) -> None:
    model[m, s] += INC
    tot[m] += INC
    if tot[m] >= LIMIT:
        _halve(model, tot, m)


@njit(cache=True)
def _halve(model: NDArray[np.int32], tot: NDArray[np.int32], m: int) -> None:
    """Model ``m``'s counts halved (rounding up) and its total recounted. Its own function:
    inlined into every symbol's update, the rare loop made the common path several times
    slower (numba 0.6x, measured)."""
    t = 0
    for i in range(model.shape[1]):
        v = (model[m, i] + 1) >> 1
        model[m, i] = v
        t += v
    tot[m] = t


@njit(cache=True)
def enc_expgolomb(st: NDArray[np.int64], buf: NDArray[np.uint8], v: int) -> None:
    v1 = v + 1
    nb = 0
    while (v1 >> nb) > 1:
        nb += 1
    # nb zeros (unary length), then the nb+1 bits of v1
    for _ in range(nb):
        enc_bits(st, buf, 0, 1)
    i = nb
    while i >= 0:
        enc_bits(st, buf, (v1 >> i) & 1, 1)
        i -= 1


# ---------------------------------------------------------------- decoder


@njit(cache=True, inline="always")
def _get(st: NDArray[np.int64], buf: NDArray[np.uint8], n: int) -> int:
    p = st[DPOS]
    st[DPOS] = p + 1
    if p < n:
        return int(buf[p])
    st[DOVR] += 1
    return 0


@njit(cache=True)
def dec_init(st: NDArray[np.int64], buf: NDArray[np.uint8], n: int) -> None:
    st[DRANGE] = 0xFFFFFFFF
    st[DPOS] = 0
    st[DOVR] = 0
    code = 0
    for _ in range(4):
        code = (code << 8) | _get(st, buf, n)
    st[CODE] = code


@njit(cache=True, inline="always")
def dec_target(st: NDArray[np.int64], total: int) -> int:
    # range, code and total all fit in 32 bits: unsigned 32-bit divisions are the same
    # integers as 64-bit ones and several times cheaper on common CPUs
    r = np.uint32(st[DRANGE]) // np.uint32(total)
    st[DR] = r
    v: int = np.int64(np.uint32(st[CODE]) // r)  # type: ignore[assignment]
    if v >= total:
        v = total - 1
    return v


@njit(cache=True, inline="always")
def dec_update(
    st: NDArray[np.int64], buf: NDArray[np.uint8], n: int, start: int, size: int, total: int
) -> None:
    r = st[DR]  # set by dec_target for this same total
    st[CODE] -= start * r
    st[DRANGE] = size * r
    while st[DRANGE] < TOP:
        st[CODE] = ((st[CODE] << 8) | _get(st, buf, n)) & 0xFFFFFFFF
        st[DRANGE] <<= 8


@njit(cache=True, inline="always")
def dec_bits(st: NDArray[np.int64], buf: NDArray[np.uint8], n: int, nbits: int) -> int:
    """Mirror of :func:`enc_bits`: :func:`dec_target` and :func:`dec_update` of a
    ``2**nbits`` total, the range's division a shift."""
    total = 1 << nbits
    r = st[DRANGE] >> nbits
    st[DR] = r
    v: int = np.int64(np.uint32(st[CODE]) // np.uint32(r))  # type: ignore[assignment]
    if v >= total:
        v = total - 1
    dec_update(st, buf, n, v, 1, total)
    return v


@njit(cache=True, inline="always")
def dec_symbol(
    st: NDArray[np.int64], buf: NDArray[np.uint8], n: int,
    model: NDArray[np.int32], tot: NDArray[np.int32], m: int,
) -> int:
    v = dec_target(st, tot[m])
    start = 0
    s = 0
    nsym = model.shape[1]
    while s < nsym - 1 and start + model[m, s] <= v:
        start += model[m, s]
        s += 1
    dec_update(st, buf, n, start, model[m, s], tot[m])
    adapt_model(model, tot, m, s)
    return s


@njit(cache=True)
def dec_expgolomb(st: NDArray[np.int64], buf: NDArray[np.uint8], n: int) -> int:
    nb = 0
    while dec_bits(st, buf, n, 1) == 0:
        nb += 1
        if nb > MAX_EG_BITS:
            return ERR_BAD_VALUE
    v1 = 1
    for _ in range(nb):
        v1 = (v1 << 1) | dec_bits(st, buf, n, 1)
    return v1 - 1
