#!/bin/sh
# Four concurrent 60 MB module uploads against `wasmesh serve`; prints its RSS before, peak, after.
# Run from the repository root: scripts/upload-rss.sh (loopback ports 38100-38101).
set -e
D=$(mktemp -d); B=${WASMESH_BIN:-$D/wasmesh}; go build -o $B ./cmd/wasmesh
for i in 1 2 3 4; do { printf '\000asm\001\000\000\000'; head -c 62914552 /dev/urandom; } > $D/m$i.wasm; done
$B serve --data-dir $D/data --xds 127.0.0.1:38100 --http 127.0.0.1:38101 --modules /nonexistent >$D/serve.log 2>&1 &
P=$!; sleep 1.5
rss() { awk '/VmRSS/{print int($2/1024)}' /proc/$P/status; }
echo "rss before: $(rss) MB"; T=$(cat $D/data/token)
PEAK=0; ( while kill -0 $P 2>/dev/null; do r=$(rss); [ "$r" -gt "$PEAK" ] && PEAK=$r && echo $PEAK > $D/peak; sleep 0.05; done ) &
W=$!
C=""
for i in 1 2 3 4; do
  curl -s -o $D/r$i -w "upload $i: %{http_code}\n" -X PUT -H "Authorization: Bearer $T" -T $D/m$i.wasm http://127.0.0.1:38101/api/v1/modules &
  C="$C $!"
done
wait $C
sleep 0.5; echo "rss peak: $(cat $D/peak) MB"; sleep 2; echo "rss after: $(rss) MB"
kill $W $P; wait 2>/dev/null; rm -rf $D
