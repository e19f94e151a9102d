"""A preallocated single-producer, single-consumer ring of float32 frames.

The one buffer the audio callbacks exchange data through (live loop FIFO, file
feeder, recorder, player): allocated before a stream opens, never resized.
"""

from __future__ import annotations

import numpy as np

from audiocodec.errors import InputError

__all__ = ["RingBuffer"]


class RingBuffer:
    """Single-producer, single-consumer ring of float32 frames, shape (capacity, channels).

    The producer only advances ``_written`` and the consumer only ``_read``;
    both are plain ints whose assignment is atomic under the GIL, and each side
    copies the data before publishing its counter, so no lock is needed and
    neither side ever waits for the other.
    """

    def __init__(self, capacity: int, channels: int) -> None:
        if capacity < 1 or channels < 1:
            raise InputError(f"ring needs capacity >= 1 and channels >= 1, got {capacity}, {channels}")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self._written = 0
        self._read = 0

    def readable(self) -> int:
        return self._written - self._read

    def writable(self) -> int:
        return self.capacity - (self._written - self._read)

    def _spans(self, position: int, n: int) -> tuple[slice, slice, int]:
        """The ring's slices holding ``n`` frames from counter ``position`` (the second one
        empty unless they wrap), and how many frames the first holds."""
        start = position % self.capacity
        first = min(n, self.capacity - start)
        return slice(start, start + first), slice(0, n - first), first

    def write(self, data: np.ndarray) -> int:
        """Copy as many frames of ``data`` as fit; return how many were written."""
        n = min(len(data), self.writable())
        if n <= 0:
            return 0
        head, tail, first = self._spans(self._written, n)
        self._buf[head] = data[:first]
        self._buf[tail] = data[first:n]
        self._written += n
        return n

    def write_zeros(self, frames: int) -> int:
        n = min(frames, self.writable())
        head, tail, _ = self._spans(self._written, n)
        self._buf[head] = 0.0
        self._buf[tail] = 0.0
        self._written += n
        return n

    def read_into(self, out: np.ndarray) -> int:
        """Fill the head of ``out`` with up to ``len(out)`` frames; return the count."""
        n = min(len(out), self.readable())
        if n <= 0:
            return 0
        head, tail, first = self._spans(self._read, n)
        out[:first] = self._buf[head]
        out[first:n] = self._buf[tail]
        self._read += n
        return n

    def read(self, frames: int) -> np.ndarray:
        """Return (and consume) up to ``frames`` frames as a new array (not for callbacks)."""
        out = np.empty((min(frames, self.readable()), self.channels), dtype=np.float32)
        self.read_into(out)
        return out
