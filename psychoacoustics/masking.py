"""Global masking threshold, signal-to-mask ratio and perceptual entropy per scale-factor band.

The model (per frame, all frames of a batch at once)::

    coefs --square--> bin energy --sum--> partition energy e_p (about 1/3 Bark each)
          --pseudo-spectrum, local flatness--> partition tonality t_p in [0, 1]
    spread energy   c_q = sum_p e_p S[p, q]         (Schroeder spreading, normalised)
    masker tonality a_q = sum_p e_p t_p S[p, q] / c_q
    offset          O_q = a_q (14.5 + z_q) + (1 - a_q) 5.5 dB      (Johnston 1988)
                    then clipped to optional bounds (min_offset_db(z_q), max_offset_db)
    masking density m_k = c_q 10^(-O_q / 10) / width_q              (bin k in partition q)
    bin threshold   T_k = max(m_k, threshold in quiet of bin k)
    band threshold  T_b = sum of T_k over the band's bins;  SMR_b = E_b / T_b

The tables (partitions, spreading matrix, threshold in quiet, band maps) depend only on the
configuration and are built once by :class:`PsychoModel`. :meth:`PsychoModel.analyze_reference`
states the model as a fixed sequence of vectorised numpy operations; :meth:`PsychoModel.analyze`
is its compiled (numba) form, tested against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .errors import PsychoacousticsError, as_real_finite
from .quiet import ATH_MAX_DB, ath_db_spl, db_spl_to_energy
from .scales import bin_centers_hz, bin_edges_hz, hz_to_bark
from .spreading import Partitions, make_partitions, spreading_matrix
from .tonality import (
    MIN_WINDOW_BINS,
    SFM_NOISE_DB,
    SFM_TONE_DB,
    flatness_windows,
    pseudo_spectrum,
    tonality_from_flatness,
    window_flatness_db,
)

__all__ = [
    "NOISE_MASKING_OFFSET_DB",
    "MaskingResult",
    "PsychoConfig",
    "PsychoModel",
    "masking_offset_db",
    "perceptual_entropy",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Masking offset of a noise-like masker, dB below the spread masker energy (Johnston 1988).
NOISE_MASKING_OFFSET_DB = 5.5
#: A tonal masker's offset is ``TONE_MASKING_OFFSET_DB + z`` (``z`` in Bark; Johnston 1988).
TONE_MASKING_OFFSET_DB = 14.5

_TINY = 1e-30
_LN10_10 = np.log(10.0) / 10.0


def masking_offset_db(tonality: ArrayLike, bark: ArrayLike) -> FloatArray:
    """How far (dB) the masking threshold lies below the spread masker energy.

    ``O = a (14.5 + z) + (1 - a) 5.5`` (J. D. Johnston, "Transform coding of audio signals
    using perceptual noise criteria", IEEE JSAC 6(2), 1988; the same rule drives MPEG-1
    psychoacoustic model 2). A tone masks less than noise of the same energy, so a tonal masker
    (``a = 1``) gets the larger offset, growing with critical-band rate ``z``.

    Parameters
    ----------
    tonality : array_like
        Masker tonality ``a`` in ``[0, 1]``.
    bark : array_like
        Critical-band rate ``z`` of the maskee, broadcast against ``tonality``.

    Returns
    -------
    ndarray of float64, broadcast shape
    """
    a = np.asarray(tonality, dtype=np.float64)
    z = np.asarray(bark, dtype=np.float64)
    return NOISE_MASKING_OFFSET_DB + a * (TONE_MASKING_OFFSET_DB - NOISE_MASKING_OFFSET_DB + z)


def perceptual_entropy(
    coefs: NDArray[np.floating], threshold: NDArray[np.floating], band_edges: ArrayLike
) -> FloatArray:
    """Johnston's perceptual entropy (bits) of MDCT frames under a per-band noise threshold.

    Each coefficient is quantised with the uniform step whose noise (``step^2 / 12`` per
    coefficient) just fills the band's allowed noise ``T_b / w_b``, and costs
    ``log2(2 |nint(X / step)| + 1)`` bits; ``PE`` is their sum. This is Johnston's 1988 formula
    with a real transform (Johnston split the noise between the real and imaginary part of an
    FFT line, hence his ``sqrt(6 T / k)``; an MDCT coefficient is real, giving ``sqrt(12 T / w)``).
    Bins outside ``band_edges[0] .. band_edges[-1]`` cost nothing.

    Parameters
    ----------
    coefs : ndarray, shape (..., n_bins)
        MDCT coefficients.
    threshold : ndarray, shape (..., n_bands)
        Allowed noise energy per band (``> 0``).
    band_edges : array_like of int, shape (n_bands + 1,)
        Band bin edges, strictly increasing.

    Returns
    -------
    ndarray of float64, shape (...)
        Bits per frame.
    """
    edges = np.asarray(band_edges, dtype=np.intp)
    widths = np.diff(edges)
    band_of_bin = np.repeat(np.arange(widths.size), widths)
    thr = np.asarray(threshold, dtype=np.float64)
    inv_step = 1.0 / np.sqrt(12.0 * thr / widths)
    x = np.asarray(coefs, dtype=np.float64)[..., edges[0] : edges[-1]]
    return _pe_bits(x, np.take(inv_step, band_of_bin, axis=-1))


def _pe_bits(x: FloatArray, inv_step_bins: FloatArray) -> FloatArray:
    q = np.rint(np.abs(x) * inv_step_bins)
    bits: FloatArray = np.log2(2.0 * q + 1.0).sum(axis=-1)
    return bits


@dataclass(frozen=True)
class PsychoConfig:
    """The configuration of a :class:`PsychoModel` (immutable, hashable); the optional
    masking-offset bounds are held by the model itself.

    Attributes
    ----------
    sample_rate : int
        Sampling rate in Hz.
    n_bins : int
        MDCT bins per frame (the hop length; 1024 long, 128 short blocks, ...).
    band_edges : tuple of int
        Scale-factor band edges in bins, strictly increasing, within ``0 .. n_bins``.
    full_scale_db : float
        dB SPL of a full-scale sine (total coefficient energy ``n_bins / 2``).
    ath_offset_db : float
        Added to the threshold in quiet (negative = more conservative, e.g. for playback
        louder than ``full_scale_db`` assumes).
    partition_bark : float
        Width of the internal masking partitions in Bark.
    tonality_window : int
        Minimum flatness window in bins.
    ath_max_db : float
        Ceiling on the threshold in quiet, dB SPL.
    """

    sample_rate: int
    n_bins: int
    band_edges: tuple[int, ...]
    full_scale_db: float = 96.0
    ath_offset_db: float = 0.0
    partition_bark: float = 1.0 / 3.0
    tonality_window: int = MIN_WINDOW_BINS
    ath_max_db: float = ATH_MAX_DB

    def __post_init__(self) -> None:
        if not 1000 <= self.sample_rate <= 384000:
            raise PsychoacousticsError(
                f"sample_rate must be 1000..384000 Hz, got {self.sample_rate}"
            )
        if self.n_bins < 4:
            raise PsychoacousticsError(f"n_bins must be >= 4, got {self.n_bins}")
        e = self.band_edges
        if (
            len(e) < 2
            or e[0] < 0
            or e[-1] > self.n_bins
            or any(b <= a for a, b in zip(e[:-1], e[1:], strict=True))
        ):
            raise PsychoacousticsError(
                "band_edges must be >= 2 strictly increasing bin indices within "
                f"0..{self.n_bins}, got {list(e)[:8]}{'...' if len(e) > 8 else ''}"
            )
        if not 0.05 <= self.partition_bark <= 2.0:
            raise PsychoacousticsError(
                f"partition_bark must be 0.05..2.0, got {self.partition_bark}"
            )
        if self.tonality_window < 2:
            raise PsychoacousticsError(
                f"tonality_window must be >= 2 bins, got {self.tonality_window}"
            )

    @property
    def n_bands(self) -> int:
        """Number of scale-factor bands."""
        return len(self.band_edges) - 1


@dataclass(frozen=True)
class MaskingResult:
    """Output of :meth:`PsychoModel.analyze`.

    Shapes are for a batch of ``frames``; a single frame drops the leading axis (``pe`` is then
    0-d). Energies are sums of squared coefficients, in the units of ``coefs``.

    Attributes
    ----------
    energy : ndarray of float64, shape (frames, n_bands)
        Signal energy per band.
    threshold : ndarray of float64, shape (frames, n_bands)
        Allowed (inaudible) noise energy per band, ``> 0``.
    smr_db : ndarray of float64, shape (frames, n_bands)
        ``10 log10(energy / threshold)``; silent bands get a large negative finite value.
    tonality : ndarray of float64, shape (frames, n_bands)
        Energy-weighted tonality of the band's bins, 1 = tone-like, 0 = noise-like
        (0 for a silent band).
    pe : ndarray of float64, shape (frames,)
        Perceptual entropy in bits per frame.
    bin_threshold : ndarray of float64, shape (frames, n_bins)
        Allowed noise energy per bin (sums to ``threshold`` over each band).
    """

    energy: FloatArray
    threshold: FloatArray
    smr_db: FloatArray
    tonality: FloatArray
    pe: FloatArray
    bin_threshold: FloatArray


def _upper_bound(max_offset_db: float | None, default: float) -> float:
    """``max_offset_db`` as a float (``default`` for None); NaN is refused."""
    if max_offset_db is None:
        return default
    upper = float(max_offset_db)
    if np.isnan(upper):
        raise PsychoacousticsError("max_offset_db is NaN")
    return upper


class PsychoModel:
    """Perceptual model of one frame configuration, tables precomputed.

    Parameters
    ----------
    sample_rate : int
        Sampling rate in Hz.
    n_bins : int
        MDCT bins per frame.
    band_edges : array_like of int, shape (n_bands + 1,)
        Scale-factor band edges (bin indices, strictly increasing, within ``0 .. n_bins``).
        Bins outside ``band_edges[0] .. band_edges[-1]`` still mask, but get no band.
    full_scale_db : float, optional
        dB SPL of a full-scale sine. The level contract: an orthonormal MDCT frame of a
        full-scale sine has total coefficient energy ``n_bins / 2``, which is taken to be
        ``full_scale_db`` dB SPL when comparing with the threshold in quiet.
    ath_offset_db : float, optional
        Added to the threshold in quiet.
    ath_max_db : float, optional
        Ceiling on the threshold in quiet in dB SPL (Terhardt's curve exceeds any real level
        near 20 kHz; an encoder that must still code that region lowers this).
    partition_bark : float, optional
        Internal masking resolution in Bark.
    tonality_window : int, optional
        Minimum window in bins for the flatness (tonality) measure.
    min_offset_db : callable, optional
        Lower bound of the masking offset ``O_q`` (dB) as a function of the partitions'
        critical-band rate (an array in Bark), like the per-partition ``minval`` of MPEG-1
        psychoacoustic model 2. Evaluated once, at construction; where it exceeds
        ``max_offset_db`` it wins. None: no bound.
    max_offset_db : float, optional
        Upper bound of ``O_q`` (dB), e.g. 18 for the tone-masking-noise value of the MPEG-2 AAC
        model; Johnston's tonal offset ``14.5 + z`` exceeds 30 dB above 15 Bark. None: no bound.

    Attributes
    ----------
    config : PsychoConfig
        The frozen configuration.
    partitions : Partitions
        The internal ~1/3-Bark masking partitions.
    band_edges : ndarray of intp, shape (n_bands + 1,)
        As given.
    ath_bin : ndarray of float64, shape (n_bins,)
        Threshold in quiet per bin, as a coefficient energy.
    ath_band : ndarray of float64, shape (n_bands,)
        Threshold in quiet per band (the floor of :attr:`MaskingResult.threshold`).

    Notes
    -----
    The threshold in quiet of a bin is the energy of a tone at Terhardt's threshold for the bin's
    centre frequency, times the bin's width in Bark (at most 1): noise spread over one critical
    band is just audible when its *total* energy reaches the tone threshold. Within a band, every
    bin then gets the band's lowest such value (:attr:`ath_bin`), since quantisation noise is
    white across the band; :attr:`ath_band` is the band's total. The masking part is summed over
    the band's bins as it is (the ear integrates power within a critical band).

    Frames are analysed independently (no temporal masking or pre-echo memory); the encoder keeps
    any such state. ``analyze`` costs about 50-60 us for one 1024-bin frame (see
    ``docs/PSYCHOACOUSTICS.md``).
    """

    def __init__(
        self,
        sample_rate: int,
        n_bins: int,
        band_edges: ArrayLike,
        *,
        full_scale_db: float = 96.0,
        ath_offset_db: float = 0.0,
        ath_max_db: float = ATH_MAX_DB,
        partition_bark: float = 1.0 / 3.0,
        tonality_window: int = MIN_WINDOW_BINS,
        min_offset_db: Callable[[FloatArray], FloatArray] | None = None,
        max_offset_db: float | None = None,
    ) -> None:
        edges_arr = np.asarray(band_edges)
        if edges_arr.ndim != 1 or not np.issubdtype(edges_arr.dtype, np.integer):
            raise PsychoacousticsError(
                f"band_edges must be a 1-D integer array, got shape {edges_arr.shape} "
                f"dtype {edges_arr.dtype}"
            )
        self.config = PsychoConfig(
            sample_rate=int(sample_rate),
            n_bins=int(n_bins),
            band_edges=tuple(int(v) for v in edges_arr),
            full_scale_db=float(full_scale_db),
            ath_offset_db=float(ath_offset_db),
            ath_max_db=float(ath_max_db),
            partition_bark=float(partition_bark),
            tonality_window=int(tonality_window),
        )
        cfg = self.config
        n = cfg.n_bins

        self.partitions: Partitions = make_partitions(
            cfg.sample_rate, n, resolution=cfg.partition_bark
        )
        parts = self.partitions
        self._windows = flatness_windows(parts.start, parts.width, n, min_bins=cfg.tonality_window)
        self._spread = spreading_matrix(parts.bark)
        self._offset_tone_extra = TONE_MASKING_OFFSET_DB - NOISE_MASKING_OFFSET_DB + parts.bark
        self._min_offset, self._max_offset = self._offset_bounds(min_offset_db, max_offset_db)
        self._inv_width = 1.0 / parts.width.astype(np.float64)
        self._part_edges = np.append(parts.start, n).astype(np.intp)
        self.ath_bin: FloatArray = self._quiet_threshold()
        self._band_tables()
        for a in (
            self._spread,
            self._offset_tone_extra,
            self._inv_width,
            self.ath_bin,
            self.band_edges,
            self._rel_edges,
            self._band_width,
            self._band_of_bin,
            self.ath_band,
            self._part_to_band,
            self._part_edges,
            self._min_offset,
        ):
            a.setflags(write=False)

    def _offset_bounds(self, min_offset_db: Callable[[FloatArray], FloatArray] | None,
                       max_offset_db: float | None) -> tuple[FloatArray, float]:
        """Offset bounds per partition; -inf / +inf (no bound) leave O_q exactly as it is."""
        parts = self.partitions
        lower = np.full(parts.n_parts, -np.inf)
        if min_offset_db is not None:
            floor = np.asarray(min_offset_db(parts.bark), dtype=np.float64)
            try:
                lower = np.broadcast_to(floor, (parts.n_parts,)).copy()
            except ValueError:
                raise PsychoacousticsError(
                    f"min_offset_db must return one value or {parts.n_parts} (one per partition), "
                    f"got shape {floor.shape}"
                ) from None
            if not np.isfinite(lower).all():
                raise PsychoacousticsError("min_offset_db returned NaN or infinite values")
        return lower, _upper_bound(max_offset_db, np.inf)

    def _upper(self, max_offset_db: float | None) -> float:
        """A call's offset cap: its own, or the model's."""
        return _upper_bound(max_offset_db, self._max_offset)

    def _quiet_threshold(self) -> FloatArray:
        """Threshold in quiet per bin, as an energy (see Notes)."""
        cfg = self.config
        n = cfg.n_bins
        bark_edges = hz_to_bark(bin_edges_hz(cfg.sample_rate, n))
        bin_bark_width = np.minimum(np.diff(bark_edges), 1.0)
        ath_db = ath_db_spl(bin_centers_hz(cfg.sample_rate, n)) + cfg.ath_offset_db
        ath_db = np.minimum(ath_db, cfg.ath_max_db)
        return np.asarray(db_spl_to_energy(ath_db, n, full_scale_db=cfg.full_scale_db) * bin_bark_width)

    def _band_tables(self) -> None:
        """Band layout tables, the bands' threshold in quiet, and partition-to-band weights."""
        edges = np.asarray(self.config.band_edges, dtype=np.intp)
        self.band_edges: IntArray = edges
        self._lo = int(edges[0])
        self._hi = int(edges[-1])
        self._rel_edges = (edges[:-1] - edges[0]).astype(np.intp)
        widths = np.diff(edges)
        self._band_width = widths.astype(np.float64)
        self._band_of_bin = np.repeat(np.arange(widths.size), widths).astype(np.intp)
        # The quantiser puts white noise into a band, so the band's quiet threshold is set by its
        # most sensitive bin: every bin of a band gets the band's lowest threshold in quiet. (At
        # low frequencies the threshold in quiet changes by tens of dB across one band.)
        ath_min = np.minimum.reduceat(self.ath_bin[self._lo : self._hi], self._rel_edges)
        self.ath_bin[self._lo : self._hi] = ath_min[self._band_of_bin]
        self.ath_band: FloatArray = ath_min * self._band_width
        # Fraction of each partition's bins that fall in each band, for the band tonality.
        parts = self.partitions
        overlap = np.zeros((parts.n_parts, widths.size))
        np.add.at(overlap, (parts.of_bin[self._lo : self._hi], self._band_of_bin), 1.0)
        self._part_to_band = overlap * self._inv_width[:, np.newaxis]

    @property
    def n_bands(self) -> int:
        """Number of scale-factor bands."""
        return self.config.n_bands

    def analyze(self, coefs: ArrayLike, max_offset_db: float | None = None) -> MaskingResult:
        """Masking threshold, SMR, tonality and perceptual entropy of MDCT frames.

        The compiled form of :meth:`analyze_reference` (same model, same tables; results agree
        to rounding, within about 1e-12 relative). Frames are analysed one at a time, so a batch gives
        bit-identical results to its frames analysed singly.

        Parameters
        ----------
        coefs : array_like of float, shape (n_bins,) or (frames, n_bins)
            Orthonormal MDCT coefficients of one channel.
        max_offset_db : float, optional
            This call's upper bound on the masking offset, in place of the model's own
            (``max_offset_db`` of the constructor); the floor still wins where they cross.

        Returns
        -------
        MaskingResult
            Per-band arrays of shape (n_bands,) for one frame or (frames, n_bands) for a batch.

        Raises
        ------
        PsychoacousticsError
            If ``coefs`` has the wrong shape, is not real, or holds NaN/inf, or
            ``max_offset_db`` is NaN.
        """
        upper = self._upper(max_offset_db)
        x, single = self._frames(coefs)
        x = np.ascontiguousarray(x)
        f = x.shape[0]
        nb = self.n_bands
        energy = np.empty((f, nb))
        threshold = np.empty((f, nb))
        smr_db = np.empty((f, nb))
        tonality = np.empty((f, nb))
        pe = np.empty(f)
        bin_thr = np.empty_like(x)
        parts = self.partitions
        _analyze_kernel(
            x, self._part_edges, parts.of_bin, self._windows.lo, self._windows.hi,
            self._spread, self._offset_tone_extra, self._min_offset, upper,
            self._inv_width, self.ath_bin,
            self.band_edges, self._part_to_band, SFM_NOISE_DB, SFM_TONE_DB,
            energy, threshold, smr_db, tonality, pe, bin_thr,
        )
        if single:
            return MaskingResult(energy[0], threshold[0], smr_db[0], tonality[0], pe[0], bin_thr[0])
        return MaskingResult(energy, threshold, smr_db, tonality, pe, bin_thr)

    def analyze_reference(self, coefs: ArrayLike, max_offset_db: float | None = None) -> MaskingResult:
        """Vectorised numpy form of :meth:`analyze` (same arguments, result and errors): the
        oracle its compiled kernel is tested against, and the readable statement of the model.
        """
        upper = self._upper(max_offset_db)
        x, single = self._frames(coefs)

        power = x * x
        e_part = np.add.reduceat(power, self.partitions.start, axis=-1)
        t_part = tonality_from_flatness(window_flatness_db(pseudo_spectrum(x), self._windows))

        spread = e_part @ self._spread
        et_part = e_part * t_part
        masker_tonality = (et_part @ self._spread) / np.maximum(spread, _TINY)
        offset_db = NOISE_MASKING_OFFSET_DB + masker_tonality * self._offset_tone_extra
        # the floor applies last: it wins where the two bounds cross
        offset_db = np.maximum(np.minimum(offset_db, upper), self._min_offset)
        density = spread * np.exp(-_LN10_10 * offset_db) * self._inv_width
        # np.take, not fancy indexing: it returns a C-ordered array, several times faster here.
        bin_thr = np.maximum(np.take(density, self.partitions.of_bin, axis=-1), self.ath_bin)

        lo, hi = self._lo, self._hi
        energy = np.add.reduceat(power[:, lo:hi], self._rel_edges, axis=-1)
        threshold = np.add.reduceat(bin_thr[:, lo:hi], self._rel_edges, axis=-1)
        smr_db = 10.0 * np.log10(np.maximum(energy, _TINY) / threshold)
        tonality = (et_part @ self._part_to_band) / np.maximum(e_part @ self._part_to_band, _TINY)
        inv_step = np.sqrt(self._band_width / (12.0 * threshold))
        pe = _pe_bits(x[:, lo:hi], np.take(inv_step, self._band_of_bin, axis=-1))

        if single:
            return MaskingResult(energy[0], threshold[0], smr_db[0], tonality[0], pe[0], bin_thr[0])
        return MaskingResult(energy, threshold, smr_db, tonality, pe, bin_thr)

    def _frames(self, coefs: ArrayLike) -> tuple[FloatArray, bool]:
        """Checked coefficients as (frames, n_bins), and whether one frame was given."""
        x = self._check(coefs)
        if x.ndim == 1:
            return x[np.newaxis, :], True
        return x, False

    def _check(self, coefs: ArrayLike) -> FloatArray:
        x = np.asarray(coefs)
        if x.ndim not in (1, 2) or x.shape[-1] != self.config.n_bins:
            raise PsychoacousticsError(
                f"coefs must have shape ({self.config.n_bins},) or (frames, "
                f"{self.config.n_bins}), got {x.shape}"
            )
        return as_real_finite(x, "coefs")


@njit(cache=True)
def _analyze_kernel(
    x: FloatArray, part_edges: IntArray, of_bin: IntArray, win_lo: IntArray, win_hi: IntArray,
    spread_m: FloatArray, offset_tone_extra: FloatArray, min_offset: FloatArray, max_offset: float,
    inv_width: FloatArray,
    ath_bin: FloatArray, band_edges: IntArray, part_to_band: FloatArray,
    sfm_noise_db: float, sfm_tone_db: float,
    energy: FloatArray, threshold: FloatArray, smr_db: FloatArray, tonality: FloatArray,
    pe: FloatArray, bin_thr: FloatArray,
) -> None:
    """:meth:`PsychoModel.analyze_reference`, one frame at a time (see there for the model)."""
    n_frames, n = x.shape
    n_parts = part_edges.size - 1
    nb = band_edges.size - 1
    db = 10.0 / np.log(10.0)
    log_p = np.empty(n)
    lin_p = np.empty(n)
    e_part = np.empty(n_parts)
    t_part = np.empty(n_parts)
    density = np.empty(n_parts)
    for f in range(n_frames):
        # pseudo-spectrum (tonality only) and its logs
        for k in range(n):
            if n == 1:
                d = 0.0
            elif k == 0:
                d = x[f, 1]
            elif k == n - 1:
                d = -x[f, n - 2]
            else:
                d = x[f, k + 1] - x[f, k - 1]
            p = x[f, k] * x[f, k] + 0.25 * d * d + _TINY
            lin_p[k] = p
            log_p[k] = np.log(p)
        for i in range(n_parts):
            s = 0.0
            for k in range(part_edges[i], part_edges[i + 1]):
                s += x[f, k] * x[f, k]
            e_part[i] = s
            sl = 0.0
            sp = 0.0
            for k in range(win_lo[i], win_hi[i]):
                sl += log_p[k]
                sp += lin_p[k]
            length = float(win_hi[i] - win_lo[i])
            sfm = min(db * (sl / length - np.log(sp / length)), 0.0)
            t = (sfm - sfm_noise_db) / (sfm_tone_db - sfm_noise_db)
            t_part[i] = min(max(t, 0.0), 1.0)
        # spreading, masker tonality, masking offset -> threshold density per partition
        for q in range(n_parts):
            c = 0.0
            ct = 0.0
            for i in range(n_parts):
                w = spread_m[i, q]
                c += e_part[i] * w
                ct += e_part[i] * t_part[i] * w
            a = ct / max(c, _TINY)
            off = NOISE_MASKING_OFFSET_DB + a * offset_tone_extra[q]
            off = max(min(off, max_offset), min_offset[q])
            density[q] = c * np.exp(-_LN10_10 * off) * inv_width[q]
        for k in range(n):
            bin_thr[f, k] = max(density[of_bin[k]], ath_bin[k])
        # per band: energy, threshold, SMR, tonality, PE
        bits = 0.0
        for b in range(nb):
            e = 0.0
            t = 0.0
            for k in range(band_edges[b], band_edges[b + 1]):
                e += x[f, k] * x[f, k]
                t += bin_thr[f, k]
            energy[f, b] = e
            threshold[f, b] = t
            smr_db[f, b] = 10.0 * np.log10(max(e, _TINY) / t)
            num = 0.0
            den = 0.0
            for i in range(of_bin[band_edges[b]], of_bin[band_edges[b + 1] - 1] + 1):
                w = part_to_band[i, b]
                num += e_part[i] * t_part[i] * w
                den += e_part[i] * w
            tonality[f, b] = num / max(den, _TINY)
            inv_step = np.sqrt((band_edges[b + 1] - band_edges[b]) / (12.0 * t))
            for k in range(band_edges[b], band_edges[b + 1]):
                qv = np.rint(abs(x[f, k]) * inv_step)
                if qv > 0.0:
                    bits += np.log2(2.0 * qv + 1.0)
        pe[f] = bits
