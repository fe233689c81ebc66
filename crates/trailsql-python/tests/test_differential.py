"""Differential tests: the same questions through trailsql and through DuckDB (an
independent engine), over generated trails and every CloudTrail file in
../shared/corpus, and no difference allowed.

DuckDB gets an explicit schema, with the variable objects as JSON: its default inference
samples a few files and silently drops keys it did not see there, so it is not a
trustworthy oracle by default.
"""

import gzip
import json
import os
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

import trailsql
from conftest import REPO

SHARED = REPO.parent / "shared" / "corpus"

STRINGS = [
    "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
    "userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType",
    "recipientAccountId", "eventCategory", "apiVersion", "sharedEventID", "vpcEndpointId",
]
JSONS = [
    "userIdentity", "requestParameters", "responseElements", "additionalEventData",
    "resources", "readOnly", "managementEvent", "tlsDetails", "serviceEventDetails",
]
COLUMNS = "{" + ", ".join(
    [f"'{k}': 'VARCHAR'" for k in STRINGS] + [f"'{k}': 'JSON'" for k in JSONS]
) + "}"
RECORD = "STRUCT(" + ", ".join(
    [f"{k} VARCHAR" for k in STRINGS] + [f"{k} JSON" for k in JSONS]
) + ")"

# requestParameters keys compared through json_extract_scalar (scalars only, as Presto).
PARAMETER_KEYS = ["bucketName", "roleArn", "roleSessionName", "userName", "policyArn", "instanceType"]


def duckdb_relation(shape, files):
    listed = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    if shape == "records":
        return (
            f"(SELECT r.* FROM (SELECT unnest(Records) AS r FROM read_json({listed}, "
            f"columns={{'Records': '{RECORD}[]'}}, maximum_object_size=268435456)))"
        )
    layout = "array" if shape == "array" else "newline_delimited"
    return (
        f"(SELECT * FROM read_json({listed}, format='{layout}', columns={COLUMNS}, "
        f"maximum_object_size=268435456))"
    )


def json_scalar(column, path):
    """DuckDB's text of a JSON scalar at `path`, NULL for objects, arrays and null, as
    json_extract_scalar gives it in trailsql (Presto's semantics)."""
    return (
        f"CASE WHEN json_type({column}, '{path}') IN ('OBJECT', 'ARRAY', 'NULL') THEN NULL "
        f"ELSE json_extract_string({column}, '{path}') END"
    )


def questions(cut):
    """(name, trailsql SQL, DuckDB SQL over {t}) pairs."""
    flag = "CASE WHEN {c} IS NULL OR CAST({c} AS VARCHAR) = 'null' THEN NULL ELSE trim(lower(CAST({c} AS VARCHAR)), '\"') = 'true' END"
    pairs = [
        ("count", "SELECT count(*) FROM cloudtrail", "SELECT count(*) FROM {t}"),
        (
            "by name",
            "SELECT eventsource, eventname, count(*) FROM cloudtrail GROUP BY 1, 2",
            "SELECT eventSource, eventName, count(*) FROM {t} GROUP BY 1, 2",
        ),
        (
            "identity",
            "SELECT useridentity_type, useridentity_arn, useridentity_accountid, count(*) "
            "FROM cloudtrail GROUP BY 1, 2, 3",
            f"SELECT {json_scalar('userIdentity', '$.type')}, {json_scalar('userIdentity', '$.arn')}, "
            f"{json_scalar('userIdentity', '$.accountId')}, count(*) FROM {{t}} GROUP BY 1, 2, 3",
        ),
        (
            "session issuer",
            "SELECT useridentity.sessioncontext.sessionissuer.username AS issuer, count(*) "
            "FROM cloudtrail WHERE useridentity_type = 'AssumedRole' GROUP BY 1",
            f"SELECT {json_scalar('userIdentity', '$.sessionContext.sessionIssuer.userName')}, "
            f"count(*) FROM {{t}} WHERE json_extract_string(userIdentity, '$.type') = 'AssumedRole' "
            f"GROUP BY 1",
        ),
        (
            "nulls",
            "SELECT count(errorcode), count(*) - count(errorcode), count(DISTINCT useragent), "
            "count(useragent), count(sourceipaddress) FROM cloudtrail",
            "SELECT count(errorCode), count(*) - count(errorCode), count(DISTINCT userAgent), "
            "count(userAgent), count(sourceIPAddress) FROM {t}",
        ),
        (
            "read only",
            "SELECT readonly, managementevent, count(*) FROM cloudtrail GROUP BY 1, 2",
            "SELECT " + flag.format(c="readOnly") + ", " + flag.format(c="managementEvent")
            + ", count(*) FROM {t} GROUP BY 1, 2",
        ),
    ]
    if cut is not None:
        pairs.append(
            (
                "time range",
                f"SELECT count(*), min(eventtime) < TIMESTAMP '{cut}' FROM cloudtrail "
                f"WHERE eventtime >= TIMESTAMP '{cut}' - INTERVAL '1 hour' "
                f"AND eventtime < TIMESTAMP '{cut}' + INTERVAL '1 day'",
                f"SELECT count(*), min(CAST(eventTime AS TIMESTAMPTZ)) < TIMESTAMPTZ '{cut}' FROM {{t}} "
                f"WHERE CAST(eventTime AS TIMESTAMPTZ) >= TIMESTAMPTZ '{cut}' - INTERVAL '1 hour' "
                f"AND CAST(eventTime AS TIMESTAMPTZ) < TIMESTAMPTZ '{cut}' + INTERVAL '1 day'",
            )
        )
    for key in PARAMETER_KEYS:
        pairs.append(
            (
                f"requestParameters.{key}",
                f"SELECT json_extract_scalar(requestparameters, '$.{key}'), count(*) "
                f"FROM cloudtrail GROUP BY 1",
                f"SELECT {json_scalar('requestParameters', '$.' + key)}, count(*) FROM {{t}} GROUP BY 1",
            )
        )
    return pairs


def normal(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rows(result):
    return sorted((tuple(normal(v) for v in row) for row in result), key=lambda r: tuple((v is None, v or "") for v in r))


def compare(shape, files, cut):
    """Runs every question through both engines; returns the differences."""
    con = trailsql.connect(*files)
    relation = duckdb_relation(shape, files)
    differences = []
    asked = 0
    for name, ours, theirs in questions(cut):
        mine = rows(con.sql(ours).fetchall())
        other = rows(duckdb.sql(theirs.format(t=relation)).fetchall())
        asked += 1
        if mine != other:
            differences.append(f"{name}: trailsql {mine[:5]} vs DuckDB {other[:5]}")
    return asked, differences


def cut_of(events):
    """A time inside the events' range, to filter on."""
    times = sorted(e["eventTime"] for e in events if isinstance(e.get("eventTime"), str))
    if not times:
        return None
    return times[len(times) // 2].replace("T", " ").rstrip("Z")


def is_event(item):
    return isinstance(item, dict) and "eventTime" in item and "eventSource" in item


def events_of(path):
    """The file's shape and CloudTrail events, or None when it holds none in a shape the
    DuckDB recipes read (Records, a bare array, NDJSON)."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        document = json.loads(data)
    except ValueError:
        try:
            lines = [json.loads(line) for line in data.splitlines() if line.strip()]
        except ValueError:
            return None
        return ("ndjson", lines) if lines and all(is_event(e) for e in lines) else None
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        records = document["Records"]
        return ("records", records) if records and all(is_event(e) for e in records) else None
    if isinstance(document, list) and document and all(is_event(e) for e in document):
        return ("array", document)
    return None


def test_generated_trails_agree(small_trail, tmp_path):
    # trailsql's own generator in a real account's mix: every identity type, errors,
    # nested and large requestParameters, unordered events.
    realistic = tmp_path / "realistic"
    written = trailsql.generate_trail(
        realistic, accounts=2, regions=2, files_per_day=12, events_per_file=60, realistic=True
    )
    assert written["events"] > 2000
    for root, cut in ((small_trail[0], "2024-01-15 00:30:00"), (realistic, "2024-01-01 12:00:00")):
        files = sorted(str(p) for p in Path(root).rglob("*.json.gz"))
        asked, differences = compare("records", files, cut)
        assert asked >= 10
        assert not differences, "\n".join(differences)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/corpus is not beside the project")
def test_every_cloudtrail_file_in_the_shared_corpus_agrees():
    groups = defaultdict(list)
    events = defaultdict(list)
    for base, _, names in os.walk(SHARED):
        for name in sorted(names):
            path = os.path.join(base, name)
            if not name.endswith((".json", ".json.gz", ".ndjson", ".jsonl")):
                continue
            found = events_of(path)
            if found is None:
                continue
            shape, found_events = found
            source = os.path.relpath(path, SHARED).split(os.sep)[0]
            groups[(source, shape)].append(path)
            events[(source, shape)].extend(found_events)
    assert sum(len(files) for files in groups.values()) >= 100
    report = []
    total = 0
    for (source, shape), files in sorted(groups.items()):
        asked, differences = compare(shape, files, cut_of(events[(source, shape)]))
        total += asked
        report.extend(f"{source} ({shape}, {len(files)} files): {d}" for d in differences)
    print(f"{total} questions over {len(groups)} groups of files")
    assert not report, "\n".join(report)
