"""Psychoacoustic model for the audiocodec encoder.

Owns the knowledge of hearing the encoder uses to decide where quantisation noise is inaudible:
frequency scales (:mod:`.scales`), the threshold in quiet and the level calibration
(:mod:`.quiet`), spreading of masking (:mod:`.spreading`), tonality (:mod:`.tonality`), the
per-band masking threshold, SMR and perceptual entropy (:mod:`.masking`), and attack detection
for block switching (:mod:`.transient`).

Pure functions over numpy arrays plus :class:`PsychoModel`, which precomputes the tables of one
configuration. Only the encoder imports this package; the decoder never needs it. It imports
nothing from ``audiocodec``.

Typical use::

    model = PsychoModel(48000, 1024, band_edges)
    res = model.analyze(coefs)          # coefs: (n_bins,) or (frames, n_bins)
    res.threshold, res.smr_db, res.pe
"""

from .errors import PsychoacousticsError
from .masking import (
    MaskingResult,
    PsychoConfig,
    PsychoModel,
    masking_offset_db,
    perceptual_entropy,
)
from .quiet import ath_db_spl, db_spl_to_energy, energy_to_db_spl
from .scales import (
    bark_to_hz,
    bin_centers_hz,
    bin_edges_hz,
    erb_hz,
    hz_to_bark,
    hz_to_bark_zwicker,
    hz_to_erb_rate,
)
from .spreading import Partitions, make_partitions, spreading_db, spreading_matrix
from .tonality import pseudo_spectrum, tonality_from_flatness, window_flatness_db
from .transient import detect_transient, transient_strength

__all__ = [
    "MaskingResult",
    "Partitions",
    "PsychoConfig",
    "PsychoModel",
    "PsychoacousticsError",
    "ath_db_spl",
    "bark_to_hz",
    "bin_centers_hz",
    "bin_edges_hz",
    "db_spl_to_energy",
    "detect_transient",
    "energy_to_db_spl",
    "erb_hz",
    "hz_to_bark",
    "hz_to_bark_zwicker",
    "hz_to_erb_rate",
    "make_partitions",
    "masking_offset_db",
    "perceptual_entropy",
    "pseudo_spectrum",
    "spreading_db",
    "spreading_matrix",
    "tonality_from_flatness",
    "transient_strength",
    "window_flatness_db",
]
