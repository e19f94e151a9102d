"""``audiocodec encode INPUT... --out-dir DIR [--jobs N | --scheduler ADDRESS]``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import InputError
from .common import EXIT_ERROR, EXIT_OK, PROG


def _client(address: str | None) -> Any:
    if address is None:
        return None
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler needs dask: pip install -e '.[batch]'") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise InputError(f"--scheduler {address}: cannot connect ({e})") from None


def run_batch(args: argparse.Namespace) -> int:
    """Encode every input into ``args.out_dir``; one line per failure, one summary line."""
    from ..batch import FAILED, Outcome, encode_many
    from .codec import encode_options

    if args.jobs is not None and args.scheduler is not None:
        raise InputError("give --jobs (local processes) or --scheduler (a Dask cluster), not both")
    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {args.jobs}")
    kind = "wav" if args.mode == "adpcm" else "aqc"
    opts = encode_options(args, kind)
    if args.sanitize:
        opts["sanitize"] = True
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit="file", desc="encode", leave=False)

    def progress(done: int, total: int, o: Outcome) -> None:
        if o.status == FAILED:
            print(f"{PROG}: error: {o.message}", file=sys.stderr)
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    client = _client(args.scheduler)
    try:
        res = encode_many(args.paths, args.out_dir, client=client, jobs=args.jobs, force=args.force,
                          progress=progress, **opts)
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
    if not args.quiet or res.failed:
        print(f"{PROG}: {res.summary()}", file=sys.stderr)
    return EXIT_OK if res.ok else EXIT_ERROR
