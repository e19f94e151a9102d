"""The normative MDCT codec both sides share: the mode's tables and rules
(:mod:`.layout`), band edges (:mod:`.bands`), the MDCT (:mod:`.mdct`), the
quantization laws (:mod:`.quant`), the range coder (:mod:`.rangecoder`), the payload's
models and layout (:mod:`.entropy`) and the decoder (:mod:`.decoder`).

The decoder needs nothing outside this package, :mod:`audiocodec.container`
and :mod:`audiocodec.errors`.
"""

from __future__ import annotations

from .layout import FrameStats, MdctConfig
from .quant import SF_BIAS, step_of

__all__ = ["SF_BIAS", "FrameStats", "MdctConfig", "step_of"]
