#!/usr/bin/env bash
# A release build of the trailsql command optimised with a profile of its own runs
# (profile-guided optimisation, as rustc and CPython ship): target/pgo/release/trailsql.
#
#     bench/pgo.sh
#     python3 bench/scan.py --sizes 1GB --binary target/pgo/release/trailsql
#     bench/pgo.sh --check target/debug/trailsql    # CI: the profile's runs, on a small trail
#
# The profile is taken on a generated trail that is not the benchmark's (another seed,
# two accounts and two regions, 60 MB), running the shipped saved queries and a few
# everyday questions. Two release builds: about twice `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs what the profile is taken from: trailsql BINARY over the trail in DIR.
train() {
    local binary=$1 trail=$2
    # Findings are expected on a generated trail; only an error fails the run.
    "$binary" check queries --logs "$trail" --fail-on critical > /dev/null
    while IFS= read -r sql; do
        "$binary" "$trail" --format csv -c "$sql" > /dev/null
    done <<'SQL'
SELECT count(*) FROM cloudtrail
SELECT eventsource, eventname, count(*) FROM cloudtrail GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20
SELECT useridentity_arn, errorcode, count(*) FROM cloudtrail WHERE errorcode IS NOT NULL GROUP BY 1, 2
SELECT eventname, count(*) FROM cloudtrail WHERE useridentity_arn = 'arn:aws:iam::111122223333:user/bob' GROUP BY 1
SELECT awsregion, useridentity_type, count(*), min(eventtime), max(eventtime), max(useragent), count(requestparameters_bucketname), max(sourceipaddress) FROM cloudtrail GROUP BY 1, 2
SELECT eventtime, eventname, requestparameters_rolearn FROM cloudtrail WHERE eventname = 'AssumeRole' ORDER BY eventtime DESC LIMIT 10
SELECT date_trunc('hour', eventtime), count(*) FROM cloudtrail WHERE readonly = false GROUP BY 1 ORDER BY 1
SQL
}

if [ "${1:-}" = "--check" ]; then
    binary=${2:?usage: bench/pgo.sh --check TRAILSQL_BINARY}
    trail=$(mktemp -d)
    trap 'rm -rf "$trail"' EXIT
    "$binary" generate "$trail" --realistic --size 2MB --seed 7 --accounts 2 --regions 2
    TRAILSQL_CACHE_DIR="$trail/cache" train "$binary" "$trail"
    echo "the profile's runs work with $binary"
    exit 0
fi

host=$(rustc -vV | sed -n 's/^host: //p')
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
if [ ! -x "$tools/llvm-profdata" ]; then
    rustup component add llvm-tools
fi

work=target/pgo-work
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/profiles"

RUSTFLAGS="-Cprofile-generate=$work/profiles" cargo build --release --locked \
    --target-dir target/pgo-gen -p trailsql-cli --bin trailsql
instrumented=target/pgo-gen/release/trailsql
if [ ! -d "$work/trail" ]; then
    "$instrumented" generate "$work/trail" --realistic --size 60MB --seed 7 --accounts 2 --regions 2
fi
TRAILSQL_CACHE_DIR="$work/cache" train "$instrumented" "$work/trail"

"$tools/llvm-profdata" merge -o "$work/trailsql.profdata" "$work/profiles"
RUSTFLAGS="-Cprofile-use=$work/trailsql.profdata" cargo build --release --locked \
    --target-dir target/pgo -p trailsql-cli --bin trailsql
echo "built target/pgo/release/trailsql with the profile $work/trailsql.profdata"
