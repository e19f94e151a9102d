#!/usr/bin/env bash
# The project's test command (README): installs what the tests need, starts a JACK
# dummy server for the live tests, then runs ruff, mypy, the import contracts (lint-imports)
# and pytest.
#   bash tests/run.sh            # everything
#   bash tests/run.sh -k codec   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: ffmpeg/sox (interop + peers), jackd2 + PortAudio (live tests),
# chromium + chromium-driver (the listening page in a real browser).
need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v sox >/dev/null 2>&1 || need+=(sox)
command -v jackd >/dev/null 2>&1 || need+=(jackd2)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
ldconfig -p 2>/dev/null | grep -q libportaudio || need+=(libportaudio2)
# chromium + its driver: the listening page's browser test (tests/test_listen.py)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "run.sh: missing ${need[*]} (not root / no apt-get): those tests will skip" >&2
    fi
fi

python -m pip install -q -e '.[live,eval,dev,batch]'

# shellcheck source=../.ci/jack.sh
source .ci/jack.sh
jack_start || echo "run.sh: no JACK server; live tests will skip" >&2
trap jack_stop EXIT

ruff check .
mypy
lint-imports
python -m pytest -q "$@"
