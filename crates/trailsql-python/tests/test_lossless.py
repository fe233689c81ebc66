"""Nothing lost: for every file that holds CloudTrail events (the shared corpus when it
is beside the project, the project's fixtures, a generated trail), the table has one row
per record, and re-serialising a row's columns gives back every key and value of the
record it came from.

What the table normalises rather than keeps byte for byte is counted and printed, never
hidden: an explicit `null` (the same as an absent key in a typed column), `"true"`
written as a string for a boolean, another spelling of a time, and other spellings of
keys (matched without regard to case).
"""

import datetime
import gzip
import json
import os
from collections import Counter
from pathlib import Path

import pytest

import trailsql
from conftest import FIXTURES, REPO

SHARED = REPO.parent / "shared" / "corpus"

DERIVED = ("(derived", "(the file", "(every top-level key")


def records_of(path):
    """The CloudTrail records of a file in any shape trailsql reads without an envelope
    of another service, or None."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        document = json.loads(data)
        items = document.get("Records") if isinstance(document, dict) else document
    except ValueError:
        try:
            items = [json.loads(line) for line in data.splitlines() if line.strip()]
        except ValueError:
            return None
    if not isinstance(items, list) or not items:
        return None
    if all(isinstance(r, dict) and "eventTime" in r and "eventSource" in r for r in items):
        return items
    return None


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(datetime.timezone.utc)


class Checker:
    def __init__(self, columns):
        self.columns = columns
        self.normalised = Counter()
        self.lost = []

    def same(self, where, key, original, column, value):
        """Whether `value` from `column` gives back `original`; notes normalisations."""
        kind = column.sql_type
        if original is None:
            if value is not None:
                self.lost.append(f"{where}: {key}: null came back as {value!r}")
            else:
                self.normalised["explicit null"] += 1
            return
        if value is None:
            self.lost.append(f"{where}: {key}: {original!r} came back as NULL")
            return
        if "JSON" in kind:
            back = json.loads(value)
            if back != original:
                self.lost.append(f"{where}: {key}: {original!r} came back as {back!r}")
        elif kind.startswith("TIMESTAMP"):
            if parse_time(original) != value:
                self.lost.append(f"{where}: {key}: {original!r} came back as {value!r}")
            elif value.strftime("%Y-%m-%dT%H:%M:%SZ") != original:
                self.normalised["time spelling"] += 1
        elif kind == "BOOLEAN":
            if isinstance(original, str):
                self.normalised["boolean as text"] += 1
                original = {"true": True, "false": False}.get(original.lower(), original)
            if original != value:
                self.lost.append(f"{where}: {key}: {original!r} came back as {value!r}")
        elif kind.startswith("LIST<STRUCT"):
            self.same_resources(where, key, original, value)
        elif original != value:
            self.lost.append(f"{where}: {key}: {original!r} came back as {value!r}")

    def same_resources(self, where, key, original, value):
        if not isinstance(original, list) or len(original) != len(value):
            self.lost.append(f"{where}: {key}: {original!r} came back as {value!r}")
            return
        for given, back in zip(original, value):
            rebuilt = {k: v for k, v in back.items() if k != "unmapped" and v is not None}
            if back.get("unmapped"):
                rebuilt.update(json.loads(back["unmapped"]))
            lowered = {k.lower(): v for k, v in rebuilt.items()}
            for k, v in given.items():
                if v is None:
                    continue
                if k in rebuilt:
                    ok = rebuilt[k] == v
                else:
                    ok = lowered.get(k.lower()) == v
                    self.normalised["key spelling"] += ok
                if not ok:
                    self.lost.append(f"{where}: {key}.{k}: {v!r} came back as {rebuilt!r}")

    def record(self, where, original, row):
        by_key = {}
        for column, value in zip(self.columns, row):
            if column.source.startswith(DERIVED) or "." in column.source:
                continue
            by_key[column.source.lower()] = (column, value)
        unmapped_column = next(c for c in self.columns if c.name == "unmapped")
        unmapped_value = row[self.columns.index(unmapped_column)]
        unmapped = json.loads(unmapped_value) if unmapped_value else {}
        for key, value in original.items():
            if key in unmapped:
                if unmapped[key] != value:
                    # A repeated key: the column holds the first value, `unmapped` the
                    # later ones, and a JSON parser keeps the last.
                    if key.lower() in by_key and unmapped[key] == value:
                        continue
                    self.lost.append(f"{where}: {key}: {value!r} came back as {unmapped[key]!r}")
                continue
            if key.lower() not in by_key:
                self.lost.append(f"{where}: {key} is in no column")
                continue
            column, back = by_key.pop(key.lower())
            if column.source != key:
                self.normalised["key spelling"] += 1
            self.same(where, key, value, column, back)
        for key, (column, back) in by_key.items():
            if back is not None and key != "unmapped":
                self.lost.append(f"{where}: {column.source} = {back!r} is in no key of the record")


def check_files(files):
    """Checks every record of every file; returns (records, normalised, lost)."""
    records = 0
    normalised = Counter()
    lost = []
    for path in files:
        originals = records_of(path)
        if originals is None:
            continue
        con = trailsql.connect(path, target_partitions=1, schema_cache=False)
        columns = con.columns()
        names = ", ".join(f'"{c.name}"' for c in columns)
        rows = con.sql(f"SELECT {names} FROM cloudtrail").fetchall()
        assert len(rows) == len(originals), f"{path}: {len(rows)} rows, {len(originals)} records"
        checker = Checker(columns)
        for index, (original, row) in enumerate(zip(originals, rows)):
            checker.record(f"{path}: record {index}", original, row)
        records += len(originals)
        normalised.update(checker.normalised)
        lost.extend(checker.lost)
    return records, normalised, lost


def files_under(root):
    return sorted(
        os.path.join(base, name)
        for base, _, names in os.walk(root)
        for name in names
        if name.endswith((".json", ".json.gz", ".ndjson", ".jsonl"))
    )


def test_fixtures_and_a_generated_trail_come_back_whole(tmp_path):
    trailsql.generate_trail(tmp_path, accounts=1, regions=2, files_per_day=4, events_per_file=80, realistic=True)
    files = files_under(FIXTURES / "shapes") + files_under(tmp_path)
    records, normalised, lost = check_files(files)
    print(f"{records} records; normalised: {dict(normalised)}")
    assert records > 250
    assert not lost, "\n".join(lost[:20])


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/corpus is not beside the project")
def test_every_cloudtrail_record_in_the_shared_corpus_comes_back_whole():
    records, normalised, lost = check_files(files_under(SHARED))
    print(f"{records} records; normalised: {dict(normalised)}")
    assert records > 5000
    assert not lost, f"{len(lost)} losses:\n" + "\n".join(lost[:30])
