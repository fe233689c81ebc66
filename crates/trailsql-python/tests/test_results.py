"""Results: every conversion path, re-use, the PyCapsule interface, optional packages and
the notebook repr."""

import datetime
import gzip
import json
import subprocess
import sys
import textwrap

import pytest

import trailsql

GROUP_BY = (
    "SELECT eventsource, eventname, count(*) AS n FROM cloudtrail "
    "GROUP BY 1, 2 ORDER BY n DESC, eventname"
)


@pytest.fixture(scope="module")
def con(small_trail):
    return trailsql.connect(str(small_trail[0]))


def test_the_seed_example_comes_out_exactly(tmp_path):
    from conftest import KINESIS_EXAMPLE

    con = trailsql.connect(str(KINESIS_EXAMPLE))
    rows = con.sql(
        "SELECT eventtime, eventname, useridentity_username, sourceipaddress, "
        "requestparameters_streamname FROM cloudtrail ORDER BY eventtime, eventname"
    ).fetchall()
    utc = datetime.timezone.utc

    def at(minute, second):
        return datetime.datetime(2014, 4, 19, 0, minute, second, tzinfo=utc)

    alice = ("Alice", "127.0.0.1")
    assert rows == [
        (at(15, 2), "ListStreams", *alice, None),
        (at(15, 3), "SplitShard", *alice, "GoodStream"),
        (at(16, 31), "CreateStream", *alice, "GoodStream"),
        (at(16, 56), "MergeShards", *alice, "GoodStream"),
        (at(17, 6), "DescribeStream", *alice, "GoodStream"),
        (at(17, 7), "DeleteStream", *alice, "GoodStream"),
    ]


def test_every_conversion_gives_the_same_rows(con, small_trail):
    import duckdb
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    res = con.sql(GROUP_BY)
    expected = res.fetchall()
    assert sum(r[2] for r in expected) == small_trail[1]
    assert list(res) == expected
    assert [tuple(r.values()) for r in res.to_arrow().to_pylist()] == expected
    assert [tuple(r) for r in res.to_pandas().itertuples(index=False)] == expected
    assert res.to_polars().rows() == expected
    assert pa.table(res).to_pylist() == res.to_arrow().to_pylist()
    assert pl.DataFrame(res).rows() == expected
    assert duckdb.sql("SELECT * FROM res").fetchall() == expected
    assert res.collect().fetchall() == expected
    reader = res.to_arrow_reader()
    assert isinstance(reader, pa.RecordBatchReader)
    assert sum(b.num_rows for b in reader) == len(expected)
    assert isinstance(res.to_pandas(), pd.DataFrame)


def test_a_result_is_read_again_and_again(con, small_trail):
    import pyarrow as pa

    res = con.sql("SELECT count(*) AS n FROM cloudtrail")
    for _ in range(3):
        assert pa.table(res).column("n").to_pylist() == [small_trail[1]]
        assert res.fetchall() == [(small_trail[1],)]
    # Each read is a new run with its own stats.
    assert res.stats.events == small_trail[1]
    assert res.stats.rows == 1


def test_types_come_out_as_python_and_pandas_expect(con):
    import pandas as pd

    res = con.sql(
        "SELECT eventtime, readonly, requestparameters_bucketname, "
        "CAST(1.5 AS DOUBLE) AS x, NULL AS nothing, [1, 2] AS items, "
        "named_struct('a', 1, 'b', 'two') AS s "
        "FROM cloudtrail ORDER BY eventtime LIMIT 1"
    )
    (row,) = res.fetchall()
    when, readonly, bucket, x, nothing, items, s = row
    assert isinstance(when, datetime.datetime) and when.tzinfo == datetime.timezone.utc
    assert isinstance(readonly, bool)
    assert bucket.startswith("bucket-")
    assert x == 1.5 and nothing is None and items == [1, 2] and s == {"a": 1, "b": "two"}
    frame = res.to_pandas()
    assert isinstance(frame["eventtime"].dtype, pd.DatetimeTZDtype)
    assert str(frame["eventtime"].dt.tz) == "UTC"


def test_requested_schema_is_honoured(con):
    import pyarrow as pa

    res = con.sql("SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1")
    assert res.types == ["Utf8", "Int64"]
    wanted = pa.schema([("eventname", pa.large_string()), ("n", pa.int32())])
    capsule = res.__arrow_c_stream__(wanted.__arrow_c_schema__())
    table = pa.RecordBatchReader._import_from_c_capsule(capsule).read_all()
    assert table.schema.field("eventname").type == pa.large_string()
    assert table.schema.field("n").type == pa.int32()
    assert sum(table.column("n").to_pylist()) == sum(r[1] for r in res.fetchall())
    schema = pa.Schema._import_from_c_capsule(res.__arrow_c_schema__())
    assert schema.names == ["eventname", "n"]


def test_nothing_runs_until_the_result_is_read(con):
    res = con.sql("SELECT * FROM cloudtrail")
    assert res.stats is None
    # Asking for the stream's schema does not run the query either.
    import pyarrow as pa

    pa.RecordBatchReader._import_from_c_capsule(res.__arrow_c_stream__()).schema
    assert res.stats is None
    res.fetchall()
    assert res.stats is not None and res.stats.files_read > 0


def test_optional_packages_are_imported_only_when_needed(small_trail):
    """Without pyarrow and pandas, fetchall, iteration and to_polars still work, and
    to_pandas says what to install."""
    code = textwrap.dedent(
        f"""
        import sys

        # As if not installed: importing them raises ImportError.
        sys.modules["pyarrow"] = None
        sys.modules["pandas"] = None
        import trailsql
        assert "polars" not in sys.modules
        import trailsql
        con = trailsql.connect({str(small_trail[0])!r})
        res = con.sql("SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1")
        rows = res.fetchall()
        assert sorted(list(res)) == sorted(rows)
        assert "polars" not in sys.modules
        assert sorted(res.to_polars().rows()) == sorted(rows)
        try:
            res.to_pandas()
        except ImportError as error:
            assert "pip install" in str(error), error
        else:
            raise AssertionError("to_pandas without pandas")
        assert sys.modules["pyarrow"] is None and sys.modules["pandas"] is None
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_html_repr_is_compact_and_escaped(con):
    res = con.sql(
        "SELECT '<script>x</script>' AS markup, requestparameters, eventname "
        "FROM cloudtrail ORDER BY eventtime"
    )
    html = res._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    # JSON cells are cut short.
    assert "…" in html
    assert html.count("<tr>") == 1 + 10
    assert "2000 rows × 3 columns (first 10 shown)" in html
    assert html.rstrip().endswith(" s</small></p></div>")
    text = repr(res)
    assert "(first 10 shown)" in text and "| markup" in text
    table = res.collect()
    assert len(table) == 2000
    assert "2000 rows × 3 columns (first 10 shown)" in table._repr_html_()


def test_stats_report_what_was_read(small_trail):
    con = trailsql.connect(str(small_trail[0]))
    assert con.stats is None
    res = con.sql("SELECT count(*) FROM cloudtrail WHERE awsregion = 'eu-west-1'")
    res.fetchall()
    stats = res.stats
    assert stats.events == small_trail[1] // 2
    # Only the two eu-west-1 folders are listed: the layout prunes the rest unlisted.
    assert stats.prefixes_listed == 2 and stats.objects_listed == 20
    assert stats.files_read == 20
    assert stats.rows == 1 and stats.elapsed > 0
    assert not stats.has_skips
    assert stats.to_dict()["files_read"] == 20
    assert stats.to_dict()["peak_concurrent_reads"] == stats.peak_concurrent_reads >= 1
    assert "files:" in str(stats)
    assert con.stats.files_read == 20


def test_a_large_plain_export_is_read_in_parts(tmp_path):
    # Over 32 MiB of NDJSON: read a part at a time, with every record counted once.
    line = json.dumps({"eventVersion": "1.09", "eventTime": "2024-01-01T00:00:00Z",
                       "eventName": "GetObject", "userAgent": "x" * 900}) + "\n"
    records = (33 << 20) // len(line) + 1000
    path = tmp_path / "export.ndjson"
    path.write_text(line * records)
    res = trailsql.connect(str(path)).sql("SELECT count(*), max(eventname) FROM cloudtrail")
    assert res.fetchall() == [(records, "GetObject")]
    assert res.stats.file_parts == 2 and res.stats.files_read == 1
    assert res.stats.to_dict()["file_parts"] == 2
    assert "read in 2 part(s)" in str(res.stats)


def test_a_large_gzipped_export_is_inflated_in_parts(tmp_path):
    # Inflating to over 32 MiB: inflated a part at a time, never whole; parts are no
    # larger than max_inflated_bytes, so a smaller cap makes more of them.
    line = json.dumps({"eventVersion": "1.09", "eventTime": "2024-01-01T00:00:00Z",
                       "eventName": "GetObject", "userAgent": "x" * 900}) + "\n"
    records = (33 << 20) // len(line) + 1000
    path = tmp_path / "export.ndjson.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write((line * records).encode())
    res = trailsql.connect(str(path)).sql("SELECT count(*), max(eventname) FROM cloudtrail")
    assert res.fetchall() == [(records, "GetObject")]
    assert res.stats.file_parts == 2 and res.stats.bytes_inflated == len(line) * records
    res = trailsql.connect(str(path), max_inflated_bytes=8 << 20).sql(
        "SELECT count(*) FROM cloudtrail")
    assert res.fetchall() == [(records,)]
    assert res.stats.file_parts == 5


def test_the_type_stubs_name_what_exists():
    import ast
    from pathlib import Path

    stubs = Path(trailsql.__file__).with_name("_trailsql.pyi")
    tree = ast.parse(stubs.read_text())
    from trailsql import _trailsql

    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            cls = getattr(_trailsql, node.name)
            for member in node.body:
                if isinstance(member, ast.FunctionDef):
                    assert hasattr(cls, member.name), f"{node.name}.{member.name}"
                elif isinstance(member, ast.AnnAssign):
                    name = member.target.id
                    if issubclass(cls, BaseException):
                        continue  # set on each instance
                    assert hasattr(cls, name), f"{node.name}.{name}"
        elif isinstance(node, ast.FunctionDef):
            assert callable(getattr(_trailsql, node.name)), node.name
        elif isinstance(node, ast.AnnAssign) and not node.target.id.startswith("_V"):
            assert hasattr(_trailsql, node.target.id), node.target.id
