"""Applications built on the codec that need a sound card (the live demo).

Only this package imports ``sounddevice``; the library itself never does, so
``import audiocodec`` works on machines without PortAudio.
"""
