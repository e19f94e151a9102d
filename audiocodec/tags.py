"""Title, artist, album ...: text tags carried from the input, set on the command line, kept in
the stream header's ``text_tags`` record (spec: :mod:`audiocodec.container.aqc`) and written
back into the decoded file where its format holds them.

Keys are ASCII without ``=``, stored as given and compared without case (as Vorbis comments
are); values are UTF-8. The fields that soundfile (libsndfile) reads and writes, under the
names used here:
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .container import aqc
from .errors import HeaderError, InputError

#: tag key -> soundfile attribute (libsndfile string field); WAV (LIST/INFO), FLAC and Ogg hold them.
SOUNDFILE_FIELDS = {
    "TITLE": "title", "ARTIST": "artist", "ALBUM": "album", "DATE": "date", "GENRE": "genre",
    "TRACKNUMBER": "tracknumber", "COMMENT": "comment", "COPYRIGHT": "copyright",
    "LICENSE": "license",
}
__doc__ = (__doc__ or "") + "".join(f"``{k}``, " for k in SOUNDFILE_FIELDS)[:-2] + ".\n"


def parse_tag(text: str) -> tuple[str, str]:
    """``KEY=value`` (the ``--tag`` argument) -> (KEY upper-cased, value)."""
    key, sep, value = text.partition("=")
    if not sep or not key or not all(0x20 <= ord(ch) <= 0x7D and ch != "=" for ch in key):
        raise InputError(f"--tag wants KEY=VALUE with an ASCII KEY, got {text!r}")
    return key.upper(), value


def from_soundfile(f: Any) -> dict[str, str]:
    """The tags an open ``soundfile.SoundFile`` exposes (empty fields left out)."""
    out: dict[str, str] = {}
    for key, attr in SOUNDFILE_FIELDS.items():
        try:
            value = getattr(f, attr)
        except Exception:  # a field libsndfile cannot read for this format
            continue
        if isinstance(value, str) and value.strip():
            out[key] = value
    return out


def records(tags: Mapping[str, str]) -> aqc.Extension:
    """The header-extension record for ``tags`` (none when empty)."""
    if not tags:
        return ()
    value = aqc.text_tags(sorted(tags.items()))
    try:
        aqc.pack_extension(((aqc.TAG_TEXT_TAGS, value),), 1)
    except HeaderError as e:
        raise InputError(f"tags: {e}") from None
    return ((aqc.TAG_TEXT_TAGS, value),)


def of_header(header: aqc.StreamHeader) -> dict[str, str]:
    """The tags a stream header records (the reader has checked the record)."""
    value = header.find(aqc.TAG_TEXT_TAGS)
    return dict(_pairs(value)) if value else {}


def _pairs(value: bytes) -> Iterable[tuple[str, str]]:
    pos = 0
    while pos + 2 <= len(value):
        n = int.from_bytes(value[pos : pos + 2], "little")
        key, _, text = value[pos + 2 : pos + 2 + n].decode("utf-8").partition("=")
        yield key, text
        pos += 2 + n


def to_soundfile(f: Any, tags: Mapping[str, str]) -> None:
    """Set the fields of an open (write-mode) ``soundfile.SoundFile`` that its format holds."""
    for key, value in tags.items():
        attr = SOUNDFILE_FIELDS.get(key.upper())
        if attr is None:
            continue
        try:
            setattr(f, attr, value)
        except Exception:  # the format has no such field (libsndfile refuses it)
            continue
