#!/bin/bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# (FUZZ_SECONDS, default 30), two at a time, on a scratch copy of its corpus
# in test/fuzz/corpus/NAME (the repository's corpus is read, never written).
# A crash, a leak, undefined behaviour or an input slower than 10 s fails the
# target. Prints one line per target, then "fuzz: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-30}
dir=build-fuzz
if [ ! -d "$dir" ]; then
	CC=clang meson setup "$dir" -Dfuzz=true -Dtests=false >"$dir.setup.log" 2>&1 ||
		{ cat "$dir.setup.log"; echo "fuzz: 0 passed, 1 failed"; exit 1; }
fi
ninja -C "$dir" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; echo "fuzz: 0 passed, 1 failed"; exit 1; }

work=$(mktemp -d /tmp/sweepd-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
export LSAN_OPTIONS="suppressions=$PWD/test/fuzz/lsan.supp"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1

run_one() {
	local exe=$1 name=${1##*/fuzz_}
	mkdir -p "$work/$name/corpus" "$work/$name/crash"
	local seeds=()
	[ -d "test/fuzz/corpus/$name" ] && seeds=("test/fuzz/corpus/$name")
	if "$exe" "$work/$name/corpus" "${seeds[@]}" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
		-artifact_prefix="$work/$name/crash/" >"$work/$name/log" 2>&1; then
		echo "fuzz_$name: ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name/log" | grep -o '[0-9]*$') runs in ${seconds}s"
	else
		echo "fuzz_$name: FAILED"
		tail -n 40 "$work/$name/log" # libFuzzer's report ends with the input, in base64
		return 1
	fi
}

passed=0
failed=0
targets=()
for t in "$dir"/test/fuzz/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] && targets+=("$t")
done
i=0
while [ $i -lt ${#targets[@]} ]; do
	pids=()
	for t in "${targets[@]:$i:2}"; do
		run_one "$t" >"$work/${t##*/}.out" 2>&1 &
		pids+=("$!:${t##*/}")
	done
	for p in "${pids[@]}"; do
		if wait "${p%%:*}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
		cat "$work/${p#*:}.out"
	done
	i=$((i + 2))
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
