#!/usr/bin/env bash
# The test command: install what the build needs, then build and run every
# suite twice: a plain build, and one with AddressSanitizer and
# UndefinedBehaviorSanitizer. Fails when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

bash deploy/install-deps.sh

run_suite() { # build-dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DBUILD_TESTING=ON "$@" >/dev/null
  # -Werror: any warning fails the build; show the log only then
  if ! cmake --build "$dir" -j"$JOBS" >"$dir/build.log" 2>&1; then
    cat "$dir/build.log"; return 1
  fi
  (cd "$dir" && ctest --output-on-failure -j"$JOBS" --timeout 900)
}

echo "== plain build"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DSCSMS_SANITIZE=ON
echo "== all suites passed, plain and sanitized"
