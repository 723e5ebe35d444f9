#!/bin/sh
# run-tests.sh BIN... - runs each cmocka test binary (output also kept in BIN.log), then prints
# one total line. Exit status 0 only if every binary exited 0. A binary that dies before
# cmocka's summary (sanitizer report, crash) counts its last started test as failed; the tests
# after it did not run. Each binary gets UNIT_TIMEOUT seconds (default 120): a parser that
# loops forever on a malformed input fails instead of hanging make.
timeout=${UNIT_TIMEOUT:-120}
pass=0 fail=0 bad=""
for bin in "$@"; do
	log=$bin.log
	if command -v timeout >/dev/null; then
		timeout "$timeout" "$bin" >"$log" 2>&1
	else
		"$bin" >"$log" 2>&1
	fi
	rc=$?
	[ "$rc" -eq 124 ] && echo "*** $bin: timed out after ${timeout}s" >>"$log"
	cat "$log"
	p=$(grep -c '^\[       OK \]' "$log")
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		if grep -q '^\[  PASSED  \]' "$log"; then
			echo "*** $bin: all tests passed, then it exited with status $rc (leak report above?)"
		else
			last=$(sed -n 's/^\[ RUN      \] //p' "$log" | tail -n 1)
			echo "*** $bin exited with status $rc during ${last:-startup}; the tests after it did not run"
		fi
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + ${f:-0}))
	if [ "$rc" -ne 0 ]; then
		bad="$bad $(echo "$bin" | sed 's|.*/\([^/]*\)/\([^/]*\)$|\2[\1]|')"
	fi
done
if [ -n "$bad" ]; then
	echo "unit tests: $pass passed, $fail FAILED ($# binaries, plain + ASan/UBSan); failing:$bad"
	exit 1
fi
echo "unit tests: $pass passed, 0 failed ($# binaries, plain + ASan/UBSan)"
