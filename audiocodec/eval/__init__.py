"""Evaluation: how good and how fast the codec is, measured against real codecs.

Nothing here is needed to encode or decode; only the CLI imports this package.

* :mod:`~audiocodec.eval.metrics` -- waveform measures (alignment, SNR, NMR, pre-echo);
* :mod:`~audiocodec.eval.perceptual` -- ViSQOL, Zimtohrli, PESQ-WB, STOI, per channel;
* :mod:`~audiocodec.eval.peers` -- real codecs through ffmpeg;
* :mod:`~audiocodec.eval.plan` -- inputs, runs and their cache keys;
* :mod:`~audiocodec.eval.cache` -- where results persist;
* :mod:`~audiocodec.eval.runner` -- encode, decode and measure each run, in workers;
* :mod:`~audiocodec.eval.compare` -- methods compared at equal actual bitrate;
* :mod:`~audiocodec.eval.analyses` -- per-frame analyses of one item, for the figures;
* :mod:`~audiocodec.eval.tables`, :mod:`~audiocodec.eval.sections`,
  :mod:`~audiocodec.eval.render` -- tables, report sections, Markdown and HTML;
* :mod:`~audiocodec.eval.figures`, :mod:`~audiocodec.eval.plots` -- which figures, and drawing;
* :mod:`~audiocodec.eval.report` -- ``audiocodec eval`` without its command line;
* :mod:`~audiocodec.eval.benchmark` -- ``audiocodec bench`` (speed, memory, start-up).

The command lines are in :mod:`audiocodec.cli.evaluate`.
"""
