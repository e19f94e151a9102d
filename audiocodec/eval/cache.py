"""Where results persist between evaluations: JSON for run results, ``.npz`` for analyses.

Both are keyed by strings that name everything a result depends on (see
:mod:`audiocodec.eval.plan`), and both are written atomically (temporary file,
then ``os.replace``), so an interrupted evaluation leaves every finished
result readable.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Cache:
    """``{key: result}`` in a JSON file, written atomically after every change."""

    def __init__(self, path: Path, fresh: bool = False):
        self.path = path
        self.data: dict[str, Any] = {}
        if path.exists() and not fresh:
            try:
                self.data = json.loads(path.read_text())
            except (OSError, ValueError):
                self.data = {}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".json.part")
        tmp.write_text(json.dumps(self.data, indent=1, allow_nan=True))
        os.replace(tmp, self.path)


def cached_npz(cache_dir: Path, key: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The arrays ``fn()`` returns, stored under ``key`` in ``cache_dir`` (computed once)."""
    import numpy as np

    path = cache_dir / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    data = fn()
    tmp = path.with_suffix(".part.npz")
    np.savez_compressed(tmp, **data)
    os.replace(tmp, path)
    return data
