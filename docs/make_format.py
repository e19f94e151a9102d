"""Regenerate docs/FORMAT.md from the module docstrings that hold the format spec.

    python docs/make_format.py          # rewrite docs/FORMAT.md
    python docs/make_format.py --check  # exit 1 if it is out of date (tests run this)
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

# the docstrings of this checkout, not of whatever audiocodec is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECTIONS = (
    ("Stream header, extension and codec packet", "audiocodec.container.aqc"),
    ("File container: pages", "audiocodec.container.pages"),
    ("RTP transport", "audiocodec.net.rtp"),
    ("SDP stream description", "audiocodec.net.sdp"),
    ("MDCT payload", "audiocodec.core.layout"),
    ("Multistream MDCT payload (3..8 channels)", "audiocodec.multistream.layout"),
    ("ADPCM payload", "audiocodec.adpcm.mode"),
    ("ADPCM packet body", "audiocodec.adpcm.packets"),
    ("Range coder", "audiocodec.core.rangecoder"),
    ("Range-coded MDCT payload", "audiocodec.core.entropy"),
    ("Scale factors and quantization laws", "audiocodec.core.quant"),
    ("Pitch post-filter", "audiocodec.core.postfilter"),
)
OUT = Path(__file__).resolve().parent / "FORMAT.md"


def render() -> str:
    parts = ["# AQC bitstream, version 2\n",
             "This file collects the format text kept in the module docstrings (the code is the source "
             "of truth; `tests/test_bitstream.py` and `tests/test_golden.py` hold golden bytes). "
             "Regenerate it with `python docs/make_format.py`.\n"]
    for title, name in SECTIONS:
        doc = importlib.import_module(name).__doc__ or ""
        path = name.replace(".", "/") + ".py"
        parts.append(f"## {title} (`{path}`)\n\n```text\n{doc.strip()}\n```\n")
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        return 0 if OUT.read_text() == text else 1
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
