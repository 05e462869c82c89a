-- genesys-loader <version> Snowflake DDL, generated from schemas/

CREATE TABLE IF NOT EXISTS RAW.GENESYS.divisions (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the division',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  name          VARCHAR COMMENT 'The division''s name',
  description   VARCHAR COMMENT 'A helpful description for the division',
  home_division BOOLEAN COMMENT 'Whether this is the org''s Home (default) division',
  object_counts VARIANT COMMENT 'Counts of objects in this division by type, as a JSON object (served when asked with objectCount=true)',
  self_uri      VARCHAR COMMENT 'The URI of this division in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per division of the org (AuthzDivision): a full snapshot per run, merged by id. Division ids on conversations join here. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS RAW.GENESYS.divisions_staging (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the division',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  name          VARCHAR COMMENT 'The division''s name',
  description   VARCHAR COMMENT 'A helpful description for the division',
  home_division BOOLEAN COMMENT 'Whether this is the org''s Home (default) division',
  object_counts VARIANT COMMENT 'Counts of objects in this division by type, as a JSON object (served when asked with objectCount=true)',
  self_uri      VARCHAR COMMENT 'The URI of this division in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for divisions: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS RAW.GENESYS.genesys_loaded_partitions (
  dataset         VARCHAR NOT NULL COMMENT 'Dataset whose tables were loaded (conversations, divisions, ...)',
  partition_value DATE NOT NULL COMMENT 'The partition (conversation_date or snapshot_date) that was replaced',
  run_id          VARCHAR NOT NULL COMMENT 'The run whose files are loaded there now; run ids sort by start time',
  loaded_at       TIMESTAMP_TZ(6) NOT NULL COMMENT 'When its load script committed',
  divisions       ARRAY COMMENT 'Ids of the divisions the loading client reached for the dataset (NULL: not known, or not division-scoped); a later load that does not reach one of them is refused'
)
COMMENT = 'genesys-loader bookkeeping: the last run to load each partition; load scripts refuse to replace newer data with older';
