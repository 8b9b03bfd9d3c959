#!/bin/sh
# make demo: start the demo workload, show what pyflame sees, stop it.
# Usage: run.sh PYFLAME PYTHON
set -eu
pyflame=$1
python=$2
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
"$python" "$here/demo.py" > "$out/demo.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$out"' EXIT
# Wait (at most 30 s) for the demo to start its threads.
i=0
until grep -q READY "$out/demo.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
		echo "demo: $python did not start:" >&2; cat "$out/demo.log" >&2; exit 1
	fi
	sleep 0.1
done
sleep 0.5
echo "== pyflame -d -p $pid   (every thread's Python stack, innermost frame first; * = holds the GIL)"
"$pyflame" -d -p $pid
