"""The MDCT mode's decoder: one payload (after the info byte) to PCM.

Mirror of :class:`audiocodec.encoder.mdct_encoder.MdctEncoder`. Payload
layout: :mod:`audiocodec.core.layout` and :mod:`audiocodec.core.entropy`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..container import aqc
from ..errors import FrameError
from . import conceal as plc
from . import entropy, mdct, quant
from . import postfilter as pf
from .layout import (
    INFO_COARSE_SF,
    INFO_LEFT_SHORT,
    INFO_MS,
    INFO_PITCH,
    INFO_POWER_LAW,
    INFO_RIGHT_SHORT,
    INFO_SHORT,
    FrameStats,
    MdctConfig,
)


@njit(cache=True)
def _emit(ola: NDArray[np.float64], hist: NDArray[np.float64], a: int, out: NDArray[np.float64]) -> None:
    """One hop out of the overlap-add buffer ``ola`` (C, 2N): ``out`` (N, C) = its samples
    ``a .. a + N``, which also end the history ``hist`` (C, H, shifted left by N); then the
    buffer moves left by N, its second half zeroed."""
    nch, n2 = ola.shape
    n = n2 // 2
    keep = hist.shape[1] - n
    for c in range(nch):
        for i in range(keep):
            hist[c, i] = hist[c, i + n]
        for i in range(n):
            v = ola[c, a + i]
            out[i, c] = v
            hist[c, keep + i] = v
        for i in range(n):
            ola[c, i] = ola[c, n + i]
            ola[c, n + i] = 0.0


class MdctDecoder:
    """Per-stream MDCT decoding state: overlap-add buffer, side information, concealment."""

    conceals_tail = True

    def __init__(self, h: aqc.StreamHeader, observer: Callable[[FrameStats], None] | None = None):
        self.config = MdctConfig(h.sample_rate, h.channels, h.frame_size, h.overlap,
                                 aqc.WINDOW_NAMES[h.window], bool(h.flags & aqc.FLAG_BLOCK_SWITCHING),
                                 aqc.noise_fill_bin(h))
        self.channels = h.channels
        self._observer = observer
        n = h.frame_size
        nb = self.config.max_bands
        self._ola = np.zeros((h.channels, 2 * n))
        self._q = np.zeros((h.channels, n), dtype=np.int32)
        self._sf = np.zeros((h.channels, nb), dtype=np.int32)
        self._g = np.zeros(h.channels, dtype=np.int32)
        self._nbc = np.zeros(h.channels, dtype=np.int32)
        self._nf = np.zeros(h.channels, dtype=np.int32)
        self._ms = np.zeros(nb, dtype=np.uint8)
        self._coefs = np.zeros((h.channels, n))
        self._last_coefs = np.zeros((h.channels, n))
        self._last_info = 0
        self._index = 0
        self._rng = np.random.default_rng(h.serial)  # concealment signs
        self._serial = h.serial
        self._hist = np.zeros((h.channels, plc.history_size(h.sample_rate, n)))
        self._lost_run = 0  # consecutive concealed frames
        plc.warm_up()
        pf.shift_left(self._hist, self._hist.shape[1])  # load the kernels now (no-op calls)
        _emit(self._ola, np.zeros((h.channels, n)), 0, np.empty((n, h.channels)))
        mdct.imdct_add(np.zeros((h.channels, n)), self.config.long_window(False, False),
                       np.zeros((h.channels, 2 * n)))
        self._noise_state = np.zeros(1, dtype=np.uint64)
        interval = aqc.pitch_filter_interval(h)
        self._post = (pf.PostFilter(h.channels, h.sample_rate, n, h.overlap, interval)
                      if interval is not None else None)
        self._pf = np.zeros(2, dtype=np.int32)
        self.fec = h.find(aqc.TAG_FEC) is not None
        # scale-factor prediction: the last decoded frame's S (entropy.py)
        self._sf_predict = aqc.sf_predict_interval(h) is not None
        self._joint = h.find(aqc.TAG_JOINT_FIELDS) is not None
        self._ref = np.zeros((h.channels, nb), dtype=np.int32)
        entropy.store_reference(self._sf, self._nbc, nb, np.zeros_like(self._ref))  # load it now
        self._ref_short: bool | None = None  # None: no reference (start, reset)
        self._pred_out = np.zeros(1, dtype=np.int32)
        self.frames_waiting = 0  # predicted frames concealed for want of a reference

    def decode(self, info: int, body_bytes: bytes) -> NDArray[np.float64]:
        """Decode one payload's range-coded body; ``info`` is its info byte (in an FEC stream
        the body is followed by the redundant section, which is skipped)."""
        if self.fec:
            body_bytes = self._split(body_bytes)[0]
        return self._decode(info, body_bytes)

    def decode_redundant(self, body_bytes: bytes) -> NDArray[np.float64] | None:
        """In place of a lost packet: the redundant copy in the mode bytes of the packet after it,
        or None when the stream or that packet has none."""
        if not self.fec:
            return None
        section = self._split(body_bytes)[1]
        if not section:
            return None
        if section[0] & aqc.INFO_LAST:
            raise FrameError(f"redundant copy's info byte 0x{section[0]:02x} has bit 7 set")
        return self._decode(section[0], section[1:], primary=False)

    @staticmethod
    def _split(body: bytes) -> tuple[bytes, bytes]:
        """``(body, redundant section)`` of an FEC stream's mode bytes (layout: core.layout)."""
        if not body:
            raise FrameError("FEC packet without its redundant-section length byte")
        k = body[-1]
        if k + 1 > len(body):
            raise FrameError(f"redundant section of {k} bytes in a {len(body)}-byte packet body")
        return body[: len(body) - 1 - k], body[len(body) - 1 - k : -1]

    def _decode(self, info: int, body_bytes: bytes, primary: bool = True) -> NDArray[np.float64]:
        """Decode one payload; an FEC copy (``primary`` False) leaves the scale-factor
        reference alone: the next packet predicted from the lost frame's own, far finer steps,
        which the last decoded packet's are nearer than the copy's."""
        c = self.config
        short = bool(info & INFO_SHORT)
        if short and not c.block_switching:
            raise FrameError("short-block frame in a stream without block switching")
        post = self._post
        pf_bits = 0
        if info & INFO_PITCH:
            if post is None:
                raise FrameError("post-filter parameters in a stream without the pitch_filter record")
            pf_bits = post.bits
        edges = c.edges(short)
        nb = len(edges) - 1
        body = np.frombuffer(body_bytes, dtype=np.uint8)
        ms_on = bool(info & INFO_MS) and self.channels == 2
        if info & INFO_MS and self.channels != 2:
            raise FrameError("M/S flag in a mono stream")
        sf = self._sf[:, :nb]
        mag0, sf0, ms0 = entropy.model_tables()
        r = entropy.decode_payload(body, body.shape[0], self.channels, nb, ms_on,
                                   bool(info & INFO_COARSE_SF), edges, mag0, sf0, ms0, self._q, sf,
                                   self._g, self._nbc, self._nf, self._ms, pf_bits, self._pf,
                                   self._ref, self._sf_predict, self._ref_short == short,
                                   self._pred_out, self._joint)
        if r == entropy.ERR_NO_REFERENCE and not primary:
            raise FrameError("redundant copy predicts from a frame this decoder lacks")
        if r == entropy.ERR_NO_REFERENCE:
            # a predicted frame after a start, a reset or a block-type change it did not see:
            # nothing to predict from until the next intra frame (at most K - 1 packets)
            self.frames_waiting += 1
            return self.conceal()
        if r != 0:
            raise FrameError("frame payload does not decode (damaged)")
        if self._sf_predict and primary:
            entropy.store_reference(self._sf, self._nbc, nb, self._ref)
            self._ref_short = short
        params = (0, 0.0)
        if post is not None:
            if pf_bits and post.t_min + self._pf[0] > post.t_max:
                raise FrameError(f"post-filter period {post.t_min + self._pf[0]} above {post.t_max}")
            params = post.params(int(self._pf[0]), int(self._pf[1]) if pf_bits else -1)
        law = quant.LAW_POWER if info & INFO_POWER_LAW else quant.LAW_UNIFORM
        coefs = self._coefs
        self._noise_state[0] = quant.frame_noise_seed(self._serial, self._index)
        quant.reconstruct(self._q, self._sf, edges, nb, law, self._nf, self._nbc,
                          self._ms, ms_on, c.nf_start, c.short_blocks if short else 1, self._noise_state,
                          coefs)
        self._last_coefs[:] = coefs
        self._last_info = info
        self._lost_run = 0
        if self._observer is not None:
            self._observer(FrameStats(self._index, 0, info, short, edges, self._nbc, sf, self._q))
        self._index += 1
        out = self._overlap_add(coefs, info)
        return post.apply(out, *params) if post is not None else out

    def decode_silent(self) -> NDArray[np.float64]:
        """A frame that codes nothing (an empty multistream sub-packet): a long frame of zero
        coefficients, which leaves the scale-factor reference as it was (as its encoder does)."""
        return self.decode_coefs(None)

    def decode_coefs(self, coefs: NDArray[np.float64] | None) -> NDArray[np.float64]:
        """A long frame of the given coefficients (C, N) or (N,) for mono (None: zeros), as
        :meth:`decode_silent` (an LFE group's frame, :mod:`audiocodec.multistream.layout`)."""
        self._coefs[:] = 0.0 if coefs is None else coefs
        self._last_coefs[:] = self._coefs
        self._last_info = 0
        self._lost_run = 0
        self._index += 1
        out = self._overlap_add(self._coefs, 0)
        return self._post.apply(out, self._post.last[0], 0.0) if self._post is not None else out

    def _overlap_add(self, coefs: NDArray[np.float64], info: int) -> NDArray[np.float64]:
        c = self.config
        n, ovl = c.frame_size, c.overlap
        c.synthesize_add(coefs, info, self._ola)
        out = np.empty((n, c.channels))
        _emit(self._ola, self._hist, n // 2 - ovl // 2, out)
        return out

    def set_index(self, index: int) -> None:
        """The packet index of the next packet (after a reset, for the per-frame noise seed)."""
        self._index = int(index)

    def conceal(self) -> NDArray[np.float64]:
        """One frame of concealment: pitch repetition of the last output when it has a clear
        period (:mod:`.conceal`), else the last spectrum, faded, with random signs."""
        c = self.config
        n = c.frame_size
        # a long frame; after a start or short frame its left slope must be short
        info = INFO_LEFT_SHORT if self._last_info & (INFO_SHORT | INFO_RIGHT_SHORT) else 0
        fade0 = plc.FADE ** self._lost_run
        period, r = plc.pitch_period(self._hist, c.sample_rate) if fade0 > 0.05 else (0, 0.0)
        if period and r >= plc.VOICED_R:
            known = n // 2 - c.overlap // 2  # the window span's samples already output
            seg = plc.extrapolate(self._hist, known, 2 * n, period, 1.0, plc.FADE)
            coefs = c.analyze(seg, info) * fade0
            self._last_coefs[:] = coefs
        else:
            self._last_coefs *= aqc.CONCEAL_FADE
            signs = np.where(self._rng.random(self._last_coefs.shape) < 0.5, -1.0, 1.0)
            coefs = self._last_coefs * signs
            if self._last_info & INFO_SHORT and c.switch_lookahead:
                # the interleaved spectrum of 8 short blocks, whose slopes are not the long
                # frame's, is not used; a low-overlap layout's short blocks (slopes the long
                # overlap) interleave to the long frame's bin order and energy: kept
                coefs = np.zeros_like(coefs)
        self._last_info = info
        self._index += 1
        self._lost_run += 1
        out = self._overlap_add(coefs, info)
        return self._post.apply(out, *self._post.last) if self._post is not None else out
