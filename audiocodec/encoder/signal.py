"""Speech or music: the encoder's running estimate of what it is coding (encoder only).

Opus switches between SILK and CELT, and USAC between ACELP and TCX, on a speech/music
classifier; this codec keeps one coder and changes how its noise is shaped. The
masking model's equal noise-to-mask shape suits music, but speech at the rates a voice call
uses needs the noise to follow the spectral envelope only partly, as the perceptual weighting
filter of a CELP coder makes it do (see :class:`AdaptiveTuning`'s ``speech_*`` fields).

The cue is the one that tells a voice from an instrument most reliably on the recordings here:
the pitch of voiced speech glides all the time, the pitch of a held note does not. Every 10 ms
the classifier finds the strongest period between 2.5 and 14 ms (70-400 Hz) by normalised
autocorrelation on a mono mix decimated to about 8 kHz. A voiced subframe after a voiced
subframe votes "speech" when the period moved by 1.4 % to 20 % (a glide; more is a new note or
an octave error), "music" when it held within 1.4 % (about one lag step at 8 kHz). Silent and
unvoiced subframes do not vote. The votes are averaged with a time constant of 1 s (their
running mean until then), and the weight rises from 0 to 1 as the average goes from
``SPEECH_LO`` to ``SPEECH_HI``.

Measured on ``../shared/audio`` (share of speech votes over each file): the two speech clips
0.59 and 0.59, the four SQAM music items 0.03-0.13. Fed in 21 ms blocks, the weight
averages 0.98 and 0.85 on the speech clips (it starts at music; 0.86 and 0.70 without the
running-mean start, see ``PRIOR_VOTES``) and at most 0.01 on the music items (harpsichord
peaks at 0.48 once).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

SUB_MS = 10.0  # one vote per subframe
WIN_MS = 20.0  # autocorrelation window
F0_MIN, F0_MAX = 70.0, 400.0
VOICED_R = 0.7  # normalised autocorrelation peak of a voiced subframe
GLIDE_MIN, GLIDE_MAX = 0.02, 0.26  # |log2| period change of a glide: 1.4 % .. 20 %
TAU_S = 1.0
SPEECH_LO, SPEECH_HI = 0.25, 0.4
START = 0.1
#: The start counts as this many votes: until the average has seen about a second of votes it is
#: their running mean (with the start as a prior), so a voice shows in a fraction of a second.
PRIOR_VOTES = 20.0


class SignalClassifier:
    """Running speech weight (0 = music, 1 = speech) of a stream; feed it every new sample."""

    def __init__(self, sample_rate: int):
        self.decim = max(1, int(round(sample_rate / 8000.0)))
        fs = sample_rate / self.decim
        self.sub = max(1, int(round(fs * SUB_MS / 1000.0)))
        self.win = int(round(fs * WIN_MS / 1000.0))
        self.lag_lo = max(2, int(fs / F0_MAX))
        self.lag_hi = int(np.ceil(fs / F0_MIN))
        self._ring = np.zeros(self.win + self.lag_hi, np.float64)
        # state: [fill count (decimated samples since the last vote), decimator sum, its count,
        #         previous lag (0 = not voiced), vote average, votes so far]
        self._state = np.zeros(6, np.float64)
        self._state[4] = START  # undecided: music shaping until the voice shows
        self._alpha = 1.0 - np.exp(-SUB_MS / 1000.0 / TAU_S)

    @property
    def speech(self) -> float:
        """The speech weight, 0..1."""
        avg = self._state[4]
        return min(max((avg - SPEECH_LO) / (SPEECH_HI - SPEECH_LO), 0.0), 1.0)  # scalar: no np.clip

    def warm_up(self) -> None:
        """Load the compiled kernels now (on scratch state): never first inside an audio callback."""
        ring, state = self._ring.copy(), self._state.copy()
        _feed(np.zeros((1, self.decim * self.sub)), self.decim, self.sub, self.win, self.lag_lo,
              self.lag_hi, self._alpha, PRIOR_VOTES, ring, state)

    def update(self, samples: NDArray[np.float64]) -> float:
        """Feed (channels, n) new samples; returns :attr:`speech`."""
        _feed(np.ascontiguousarray(samples, dtype=np.float64), self.decim, self.sub, self.win,
              self.lag_lo, self.lag_hi, self._alpha, PRIOR_VOTES, self._ring, self._state)
        return self.speech


@njit(cache=True)
def _vote(ring: NDArray[np.float64], win: int, lag_lo: int, lag_hi: int) -> int:
    """Best lag of the newest ``win`` samples (0 = unvoiced or silent)."""
    n = ring.shape[0]
    x0 = n - win
    e0 = 0.0
    for i in range(x0, n):
        e0 += ring[i] * ring[i]
    if e0 < 1e-9 * win:
        return 0
    best = VOICED_R
    lag = 0
    for L in range(lag_lo, lag_hi + 1):
        c = 0.0
        e1 = 0.0
        for i in range(x0, n):
            c += ring[i] * ring[i - L]
            e1 += ring[i - L] * ring[i - L]
        if e1 > 0.0:
            r = c / np.sqrt(e0 * e1)
            if r > best:
                best = r
                lag = L
    return lag


@njit(cache=True)
def _feed(x: NDArray[np.float64], decim: int, sub: int, win: int, lag_lo: int, lag_hi: int,
          alpha: float, prior: float, ring: NDArray[np.float64], state: NDArray[np.float64]) -> None:
    nch, n = x.shape
    m = ring.shape[0]
    for k in range(n):
        v = 0.0
        for c in range(nch):
            v += x[c, k]
        state[1] += v / nch
        state[2] += 1.0
        if state[2] < decim:
            continue
        y = state[1] / decim  # box-filter decimation: enough for a 70-400 Hz period
        state[1] = 0.0
        state[2] = 0.0
        for i in range(m - 1):
            ring[i] = ring[i + 1]
        ring[m - 1] = y
        state[0] += 1.0
        if state[0] < sub:
            continue
        state[0] = 0.0
        lag = _vote(ring, win, lag_lo, lag_hi)
        prev = state[3]
        state[3] = lag
        if lag == 0 or prev == 0:
            continue
        d = abs(np.log2(lag / prev))
        if d > GLIDE_MAX:
            continue
        state[5] += 1.0
        a = max(alpha, 1.0 / (state[5] + prior))
        state[4] += a * ((1.0 if d > GLIDE_MIN else 0.0) - state[4])
