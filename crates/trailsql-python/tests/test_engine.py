"""The engine from Python: errors, parameters, saved queries, Parquet, threads, fork,
cancellation, streaming in bounded memory and datafusion-python."""

import datetime
import gzip
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import trailsql
from conftest import FIXTURES, KINESIS_EXAMPLE, QUERIES

# --- errors -------------------------------------------------------------------------


def test_errors_form_a_small_hierarchy():
    for cls in (trailsql.SourceError, trailsql.DecodeError, trailsql.QueryError, trailsql.InteropError):
        assert issubclass(cls, trailsql.Error)
    assert issubclass(trailsql.ReadOnlyError, trailsql.QueryError)
    assert issubclass(trailsql.Error, Exception)


def test_a_missing_source_names_its_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(trailsql.SourceError) as caught:
        trailsql.connect(missing)
    assert caught.value.path == str(missing)
    assert "no such file or folder" in str(caught.value)


def test_a_bad_record_names_file_record_and_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventName":"A"},'
        '{"eventTime":"yesterday","eventName":"B"}]}'
    )
    con = trailsql.connect(tmp_path)
    with pytest.raises(trailsql.DecodeError) as caught:
        con.sql("SELECT eventtime FROM cloudtrail").fetchall()
    error = caught.value
    assert (error.file, error.record, error.field) == (str(bad), 1, "eventTime")
    assert error.after_record is None
    assert "expected an ISO-8601 time" in str(error)


def test_an_error_after_the_last_record_says_so(tmp_path):
    cut = tmp_path / "cut.json"
    cut.write_text('{"Records":[{"eventName":"A"},{"eventName":"B"}]')
    con = trailsql.connect(tmp_path)
    with pytest.raises(trailsql.DecodeError) as caught:
        con.sql("SELECT eventname FROM cloudtrail").fetchall()
    error = caught.value
    assert (error.record, error.after_record, error.field) == (None, 1, None)
    assert f"{cut}: after record 1: invalid JSON" in str(error)


def test_skipped_input_is_counted_not_raised(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventName":"A"}]}')
    (tmp_path / "truncated.json.gz").write_bytes(gzip.compress(b'{"Records":[{"eventName":"B"}]}')[:20])
    with pytest.raises(trailsql.DecodeError, match="truncated.json.gz"):
        trailsql.connect(tmp_path).sql("SELECT eventname FROM cloudtrail").fetchall()
    con = trailsql.connect(tmp_path, on_error="skip")
    res = con.sql("SELECT eventname FROM cloudtrail")
    assert res.fetchall() == [("A",)]
    assert res.stats.has_skips and res.stats.files_failed == 1
    assert "truncated.json.gz" in res.stats.skipped_errors[0]


def test_sql_errors_are_query_errors():
    con = trailsql.connect()
    with pytest.raises(trailsql.QueryError, match="nope"):
        con.sql("SELECT nope FROM cloudtrail")
    with pytest.raises(trailsql.QueryError):
        con.sql("SELEC 1")


def test_an_unknown_column_gets_the_closest_not_every_column():
    con = trailsql.connect()
    with pytest.raises(trailsql.QueryError) as caught:
        con.sql("SELECT eventnam FROM cloudtrail")
    message = str(caught.value)
    assert "Did you mean 'cloudtrail.eventname'?" in message
    assert "DESCRIBE cloudtrail" in message
    assert "useridentity_arn" not in message and message.count("No field named") == 1, message


def test_athena_text_booleans_compare_with_boolean_columns():
    con = trailsql.connect()
    both = con.sql(
        "SELECT count(*) FILTER (WHERE readonly = 'true') + count(*) FILTER (WHERE readonly IN ('false')) AS n, "
        "count(readonly) AS total FROM cloudtrail"
    ).to_arrow().to_pylist()[0]
    assert both["n"] == both["total"] > 0


def test_read_only_refuses_writes(tmp_path):
    con = trailsql.connect(read_only=True)
    target = tmp_path / "out.csv"
    with pytest.raises(trailsql.ReadOnlyError, match="COPY"):
        con.sql(f"COPY (SELECT 1) TO '{target}'")
    assert not target.exists()
    assert con.sql("SELECT count(*) FROM cloudtrail").fetchall()[0][0] > 0


def test_bad_arguments_are_value_and_type_errors():
    with pytest.raises(ValueError, match="on_error"):
        trailsql.connect(on_error="ignore")
    with pytest.raises(ValueError, match="late_delivery"):
        trailsql.connect(late_delivery="soon")
    con = trailsql.connect()
    with pytest.raises(TypeError, match="parameter"):
        con.sql("SELECT $1", params=[object()])


# --- the library surface ---------------------------------------------------------------


def test_parameters_bind_by_name_and_position():
    con = trailsql.connect(KINESIS_EXAMPLE)
    by_name = con.sql(
        "SELECT eventname FROM cloudtrail WHERE requestparameters_streamname = $stream "
        "AND eventtime >= $since ORDER BY eventtime",
        params={"stream": "GoodStream", "since": datetime.datetime(2014, 4, 19, 0, 16)},
    )
    assert by_name.fetchall() == [("CreateStream",), ("MergeShards",), ("DescribeStream",), ("DeleteStream",)]
    by_position = con.sql("SELECT $1 + 1, $2, $3 IS NULL", params=[41, "x", None])
    assert by_position.fetchall() == [(42, "x", True)]


def test_statements_take_effect_once():
    con = trailsql.connect(KINESIS_EXAMPLE)
    con.sql("CREATE VIEW streams AS SELECT DISTINCT requestparameters_streamname AS s FROM cloudtrail")
    res = con.sql("SELECT count(*) FROM streams WHERE s IS NOT NULL")
    assert res.fetchall() == [(1,)] and res.fetchall() == [(1,)]


def test_time_window_limits_every_later_query(small_trail):
    con = trailsql.connect(small_trail[0])
    total = con.sql("SELECT count(*) FROM cloudtrail").fetchall()[0][0]
    con.set_time_window(since="2024-01-15T00:05:00Z", until=datetime.datetime(2024, 1, 15, 0, 7))
    windowed = con.sql("SELECT count(*), min(eventtime), max(eventtime) FROM cloudtrail").fetchall()[0]
    assert 0 < windowed[0] < total
    utc = datetime.timezone.utc
    assert windowed[1] >= datetime.datetime(2024, 1, 15, 0, 5, tzinfo=utc)
    assert windowed[2] < datetime.datetime(2024, 1, 15, 0, 7, tzinfo=utc)
    con.set_time_window()
    assert con.sql("SELECT count(*) FROM cloudtrail").fetchall()[0][0] == total


def test_columns_carry_their_meaning():
    con = trailsql.connect()
    columns = {c.name: c for c in con.columns()}
    arn = columns["useridentity_arn"]
    assert arn.sql_type == "VARCHAR" and arn.source == "userIdentity.arn" and arn.description
    assert columns["eventtime"].arrow_type.startswith("Timestamp(")
    assert [c.name for c in con.columns()] == con.sql("SELECT * FROM cloudtrail").columns


def test_athena_style_sql_runs():
    con = trailsql.connect(KINESIS_EXAMPLE)
    rows = con.sql(
        "SELECT userIdentity.userName, element_at(requestParameters, 'streamName') AS s, "
        "json_extract_scalar(requestparameters, '$.shardCount') AS shards "
        "FROM cloudtrail WHERE eventName = 'CreateStream'"
    ).fetchall()
    assert rows == [("Alice", "GoodStream", "1")]


def test_check_runs_saved_queries_as_the_cli_does():
    con = trailsql.connect(KINESIS_EXAMPLE)
    report = con.check([FIXTURES / "checks" / "good"])
    assert report.summary()["queries"] == len(report.runs) > 0
    outcomes = {run.id: run.outcome for run in report.runs}
    assert set(outcomes.values()) <= {"pass", "finding"}
    assert report.exit_code in (0, 1)
    assert "queries" in report.report()
    assert report.report("json").lstrip().startswith("{")
    assert "<testsuite" in report.report("junit")
    finding = next((r for r in report.runs if r.outcome == "finding"), None)
    if finding is not None:
        assert len(finding.result) == finding.rows
    bad = con.check([FIXTURES / "checks" / "bad"])
    assert bad.exit_code == 2 and not bad.passed


def test_saved_queries_pass_their_fixtures():
    report = trailsql.test_queries([QUERIES], minimum_tests=2)
    assert report.passed, report.report()
    assert len(report.queries) >= 20
    assert all(q["passed"] for q in report.queries)


def test_convert_and_the_cache(small_trail, tmp_path):
    con = trailsql.connect(small_trail[0], cache=tmp_path / "cache")
    expected = sorted(con.sql("SELECT eventname, count(*) FROM cloudtrail GROUP BY 1").fetchall())
    assert con.cache_coverage() == (40, 40)
    report = con.convert(tmp_path / "parquet")
    assert "40" in report
    converted = trailsql.connect(tmp_path / "parquet")
    res = converted.sql("SELECT eventname, count(*) FROM cloudtrail GROUP BY 1")
    assert sorted(res.fetchall()) == expected
    assert res.stats.parquet_files > 0
    info = con.cache_info()
    assert info["objects"] == 40 and info["rows"] == small_trail[1] and info["bytes"] > 0
    assert con.clear_cache() == info
    assert con.cache_coverage() == (0, 40)
    assert trailsql.connect(small_trail[0]).cache_info() is None


def test_csv_output_is_the_clis(tmp_path):
    con = trailsql.connect(KINESIS_EXAMPLE)
    res = con.sql(
        "SELECT eventname, named_struct('a', 1, 'b', 'x,y') AS s, [1, 2] AS l, "
        "requestparameters_shardcount FROM cloudtrail "
        "WHERE eventname IN ('CreateStream', 'ListStreams') ORDER BY eventname"
    )
    # As `trailsql FILE --format csv -c SQL` prints it.
    assert res.to_csv() == (
        "eventname,s,l,requestparameters_shardcount\n"
        'CreateStream,"{""a"":1,""b"":""x,y""}","[1,2]",1\n'
        'ListStreams,"{""a"":1,""b"":""x,y""}","[1,2]",\n'
    )
    text = res.to_csv()
    out = tmp_path / "out.csv"
    assert res.collect().to_csv(out) is None
    assert out.read_text() == text


# --- threads, fork, cancellation, memory -----------------------------------------------


def test_the_gil_is_released_while_a_query_runs(large_trail):
    con = trailsql.connect(large_trail[0])
    done = threading.Event()
    failures = []

    def query():
        try:
            con.sql("SELECT eventsource, count(*) FROM cloudtrail GROUP BY 1").fetchall()
        except Exception as error:  # reported below
            failures.append(error)
        done.set()

    threading.Thread(target=query).start()
    spins = 0
    while not done.is_set():
        spins += 1
    assert not failures
    # Holding the GIL for the whole query would leave this thread a few switch
    # intervals at most.
    assert spins > 100_000


@pytest.fixture
def sigint_raises():
    """Ctrl-C raises KeyboardInterrupt, as in a terminal, even when the tests were started
    where SIGINT is ignored (a background job of a script): Python then leaves it so."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_cancels_a_query_and_frees_it(large_trail, sigint_raises):
    con = trailsql.connect(large_trail[0])
    res = con.sql("SELECT eventsource, count(*) FROM cloudtrail GROUP BY 1")

    # Interrupted once the scan has decoded its first events, not after a fixed time,
    # which a faster scan could outrun (the whole query takes about 0.6 s in a debug build).
    def interrupt_once_decoding():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stats = res.stats
            if stats is not None and stats.events > 0:
                break
            time.sleep(0.0005)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_decoding, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        res.fetchall()
    assert time.monotonic() - started < 3
    # The scan stopped: nothing more is decoded after the interrupt.
    time.sleep(0.3)
    decoded = res.stats.events
    time.sleep(0.7)
    assert res.stats.events == decoded < large_trail[1]
    assert con.sql("SELECT count(*) FROM cloudtrail").fetchall() == [(large_trail[1],)]


def test_a_forked_child_gets_its_own_runtime(small_trail):
    con = trailsql.connect(small_trail[0])
    assert con.sql("SELECT count(*) FROM cloudtrail").fetchall() == [(small_trail[1],)]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            rows = con.sql("SELECT count(*) FROM cloudtrail").fetchall()
            os.write(write, str(rows[0][0]).encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert os.read(read, 100).decode() == str(small_trail[1])
    assert con.sql("SELECT count(*) FROM cloudtrail").fetchall() == [(small_trail[1],)]


def test_a_result_streams_lazily(large_trail):
    import pyarrow as pa

    con = trailsql.connect(large_trail[0])
    res = con.sql("SELECT eventname, useridentity_arn FROM cloudtrail")
    reader = pa.RecordBatchReader.from_stream(res)
    first = reader.read_next_batch()
    assert first.num_rows > 0
    time.sleep(0.3)
    # Only a few batches are decoded ahead of the reader.
    assert res.stats.events < large_trail[1] // 2
    rows = first.num_rows + sum(batch.num_rows for batch in reader)
    assert rows == large_trail[1]


MEMORY = """
import resource, sys, trailsql
con = trailsql.connect(sys.argv[1])
res = con.sql("SELECT eventtime, eventname, useridentity_arn, useridentity, requestparameters FROM cloudtrail")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[2] == "stream":
    import pyarrow as pa
    rows, size = 0, 0
    for batch in pa.RecordBatchReader.from_stream(res):
        rows += batch.num_rows
else:
    table = res.to_arrow()
    rows, size = table.num_rows, table.nbytes
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(rows, size, (after - before) * 1024)
"""


def test_streaming_a_large_result_does_not_hold_it(large_trail):
    def run(mode):
        done = subprocess.run(
            [sys.executable, "-c", MEMORY, str(large_trail[0]), mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return [int(v) for v in done.stdout.split()]

    rows, _, streamed_growth = run("stream")
    table_rows, table_bytes, table_growth = run("table")
    assert rows == table_rows == large_trail[1]
    assert table_bytes > 150 * 2**20
    # Streaming keeps a few batches at a time, not the result.
    assert streamed_growth < table_bytes / 2, (streamed_growth, table_bytes)
    assert streamed_growth < table_growth / 2, (streamed_growth, table_growth)


# --- datafusion-python ---------------------------------------------------------------


def test_registers_as_a_datafusion_python_table(small_trail):
    import datafusion

    con = trailsql.connect(small_trail[0])
    ctx = datafusion.SessionContext()
    ctx.register_table("ct", con)
    query = "SELECT eventname, count(*) AS n FROM {} WHERE awsregion = 'us-east-1' GROUP BY 1"
    theirs = sorted(tuple(r.values()) for r in ctx.sql(query.format("ct")).to_pylist())
    ours = sorted(con.sql(query.format("cloudtrail")).fetchall())
    assert theirs == ours and sum(n for _, n in ours) == small_trail[1] // 2


def test_another_datafusion_major_version_is_refused(monkeypatch):
    import datafusion

    monkeypatch.setattr(datafusion, "__version__", "54.1.0")
    ctx = datafusion.SessionContext()
    with pytest.raises(trailsql.InteropError, match="built with DataFusion 55"):
        trailsql.connect().__datafusion_table_provider__(ctx)
