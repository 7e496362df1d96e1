#!/usr/bin/env bash
# Runs every telltale-decode fuzz target in turn for MINUTES each, at the lowest CPU priority
# (the machine is shared), and writes one log per target plus summary.tsv (target, seconds,
# executions, crashes, exit status, libFuzzer's final coverage line) to REPORT_DIR.
#
# Usage: crates/decode/fuzz/run-all.sh MINUTES [REPORT_DIR]
#   REPORT_DIR defaults to /work/fuzz-report; FUZZ_TARGET_DIR (default /work/tgt/fuzz) is
#   cargo's target dir. Corpora are seeded from the golden vectors first (seed-corpus.py) and
#   grow in fuzz/corpus/<target>; crashing inputs land in fuzz/artifacts/<target>.
set -u

minutes=${1:-}
case $minutes in
'' | *[!0-9]*)
    echo "usage: run-all.sh MINUTES [REPORT_DIR]  (MINUTES: a whole number)" >&2
    exit 2
    ;;
esac
report=${2:-/work/fuzz-report}
target_dir=${FUZZ_TARGET_DIR:-/work/tgt/fuzz}
here=$(cd "$(dirname "$0")" && pwd)
targets=(bthome ruuvi xiaomi_atc mibeacon gatt advertisement)

mkdir -p "$report"
python3 "$here/seed-corpus.py" "$here/corpus" >"$report/seeds.log" 2>&1
# cargo fuzz looks for fuzz/ below the current directory.
cd "$here/.." || exit 1
if ! nice -n 19 cargo +nightly fuzz build --target-dir "$target_dir" >"$report/build.log" 2>&1; then
    echo "fuzz build failed: see $report/build.log" >&2
    exit 1
fi

summary="$report/summary.tsv"
printf 'target\tseconds\texecutions\tcrashes\texit\tfinal_coverage\n' >"$summary"
for target in "${targets[@]}"; do
    log="$report/$target.log"
    stamp="$report/.$target.start"
    touch "$stamp"
    start=$(date +%s)
    nice -n 19 cargo +nightly fuzz run "$target" --target-dir "$target_dir" -- \
        -max_total_time=$((minutes * 60)) -print_final_stats=1 >"$log" 2>&1
    status=$?
    seconds=$(($(date +%s) - start))
    executions=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
    crashes=$(find "$here/artifacts/$target" -type f -newer "$stamp" \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | wc -l)
    coverage=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$seconds" "${executions:-?}" "$crashes" \
        "$status" "${coverage:-?}" >>"$summary"
    rm -f "$stamp"
done
echo "done: $summary"
