"""Mid/side stereo decisions (encoder only); the decoder's inverse is in
:func:`audiocodec.core.quant.reconstruct`."""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

MS_RATIO = 0.5  # M/S for a band when min(E_M, E_S) < MS_RATIO * min(E_L, E_R)


def lr_to_ms_auto(
    coefs: NDArray[np.float64], edges: NDArray[np.int32]
) -> tuple[NDArray[np.float64], NDArray[np.uint8]]:
    """Rotate bands to M/S where that concentrates the energy; returns (coefs, flags).

    A band is coded as ``M = (L+R)/sqrt2, S = (L-R)/sqrt2`` when
    ``min(E_M, E_S) < MS_RATIO * min(E_L, E_R)``.
    """
    out = np.empty_like(coefs)
    flags = np.zeros(len(edges) - 1, dtype=np.uint8)
    _ms_kernel(coefs, edges, MS_RATIO, out, flags)
    return out, flags


@njit(cache=True)
def _ms_kernel(coefs: NDArray[np.float64], edges: NDArray[np.int32], ratio: float,
               out: NDArray[np.float64], flags: NDArray[np.uint8]) -> None:
    r = np.sqrt(0.5)
    for b in range(len(edges) - 1):
        el = er = em = es = 0.0
        for k in range(edges[b], edges[b + 1]):
            lv = coefs[0, k]
            rv = coefs[1, k]
            m = (lv + rv) * r
            s = (lv - rv) * r
            el += lv * lv
            er += rv * rv
            em += m * m
            es += s * s
        use = min(em, es) < ratio * min(el, er)
        flags[b] = 1 if use else 0
        for k in range(edges[b], edges[b + 1]):
            lv = coefs[0, k]
            rv = coefs[1, k]
            if use:
                out[0, k] = (lv + rv) * r
                out[1, k] = (lv - rv) * r
            else:
                out[0, k] = lv
                out[1, k] = rv


