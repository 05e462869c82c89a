"""The ETL a user without the loader would write: json + pyarrow, one process.

Reads every job-result page (plain JSON files) in a folder, flattens the five core tables
(conversations, participants, sessions, segments, session_metrics) with their keys carried
down, nested values kept as JSON text, and writes one zstd Parquet file per table.

    python python_etl.py <pages dir> <out dir>
"""
import json
import pathlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def flat(obj, skip, **keys):
    row = dict(keys)
    for k, v in obj.items():
        if k in skip:
            continue
        row[k] = json.dumps(v) if isinstance(v, (dict, list)) else v
    return row


def main(pages, out):
    tables = {t: [] for t in ("conversations", "participants", "sessions", "segments", "session_metrics")}
    seen = set()
    for path in sorted(pathlib.Path(pages).glob("*.json")):
        page = json.loads(path.read_bytes())
        for c in page.get("conversations") or []:
            cid = c["conversationId"]
            if cid in seen:
                continue
            seen.add(cid)
            tables["conversations"].append(flat(c, {"participants"}))
            for p in c.get("participants") or []:
                pid = p["participantId"]
                tables["participants"].append(flat(p, {"sessions"}, conversation_id=cid))
                for s in p.get("sessions") or []:
                    sid = s["sessionId"]
                    tables["sessions"].append(
                        flat(s, {"segments", "metrics"}, conversation_id=cid, participant_id=pid))
                    for i, g in enumerate(s.get("segments") or []):
                        tables["segments"].append(
                            flat(g, (), conversation_id=cid, session_id=sid, segment_index=i))
                    for i, m in enumerate(s.get("metrics") or []):
                        tables["session_metrics"].append(
                            flat(m, (), conversation_id=cid, session_id=sid, metric_index=i))
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        pq.write_table(pa.Table.from_pylist(rows), out / f"{name}.parquet", compression="zstd")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
