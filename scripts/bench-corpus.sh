#!/usr/bin/env bash
# Times the release binary over the invictus-sigma-aws/_derived tree of ../shared/corpus
# (55 gzipped delivery files, 2,900 events). Usage: scripts/bench-corpus.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
tree=../shared/corpus/invictus-sigma-aws/_derived
bin=target/release/trailsql
[ -x "$bin" ] || cargo build --release -p trailsql-cli
[ -d "$tree" ] || { echo "needs $tree"; exit 1; }
time_query() {
  local sql=$1 best=999 total=0
  for _ in $(seq "$runs"); do
    local start end t
    start=$(date +%s.%N)
    "$bin" "$tree" --format csv -c "$sql" > /dev/null
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    total=$(echo "$total + $t" | bc -l)
    if (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  printf '%-90s best %.3fs  mean %.3fs  (%d runs)\n' "$sql" "$best" "$(echo "$total / $runs" | bc -l)" "$runs"
}
time_query "SELECT count(*) FROM cloudtrail"
time_query "SELECT eventsource, eventname, count(*) FROM cloudtrail GROUP BY 1, 2"
time_query "SELECT * FROM cloudtrail"
