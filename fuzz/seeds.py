"""Writes fuzz seed inputs: `python3 fuzz/seeds.py OUT_DIR [SOURCE_DIR...]`.

Every file under the sources (default: the project's fixtures and sample) becomes four
seeds for the `decode` target, one per mode (the first byte: bit 0 gzips the rest, bit 1
skips bad input), cut to 64 KiB; `.sql` files under `queries/` become `query_header`
seeds as they are (OUT_DIR/query_header). Seeds from `../shared/corpus` must stay out of
the committed corpus: the project may not copy those logs.
"""
import hashlib, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMIT = 64 << 10


def walk(directory):
    for base, _, names in os.walk(directory):
        for name in sorted(names):
            yield os.path.join(base, name)


def write(directory, data):
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1]
    sources = sys.argv[2:] or [os.path.join(ROOT, "tests", "fixtures"),
                               os.path.join(ROOT, "crates", "trailsql", "sample")]
    count = 0
    for source in sources:
        for path in walk(source):
            if path.endswith((".csv", ".md", ".tsv")) and "fixtures" not in path:
                continue
            with open(path, "rb") as f:
                body = f.read(LIMIT)
            for mode in range(4):
                write(os.path.join(out, "decode"), bytes([mode]) + body)
                count += 1
    for path in walk(os.path.join(ROOT, "queries")):
        if path.endswith(".sql"):
            with open(path, "rb") as f:
                write(os.path.join(out, "query_header"), f.read())
                count += 1
    print(f"{count} seeds under {out}")


if __name__ == "__main__":
    main()
