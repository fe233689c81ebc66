"""The large-file benchmark: one NDJSON export (a CloudWatch Logs or SIEM export's shape),
plain or gzipped, far larger than the 32 MiB parts trailsql reads it in, queried by
trailsql and by DuckDB's `read_json` in alternation. Checks that both return the same
answers and prints wall time, CPU time, peak RSS and the ratios as Markdown.

    python3 bench/large_file.py --size 100MB --copies 2 --rounds 3           # docs/benchmarks.md
    python3 bench/large_file.py --size 100MB --copies 2 --rounds 3 --gzip    # the same, gzipped

Needs: pip install duckdb; cargo build --release -p trailsql-cli. The file is made once
under --dir (default /tmp/trailsql-bench) from the records of a trail generated as
bench/scan.py does (each record once per copy, one per line) and reused. `--before
BINARY` also runs another trailsql build (an earlier commit's) in the same rounds.
"""
import argparse, glob, gzip, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scan import DUCKDB_RUNNER, ROOT, duckdb_rows, generate, measured, median, trailsql_rows  # noqa: E402

# name -> (trailsql SQL, DuckDB SQL over `{file}`)
QUERIES = {
    "count": (
        "SELECT count(*), count(DISTINCT eventname) FROM cloudtrail",
        "SELECT count(*), count(DISTINCT eventName) FROM {file}",
    ),
    "eight-columns": (
        "SELECT awsregion, useridentity_type, count(*), count(errorcode), min(eventtime), "
        "max(eventtime), max(sourceipaddress), max(useragent), max(eventname), "
        "max(eventsource) FROM cloudtrail GROUP BY 1, 2",
        "SELECT awsRegion, userIdentity.type, count(*), count(errorCode), min(eventTime), "
        "max(eventTime), max(sourceIPAddress), max(userAgent), max(eventName), "
        "max(eventSource) FROM {file} GROUP BY 1, 2",
    ),
}

DUCKDB_FILE = "read_json('{path}', format='newline_delimited', maximum_object_size=268435456)"


def make_export(trail, path, copies):
    """Every record of the trail's files, `copies` times over, one per line."""
    if os.path.exists(path):
        return
    files = sorted(glob.glob(os.path.join(trail, "**", "*.json.gz"), recursive=True))
    records = [r for f in files for r in json.load(gzip.open(f))["Records"]]
    temporary = path + ".tmp"
    with open(temporary, "w") as out:
        for _ in range(copies):
            for record in records:
                out.write(json.dumps(record, separators=(",", ":")))
                out.write("\n")
    os.rename(temporary, path)


def make_gzipped(path):
    """`path` gzipped beside it (level 6, as `gzip` and most exporters write it)."""
    gzipped = path + ".gz"
    if not os.path.exists(gzipped):
        temporary = gzipped + ".tmp"
        with open(path, "rb") as plain, gzip.open(temporary, "wb", compresslevel=6) as out:
            while chunk := plain.read(1 << 24):
                out.write(chunk)
        os.rename(temporary, gzipped)
    return gzipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100MB", help="the trail the records come from")
    parser.add_argument("--copies", type=int, default=2, help="times each record is written")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per query")
    parser.add_argument("--dir", default="/tmp/trailsql-bench")
    parser.add_argument("--profile", default="release", help="cargo profile of the binary")
    parser.add_argument("--gzip", action="store_true", help="query the export gzipped")
    parser.add_argument("--before", help="another trailsql binary to run in the same rounds")
    args = parser.parse_args()

    binary = os.path.join(ROOT, "target", args.profile, "trailsql")
    trail = os.path.join(args.dir, args.size)
    generate(binary, trail, args.size, ["--files-per-day", "96", "--events-per-file", "400"])
    path = os.path.join(args.dir, f"export-{args.size}x{args.copies}.ndjson")
    make_export(trail, path, args.copies)
    if args.gzip:
        path = make_gzipped(path)
    os.environ["TRAILSQL_CACHE_DIR"] = os.path.join(args.dir, "cache")
    print(f"## {path}: {os.path.getsize(path) / 1e9:.2f} GB", file=sys.stderr)
    duckdb_file = DUCKDB_FILE.format(path=path)
    ours_engines = [("trailsql", binary)] + ([("trailsql before", args.before)] if args.before else [])
    samples = {}
    for _ in range(args.rounds):
        for name, (ours, theirs) in QUERIES.items():
            for engine, program in ours_engines:
                wall, cpu, rss, out = measured([program, path, "--format", "csv", "-c", ours])
                samples.setdefault((name, engine), []).append((wall, cpu, rss))
                rows = trailsql_rows(out)
                if engine == "trailsql":
                    our_rows = rows
                elif rows != our_rows:
                    sys.exit(f"{name}: the two trailsql builds disagree:\n{our_rows}\n{rows}")
            wall, cpu, rss, out = measured(
                [sys.executable, "-c", DUCKDB_RUNNER, theirs.format(file=duckdb_file)])
            samples.setdefault((name, "DuckDB"), []).append((wall, cpu, rss))
            if duckdb_rows(out) != our_rows:
                sys.exit(f"{name}: trailsql and DuckDB disagree:\n{our_rows}\n{duckdb_rows(out)}")
    print("| query | engine | wall s | CPU s | CPU/wall | peak RSS MiB | DuckDB / trailsql: time "
          "| DuckDB / trailsql: RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for name in QUERIES:
        theirs = [median(v) for v in zip(*samples[(name, "DuckDB")])]
        rows = [(engine, [median(v) for v in zip(*samples[(name, engine)])])
                for engine, _ in ours_engines] + [("DuckDB", theirs)]
        for engine, (wall, cpu, rss) in rows:
            ratios = (f"{theirs[0] / wall:.1f}x | {theirs[2] / rss:.1f}x"
                      if engine != "DuckDB" else " | ")
            print(f"| {name} | {engine} | {wall:.2f} | {cpu:.2f} | {cpu / wall:.2f} | "
                  f"{rss:.0f} | {ratios} |")


if __name__ == "__main__":
    main()
