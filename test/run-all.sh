#!/bin/bash
# The README's second command: the whole suite, twice (plain, then built with
# AddressSanitizer + UndefinedBehaviorSanitizer, where a leak or undefined
# behaviour fails a test), then every fuzz target for 30 s. Ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
sh etc/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT
run_suite() {
	local dir=$1
	shift
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; failed=$((failed + 1)); return; }
	fi
	if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		cat "$dir.build.log"
		failed=$((failed + 1))
		return
	fi
	echo "== $dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2 | grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Timeout):' 
	local counts
	counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL"):
        ok += 1
    else:
        bad += 1
print(ok, bad)
PY
)
	# Which tests failed, and the end of what each printed, go in a file
	# shown again just before the last line, where a CI log's tail keeps it.
	python3 - "$dir/meson-logs/testlog.json" "$dir" >>"$failures" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL"):
        continue
    print("== failed in %s: %s (%s)" % (sys.argv[2], r["name"], r["result"]))
    out = (r.get("stdout") or "") + (r.get("stderr") or "")
    for l in out.splitlines()[-25:]:
        print("   " + l[:300])
PY
	passed=$((passed + ${counts% *}))
	failed=$((failed + ${counts#* }))
}

run_suite build
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
# The libFuzzer targets, each for a bounded time on the corpus kept in test/fuzz/corpus.
echo "== build-fuzz"
fuzz_log=$(mktemp)
bash test/fuzz/run.sh >"$fuzz_log" 2>&1
cat "$fuzz_log"
fuzz=$(tail -n 1 "$fuzz_log")
rm -f "$fuzz_log"
case "$fuzz" in
"fuzz: "*" passed, "*" failed")
	set -- $fuzz
	passed=$((passed + $2))
	failed=$((failed + $4))
	;;
*) failed=$((failed + 1)) ;;
esac
cat "$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
