#!/bin/sh
# make demo: start the bundled demo workload, dump its stacks, profile it for 3 seconds into
# a collapsed profile, then 3 more into an interactive SVG flame graph (both under
# target/demo/), print the SVG's path, and stop the workload.
# Usage: run.sh PYFLAME PYTHON
set -eu
pyflame=$1
python=$2
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../.." && pwd)/target/demo
mkdir -p "$out"
"$python" "$here/demo.py" > "$out/demo.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
# Wait (at most 30 s) for the demo to start its threads.
i=0
until grep -q READY "$out/demo.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
		echo "demo: $python did not start:" >&2
		cat "$out/demo.log" >&2
		exit 1
	fi
	sleep 0.1
done
sleep 0.5
echo "== pyflame -d -p $pid    (every thread's stack, innermost frame first; * = holds the GIL)"
"$pyflame" -d -p $pid
echo
echo "== pyflame -s 3 -r 0.001 -p $pid -o $out/profile.txt"
"$pyflame" -s 3 -r 0.001 -p $pid -o "$out/profile.txt"
echo "$(wc -l < "$out/profile.txt") distinct stacks; the 5 hottest (samples, innermost frame):"
awk '{ n = $NF; $NF = ""; k = split($0, f, ";"); printf "%6d  %s\n", n, f[k] }' "$out/profile.txt" | sort -nr | head -5
echo
echo "== pyflame -s 3 -r 0.001 -p $pid -o $out/profile.svg"
"$pyflame" -s 3 -r 0.001 -p $pid -o "$out/profile.svg"
echo "collapsed profile: $out/profile.txt"
echo "flame graph (open it in a browser; hover, click to zoom, Ctrl-F to search):"
echo "$out/profile.svg"
