"""DuckDB pointed at conversation-aggregates query pages: one row per bucket and metric, with
the bucket's interval, the group's dimensions as columns and as JSON, and the metric's name and
statistics as columns, COPY'd to zstd Parquet. Two threads, as the machine has two cores.

The shape is the loader's `conversation_aggregates` table, written as a user would write it
for DuckDB: `read_json` infers the structs, and `unnest(..., recursive := true)` makes columns
of whatever a metric holds. It writes fewer columns than the loader (no column for a dimension
or statistic the pages never hold, no run id, group key or granularity) and does not drop
repeated rows. It also reads the pages twice, once to infer the structs (`sample_size = -1`;
each page is one top-level value, so DuckDB's default sample, up to 32 files, reads every page
of the bench's few days too), which the loader, with its schemas, does not.

    python duckdb_aggregates.py <pages dir> <out dir>
"""
import sys

from duckdb_etl import session


def main(pages, out):
    con, glob, out = session(pages, out)
    con.execute(f"""
        CREATE TEMP TABLE bucket AS
        SELECT r."group" AS grp, unnest(r.data) AS d
        FROM (SELECT unnest(results) AS r
              FROM read_json('{glob}', format = 'auto', maximum_object_size = 1000000000,
                             sample_size = -1))
    """)
    con.execute(f"""
        COPY (
          SELECT CAST(split_part(d.interval, '/', 1) AS TIMESTAMPTZ) AS interval_start,
                 CAST(split_part(d.interval, '/', 2) AS TIMESTAMPTZ) AS interval_end,
                 unnest(grp), to_json(grp) AS group_dimensions,
                 unnest(m, recursive := true)
          FROM (SELECT grp, d, unnest(d.metrics) AS m FROM bucket)
        ) TO '{out}/conversation_aggregates.parquet' (FORMAT parquet, COMPRESSION zstd)
    """)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
