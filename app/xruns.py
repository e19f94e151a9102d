"""Counting JACK server xruns from inside the app.

PortAudio's status flags undercount xruns under JACK, so when a stream runs on
JACK a separate client in this process listens for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["XrunMonitor"]


class XrunMonitor:
    """Counts server xruns with a JACK client's xrun callback.

    PortAudio's status flags undercount xruns under JACK, so when the stream
    runs on JACK a separate client in this process listens for them.
    """

    def __init__(self, when: Callable[[], int] | None = None) -> None:
        self.count = 0
        self.at: list[int] = []  # when(): the callback count at each xrun, for diagnosis
        self._when = when
        self._client: Any = None

    def start(self) -> bool:
        try:
            import jack

            client = jack.Client("audiocodec-xruns", no_start_server=True)
        except Exception:
            return False

        def on_xrun(delayed_usecs: float) -> None:
            self.count += 1
            if self._when is not None and len(self.at) < 100:
                self.at.append(self._when())

        client.set_xrun_callback(on_xrun)
        client.activate()
        self._client = client
        return True

    def stop(self) -> None:
        if self._client is not None:
            self._client.deactivate()
            self._client.close()
            self._client = None
