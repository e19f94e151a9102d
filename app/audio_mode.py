"""Interpreter settings while an audio stream runs (shared by the live loop and the player).

The audio callback runs in a PortAudio thread but needs the GIL: these settings
keep the garbage collector from pausing it on objects made during set-up, and
let it get the GIL back quickly from the other threads.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["enter_audio_mode", "leave_audio_mode"]


def enter_audio_mode() -> float:
    """Before a stream starts: keep the collector from pausing the callback on objects made
    during setup, and let the audio thread get the GIL back quickly from other threads.
    Returns what :func:`leave_audio_mode` restores."""
    old_switch = sys.getswitchinterval()
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.001)
    return old_switch


def leave_audio_mode(old_switch: float) -> None:
    """Undo :func:`enter_audio_mode`."""
    sys.setswitchinterval(old_switch)
    gc.unfreeze()
