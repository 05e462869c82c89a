"""DuckDB pointed at the pages: read_json over every job-result page, unnest the five core
tables (conversations, participants, sessions, segments, session_metrics) with their keys
carried down, and COPY each to zstd Parquet. Two threads, as the machine has two cores.

    python duckdb_etl.py <pages dir> <out dir>
"""
import pathlib
import sys

import duckdb


def session(pages, out):
    """A DuckDB connection as every DuckDB run of the bench uses it (two threads, as the
    machine has two cores; no insertion order kept), the glob of the pages under `pages`, and
    `out` made: shared with duckdb_aggregates.py."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET preserve_insertion_order = false")
    return con, str(pathlib.Path(pages) / "*.json"), out


def main(pages, out):
    con, glob, out = session(pages, out)
    con.execute(f"""
        CREATE TEMP TABLE conv AS
        SELECT DISTINCT ON (c.conversationId) c
        FROM (SELECT unnest(conversations) AS c
              FROM read_json('{glob}', format = 'auto', maximum_object_size = 1000000000,
                             sample_size = -1))
    """)
    con.execute("""CREATE TEMP TABLE part AS
        SELECT c.conversationId AS conversation_id, unnest(c.participants) AS p FROM conv""")
    con.execute("""CREATE TEMP TABLE sess AS
        SELECT conversation_id, p.participantId AS participant_id, unnest(p.sessions) AS s FROM part""")
    copy = "(FORMAT parquet, COMPRESSION zstd)"
    con.execute(f"COPY (SELECT c.* EXCLUDE (participants) FROM conv) TO '{out}/conversations.parquet' {copy}")
    con.execute(f"COPY (SELECT conversation_id, p.* EXCLUDE (sessions) FROM part) TO '{out}/participants.parquet' {copy}")
    con.execute(f"COPY (SELECT conversation_id, participant_id, s.* EXCLUDE (segments, metrics) FROM sess) TO '{out}/sessions.parquet' {copy}")
    con.execute(f"""COPY (SELECT conversation_id, s.sessionId AS session_id,
                           generate_subscripts(s.segments, 1) - 1 AS segment_index,
                           unnest(s.segments) AS g FROM sess) TO '{out}/segments.parquet' {copy}""")
    con.execute(f"""COPY (SELECT conversation_id, s.sessionId AS session_id,
                           generate_subscripts(s.metrics, 1) - 1 AS metric_index,
                           unnest(s.metrics) AS m FROM sess) TO '{out}/session_metrics.parquet' {copy}""")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
