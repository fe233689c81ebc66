"""Times trailsql (release binary, whole process) against DuckDB's usual CloudTrail recipe
(read_json + unnest(Records)) over the same gzipped tree, alternating runs, and checks
that both return the same answers.

Usage: python3 bench/corpus_vs_duckdb.py [TREE] [RUNS]
Default TREE: ../shared/corpus/invictus-sigma-aws/_derived (55 files, 2,900 events).
Needs: pip install duckdb; cargo build --release -p trailsql-cli.
"""
import csv, io, os, resource, subprocess, sys, time

import duckdb

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tree = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "../shared/corpus/invictus-sigma-aws/_derived")
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
binary = os.path.join(root, "target/release/trailsql")

QUERIES = {
    "count": ("SELECT count(*) FROM cloudtrail",
              "SELECT count(*) FROM (SELECT unnest(Records) FROM read_json('{glob}', maximum_object_size=67108864))"),
    "group-by": ("SELECT eventsource, eventname, count(*) FROM cloudtrail GROUP BY 1, 2",
                 "SELECT r.eventSource, r.eventName, count(*) FROM (SELECT unnest(Records) r FROM read_json('{glob}', maximum_object_size=67108864)) GROUP BY 1, 2"),
}


def run_trailsql(sql):
    start = time.perf_counter()
    out = subprocess.run([binary, tree, "--format", "csv", "-c", sql], check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - start
    rows = sorted(tuple(r) for r in list(csv.reader(io.StringIO(out)))[1:])
    return elapsed, rows


def run_duckdb(sql):
    # A fresh connection per run, like a fresh trailsql process: no cached metadata.
    start = time.perf_counter()
    con = duckdb.connect()
    rows = con.execute(sql.format(glob=os.path.join(tree, "**/*.json.gz"))).fetchall()
    con.close()
    elapsed = time.perf_counter() - start
    return elapsed, sorted(tuple(str(v) for v in r) for r in rows)


def main():
    print(f"tree: {tree}\nruns: {runs} each, alternating; best and median wall time\n")
    print(f"| query | trailsql best | trailsql median | DuckDB best | DuckDB median | DuckDB / trailsql (median) |")
    print(f"|---|---|---|---|---|---|")
    for name, (ours, theirs) in QUERIES.items():
        t_ours, t_theirs = [], []
        for _ in range(runs):
            a, rows_ours = run_trailsql(ours)
            b, rows_theirs = run_duckdb(theirs)
            t_ours.append(a)
            t_theirs.append(b)
        if rows_ours != rows_theirs:
            sys.exit(f"{name}: answers differ\ntrailsql: {rows_ours[:5]}\nduckdb: {rows_theirs[:5]}")
        t_ours.sort(); t_theirs.sort()
        m_ours, m_theirs = t_ours[len(t_ours) // 2], t_theirs[len(t_theirs) // 2]
        print(f"| {name} | {t_ours[0]*1000:.0f} ms | {m_ours*1000:.0f} ms | {t_theirs[0]*1000:.0f} ms | {m_theirs*1000:.0f} ms | {m_theirs / m_ours:.2f}x |")
    print("\nanswers: identical")


if __name__ == "__main__":
    main()
