"""SQL over AWS CloudTrail logs, in process.

    >>> import trailsql
    >>> con = trailsql.connect()            # the bundled sample; or files, folders, s3:// URLs
    >>> res = con.sql("SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1")
    >>> df = res.to_pandas()                # or to_polars(), to_arrow(), fetchall(), list(res)

Results implement the Arrow PyCapsule interface, so ``pa.table(res)``,
``pl.DataFrame(res)`` and ``duckdb.sql("FROM res")`` take them without copies. Each read
of a result runs the query again; ``res.collect()`` keeps one run in memory.

Errors derive from :class:`trailsql.Error`: :class:`SourceError` (``.path``),
:class:`DecodeError` (``.file``, ``.record``, ``.after_record``, ``.field``),
:class:`QueryError` and its :class:`ReadOnlyError`, and :class:`InteropError`.
"""

from trailsql._trailsql import (
    CheckReport,
    CheckRun,
    Column,
    Connection,
    DecodeError,
    Error,
    InteropError,
    QueryError,
    ReadOnlyError,
    Result,
    RowIterator,
    SourceError,
    Stats,
    Table,
    TestReport,
    __version__,
    connect,
    datafusion_version,
    generate_trail,
    test_queries,
)

__all__ = [
    "CheckReport",
    "CheckRun",
    "Column",
    "Connection",
    "DecodeError",
    "Error",
    "InteropError",
    "QueryError",
    "ReadOnlyError",
    "Result",
    "RowIterator",
    "SourceError",
    "Stats",
    "Table",
    "TestReport",
    "__version__",
    "connect",
    "datafusion_version",
    "generate_trail",
    "test_queries",
]
