-- genesys-loader 0.1.0 load script for run 20261103T031500Z-0a1b2c3d
-- Range: conversations that started in [2026-11-01T00:00:00Z, 2026-11-03T00:00:00Z).
-- Loads exactly the files listed in _manifests/20261103T031500Z-0a1b2c3d.json; safe to run again.
-- @RAW.GENESYS.genesys_stage must point at the output root (the folder that holds _manifests/).
-- Run with stop-on-error: nothing is committed unless every statement succeeds.

BEGIN TRANSACTION;

-- Order guard: refuse to replace days that a newer run has already loaded.
SELECT IFF(newer = 0, 'ok', TO_VARCHAR(TO_NUMBER('refusing to load run 20261103T031500Z-0a1b2c3d: the newer run ' || latest || ' already loaded ' || newer || ' of its partitions; load that run or a newer one'))) AS order_guard
  FROM (SELECT COUNT(*) AS newer, MAX(run_id) AS latest FROM RAW.GENESYS.genesys_loaded_partitions
    WHERE run_id > '20261103T031500Z-0a1b2c3d' AND ((dataset = 'conversations' AND partition_value IN (DATE '2026-11-01', DATE '2026-11-02'))));

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

-- flows: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.flows
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.flows
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'flows/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'flows/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- flow_outcomes: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.flow_outcomes
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.flow_outcomes
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'flow_outcomes/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'flow_outcomes/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- media_endpoint_stats: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.media_endpoint_stats
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.media_endpoint_stats
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'media_endpoint_stats/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'media_endpoint_stats/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- agent_groups: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.agent_groups
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.agent_groups
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'agent_groups/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'agent_groups/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- proposed_agents: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.proposed_agents
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.proposed_agents
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'proposed_agents/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'proposed_agents/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- segment_properties: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.segment_properties
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.segment_properties
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'segment_properties/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'segment_properties/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- scored_agents: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.scored_agents
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.scored_agents
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'scored_agents/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'scored_agents/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- evaluations: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.evaluations
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.evaluations
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'evaluations/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'evaluations/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- surveys: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.surveys
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.surveys
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'surveys/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'surveys/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- resolutions: replace 2 partition(s) with 2 file(s), 300 row(s)
DELETE FROM RAW.GENESYS.resolutions
 WHERE conversation_date IN (DATE '2026-11-01', DATE '2026-11-02');
COPY INTO RAW.GENESYS.resolutions
  FROM @RAW.GENESYS.genesys_stage
  FILES = (
    'resolutions/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
    'resolutions/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
  )
  FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
  ON_ERROR = ABORT_STATEMENT
  FORCE = TRUE;

-- Record this run as the last to load its partitions.
DELETE FROM RAW.GENESYS.genesys_loaded_partitions
 WHERE (dataset = 'conversations' AND partition_value IN (DATE '2026-11-01', DATE '2026-11-02'));
INSERT INTO RAW.GENESYS.genesys_loaded_partitions (dataset, partition_value, run_id, loaded_at) VALUES
  ('conversations', DATE '2026-11-01', '20261103T031500Z-0a1b2c3d', CURRENT_TIMESTAMP()),
  ('conversations', DATE '2026-11-02', '20261103T031500Z-0a1b2c3d', CURRENT_TIMESTAMP());

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
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: flows loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS flows_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.flows WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: flow_outcomes loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS flow_outcomes_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.flow_outcomes WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: media_endpoint_stats loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS media_endpoint_stats_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.media_endpoint_stats WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: agent_groups loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS agent_groups_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.agent_groups WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: proposed_agents loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS proposed_agents_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.proposed_agents WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: segment_properties loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS segment_properties_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.segment_properties WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: scored_agents loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS scored_agents_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.scored_agents WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: evaluations loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS evaluations_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.evaluations WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: surveys loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS surveys_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.surveys WHERE run_id = '20261103T031500Z-0a1b2c3d');
SELECT IFF(loaded = 300, 'ok', TO_VARCHAR(TO_NUMBER('reconciliation failed: resolutions loaded ' || loaded || ' rows of run 20261103T031500Z-0a1b2c3d, the manifest lists 300'))) AS resolutions_reconciled
  FROM (SELECT COUNT(*) AS loaded FROM RAW.GENESYS.resolutions WHERE run_id = '20261103T031500Z-0a1b2c3d');

COMMIT;
