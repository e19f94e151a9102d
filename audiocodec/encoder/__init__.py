"""Encoder-only analysis of the MDCT mode: quantizer strategies (:mod:`.quantizers`),
rate control kernels (:mod:`.rate`), M/S decisions (:mod:`.stereo`), block
switching (:mod:`.transient`), the speech/music estimate (:mod:`.signal`) and the
per-stream encoder (:mod:`.mdct_encoder`).

The only part of ``audiocodec`` that imports :mod:`psychoacoustics`. Nothing on
the decoder side imports this package. This ``__init__`` stays import-free so
the CLI can read :data:`QUANTIZERS` without loading numba.
"""

QUANTIZERS = ("adaptive", "uniform", "nonuniform")  # the names Encoder(quantizer=...) takes
SIGNALS = ("auto", "speech", "music")  # Encoder(signal=...): see :mod:`.signal`
