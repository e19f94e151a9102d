"""The context models and the layout of one MDCT frame's payload.

The payload is one stream of :mod:`.rangecoder`: symbols coded against cumulative frequency
tables whose models adapt as they code and are *reset at every frame*, so each frame decodes
on its own. The magnitude loops write the coder's symbol step out inline (its state slots,
:mod:`.rangecoder`); a test holds them to the coder's functions.

Payload layout of one MDCT frame after its info byte (all inside one
range-coded stream; the container frames it, see :mod:`audiocodec.container.aqc`)::

    if info bit 6:       T - T_min  P bits raw   pitch post-filter period, P = period_bits
                         q      3 bits raw   its gain index (:mod:`.postfilter`)
    if sf_predict:       i      1 bit raw    1 = the scale factors are predicted from the
                                             reference frame (below); streams with the
                                             ``sf_predict`` header record only
    for each channel c:  g[c]   8 bits raw   global step index (raw in every frame, so a
                                             loss cannot shift a frame's level)
                         nbc[c] W bits raw   number of coded bands (rest are zero),
                                             W = bits to hold 0..nb (nb bands in the frame)
                         nf[c]  3 bits raw   noise-fill level (0 = off)
                         (joint_fields streams, c = 1: g[1] and nbc[1] each as the symbol
                         d + 16 of SF model 2 resp. 3, d = g[1] - g[0] resp. nbc[1] - nbc[0]
                         in -16..14; otherwise the escape symbol 31 and the field raw as
                         above; nf[1] raw)
    if stereo_ms:        one adaptive binary flag per band b < max(nbc)   (1 = M/S)
    for each channel c:  i = 0: for b < nbc[c]: d = sf[c,b] - sf[c,b-1] (sf[c,-1] = g[c]),
                         or d / 2 in a coarse frame (info bit 5: steps in 3 dB units,
                         every d even), as a symbol of SF model 0, offset 16;
                         i = 1: sf[c,0] = g[c], not coded; for 1 <= b < nbc[c]:
                         r = sf[c,b] - p (r / 2 in a coarse frame) as a symbol of SF
                         model 1, offset 16, p = sf_prediction(sf[c,b-1], S[c,b],
                         S[c,b-1], g[c], coarse)
    for each channel c:  for k < edges[nbc[c]]: |q| as a symbol of the 18-ary
                         magnitude model selected by the context
                         ctx(2*|q[k-1]| + |q[k-2]|); 17 is an escape followed
                         by |q| - 17 in Exp-Golomb order 0 (raw bits);
                         then the sign as a raw bit when q != 0.

Scale-factor prediction (streams with the ``sf_predict`` record,
:mod:`audiocodec.container.aqc`). The reference of a frame is the last frame the decoder
decoded from its own packet (an FEC copy, coded at a quarter of the bits, and a concealed frame
change nothing): its scale factors ``S[c, b]``, every band of its layout, those past its coded
bands equal to the last coded one's (g when none is coded), as the decoder fills them. The
reference changes values, never how a payload parses, so a decoder with a stale one stays in
step. Where ``S`` is flat the prediction is ``a``, the intra one. ``sf_prediction`` is the
median of ``a``, ``S[c,b]`` and ``a + S[c,b] - S[c,b-1]`` (``a = sf[c,b-1]``: the planar
predictor of LOCO-I / JPEG-LS), and in a coarse frame moved down by 1 when its parity differs
from ``g[c]``'s (every step of a coarse frame has g's parity). An encoder writes i = 0 in
packets whose index is a multiple of the record's intra interval K, in the first two packets
after a short/long block change (so that a loss at the change costs no more than elsewhere),
and in FEC copies; i = 1 only when every r is in -16..15. A decoder without a reference (at its
start, after a reset or a seek) or whose reference is of the other block type (short/long) does
not decode an i = 1 frame: it conceals it and counts it as waiting. After a loss its reference
is older than the encoder's: up to the next i = 0 frame (at most K - 1 frames) the band steps,
not g, are off by what the lost frame changed, and the error does not fade (unlike Opus's
energy prediction, whose coefficient is below 1), which is why low delay leaves the tool off; a
predicted step outside 0..255 is clamped to it (an encoder never writes one).

Initial model frequencies are not trained tables: the magnitude models start
from a geometric distribution ``p(s) ~ r**s`` with the mean ``MAG_MEANS[ctx]``
for the context (``r = mu / (1 + mu)``), scaled to ``PRIOR_TOTAL``; the SF
models start from two-sided geometrics centred on 0 with mean ``SF_MEANS[model]`` (1 for the
band-to-band delta; 1.2 and 0.9 for the second channel's g and band-count differences, about
their mean |d| on the SQAM items in both modes, 0.8-1.7 and 0.5-1.8; 0.7 for the prediction
residual, its mean |r| on the SQAM items and speech, 0.63 in low delay and 0.84 in the default
mode, ``docs/TUNING.md``).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .rangecoder import CACHE as _CACHE
from .rangecoder import CODE as _CODE
from .rangecoder import CSIZE as _CSIZE
from .rangecoder import DOVR as _DOVR
from .rangecoder import DPOS as _DPOS
from .rangecoder import DRANGE as _DRANGE
from .rangecoder import (
    ERR_BAD_VALUE,
    ERR_OVERRUN,
    TOP,
    dec_bits,
    dec_expgolomb,
    dec_init,
    dec_symbol,
    enc_bits,
    enc_expgolomb,
    enc_finish,
    enc_init,
    enc_symbol,
)
from .rangecoder import FIRST as _FIRST
from .rangecoder import LOW as _LOW
from .rangecoder import OVF as _OVF
from .rangecoder import POS as _POS
from .rangecoder import RANGE as _RANGE
from .rangecoder import (
    adapt_model as _adapt,
)

PRIOR_TOTAL = 768

NSYM_MAG = 18
ESCAPE = NSYM_MAG - 1
NSYM_SF = 32
SF_OFFSET = 16
SF_MEANS = (1.0, 0.7, 1.2, 0.9)  # SF models: intra delta, prediction residual, joint g, joint nbc
SF_INTRA, SF_PRED, SF_JOINT_G, SF_JOINT_NBC = 0, 1, 2, 3
JOINT_ESCAPE = NSYM_SF - 1  # the joint fields' escape symbol (a raw value follows)
MAX_ESCAPE = (1 << 15) - ESCAPE  # |q| <= 2**15 (quant.QMAX)

# Context thresholds on a = 2*|q[k-1]| + |q[k-2]|: context i holds a <= CTX_BOUNDS[i].
CTX_BOUNDS = np.array([0, 1, 2, 4, 6, 9, 14, 22, 1 << 30], dtype=np.int64)
MAG_MEANS = np.array([0.12, 0.45, 0.8, 1.2, 1.8, 2.6, 4.0, 6.0, 12.0])
N_CTX = len(CTX_BOUNDS)
CTX_OF = np.searchsorted(CTX_BOUNDS, np.arange(CTX_BOUNDS[-2] + 1)).astype(np.int64)  # a -> ctx

ERR_NO_REFERENCE = -3  # a predicted frame (i = 1) and no usable reference


def _geometric(nsym: int, mean: float, two_sided: bool) -> NDArray[np.int32]:
    if two_sided:
        d = np.abs(np.arange(nsym) - SF_OFFSET).astype(np.float64)
    else:
        d = np.arange(nsym, dtype=np.float64)
    r = mean / (1.0 + mean)
    p = r**d
    p /= p.sum()
    f = np.maximum(1, np.round(p * PRIOR_TOTAL)).astype(np.int32)
    return f


def initial_models() -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32]]:
    """Fresh model tables: (mag[N_CTX, 18], sf[4, 32], ms[1, 2])."""
    mag = np.stack([_geometric(NSYM_MAG, float(m), False) for m in MAG_MEANS])
    sf = np.stack([_geometric(NSYM_SF, m, True) for m in SF_MEANS])
    ms = np.array([[PRIOR_TOTAL // 2, PRIOR_TOTAL // 2]], dtype=np.int32)
    return mag, sf, ms


_MAG0, _SF0, _MS0 = initial_models()


# ---------------------------------------------------------------- frame payload


@njit(cache=True, inline="always")
def nbc_bits(nb: int) -> int:
    """Width of the coded-band count field: enough bits for 0..nb."""
    n = 1
    while (1 << n) <= nb:
        n += 1
    return n


@njit(cache=True, inline="always")
def context_of(a: int) -> int:
    """Context of ``a`` (the first ``i`` with ``a <= CTX_BOUNDS[i]``), by table."""
    return CTX_OF[a] if a < CTX_OF.shape[0] else N_CTX - 1


@njit(cache=True, inline="always")
def _fresh_models(mag0: NDArray[np.int32], sf0: NDArray[np.int32], ms0: NDArray[np.int32]):  # type: ignore[no-untyped-def]
    """Each frame starts from the prior models (copies) and their totals."""
    mag = mag0.copy()
    sfm = sf0.copy()
    msm = ms0.copy()
    return (mag, mag.sum(axis=1).astype(np.int32), sfm, sfm.sum(axis=1).astype(np.int32), msm,
            msm.sum(axis=1).astype(np.int32))


@njit(cache=True, inline="always")
def sf_prediction(a: int, s_b: int, s_b1: int, g: int, coarse: bool) -> int:
    """Predicted ``sf[c, b]`` from ``a = sf[c, b-1]`` and the reference's ``S[c, b]``,
    ``S[c, b-1]``: the median of ``a``, ``s_b`` and ``a + s_b - s_b1``, in a coarse frame moved
    down by 1 to ``g``'s parity. The one statement both sides use (module docstring)."""
    p = a + s_b - s_b1
    lo = a if a < s_b else s_b
    hi = s_b if a < s_b else a
    if p < lo:
        p = lo
    elif p > hi:
        p = hi
    if coarse and ((p - g) & 1) != 0:
        p -= 1
    return p


@njit(cache=True)
def store_reference(sf: NDArray[np.int32], nbc: NDArray[np.int32], nb: int, ref: NDArray[np.int32]) -> None:
    """``ref[:, :nb]`` = the reference ``S`` of a frame with steps ``sf`` and ``nbc`` coded bands:
    its steps, those past the coded bands equal to the last coded one's (g when none is), as
    :func:`decode_payload` leaves them. Encoder and decoder both keep their reference with it."""
    for c in range(sf.shape[0]):
        k = nbc[c]
        last = sf[c, k - 1] if k > 0 else sf[c, 0]
        for b in range(nb):
            ref[c, b] = sf[c, b] if b < k else last


@njit(cache=True)
def sf_predictable(sf: NDArray[np.int32], g: NDArray[np.int32], nbc: NDArray[np.int32],
                   ref: NDArray[np.int32], coarse: bool) -> bool:
    """True when every residual of a predicted coding of ``sf`` fits SF model 1 (and, in a
    coarse frame, every step has g's parity). ``ref`` is the reference ``S`` as (C, nb)
    (:func:`store_reference`); ``sf[c, 0]`` must equal ``g[c]``."""
    for c in range(sf.shape[0]):
        if nbc[c] > 0 and sf[c, 0] != g[c]:
            return False
        for b in range(1, nbc[c]):
            p = sf_prediction(sf[c, b - 1], ref[c, b], ref[c, b - 1], g[c], coarse)
            r = sf[c, b] - p
            if coarse:
                if r & 1:
                    return False
                r //= 2
            if r < -SF_OFFSET or r >= NSYM_SF - SF_OFFSET:
                return False
    return True


@njit(cache=True)
def _enc_joint(st: NDArray[np.int64], buf: NDArray[np.uint8], sfm: NDArray[np.int32],
               stot: NDArray[np.int32], m: int, d: int, raw: int, width: int) -> None:
    """A second channel's field as its difference ``d`` from the first channel's, a symbol of
    SF model ``m`` (offset 16, ``d`` in -16..14), or the escape and the field raw."""
    if -SF_OFFSET <= d < JOINT_ESCAPE - SF_OFFSET:
        enc_symbol(st, buf, sfm, stot, m, d + SF_OFFSET)
    else:
        enc_symbol(st, buf, sfm, stot, m, JOINT_ESCAPE)
        enc_bits(st, buf, raw, width)


@njit(cache=True)
def _dec_joint(st: NDArray[np.int64], buf: NDArray[np.uint8], n: int, sfm: NDArray[np.int32],
               stot: NDArray[np.int32], m: int, first: int, width: int) -> int:
    """Mirror of :func:`_enc_joint`: the second channel's field."""
    sym = dec_symbol(st, buf, n, sfm, stot, m)
    if sym == JOINT_ESCAPE:
        return dec_bits(st, buf, n, width)
    return first + sym - SF_OFFSET


@njit(cache=True)
def encode_payload(
    q: NDArray[np.int32], sf: NDArray[np.int32], g: NDArray[np.int32], nbc: NDArray[np.int32],
    nf: NDArray[np.int32], ms: NDArray[np.uint8], stereo_ms: bool, coarse: bool,
    edges: NDArray[np.int32], mag0: NDArray[np.int32], sf0: NDArray[np.int32],
    ms0: NDArray[np.int32], buf: NDArray[np.uint8], pf_bits: int, pf_t: int, pf_q: int,
    ref: NDArray[np.int32], pred: int, joint: bool = False,
) -> int:
    """Range-code one frame. Returns bytes written to ``buf`` or ERR_OVERRUN.

    Mirrored pair of :func:`decode_payload`: the two walk the same fields in the same order.

    q: (C, N) int32 quantized coefficients; sf: (C, nb) int32 step indices;
    g, nbc, nf: (C,) int32; ms: (nb,) uint8 band flags; edges: (nb+1,) int32;
    pf_t, pf_q: the pitch post-filter's fields, coded when ``pf_q >= 0`` (info bit 6);
    pred: -1 no prediction bit (a stream without ``sf_predict``), 0 the bit i = 0, 1 a
    predicted frame against ``ref`` (C, nb) (``sf_predictable`` must hold); ``joint``: a
    ``joint_fields`` stream (the second channel's g and band count as differences).
    """
    st = np.zeros(8, dtype=np.int64)
    enc_init(st)
    mag, mtot, sfm, stot, msm, mstot = _fresh_models(mag0, sf0, ms0)
    nch = q.shape[0]
    wnbc = nbc_bits(edges.shape[0] - 1)
    if pf_q >= 0:
        enc_bits(st, buf, pf_t, pf_bits)
        enc_bits(st, buf, pf_q, 3)
    if pred >= 0:
        enc_bits(st, buf, pred, 1)
    for c in range(nch):
        if joint and c == 1:
            _enc_joint(st, buf, sfm, stot, SF_JOINT_G, g[1] - g[0], g[1], 8)
            _enc_joint(st, buf, sfm, stot, SF_JOINT_NBC, nbc[1] - nbc[0], nbc[1], wnbc)
        else:
            enc_bits(st, buf, g[c], 8)
            enc_bits(st, buf, nbc[c], wnbc)
        enc_bits(st, buf, nf[c], 3)
    if stereo_ms:
        nbmax = max(nbc[0], nbc[1])
        for b in range(nbmax):
            enc_symbol(st, buf, msm, mstot, 0, ms[b])
    for c in range(nch):
        prev = g[c]
        for b in range(nbc[c]):
            if pred == 1 and b == 0:
                continue  # sf[c, 0] = g[c]
            if pred == 1:
                r = sf[c, b] - sf_prediction(prev, ref[c, b], ref[c, b - 1], g[c], coarse)
                if coarse:
                    r //= 2
                if r < -SF_OFFSET or r >= NSYM_SF - SF_OFFSET:
                    return ERR_BAD_VALUE  # the caller broke sf_predictable
                enc_symbol(st, buf, sfm, stot, SF_PRED, r + SF_OFFSET)
            else:
                d = sf[c, b] - prev
                if coarse:
                    d //= 2  # the encoder made every step even (rate.make_sf)
                enc_symbol(st, buf, sfm, stot, SF_INTRA, d + SF_OFFSET)
            prev = sf[c, b]
    for c in range(nch):
        encode_magnitudes(st, buf, q, c, edges[nbc[c]], mag, mtot)
    return enc_finish(st, buf)


# The magnitude loops below are the bulk of a payload (a symbol and a sign per coefficient).
# They are :func:`enc_symbol` / :func:`enc_bits` (and :func:`dec_symbol` / :func:`dec_bits`)
# written out with the coder's state in local variables: numba keeps an inlined helper's array
# arguments alive with a reference-count increment and decrement (two atomic calls each) on
# every call once the helper holds a loop, which made a symbol cost about 50 ns instead of 5.
# Each is tested against the helper form (tests/test_codec.py, the golden digests).


@njit(cache=True)
def encode_magnitudes(st: NDArray[np.int64], buf: NDArray[np.uint8], q: NDArray[np.int32], c: int,
                      end: int, mag: NDArray[np.int32], mtot: NDArray[np.int32]) -> None:
    """For ``k < end``: ``|q[c, k]|`` with the context model (17 = escape, then Exp-Golomb),
    then its sign as a raw bit when nonzero."""
    low, rng, cache, csize = st[_LOW], st[_RANGE], st[_CACHE], st[_CSIZE]
    pos, ovf, first = st[_POS], st[_OVF], st[_FIRST]
    cap = buf.shape[0]
    p1 = 0
    p2 = 0
    for k in range(end):
        v = q[c, k]
        a = v if v >= 0 else -v
        ctx = 2 * p1 + p2
        m = context_of(ctx)
        s = a if a < ESCAPE else ESCAPE
        for op in range(2):  # 0: the magnitude symbol (enc_symbol), 1: the sign (enc_bits)
            if op == 0:
                start = 0
                for i in range(s):
                    start += mag[m, i]
                r = np.int64(np.uint32(rng) // np.uint32(mtot[m]))
                low += start * r
                rng = mag[m, s] * r
            elif a == 0:
                break
            else:
                r = rng >> 1
                if v < 0:
                    low += r
                rng = r
            while rng < TOP:  # _shift_low
                rng <<= 8
                if low < 0xFF000000 or low >= (1 << 32):
                    carry = low >> 32
                    temp = cache
                    while True:
                        if first == 1:  # _put
                            first = 0
                        else:
                            if pos < cap:
                                buf[pos] = (temp + carry) & 0xFF
                            else:
                                ovf = 1
                            pos += 1
                        temp = 0xFF
                        csize -= 1
                        if csize == 0:
                            break
                    cache = (low >> 24) & 0xFF
                csize += 1
                low = (low & 0x00FFFFFF) << 8
            if op == 0:
                _adapt(mag, mtot, m, s)
                if s == ESCAPE:
                    st[_LOW], st[_RANGE], st[_CACHE], st[_CSIZE] = low, rng, cache, csize
                    st[_POS], st[_OVF], st[_FIRST] = pos, ovf, first
                    enc_expgolomb(st, buf, a - ESCAPE)
                    low, rng, cache, csize = st[_LOW], st[_RANGE], st[_CACHE], st[_CSIZE]
                    pos, ovf, first = st[_POS], st[_OVF], st[_FIRST]
        p2 = p1
        p1 = a
    st[_LOW], st[_RANGE], st[_CACHE], st[_CSIZE] = low, rng, cache, csize
    st[_POS], st[_OVF], st[_FIRST] = pos, ovf, first


@njit(cache=True)
def decode_magnitudes(st: NDArray[np.int64], buf: NDArray[np.uint8], n: int, q: NDArray[np.int32],
                      c: int, end: int, mag: NDArray[np.int32], mtot: NDArray[np.int32]) -> int:
    """Mirror of :func:`encode_magnitudes` into ``q[c, :end]``; 0 or ERR_BAD_VALUE."""
    code, rng, pos, ovr = st[_CODE], st[_DRANGE], st[_DPOS], st[_DOVR]
    nsym = mag.shape[1]
    p1 = 0
    p2 = 0
    for k in range(end):
        ctx = 2 * p1 + p2
        m = context_of(ctx)
        a = 0
        neg = False
        for op in range(2):  # 0: the magnitude symbol (dec_symbol), 1: the sign (dec_bits)
            if op == 0:
                total = mtot[m]
                r = np.int64(np.uint32(rng) // np.uint32(total))
                t = np.int64(np.uint32(code) // np.uint32(r))
                if t >= total:
                    t = total - 1
                start = 0
                s = 0
                while s < nsym - 1 and start + mag[m, s] <= t:
                    start += mag[m, s]
                    s += 1
                code -= start * r
                rng = mag[m, s] * r
                a = s
            elif a == 0:
                break
            else:
                r = rng >> 1
                bit: int = np.int64(np.uint32(code) // np.uint32(r))  # type: ignore[assignment]
                if bit >= 2:
                    bit = 1
                code -= bit * r
                rng = r
                neg = bit == 1
            while rng < TOP:  # dec_update's renormalisation, _get
                if pos < n:
                    byte = int(buf[pos])
                else:
                    byte = 0
                    ovr += 1
                pos += 1
                code = ((code << 8) | byte) & 0xFFFFFFFF
                rng <<= 8
            if op == 0:
                _adapt(mag, mtot, m, a)
                if a == ESCAPE:
                    st[_CODE], st[_DRANGE], st[_DPOS], st[_DOVR] = code, rng, pos, ovr
                    e = dec_expgolomb(st, buf, n)
                    code, rng, pos, ovr = st[_CODE], st[_DRANGE], st[_DPOS], st[_DOVR]
                    if e < 0 or e > MAX_ESCAPE:
                        return ERR_BAD_VALUE
                    a = ESCAPE + e
        q[c, k] = -a if neg else a
        p2 = p1
        p1 = a
    st[_CODE], st[_DRANGE], st[_DPOS], st[_DOVR] = code, rng, pos, ovr
    return 0


@njit(cache=True)
def decode_payload(
    buf: NDArray[np.uint8], n: int, nch: int, nb: int, stereo_ms: bool, coarse: bool,
    edges: NDArray[np.int32], mag0: NDArray[np.int32], sf0: NDArray[np.int32], ms0: NDArray[np.int32],
    q: NDArray[np.int32], sf: NDArray[np.int32], g: NDArray[np.int32], nbc: NDArray[np.int32],
    nf: NDArray[np.int32], ms: NDArray[np.uint8], pf_bits: int, pf: NDArray[np.int32],
    ref: NDArray[np.int32], pred_bit: bool, ref_ok: bool, pred_out: NDArray[np.int32],
    joint: bool = False,
) -> int:
    """Inverse of :func:`encode_payload` (its mirrored pair) into preallocated outputs
    (``pf_bits`` 0: no post-filter fields; else ``pf`` receives ``T - T_min`` and the gain index;
    ``pred_bit``: the stream has the prediction bit, ``pred_out[0]`` receives it; a predicted
    frame is decoded against ``ref`` when ``ref_ok``, else ERR_NO_REFERENCE; ``joint`` as in
    :func:`encode_payload`).

    Returns 0, or a negative error code when a value is out of range or the
    coder read far past the end of the payload. Every loop is bounded by the
    frame's dimensions, so hostile bytes cannot make it hang.
    """
    st = np.zeros(8, dtype=np.int64)
    dec_init(st, buf, n)
    mag, mtot, sfm, stot, msm, mstot = _fresh_models(mag0, sf0, ms0)
    q[:, :] = 0
    ms[:] = 0
    wnbc = nbc_bits(nb)
    if pf_bits > 0:
        pf[0] = dec_bits(st, buf, n, pf_bits)
        pf[1] = dec_bits(st, buf, n, 3)
    pred = 0
    if pred_bit:
        pred = dec_bits(st, buf, n, 1)
        if pred == 1 and not ref_ok:
            pred_out[0] = 1
            return ERR_NO_REFERENCE
    pred_out[0] = pred
    for c in range(nch):
        if joint and c == 1:
            g[1] = _dec_joint(st, buf, n, sfm, stot, SF_JOINT_G, g[0], 8)
            nbc[1] = _dec_joint(st, buf, n, sfm, stot, SF_JOINT_NBC, nbc[0], wnbc)
            if g[1] < 0 or g[1] > 255 or nbc[1] < 0:
                return ERR_BAD_VALUE
        else:
            g[c] = dec_bits(st, buf, n, 8)
            nbc[c] = dec_bits(st, buf, n, wnbc)
        nf[c] = dec_bits(st, buf, n, 3)
        if nbc[c] > nb:
            return ERR_BAD_VALUE
    if stereo_ms:
        nbmax = max(nbc[0], nbc[1])
        for b in range(nbmax):
            ms[b] = dec_symbol(st, buf, n, msm, mstot, 0)
    for c in range(nch):
        prev = g[c]
        for b in range(nbc[c]):
            if pred == 1 and b == 0:
                sf[c, 0] = prev
                continue
            if pred == 1:
                r = dec_symbol(st, buf, n, sfm, stot, SF_PRED) - SF_OFFSET
                v = sf_prediction(prev, ref[c, b], ref[c, b - 1], g[c], coarse) + (
                    2 * r if coarse else r)
                v = min(255, max(0, v))  # as g: a stale reference may reach past the range
            else:
                d = dec_symbol(st, buf, n, sfm, stot, SF_INTRA) - SF_OFFSET
                v = prev + (2 * d if coarse else d)
            if v < 0 or v > 255:
                return ERR_BAD_VALUE
            sf[c, b] = v
            prev = v
        for b in range(nbc[c], nb):
            sf[c, b] = prev
    for c in range(nch):
        if decode_magnitudes(st, buf, n, q, c, edges[nbc[c]], mag, mtot) != 0:
            return ERR_BAD_VALUE
        if st[_DOVR] > 16:
            return ERR_OVERRUN
    if st[_DOVR] > 16:
        return ERR_OVERRUN
    return 0


def model_tables() -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32]]:
    """The shared initial model tables (read-only views)."""
    return _MAG0, _SF0, _MS0


# ------------------------------------------------------ LFE groups (the lfe_group record)


@njit(cache=True)
def encode_lfe_group(q: NDArray[np.int32], g: int, mag0: NDArray[np.int32], sf0: NDArray[np.int32],
                     ms0: NDArray[np.int32], buf: NDArray[np.uint8]) -> int:
    """Range-code one LFE group (:mod:`audiocodec.multistream.layout`, "LFE groups"): ``g``
    as 8 raw bits, then for each frame ``j`` of the group the magnitudes and signs of
    ``q[j, :B]`` (q: (G, B) int32) as the magnitude loop codes a channel, the models fresh
    at the group's start and adapting over its frames. Returns bytes written or ERR_OVERRUN.
    Mirrored pair of :func:`decode_lfe_group`."""
    st = np.zeros(8, dtype=np.int64)
    enc_init(st)
    mag, mtot, _, _, _, _ = _fresh_models(mag0, sf0, ms0)
    enc_bits(st, buf, g, 8)
    for j in range(q.shape[0]):
        encode_magnitudes(st, buf, q, j, q.shape[1], mag, mtot)
    return enc_finish(st, buf)


@njit(cache=True)
def decode_lfe_group(buf: NDArray[np.uint8], n: int, mag0: NDArray[np.int32], sf0: NDArray[np.int32],
                     ms0: NDArray[np.int32], q: NDArray[np.int32], g: NDArray[np.int32]) -> int:
    """Inverse of :func:`encode_lfe_group` into ``q`` (G, B) and ``g[0]``; 0, or a negative
    error code for a magnitude out of range or a read far past the end (bounded loops)."""
    st = np.zeros(8, dtype=np.int64)
    dec_init(st, buf, n)
    mag, mtot, _, _, _, _ = _fresh_models(mag0, sf0, ms0)
    q[:, :] = 0
    g[0] = dec_bits(st, buf, n, 8)
    for j in range(q.shape[0]):
        if decode_magnitudes(st, buf, n, q, j, q.shape[1], mag, mtot) != 0:
            return ERR_BAD_VALUE
        if st[_DOVR] > 16:
            return ERR_OVERRUN
    return 0
