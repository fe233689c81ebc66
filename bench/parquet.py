"""The Parquet benchmark: `trailsql convert` throughput and size, then the same queries
over the raw gzipped logs, over the transparent cache (`--cache`), over the converted
trail, and with DuckDB over the converted Parquet, in alternation. Checks that all four
return the same answers and prints wall time, CPU time, peak RSS and the ratios as
Markdown.

    python3 bench/parquet.py --size 1GB --rounds 3        # docs/benchmarks.md
    python3 bench/parquet.py --quick --profile debug      # CI: answers only

Needs: pip install duckdb; cargo build --release -p trailsql-cli (or --profile debug with
--quick). The trail is generated once under --dir (default /tmp/trailsql-bench), as
bench/scan.py does, and reused; the Parquet outputs are written afresh each run.
"""
import argparse, os, shutil, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scan import DUCKDB_RUNNER, ROOT, duckdb_rows, generate, measured, median, trailsql_rows  # noqa: E402

QUERIES = {
    "group-by": (
        "SELECT eventsource, eventname, count(*) AS n FROM cloudtrail GROUP BY 1, 2",
        "SELECT eventsource, eventname, count(*) FROM {parquet} GROUP BY 1, 2",
    ),
    # Three hours of one day and one API: row groups (sorted by time) and bloom filters
    # skip most of the converted files; raw logs are pruned by file name.
    "hours-and-name": (
        "SELECT awsregion, count(*) AS n FROM cloudtrail WHERE eventtime >= '{day}T06:00:00Z' "
        "AND eventtime < '{day}T09:00:00Z' AND eventname = 'AssumeRole' GROUP BY 1",
        "SELECT awsregion, count(*) FROM {parquet} WHERE eventtime >= '{day}T06:00:00Z' "
        "AND eventtime < '{day}T09:00:00Z' AND eventname = 'AssumeRole' GROUP BY 1",
    ),
}


def tree_bytes(directory, suffix):
    total = 0
    for base, _, files in os.walk(directory):
        total += sum(os.path.getsize(os.path.join(base, f)) for f in files if f.endswith(suffix))
    return total


def fmt(sample):
    wall, cpu, rss = sample
    return f"{wall:.2f} s | {cpu:.1f} s | {rss:.0f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100MB", help="trail size (gzipped)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds per query")
    parser.add_argument("--dir", default="/tmp/trailsql-bench")
    parser.add_argument("--profile", default="release", help="cargo profile of the binary")
    parser.add_argument("--quick", action="store_true",
                        help="CI: a 2 MB trail, answers checked, no timings reported")
    args = parser.parse_args()
    if args.quick:
        args.size, args.rounds, args.dir = "2MB", 1, os.path.join(args.dir, "quick")

    binary = os.path.join(ROOT, "target", args.profile, "trailsql")
    os.environ["TRAILSQL_CACHE_DIR"] = os.path.join(args.dir, "cache")
    trail = os.path.join(args.dir, args.size)
    shape = (["--accounts", "1", "--regions", "2", "--files-per-day", "12",
              "--events-per-file", "100"] if args.quick else
             ["--files-per-day", "96", "--events-per-file", "400"])
    info = generate(binary, trail, args.size, shape)
    print(f"## {args.size}: {info['note']}", file=sys.stderr)
    converted = os.path.join(args.dir, f"{args.size}-parquet")
    cache = os.path.join(args.dir, f"{args.size}-parquet-cache")
    for folder in (converted, cache):
        shutil.rmtree(folder, ignore_errors=True)

    convert = measured([binary, "convert", trail, converted, "--quiet"])
    gz, parquet = tree_bytes(trail, ".gz"), tree_bytes(converted, ".parquet")
    events = int(measured([binary, converted, "--format", "csv", "-c",
                           "SELECT count(*) FROM cloudtrail"])[3].splitlines()[1])
    # A day in the middle of the trail.
    day = measured([binary, converted, "--format", "csv", "-c",
                    "SELECT to_timestamp_seconds((min(to_unixtime(eventtime)) + "
                    "max(to_unixtime(eventtime))) / 2) FROM cloudtrail"])[3].splitlines()[1][:10]
    parquet_glob = f"read_parquet('{converted}/**/*.parquet', hive_partitioning = true)"

    fill = {}
    samples = {}
    for name, (sql, duck) in QUERIES.items():
        sql, duck = sql.format(day=day), duck.format(day=day, parquet=parquet_glob)
        runs = {
            "raw logs": [binary, trail, "--format", "csv", "-c", sql],
            "cache": [binary, trail, "--cache", cache, "--format", "csv", "-c", sql],
            "converted": [binary, converted, "--format", "csv", "-c", sql],
            "duckdb parquet": [sys.executable, "-c", DUCKDB_RUNNER, duck],
        }
        # The first query over the cache fills it: measured on its own (later queries
        # find it filled).
        wall, cpu, rss, out = measured(runs["cache"])
        if not fill:
            fill[name] = (wall, cpu, rss)
        answers = {"cache (filling)": trailsql_rows(out)}
        for _ in range(args.rounds):
            for engine, argv in runs.items():
                wall, cpu, rss, out = measured(argv)
                samples.setdefault((name, engine), []).append((wall, cpu, rss))
                rows = duckdb_rows(out) if engine.startswith("duckdb") else trailsql_rows(out)
                answers[engine] = rows
        first = answers["raw logs"]
        for engine, rows in answers.items():
            if rows != first:
                sys.exit(f"{name}: {engine} answers differ from raw logs:\n{rows[:5]}\n{first[:5]}")
        print(f"{name}: all answers identical ({len(first)} rows)", file=sys.stderr)
    if args.quick:
        return
    # What pruning left to read of the converted trail for the narrow query.
    narrow = QUERIES["hours-and-name"][0].format(day=day)
    plan = measured([binary, converted, "--format", "csv", "-c", "EXPLAIN ANALYZE " + narrow])[3]
    wanted = ("pruned_files", "row_groups_pruned_statistics", "row_groups_pruned_bloom_filter",
              "page_index_rows_pruned", "pushdown_rows_matched")
    metrics = [m.strip() for m in plan.replace('"', "").split(",")
               if m.strip().startswith(wanted)]

    print(f"### {args.size}: {info['note']}\n")
    print("| step | wall | CPU | peak RSS | throughput |")
    print("|---|---|---|---|---|")
    wall = convert[0]
    print(f"| convert | {fmt(convert[:3])} | {gz / 1e6 / wall:.1f} MB/s gzipped, "
          f"{events / wall / 1e6:.2f} M events/s |")
    print(f"\nSizes: gzipped JSON {gz / 1e6:.1f} MB; Parquet {parquet / 1e6:.1f} MB "
          f"({parquet / gz:.2f}x the gzipped JSON), {events} events.\n")
    print("| query | source | wall (median) | CPU | peak RSS | raw logs / this |")
    print("|---|---|---|---|---|---|")
    for name in QUERIES:
        base = median([s[0] for s in samples[(name, "raw logs")]])
        if name in fill:
            print(f"| {name} | cache, first query (fills it) | {fmt(fill[name])} | "
                  f"{base / fill[name][0]:.2f}x |")
        for engine in ("raw logs", "cache", "converted", "duckdb parquet"):
            runs = samples[(name, engine)]
            w = median([s[0] for s in runs])
            c = median([s[1] for s in runs])
            r = max(s[2] for s in runs)
            print(f"| {name} | {engine} | {w:.3f} s | {c:.2f} s | {r:.0f} MiB | {base / w:.1f}x |")
    print(f"\nPruning of the converted trail for hours-and-name ({day}): " + "; ".join(metrics))


if __name__ == "__main__":
    main()
