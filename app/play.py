"""Play decoded audio on an output device: ``audiocodec receive --play``.

The network thread decodes packets and calls :meth:`Player.write` (through
:class:`PlayerSink`, the receiver's sink that the CLI wires in); a sounddevice
output stream pulls frames from a ring buffer in its callback::

    UDP -> Receiver (jitter buffer, concealment) -> Decoder -> Player.write -> ring -> outdata

The callback keeps the real-time rules of :mod:`audiocodec_app.loop`: it copies from a
ring allocated before the stream opens, never blocks, allocates, prints or
touches a file, and counts what ``status`` reports. Playback starts once
``prebuffer`` frames are queued (the jitter the network side may still
show); if the ring runs dry later the callback plays silence for the missing
frames and counts an underflow. ``write`` is the side that may wait: when the
ring is full it sleeps until the device has played enough.

There is no clock-drift compensation: when the sender's clock runs faster than
the device's, the queue (and the latency) grows from the prebuffer towards the
ring's 2 s over a long session, then ``write`` waits and the network side falls
behind; a slower sender shows up as underflows.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from audiocodec.errors import DeviceError

from .audio_mode import enter_audio_mode, leave_audio_mode
from .devices import find_hostapi, import_sounddevice, pick_device, require_channels
from .ring import RingBuffer

__all__ = ["PlayStats", "Player", "PlayerSink", "warm_up_decoders"]


@dataclass
class PlayStats:
    """What the output stream did."""

    frames_played: int = 0  # frames of decoded audio that reached the device
    underflows: int = 0  # callbacks that found the ring short (after playback started)
    frames_silenced: int = 0  # frames of silence played for those
    status_underflows: int = 0  # output underflows PortAudio reported
    latency_ms: float = 0.0  # device output latency plus the prebuffer


def warm_up_decoders() -> None:
    """Load (or compile) every numba kernel a decoder may call, before a stream opens.

    The first decode of each kind otherwise loads its kernels from numba's cache while
    holding the GIL for a few hundred milliseconds, which would starve the audio callback.
    Kernels are typed by dtype and rank, not by size, so one short stream per mode does it
    (made by a short encode, which loads the encoder's kernels as well: about a second).
    """
    import audiocodec

    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((4096, 2))).astype(np.float32)
    for opts in ({"mode": "mdct"}, {"mode": "mdct", "low_delay": True}, {"mode": "adpcm"}):
        audiocodec.decode(audiocodec.encode(x, 48000, bitrate=64000, serial=1, **opts))


class Player:
    """Play ``(frames, channels)`` float32 blocks on an output device, in order.

    Parameters
    ----------
    samplerate, channels : int
        Of the stream (the decoder's).
    device : int or str or None
        Output device index or name substring (None: the default).
    hostapi : str or None
        Host API name substring (e.g. ``"JACK"``).
    blocksize : int
        Frames per callback (0: the host's choice).
    prebuffer_ms : float
        Audio queued before playback starts.
    buffer_s : float
        Ring capacity in seconds.
    """

    def __init__(
        self,
        samplerate: int,
        channels: int,
        *,
        device: int | str | None = None,
        hostapi: str | None = None,
        blocksize: int = 0,
        prebuffer_ms: float = 80.0,
        buffer_s: float = 2.0,
    ) -> None:
        sd = import_sounddevice()
        api = find_hostapi(sd, hostapi) if hostapi else None
        info = pick_device(sd, device, "output", api)
        require_channels(info, "output", channels)
        self.samplerate = int(samplerate)
        self.channels = int(channels)
        self.stats = PlayStats()
        self._prebuffer = max(1, int(round(prebuffer_ms * samplerate / 1000.0)))
        self._ring = RingBuffer(max(int(buffer_s * samplerate), 2 * self._prebuffer), channels)
        self._started = False  # set by write once the prebuffer is queued; read by the callback
        self._ending = False  # no more writes: running dry is the end, not an underflow
        try:
            self._stream = sd.OutputStream(
                device=info["index"],
                samplerate=samplerate,
                blocksize=blocksize,
                channels=channels,
                dtype="float32",
                callback=self._callback,
            )
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(
                f"cannot open output {info['name']!r} at {samplerate} Hz: {exc}"
            ) from exc
        lat = self._stream.latency
        self.stats.latency_ms = 1000.0 * (float(lat) + self._prebuffer / samplerate)
        self._old_switch = enter_audio_mode()
        try:
            self._stream.start()
        except Exception as exc:  # PortAudioError and whatever the host API raises
            self._release()
            raise DeviceError(f"cannot start output {info['name']!r}: {exc}") from exc

    def _release(self) -> None:
        """Close the stream and undo the interpreter settings (idempotent)."""
        if getattr(self, "_released", False):
            return
        self._released = True
        try:
            self._stream.close()
        finally:
            leave_audio_mode(self._old_switch)

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        if status.output_underflow:
            self.stats.status_underflows += 1
        if not self._started:
            outdata.fill(0.0)
            return
        n = self._ring.read_into(outdata)
        self.stats.frames_played += n
        if n < frames:
            outdata[n:] = 0.0
            if not self._ending:
                self.stats.underflows += 1
                self.stats.frames_silenced += frames - n

    def write(self, block: np.ndarray) -> None:
        """Queue a block; waits (sleeping, off the audio thread) while the ring is full.

        Raises :class:`DeviceError` when the device stops taking audio (stream no longer
        active, or no room for three ring-lengths of time).
        """
        data = np.asarray(block, dtype=np.float32)
        pos = 0
        deadline = None
        while pos < len(data):
            pos += self._ring.write(data[pos:])
            if not self._started and self._ring.readable() >= self._prebuffer:
                self._started = True
            if pos < len(data):
                self._started = True  # a full ring is more than the prebuffer
                now = time.monotonic()
                if deadline is None:
                    deadline = now + 3.0 * self._ring.capacity / self.samplerate
                if now > deadline or not self._stream.active:
                    raise DeviceError("the output device stopped taking audio")
                time.sleep(min(0.05, max(0.002, (len(data) - pos) / self.samplerate / 2)))

    def close(self, *, drain: bool = True, timeout: float | None = None) -> PlayStats:
        """Play out what is queued (``drain``), then stop and close the stream."""
        self._ending = True
        self._started = True
        if drain:
            limit = time.monotonic() + (
                timeout if timeout is not None else self._ring.readable() / self.samplerate + 1.0
            )
            while self._ring.readable() > 0 and time.monotonic() < limit:
                time.sleep(0.01)
            time.sleep(min(0.5, float(self._stream.latency)))  # the device's own queue
        try:
            self._stream.stop()
        finally:
            self._release()
        return self.stats


class PlayerSink:
    """A :class:`audiocodec.net.Sink` that plays the received stream on an output device.

    ``prepare`` loads the decoders' kernels (:func:`warm_up_decoders`) before the
    first datagram is read; ``start`` opens a :class:`Player` (keyword arguments as
    given here) once the stream's format is known; ``close`` returns its
    :class:`PlayStats` as a dict.
    """

    def __init__(self, **player_options: Any) -> None:
        self._options = player_options
        self._player: Player | None = None

    def prepare(self) -> None:
        warm_up_decoders()  # datagrams queue in the socket meanwhile

    def start(self, sample_rate: int, channels: int) -> None:
        self._player = Player(sample_rate, channels, **self._options)

    def write(self, pcm: np.ndarray) -> None:
        assert self._player is not None
        self._player.write(pcm)

    def close(self, *, drain: bool) -> dict[str, Any] | None:
        if self._player is None:
            return None
        player, self._player = self._player, None
        return asdict(player.close(drain=drain))
