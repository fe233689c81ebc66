#!/usr/bin/env bash
# Layout pruning against a full scan and against DuckDB, on a generated trail of 30 days x
# 3 accounts x 3 regions in CloudTrail's S3 layout. A benchmark, not a test.
#   scripts/bench-layout.sh [RUNS]      (needs: cargo build --release -p trailsql-cli; pip install duckdb)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BIN=target/release/trailsql
TRAIL=${TRAIL:-/tmp/trailsql-bench-layout}
if [ ! -d "$TRAIL/AWSLogs" ]; then
    "$BIN" generate "$TRAIL" --accounts 3 --regions 3 --days 30 --files-per-day 24 --events-per-file 50
fi
files=$(find "$TRAIL/AWSLogs" -type f | wc -l)
bytes=$(du -sb "$TRAIL/AWSLogs" | cut -f1)
echo "machine: $(nproc) cores, $(uname -sr); trail: $files files, $bytes bytes gzipped"

DAY="eventtime >= '2024-01-15' AND eventtime < '2024-01-16' AND recipientaccountid = '444455556666' AND awsregion = 'eu-west-1'"
ONE_DAY="SELECT eventname, count(*) AS n FROM cloudtrail WHERE $DAY GROUP BY 1 ORDER BY 2 DESC, 1"
# The same query with pruning defeated: no predicate bounds a pruning column directly.
FULL="SELECT eventname, count(*) AS n FROM cloudtrail WHERE (eventtime + INTERVAL '0' SECOND) >= '2024-01-15' AND (eventtime + INTERVAL '0' SECOND) < '2024-01-16' AND recipientaccountid || '' = '444455556666' AND awsregion || '' = 'eu-west-1' GROUP BY 1 ORDER BY 2 DESC, 1"

ms() { python3 -c "import time; print(int(time.time()*1000))"; }
time_it() {
    local best=999999
    for _ in $(seq "$RUNS"); do
        local t0 t1; t0=$(ms); "$@" >/dev/null 2>&1; t1=$(ms)
        (( t1 - t0 < best )) && best=$((t1 - t0))
    done
    echo "$best"
}

echo "--- trailsql, one day of one account and region (pruned)"
"$BIN" "$TRAIL" --format csv --stats -c "$ONE_DAY" 2>&1 >/tmp/bench-pruned.csv | grep -E "listing|files"
echo "--- trailsql, the same query with pruning defeated (full scan)"
"$BIN" "$TRAIL" --format csv --stats -c "$FULL" 2>&1 >/tmp/bench-full.csv | grep -E "listing|files"
cmp /tmp/bench-pruned.csv /tmp/bench-full.csv && echo "answers: identical"

pruned=$(time_it "$BIN" "$TRAIL" --format csv -c "$ONE_DAY")
full=$(time_it "$BIN" "$TRAIL" --format csv -c "$FULL")
duck=$(RUNS=$RUNS TRAIL=$TRAIL python3 - <<'PY'
import os, time, duckdb
trail = os.environ["TRAIL"]
sql = f"""
SELECT r.eventName AS eventname, count(*) AS n
FROM (SELECT unnest(Records) AS r FROM read_json('{trail}/AWSLogs/**/*.json.gz', maximum_object_size=67108864))
WHERE r.eventTime >= '2024-01-15' AND r.eventTime < '2024-01-16'
  AND r.recipientAccountId = '444455556666' AND r.awsRegion = 'eu-west-1'
GROUP BY 1 ORDER BY 2 DESC, 1"""
best = None
rows = None
for _ in range(int(os.environ["RUNS"])):
    con = duckdb.connect()
    t0 = time.time(); rows = con.execute(sql).fetchall(); t = time.time() - t0
    best = t if best is None else min(best, t)
with open("/tmp/bench-duckdb.csv", "w") as f:
    f.write("eventname,n\n" + "".join(f"{a},{b}\n" for a, b in rows))
print(int(best * 1000))
PY
)
cmp /tmp/bench-pruned.csv /tmp/bench-duckdb.csv && echo "DuckDB's answer: identical"
echo "best of $RUNS, wall ms: trailsql pruned $pruned, trailsql full scan $full, DuckDB read_json $duck"
python3 -c "print(f'full scan / pruned: {$full/$pruned:.1f}x; DuckDB / trailsql pruned: {$duck/$pruned:.1f}x')"
