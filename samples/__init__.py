"""The bundled sample clips, installed with the package as ``audiocodec.samples``.

Synthetic and public domain (CC0), made by ``make_samples.py`` beside this file.
Reached through :func:`path`, which works from a checkout, an editable install
and an installed wheel alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib.resources import as_file, files
from pathlib import Path

DEMO = "demo48_stereo.flac"
SPEECH = "speech_like16_mono.flac"
NAMES = (DEMO, SPEECH)


@contextlib.contextmanager
def path(name: str = DEMO) -> Iterator[Path]:
    """A real file path for the bundled sample ``name`` while the context is open."""
    if name not in NAMES:
        raise KeyError(f"no bundled sample {name!r}; there are {NAMES}")
    with as_file(files(__name__) / name) as p:
        yield Path(p)
