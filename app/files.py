"""The live demo's file threads: ``--input-file`` in, ``--record`` out.

The callback must not touch a file, so each file has a thread of its own that
exchanges data with the callback through a bounded :class:`~audiocodec_app.ring.RingBuffer`.
A thread's failure is kept in its ``error`` and reported by the main thread.
"""

from __future__ import annotations

import threading

import numpy as np

from audiocodec.errors import InputError

from .loop import LiveLoop
from .ring import RingBuffer

__all__ = ["FileFeeder", "Recorder"]


class FileFeeder(threading.Thread):
    """Reads ``--input-file`` into the source ring, ahead of the callback."""

    def __init__(self, path: str, ring: RingBuffer, loop: LiveLoop, *, repeat: bool) -> None:
        super().__init__(name="live-file-feeder", daemon=True)
        import soundfile as sf

        self._file = sf.SoundFile(path)
        self._ring = ring
        self._loop = loop
        self._repeat = repeat
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    @property
    def samplerate(self) -> int:
        return int(self._file.samplerate)

    @property
    def file_channels(self) -> int:
        return int(self._file.channels)

    def fill(self) -> None:
        """Fill the ring before the stream starts (called from the main thread)."""
        while self._ring.writable() > 0 and not self._loop.source_eof:
            if not self._step():
                break

    def _step(self) -> bool:
        free = self._ring.writable()
        if free == 0:
            return False
        data = self._file.read(min(free, 4096), dtype="float32", always_2d=True)
        if len(data) == 0:
            if self._repeat and self._file.frames > 0:
                self._file.seek(0)
                return True
            self._loop.source_eof = True
            return False
        if data.shape[1] != self._ring.channels:
            # mono file into a multichannel stream: same signal on every channel
            data = np.repeat(data[:, :1], self._ring.channels, axis=1)
        self._ring.write(data)
        return True

    def run(self) -> None:
        try:
            while not self._stop_event.is_set() and not self._loop.source_eof:
                if not self._step():
                    self._stop_event.wait(0.005)
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            self._file.close()

    def stop(self) -> None:
        self._stop_event.set()


class Recorder(threading.Thread):
    """Drains the record ring into ``--record`` (what went to the speaker)."""

    def __init__(self, path: str, ring: RingBuffer, samplerate: int) -> None:
        super().__init__(name="live-recorder", daemon=True)
        import soundfile as sf

        fmt = path.rsplit(".", 1)[-1].upper() if "." in path else "WAV"
        subtype = "FLOAT" if sf.check_format(fmt, "FLOAT") else None
        try:
            self._file = sf.SoundFile(path, "w", samplerate, ring.channels, subtype=subtype)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise InputError(f"cannot write --record file {path!r}: {exc}") from exc
        self._ring = ring
        self._stop_event = threading.Event()
        self.frames = 0
        self.error: BaseException | None = None

    def _drain(self) -> None:
        while self._ring.readable():
            block = self._ring.read(16384)
            self._file.write(block)
            self.frames += len(block)

    def run(self) -> None:
        try:
            while not self._stop_event.wait(0.02):
                self._drain()
            self._drain()
        except BaseException as exc:
            self.error = exc
        finally:
            self._file.close()

    def stop(self) -> None:
        self._stop_event.set()
