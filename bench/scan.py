"""The scan benchmark: trailsql against DuckDB's usual CloudTrail recipe (read_json +
unnest(Records)) and against the inflate floor (every file inflated with flate2 + zlib-rs
on all cores, nothing else: issue 6's floor), over the same generated trails, in
alternation. The decoder's own inflate (libdeflate) alone is measured too, so that what
decoding adds is seen apart from how fast inflating is. Checks that
trailsql and DuckDB return the same answers and prints wall time, CPU time, CPU/wall, peak
RSS and the ratios as a Markdown table.

    python3 bench/scan.py --sizes 100MB,500MB,1GB --rounds 1    # docs/benchmarks.md
    python3 bench/scan.py --quick                               # CI: answers only

Needs: pip install duckdb; cargo build --release -p trailsql-cli -p trailsql-decode
--example inflate_floor --bin trailsql (or --profile debug with --quick).
Trails are generated once under --dir (default /tmp/trailsql-bench) and reused.
"""
import argparse, csv, io, json, os, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (trailsql SQL, DuckDB SQL over the unnested record `r`)
QUERIES = {
    "group-by": (
        "SELECT eventsource, eventname, count(*) AS n FROM cloudtrail GROUP BY 1, 2",
        "SELECT r.eventSource, r.eventName, count(*) FROM {records} GROUP BY 1, 2",
    ),
    "count": (
        "SELECT count(*) FROM cloudtrail",
        "SELECT count(*) FROM {records}",
    ),
    "filter-arn": (
        "SELECT eventname, count(*) FROM cloudtrail "
        "WHERE useridentity_arn = '{arn}' GROUP BY 1",
        "SELECT r.eventName, count(*) FROM {records} "
        "WHERE r.userIdentity.arn = '{arn}' GROUP BY 1",
    ),
    "ten-columns": (
        "SELECT awsregion, useridentity_type, count(*), count(errorcode), "
        "min(eventtime), max(eventtime), max(sourceipaddress), max(useragent), "
        "count(requestparameters_rolearn), max(requestparameters_instancetype), "
        "max(eventname), max(eventsource) FROM cloudtrail GROUP BY 1, 2",
        "SELECT r.awsRegion, r.userIdentity.type, count(*), count(r.errorCode), "
        "min(r.eventTime), max(r.eventTime), max(r.sourceIPAddress), max(r.userAgent), "
        "count(r.requestParameters.roleArn), max(r.requestParameters.instanceType), "
        "max(r.eventName), max(r.eventSource) FROM {records} GROUP BY 1, 2",
    ),
    # Who got which errors: a filter on a key most records lack.
    "errors": (
        "SELECT useridentity_arn, errorcode, count(*) FROM cloudtrail "
        "WHERE errorcode IS NOT NULL GROUP BY 1, 2",
        "SELECT r.userIdentity.arn, r.errorCode, count(*) FROM {records} "
        "WHERE r.errorCode IS NOT NULL GROUP BY 1, 2",
    ),
    # An investigation's first question: the latest events (files left unread by the
    # TopK's bar, see the guide).
    "latest": (
        "SELECT eventtime, eventid, eventname FROM cloudtrail "
        "ORDER BY eventtime DESC, eventid LIMIT 20",
        "SELECT r.eventTime, r.eventID, r.eventName FROM {records} "
        "ORDER BY 1 DESC, 2 LIMIT 20",
    ),
}

DUCKDB_RECORDS = (
    "(SELECT unnest(Records) AS r FROM read_json('{glob}', maximum_object_size=268435456))"
)

DUCKDB_RUNNER = r"""
import json, sys, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute(sys.argv[1]).fetchall()
json.dump([[None if v is None else str(v) for v in row] for row in rows], sys.stdout)
"""


def measured(argv):
    """Runs a process and returns (wall s, cpu s, peak RSS MiB, stdout)."""
    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(write_fd, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(read_fd)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    os.close(write_fd)
    chunks = []
    while True:
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(argv)} (exit {os.waitstatus_to_exitcode(status)})")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, b"".join(chunks).decode()


def normalise(value):
    """Both engines' cells as comparable text: times without zone markers."""
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = json.loads(text)  # DuckDB may type a sampled leaf as JSON
    if len(text) >= 19 and text[4] == "-" and text[10] in "T ":
        return text[:10] + "T" + text[11:19]
    return text


def sort_rows(rows):
    return sorted(rows, key=lambda row: tuple((v is not None, v or "") for v in row))


def trailsql_rows(out):
    rows = list(csv.reader(io.StringIO(out)))[1:]
    return sort_rows(tuple(normalise(v) for v in row) for row in rows)


def duckdb_rows(out):
    return sort_rows(tuple(normalise(v) for v in row) for row in json.loads(out))


# Bumped when `trailsql generate` writes different bytes, so that old trails are remade:
# 2 writes each record's keys in CloudTrail's order instead of sorted.
GENERATOR_VERSION = 3


def generate(binary, directory, size, shape):
    marker = os.path.join(directory, "generated.json")
    if os.path.exists(marker):
        with open(marker) as f:
            info = json.load(f)
        if info.get("generator") == GENERATOR_VERSION:
            return info
        shutil.rmtree(directory)
    os.makedirs(directory, exist_ok=True)
    start = time.perf_counter()
    note = subprocess.run(
        [binary, "generate", directory, "--realistic", "--size", size] + shape,
        check=True, capture_output=True, text=True,
    ).stderr.strip()
    info = {"size": size, "note": note, "seconds": round(time.perf_counter() - start, 1),
            "generator": GENERATOR_VERSION}
    with open(marker, "w") as f:
        json.dump(info, f)
    return info


# The bar: a query over the whole trail at most this many times the floor.
BAR = 1.5


def median(values):
    return statistics.median(values)


def small_cases(binary, directory, runs=21):
    """Whole-process latency on small inputs: the seed's example and one ~100 KB file."""
    seed = os.path.join(ROOT, "crates", "trailsql", "sample", "kinesis-example.json")
    single = os.path.join(directory, "single")
    if not os.path.isdir(single):
        subprocess.run([binary, "generate", single, "--accounts", "1", "--regions", "1",
                        "--days", "1", "--files-per-day", "1", "--events-per-file", "330"],
                       check=True, capture_output=True)
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(single) for f in fs]
    rows = []
    for label, path in [("seed example (" + str(os.path.getsize(seed)) + " B JSON)", seed),
                        ("one delivery file (" + str(os.path.getsize(files[0]) // 1000)
                         + " KB gzipped)", files[0])]:
        sql = "SELECT eventname, count(*) FROM cloudtrail GROUP BY 1"
        walls = [measured([binary, path, "--format", "csv", "-c", sql])[0] for _ in range(runs)]
        rows.append((label, median(walls), min(walls)))
    return rows


def print_round_ratios(results, names):
    """Each round's wall time over the floor's in the same round, and with --before each
    round's over the build before's: the spread says whether a difference in the medians
    above is more than the machine's noise."""
    print(f"| trail | query | engine | / floor, median | lowest | highest | rounds at or under {BAR}x "
          f"| / before, median | lowest | highest |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, _, _, _, samples in results:
        floors = [wall for wall, _, _ in samples[("floor", "inflate")]]
        for name in names:
            for engine in ("trailsql", "before", "duckdb"):
                if (engine, name) not in samples:
                    continue
                walls = [wall for wall, _, _ in samples[(engine, name)]]
                ratios = [wall / floor for wall, floor in zip(walls, floors)]
                under = sum(ratio <= BAR for ratio in ratios)
                if engine == "trailsql" and ("before", name) in samples:
                    befores = [wall for wall, _, _ in samples[("before", name)]]
                    pairs = [wall / before for wall, before in zip(walls, befores)]
                    paired = f"{median(pairs):.3f} | {min(pairs):.3f} | {max(pairs):.3f}"
                else:
                    paired = " | | "
                label = "trailsql before" if engine == "before" else engine
                print(f"| {size} | {name} | {label} | {median(ratios):.2f} | {min(ratios):.2f} | "
                      f"{max(ratios):.2f} | {under} of {len(ratios)} | {paired} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100MB", help="comma-separated trail sizes (gzipped)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds per query")
    parser.add_argument("--dir", default="/tmp/trailsql-bench")
    parser.add_argument("--profile", default="release", help="cargo profile of the binaries")
    parser.add_argument("--binary", help="the trailsql binary to measure (default: the "
                        "--profile build's; bench/pgo.sh builds target/pgo/release/trailsql)")
    parser.add_argument("--queries", default=",".join(QUERIES), help="which queries")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--tree", help="an existing tree to run the queries over instead "
                        "of generated trails (answers checked, times reported)")
    parser.add_argument("--before", help="an earlier trailsql binary, run after each query "
                        "in the same rounds (answers checked against the current build's)")
    parser.add_argument("--quick", action="store_true",
                        help="CI: a 2 MB trail, answers checked, no timings reported")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.rounds, args.dir = "2MB", 1, os.path.join(args.dir, "quick")

    binary = args.binary or os.path.join(ROOT, "target", args.profile, "trailsql")
    floor = os.path.join(ROOT, "target", args.profile, "examples", "inflate_floor")
    duckdb_cmd = [sys.executable, "-c", DUCKDB_RUNNER]
    names = args.queries.split(",")
    # Discovered columns are remembered per trail (as for any user); one untimed run
    # per trail fills that cache, so every timed run is a repeat query.
    os.environ["TRAILSQL_CACHE_DIR"] = os.path.join(args.dir, "cache")
    results = []
    trails = [args.tree] if args.tree else args.sizes.split(",")
    for size in trails:
        if args.tree:
            directory = args.tree
            info = {"note": f"{args.tree}", "seconds": 0}
        else:
            directory = os.path.join(args.dir, size)
            shape = (["--accounts", "1", "--regions", "2", "--files-per-day", "12",
                      "--events-per-file", "100"] if args.quick else
                     ["--files-per-day", "96", "--events-per-file", "400"])
            info = generate(binary, directory, size, shape)
        glob = os.path.join(directory, "**", "*.json.gz")
        print(f"## {size}: {info['note']} (generated in {info['seconds']} s)", file=sys.stderr)
        # The filter looks for the busiest principal (on generated trails, alice).
        arn = measured([binary, directory, "--format", "csv", "-c",
                        "SELECT useridentity_arn FROM cloudtrail WHERE useridentity_arn "
                        "IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"])[3]
        arn = arn.splitlines()[1] if args.tree else "arn:aws:iam::111122223333:user/alice"
        samples = {}
        for _ in range(args.rounds):
            wall, cpu, rss, out = measured([floor, directory])
            samples.setdefault(("floor", "inflate"), []).append((wall, cpu, rss))
            floor_note = out.strip()
            wall, cpu, rss, out = measured([floor, directory, "--ours"])
            samples.setdefault(("floor", "ours"), []).append((wall, cpu, rss))
            for name in names:
                ours, theirs = (q.replace("{arn}", arn) for q in QUERIES[name])
                wall, cpu, rss, out = measured([binary, directory, "--format", "csv", "-c", ours])
                samples.setdefault(("trailsql", name), []).append((wall, cpu, rss))
                rows_ours = trailsql_rows(out)
                if args.before:
                    wall, cpu, rss, out = measured([args.before, directory, "--format", "csv",
                                                    "-c", ours])
                    samples.setdefault(("before", name), []).append((wall, cpu, rss))
                    if trailsql_rows(out) != rows_ours:
                        sys.exit(f"{size} {name}: the build before answers otherwise")
                if args.no_duckdb:
                    continue
                sql = theirs.format(records=DUCKDB_RECORDS.format(glob=glob))
                wall, cpu, rss, out = measured(duckdb_cmd + [sql])
                samples.setdefault(("duckdb", name), []).append((wall, cpu, rss))
                rows_theirs = duckdb_rows(out)
                if rows_ours != rows_theirs:
                    diff = [r for r in rows_ours if r not in rows_theirs][:5]
                    other = [r for r in rows_theirs if r not in rows_ours][:5]
                    sys.exit(f"{size} {name}: answers differ\n"
                             f"trailsql only: {diff}\nDuckDB only: {other}")
                print(f"{size} {name}: {len(rows_ours)} rows, identical", file=sys.stderr)
        summary = {key: tuple(median([s[i] for s in runs]) for i in range(3))
                   for key, runs in samples.items()}
        results.append((size, info, floor_note, summary, samples))
    if args.quick:
        print("answers identical")
        return

    print(f"| trail | query | engine | wall s | CPU s | CPU/wall | peak RSS MiB | / floor | / own inflate | DuckDB / trailsql |")
    print(f"|---|---|---|---|---|---|---|---|---|---|")
    for size, info, floor_note, summary, _ in results:
        floor_wall, floor_cpu, floor_rss = summary[("floor", "inflate")]
        own_wall, own_cpu, own_rss = summary[("floor", "ours")]
        print(f"| {size} | inflate floor | flate2+zlib-rs | {floor_wall:.2f} | {floor_cpu:.2f} | "
              f"{floor_cpu / floor_wall:.2f} | {floor_rss:.0f} | 1.00 | | |")
        print(f"| {size} | own inflate | libdeflate | {own_wall:.2f} | {own_cpu:.2f} | "
              f"{own_cpu / own_wall:.2f} | {own_rss:.0f} | {own_wall / floor_wall:.2f} | 1.00 | |")
        for name in names:
            wall, cpu, rss = summary[("trailsql", name)]
            ratio = ""
            if ("duckdb", name) in summary:
                d_wall, d_cpu, d_rss = summary[("duckdb", name)]
                ratio = f"{d_wall / wall:.1f}x"
            print(f"| {size} | {name} | trailsql | {wall:.2f} | {cpu:.2f} | {cpu / wall:.2f} | "
                  f"{rss:.0f} | {wall / floor_wall:.2f} | {wall / own_wall:.2f} | {ratio} |")
            if ("before", name) in summary:
                b_wall, b_cpu, b_rss = summary[("before", name)]
                print(f"| {size} | {name} | trailsql before | {b_wall:.2f} | {b_cpu:.2f} | "
                      f"{b_cpu / b_wall:.2f} | {b_rss:.0f} | {b_wall / floor_wall:.2f} | "
                      f"{b_wall / own_wall:.2f} | |")
            if ("duckdb", name) in summary:
                print(f"| {size} | {name} | DuckDB | {d_wall:.2f} | {d_cpu:.2f} | "
                      f"{d_cpu / d_wall:.2f} | {d_rss:.0f} | {d_wall / floor_wall:.2f} | | |")
    if args.rounds > 1:
        print()
        print_round_ratios(results, names)
    print()
    for size, info, floor_note, _, _ in results:
        print(f"- {size}: {info['note']}; floor: {floor_note}")
    if not args.tree:
        print()
        print("| small input, whole process | median ms | best ms |")
        print("|---|---|---|")
        for label, med, best in small_cases(binary, os.path.join(args.dir, "small")):
            print(f"| {label} | {med * 1000:.0f} | {best * 1000:.0f} |")


if __name__ == "__main__":
    main()
