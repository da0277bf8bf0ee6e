#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets (Tests/Fuzz), makes their seed corpus, and runs each one.
#
#   scripts/fuzz.sh --seconds S   each target for S seconds, growing .cache/fuzz/corpus/TARGET (make fuzz)
#   scripts/fuzz.sh --runs N      each target for N executions from the seeds alone, same seed every
#                                 time, so the run is repeatable (make test)
#
# A crash (a trap, a hang past --timeout, running out of memory) stops the run with status 1 and is
# copied into Tests/FuzzTests/Fixtures/TARGET/, where FuzzTargetTests replays it on every
# `swift test`: fix the bug, then commit the file as its regression test.
# Environment: PYTHON (for the corpus script; default .venv/bin/python), FUZZ_DIR (seeds, corpus,
# logs and crash artifacts; default .cache/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."

mode="" amount=""
case "${1:-}" in
    --seconds|--runs) mode="$1"; amount="${2:?$1 needs a number}" ;;
    *) echo "usage: scripts/fuzz.sh --seconds S | --runs N" >&2; exit 64 ;;
esac
PYTHON="${PYTHON:-.venv/bin/python}"
FUZZ="${FUZZ_DIR:-.cache/fuzz}"
TARGETS=(onnx ir)

# The fuzz build has its own build folder: every module is instrumented for coverage, and the
# executables take libFuzzer's main instead of their replay main.
for t in "${TARGETS[@]}"; do
    swift build -c release --build-path .build/fuzz --product "fuzz-$t" \
        -Xswiftc -sanitize=fuzzer -Xswiftc -DS2DC_LIBFUZZER >&2
done
bin="$(swift build -c release --build-path .build/fuzz --show-bin-path)"

# Seeds are remade when their script or the default model changes (the corpus script prints each
# seed's textual IR with the ordinary s2dc binary).
seeds="$FUZZ/seeds"
if [ ! -f "$seeds/.made" ] || [ scripts/make-fuzz-corpus.py -nt "$seeds/.made" ] || [ models/default.onnx -nt "$seeds/.made" ]; then
    swift build --product s2dc >&2
    "$PYTHON" scripts/make-fuzz-corpus.py "$seeds" --s2dc "$(swift build --show-bin-path)/s2dc"
    touch "$seeds/.made"
fi

status=0
for t in "${TARGETS[@]}"; do
    artifacts="$FUZZ/artifacts/$t"
    rm -rf "$artifacts" && mkdir -p "$artifacts"
    if [ "$mode" = --runs ]; then
        # New inputs go to a scratch folder, so every make test starts from the same seeds.
        corpus="$(mktemp -d)"
        limits=(-runs="$amount" -seed=1)
    else
        corpus="$FUZZ/corpus/$t"
        mkdir -p "$corpus"
        limits=(-max_total_time="$amount")
    fi
    log="$FUZZ/fuzz-$t.log"
    echo "fuzz-$t: ${mode#--} $amount (log: $log)"
    set +e
    # The Swift runtime's backtracer would take the crash signal from libFuzzer, which then could
    # not save the input; the replay build (swift run fuzz-TARGET FILE) gives the backtrace.
    SWIFT_BACKTRACE=enable=no "$bin/fuzz-$t" "${limits[@]}" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" "$seeds/$t" >"$log" 2>&1
    rc=$?
    set -e
    [ "$mode" = --runs ] && rm -rf "$corpus"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz-$t: ${runs:-?} executions, ${rate:-?} exec/s, ${secs:-?} s, ${cov:-cov: ?}"
    if [ $rc -ne 0 ]; then
        status=1
        echo "fuzz-$t FOUND A CRASH (status $rc); the end of its log:" >&2
        tail -40 "$log" >&2
        for a in "$artifacts"/*; do
            [ -f "$a" ] || continue
            dest="Tests/FuzzTests/Fixtures/$t/found-$(sha1sum "$a" | cut -c1-12)"
            cp "$a" "$dest"
            echo "saved $a as the regression input $dest: fix the bug, then commit the file" >&2
        done
    fi
done
exit $status
