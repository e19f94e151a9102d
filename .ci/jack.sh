# shellcheck shell=bash
# Start and stop a JACK dummy-backend server for the live/real-time tests.
#
# Needs (installed by .ci/run, not here):
#   echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections
#   apt-get install -y --no-install-recommends jackd2 libportaudio2
#   pip install sounddevice JACK-Client        (the project's [live] extra)
#
# Use it by sourcing, so the exported variables reach the tests:
#   source .ci/jack.sh
#   jack_start            # NAME defaults to audiocodec-ci, PERIOD to 512
#   trap jack_stop EXIT   # or call jack_stop when done
#   python -m pytest ...  # tests see JACK_DEFAULT_SERVER=audiocodec-ci
#
# jack_start returns non-zero (and prints why) when jackd is missing or does not
# come up; the jack-marked tests then skip with a reason instead of failing.
# It exports JACK_CI_RT=1 when the server got real-time scheduling, else 0;
# JACK_CI_REALTIME=0 skips the real-time attempt. bench/bench_live.py starts its
# servers through these functions too (tests/support.py: jack_server).
# The dummy backend runs at real-time pace without a sound card. The server is
# stopped by its pid only (never by name), so other JACK servers are untouched.

JACK_CI_NAME_DEFAULT=audiocodec-ci

jack_start() {
    local name="${1:-$JACK_CI_NAME_DEFAULT}" period="${2:-512}" rate="${3:-48000}"
    if ! command -v jackd >/dev/null 2>&1 || ! command -v jack_wait >/dev/null 2>&1; then
        echo "jack.sh: jackd/jack_wait not installed (apt-get install jackd2); JACK tests will skip" >&2
        return 1
    fi
    export JACK_NO_AUDIO_RESERVATION=1 JACK_NO_START_SERVER=1
    JACK_CI_LOG="${JACK_CI_LOG:-${TMPDIR:-/tmp}/jackd-$name.log}"
    # Real-time scheduling first (SCHED_FIFO for the server's and its clients' process threads,
    # as on a real audio machine: a busy CPU then delays the tests' other work, not the audio
    # cycle); where the container may not raise priorities, the same server without it.
    # Server options go before -d; after "-d dummy", -r is the sample rate and -p the period.
    local rt attempts=("-R -P 70" "--no-realtime")
    if [ "${JACK_CI_REALTIME:-1}" = 0 ]; then attempts=("--no-realtime"); fi
    for rt in "${attempts[@]}"; do
        # shellcheck disable=SC2086
        jackd -n "$name" $rt -d dummy -r "$rate" -p "$period" -C 2 -P 2 >"$JACK_CI_LOG" 2>&1 &
        JACK_CI_PID=$!
        if jack_wait -s "$name" -w -t 10 >/dev/null 2>&1; then
            export JACK_DEFAULT_SERVER="$name" JACK_CI_PID JACK_CI_LOG
            # jackd -R keeps running without real-time when the system refuses it: say which
            local sched="normal scheduling"
            JACK_CI_RT=0
            if ps -L -o cls= -p "$JACK_CI_PID" 2>/dev/null | grep -qE 'FF|RR'; then
                sched="real-time scheduling"
                JACK_CI_RT=1
            fi
            export JACK_CI_RT
            echo "jack.sh: jackd -n $name running with $sched (pid $JACK_CI_PID, period $period, $rate Hz)" >&2
            return 0
        fi
        echo "jack.sh: jackd -n $name $rt did not come up within 10 s; log follows" >&2
        cat "$JACK_CI_LOG" >&2
        jack_stop
    done
    return 1
}

jack_stop() {
    if [ -n "${JACK_CI_PID:-}" ]; then
        kill "$JACK_CI_PID" 2>/dev/null || true
        # give it a moment to remove its sockets, then insist
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$JACK_CI_PID" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$JACK_CI_PID" 2>/dev/null; then kill -9 "$JACK_CI_PID" 2>/dev/null || true; fi
        wait "$JACK_CI_PID" 2>/dev/null || true
        unset JACK_CI_PID JACK_DEFAULT_SERVER
    fi
}
