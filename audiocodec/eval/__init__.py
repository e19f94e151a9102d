"""Evaluation: how good and how fast the codec is, measured against real codecs.

Nothing here is needed to encode or decode; only the CLI imports this package.

* :mod:`~audiocodec.eval.metrics` -- quality measures of a decode against its reference;
* :mod:`~audiocodec.eval.peers` -- real codecs through ffmpeg;
* :mod:`~audiocodec.eval.plan` -- inputs, runs and their cache keys;
* :mod:`~audiocodec.eval.cache` -- where results persist;
* :mod:`~audiocodec.eval.runner` -- encode, decode and measure each run, in workers;
* :mod:`~audiocodec.eval.analyses` -- per-frame analyses of one item, for the figures;
* :mod:`~audiocodec.eval.tables`, :mod:`~audiocodec.eval.render` -- tables, Markdown and HTML;
* :mod:`~audiocodec.eval.plots` -- the figures;
* :mod:`~audiocodec.eval.report` -- ``audiocodec eval`` without its command line;
* :mod:`~audiocodec.eval.benchmark` -- ``audiocodec bench`` (speed, memory, start-up).

The command lines are in :mod:`audiocodec.cli.evaluate`.
"""
