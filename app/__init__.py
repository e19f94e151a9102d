"""Applications built on the codec that need a sound card, installed as ``audiocodec_app``.

Only this package imports ``sounddevice`` (in :mod:`audiocodec_app.devices`); the
library never does, so ``import audiocodec`` works on machines without PortAudio.

    devices.py     sounddevice import (DeviceError without PortAudio), host API and device lookup
    audio_mode.py  interpreter settings while a stream runs
    ring.py        the preallocated ring buffer the callbacks exchange data through
    loop.py        the live callback (Encoder -> lossy channel -> Decoder) and its buffering plan
    files.py       the live demo's file threads (--input-file, --record)
    xruns.py       JACK xrun counting
    live.py        one ``audiocodec live`` session (options parsed by audiocodec.cli.live)
    play.py        Player, and PlayerSink: the receiver's sink for ``audiocodec receive --play``
"""
