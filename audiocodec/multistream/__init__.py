"""Multistream MDCT: 3 to 8 channels as coupled stereo pairs, mono streams and an LFE.

:mod:`.layout` (both sides: the channel mapping, the packet layout and its spec),
:mod:`.decoder` (:class:`~.decoder.MultistreamDecoder`, decoder side) and
:mod:`.encoder` (:class:`~.encoder.MultistreamEncoder`, encoder side), behind
:class:`audiocodec.Encoder` / :class:`audiocodec.Decoder`.
"""
