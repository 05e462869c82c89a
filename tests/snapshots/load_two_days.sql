-- genesys-loader 0.1.0 load script for run 20261103T031500Z-0a1b2c3d
-- Range: conversations that started in [2026-11-01T00:00:00Z, 2026-11-03T00:00:00Z).
-- Loads exactly the files listed in _manifests/20261103T031500Z-0a1b2c3d.json; safe to run again.
-- @RAW.GENESYS.genesys_stage must point at the output root (the folder that holds _manifests/).
-- Run with stop-on-error: nothing is committed unless every statement succeeds.

BEGIN TRANSACTION;

-- conversations: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.conversations
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.conversations
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'conversations/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'conversations/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- participants: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.participants
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.participants
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'participants/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'participants/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- sessions: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.sessions
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.sessions
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'sessions/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'sessions/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- segments: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.segments
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.segments
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'segments/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'segments/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- session_metrics: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.session_metrics
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.session_metrics
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'session_metrics/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'session_metrics/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- Reconciliation: each table holds exactly the manifest's rows of this run.
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: conversations loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS conversations_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.conversations WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: participants loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS participants_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.participants WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: sessions loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS sessions_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.sessions WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: segments loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS segments_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.segments WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: session_metrics loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS session_metrics_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.session_metrics WHERE run_id = '20261103T031500Z-0a1b2c3d');

COMMIT;
