"""Sound-card access for the app: importing sounddevice, finding host APIs and devices.

This is the only module that imports ``sounddevice``, and only when asked to
(:func:`import_sounddevice`): PortAudio looks for a JACK server when it
initialises, and the codec must stay importable on machines without PortAudio.
Every failure is a :class:`~audiocodec.errors.DeviceError` whose message says
what was asked for and what exists.
"""

from __future__ import annotations

from typing import Any

from audiocodec.errors import DeviceError

__all__ = [
    "PORTAUDIO_HINT", "check_output_device", "find_hostapi", "import_sounddevice", "list_devices",
    "pick_device", "require_channels",
]


PORTAUDIO_HINT = ("install the PortAudio library: apt-get install libportaudio2 (Debian, Ubuntu), "
                  "dnf install portaudio (Fedora), brew install portaudio (macOS)")


def import_sounddevice() -> Any:
    """The ``sounddevice`` module, or DeviceError saying what to install when it or the
    PortAudio library is missing."""
    try:
        import sounddevice as sd
    except OSError as exc:  # the package is there, the PortAudio shared library is not
        raise DeviceError(f"PortAudio is not available ({exc}); {PORTAUDIO_HINT}") from None
    except ImportError:
        raise DeviceError("the sounddevice package is missing: pip install sounddevice "
                          "(a dependency of audiocodec; reinstall with pip install -e .)") from None
    return sd


def list_devices() -> None:
    """Print the host APIs and devices as a table (``--list-devices``), ``>`` marking the
    default input and ``<`` the default output, as ``python -m sounddevice`` does."""
    sd = import_sounddevice()
    apis = sd.query_hostapis()
    devices = sd.query_devices()
    default_in, default_out = (int(d) for d in sd.default.device)
    print(f"{'':2}{'#':>3}  {'device':<40} {'host API':<12} {'in':>3} {'out':>3} {'rate':>7}")
    for d in devices:
        mark = (">" if d["index"] == default_in else " ") + ("<" if d["index"] == default_out else " ")
        api = apis[d["hostapi"]]["name"]
        print(f"{mark}{d['index']:>3}  {d['name'][:40]:<40} {api[:12]:<12} {d['max_input_channels']:>3} "
              f"{d['max_output_channels']:>3} {d['default_samplerate']:>7.0f}")
    if not devices:
        print("  (no audio devices)")


def check_output_device(device: int | str | None = None, hostapi: str | None = None) -> dict:
    """The output device ``receive --play`` will use, checked before the first packet:
    DeviceError (PortAudio missing, no such device or host API) instead of a failure later."""
    sd = import_sounddevice()
    api = find_hostapi(sd, hostapi) if hostapi else None
    return pick_device(sd, device, "output", api)


def find_hostapi(sd: Any, name: str) -> int:
    """Index of the first host API whose name contains ``name`` (case-insensitive)."""
    apis = sd.query_hostapis()
    for index, api in enumerate(apis):
        if name.lower() in api["name"].lower():
            return index
    names = ", ".join(api["name"] for api in apis) or "none"
    raise DeviceError(f"no audio host API matching {name!r} (available: {names})")


def pick_device(sd: Any, spec: int | str | None, kind: str, hostapi: int | None) -> dict:
    """The ``kind`` ("input" or "output") device named by ``spec``: an index, a name
    substring, or None for the default (of ``hostapi`` when given)."""
    key = f"max_{kind}_channels"
    if spec is None:
        if hostapi is not None:
            index = sd.query_hostapis(hostapi)[f"default_{kind}_device"]
            if index < 0:
                name = sd.query_hostapis(hostapi)["name"]
                raise DeviceError(f"host API {name!r} has no default {kind} device")
            return dict(sd.query_devices(index))
        try:
            return dict(sd.query_devices(kind=kind))
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(f"no default {kind} device ({exc}); see --list-devices") from exc
    if isinstance(spec, int):
        try:
            info = dict(sd.query_devices(spec))
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(f"no {kind} device with index {spec}; see --list-devices") from exc
        if info[key] < 1:
            raise DeviceError(f"device {spec} ({info['name']!r}) has no {kind} channels")
        return info
    matches = [
        dict(d)
        for d in sd.query_devices()
        if spec.lower() in d["name"].lower() and d[key] > 0 and (hostapi is None or d["hostapi"] == hostapi)
    ]
    if not matches:
        raise DeviceError(f"no {kind} device matching {spec!r}; see --list-devices")
    if len(matches) > 1:
        names = ", ".join(f"{d['index']}: {d['name']}" for d in matches)
        raise DeviceError(f"{kind} device {spec!r} is ambiguous ({names})")
    return matches[0]


def require_channels(info: dict, kind: str, channels: int) -> None:
    """DeviceError unless the ``kind`` device ``info`` has at least ``channels`` channels."""
    have = info[f"max_{kind}_channels"]
    if have < channels:
        raise DeviceError(f"{kind} device {info['name']!r} has {have} channels, {channels} requested")
