#!/usr/bin/env bash
# Fuzzes the service's input parsers with libFuzzer (docs/FUZZING.md).
#   tools/fuzz.sh [SECONDS] [HARNESS...]
# Builds tools/fuzz (release, -sanitize=fuzzer,address: the main package's targets are
# instrumented too), then runs each harness for SECONDS (default 60) on a scratch copy
# of its seed corpus in tools/fuzz/corpus/. Harnesses: csv grpc h2 strategy
# strategy-file (default: all). Prints runs and crashes per harness; exits 1 if any
# harness crashed, naming the input that did it (kept in tools/fuzz/.build/artifacts).
# FUZZ_CONFIGURATION=debug builds in a quarter of the time and fuzzes at a quarter of
# the speed (CI's short run); BUILD_LOCK=FILE runs the build under flock FILE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$root/tools/fuzz"
seconds=${1:-60}
[ $# -gt 0 ] && shift
all=(csv grpc h2 strategy strategy-file)
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
  [ -d "$fuzz/corpus/$h" ] || { echo "fuzz.sh: no harness '$h' (have: ${all[*]})" >&2; exit 2; }
done

configuration=${FUZZ_CONFIGURATION:-release}
# lld: gold links too, with a warning for every ASan symbol it cannot export.
build=(swift build --package-path "$fuzz" -c "$configuration"
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)
echo "fuzz: building the harnesses ($configuration)"
if [ -n "${BUILD_LOCK:-}" ]; then flock "$BUILD_LOCK" "${build[@]}"; else "${build[@]}"; fi
bin=$(swift build --package-path "$fuzz" -c "$configuration" --show-bin-path)

scratch=$(mktemp -d /tmp/fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
artifacts="$fuzz/.build/artifacts"
# Swift's own backtracer would take the crash from libFuzzer (and takes seconds);
# ASan reports traps (Swift's runtime checks) and aborts with a stack.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_sigill=1:handle_abort=1}
crashed=()
for h in "${harnesses[@]}"; do
  corpus="$scratch/$h"
  mkdir -p "$corpus" "$artifacts/$h"
  cp "$fuzz/corpus/$h"/* "$corpus/"
  seeds=$(ls "$corpus" | wc -l)
  options=()
  [ -f "$fuzz/dict/$h.dict" ] && options+=(-dict="$fuzz/dict/$h.dict")
  # The server's threads allocate while an input runs: libFuzzer's per-input leak check
  # would take them for leaks of the input and, checking, run at a twentieth the speed.
  [ "$h" = h2 ] && options+=(-detect_leaks=0)
  log="$scratch/$h.log"
  status=0
  "$bin/fuzz-$h" "$corpus" "${options[@]}" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$h/" >"$log" 2>&1 || status=$?
  stat() { sed -n "s/^stat::$1: *//p" "$log"; }
  runs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  found=$(grep -o "Test unit written to .*" "$log" | sed 's/Test unit written to //' || true)
  printf 'fuzz: %-14s %5ss %10s runs %7s/s  corpus %4s -> %5s  crashes %s\n' "$h" "$seconds" "${runs:-?}" \
    "${rate:-?}" "$seeds" "$(ls "$corpus" | wc -l)" "$(echo -n "$found" | grep -c . || true)"
  if [ "$status" != 0 ] || [ -n "$found" ]; then
    crashed+=("$h")
    # The reason (Swift's message or the sanitizer's), then where the input is.
    grep -E "Fatal error|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY|^    #[0-9] " "$log" | head -20 >&2 || true
    [ -n "$found" ] || tail -20 "$log" >&2
    for f in $found; do echo "fuzz: $h crashed on $f (reproduce: $bin/fuzz-$h $f)" >&2; done
  fi
done
if [ ${#crashed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${crashed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#harnesses[@]} harnesses, ${seconds}s each, no crashes"
