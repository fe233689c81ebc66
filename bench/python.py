"""The Python benchmark: a result of about a million rows into pandas and into polars,
through trailsql's Python bindings and through DuckDB's Python API (`read_json` +
`unnest(Records)`, the usual recipe) over the same files, in alternation, each run in its
own process. Checks that all runs return the same data and prints the time inside the
process (connect, query, conversion), the process's CPU time and peak RSS, and the ratios
as Markdown.

    python3 bench/python.py --size 160MB --rounds 3     # docs/benchmarks.md
    python3 bench/python.py --quick                     # CI: answers only

Needs: the trailsql package installed in this Python (pip install ./crates/trailsql-python,
a release build), pip install duckdb pandas polars pyarrow; and the trailsql binary
(cargo build --release -p trailsql-cli, or --profile debug) to generate the trail, which
is made once under --dir (default /tmp/trailsql-bench) and reused.
"""
import argparse, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scan import ROOT, generate, measured, median  # noqa: E402

COLUMNS = [
    ("eventtime", "eventTime"),
    ("eventsource", "eventSource"),
    ("eventname", "eventName"),
    ("awsregion", "awsRegion"),
    ("sourceipaddress", "sourceIPAddress"),
    ("useragent", "userAgent"),
    ("useridentity_type", "userIdentity.type"),
    ("useridentity_arn", "userIdentity.arn"),
    ("errorcode", "errorCode"),
    ("recipientaccountid", "recipientAccountId"),
]

TRAILSQL_SQL = "SELECT " + ", ".join(ours for ours, _ in COLUMNS) + " FROM cloudtrail"
DUCKDB_SQL = (
    "SELECT " + ", ".join(f"r.{theirs} AS {ours}" for ours, theirs in COLUMNS)
    + " FROM (SELECT unnest(Records) AS r FROM read_json('{glob}', maximum_object_size=268435456))"
)

# Each runner prints: seconds inside the process, then a summary of the frame that both
# engines must agree on (rows, non-null counts, distinct ARNs, time range, a name count).
RUNNER = r"""
import json, sys, time
engine, target, source, sql = sys.argv[1:5]
started = time.perf_counter()
if engine == "trailsql":
    import trailsql
    res = trailsql.connect(source).sql(sql)
    frame = res.to_pandas() if target == "pandas" else res.to_polars()
else:
    import duckdb
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    rel = con.sql(sql)
    frame = rel.df() if target == "pandas" else rel.pl()
seconds = time.perf_counter() - started
if target == "pandas":
    import pandas as pd
    times = pd.to_datetime(frame["eventtime"], utc=True)
    summary = {
        "rows": len(frame),
        "non_null": {c: int(frame[c].notna().sum()) for c in frame.columns},
        "arns": int(frame["useridentity_arn"].nunique()),
        "first": times.min().strftime("%Y-%m-%dT%H:%M:%S"),
        "last": times.max().strftime("%Y-%m-%dT%H:%M:%S"),
        "assume_role": int((frame["eventname"] == "AssumeRole").sum()),
    }
else:
    import polars as pl
    times = frame["eventtime"]
    summary = {
        "rows": frame.height,
        "non_null": {c: frame.height - frame[c].null_count() for c in frame.columns},
        "arns": frame["useridentity_arn"].drop_nulls().n_unique(),
        "first": times.min().strftime("%Y-%m-%dT%H:%M:%S"),
        "last": times.max().strftime("%Y-%m-%dT%H:%M:%S"),
        "assume_role": frame.filter(pl.col("eventname") == "AssumeRole").height,
    }
print(json.dumps({"seconds": seconds, "summary": summary}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="160MB", help="trail size (gzipped)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds")
    parser.add_argument("--dir", default="/tmp/trailsql-bench")
    parser.add_argument("--profile", default="release",
                        help="cargo profile of the trailsql binary that generates the trail")
    parser.add_argument("--quick", action="store_true",
                        help="CI: a 2 MB trail, answers checked, no timings reported")
    args = parser.parse_args()
    if args.quick:
        args.size, args.rounds, args.dir = "2MB", 1, os.path.join(args.dir, "quick")

    binary = os.path.join(ROOT, "target", args.profile, "trailsql")
    os.environ["TRAILSQL_CACHE_DIR"] = os.path.join(args.dir, "cache")
    directory = os.path.join(args.dir, args.size)
    shape = (["--accounts", "1", "--regions", "2", "--files-per-day", "12",
              "--events-per-file", "100"] if args.quick else
             ["--files-per-day", "96", "--events-per-file", "400"])
    info = generate(binary, directory, args.size, shape)
    glob = os.path.join(directory, "**", "*.json.gz")
    print(f"## {args.size}: {info['note']}", file=sys.stderr)
    runs = [("trailsql", target) for target in ("pandas", "polars")]
    runs += [("duckdb", target) for target in ("pandas", "polars")]
    # One untimed run fills trailsql's schema cache, as any earlier query would have.
    measured([sys.executable, "-c", RUNNER, "trailsql", "polars", directory, TRAILSQL_SQL])
    samples, summaries = {}, {}
    for _ in range(args.rounds):
        for engine, target in runs:
            sql = TRAILSQL_SQL if engine == "trailsql" else DUCKDB_SQL.format(glob=glob)
            source = directory if engine == "trailsql" else ""
            _, cpu, rss, out = measured([sys.executable, "-c", RUNNER, engine, target, source, sql])
            result = json.loads(out)
            samples.setdefault((engine, target), []).append((result["seconds"], cpu, rss))
            summaries[(engine, target)] = result["summary"]
    reference = summaries[("trailsql", "pandas")]
    for key, summary in summaries.items():
        if summary != reference:
            sys.exit(f"{key} disagrees:\n{json.dumps(summary, indent=1)}\nvs trailsql/pandas:\n"
                     f"{json.dumps(reference, indent=1)}")
    print(f"all runs agree: {reference['rows']} rows, {len(COLUMNS)} columns", file=sys.stderr)
    if args.quick:
        return
    table = {key: tuple(median([s[i] for s in values]) for i in range(3))
             for key, values in samples.items()}
    print(f"{reference['rows']:,} rows x {len(COLUMNS)} columns, {args.size} trail, "
          f"median of {args.rounds} round(s)\n")
    print("| into | trailsql: time | CPU | peak RSS | DuckDB: time | CPU | peak RSS "
          "| DuckDB time / trailsql | DuckDB RSS / trailsql |")
    print("|---|---|---|---|---|---|---|---|---|")
    for target in ("pandas", "polars"):
        ours, theirs = table[("trailsql", target)], table[("duckdb", target)]
        print(f"| {target} | {ours[0]:.2f} s | {ours[1]:.1f} s | {ours[2]:.0f} MiB "
              f"| {theirs[0]:.2f} s | {theirs[1]:.1f} s | {theirs[2]:.0f} MiB "
              f"| {theirs[0] / ours[0]:.1f}x | {theirs[2] / ours[2]:.2f}x |")


if __name__ == "__main__":
    main()
