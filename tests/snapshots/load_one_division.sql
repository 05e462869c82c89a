-- genesys-loader 0.1.0 load script for run 20261103T031500Z-0a1b2c3d
-- Range: conversations that started in [2026-11-01T00:00:00Z, 2026-11-03T00:00:00Z).
-- Loads exactly the files listed in _manifests/20261103T031500Z-0a1b2c3d.json; safe to run again.
-- @RAW.GENESYS.genesys_stage must point at the output root (the folder that holds _manifests/).
-- Divisions: only conversations rows of Sales (7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02) are replaced.
--
-- After the session settings, one statement: a Snowflake Scripting block that runs every
-- step in one transaction and commits, or on any error rolls back and re-raises it, so
-- nothing is committed unless every step succeeds, whatever the runner does after an error.
-- Run the whole file (snowsql -f, the Python connector's execute_string, Airflow's
-- SnowflakeHook.run). A refused guard or a failed check raises its own exception, named for
-- what failed (newer_run_loaded, coverage_shrank_<dataset>, reconciliation_failed_<table>);
-- its message names the table or dataset, the expected count and the run. For the figure
-- found (the rows a table holds, the newer run's id), run the query just above its IF.
-- The same steps as plain statements, one a line: _manifests/20261103T031500Z-0a1b2c3d.steps.jsonl.

ALTER SESSION SET TIMEZONE = 'UTC';

EXECUTE IMMEDIATE $$
DECLARE
  counted INTEGER DEFAULT 0;
  newer_run_loaded EXCEPTION (-20001, 'refusing to load run 20261103T031500Z-0a1b2c3d: a newer run already loaded some of its partitions (see RAW.GENESYS.genesys_loaded_partitions); load that run or a newer one');
  reconciliation_failed_conversations EXCEPTION (-20002, 'reconciliation failed: RAW.GENESYS.conversations does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_participants EXCEPTION (-20003, 'reconciliation failed: RAW.GENESYS.participants does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_sessions EXCEPTION (-20004, 'reconciliation failed: RAW.GENESYS.sessions does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_segments EXCEPTION (-20005, 'reconciliation failed: RAW.GENESYS.segments does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_session_metrics EXCEPTION (-20006, 'reconciliation failed: RAW.GENESYS.session_metrics does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_flows EXCEPTION (-20007, 'reconciliation failed: RAW.GENESYS.flows does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_flow_outcomes EXCEPTION (-20008, 'reconciliation failed: RAW.GENESYS.flow_outcomes does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_media_endpoint_stats EXCEPTION (-20009, 'reconciliation failed: RAW.GENESYS.media_endpoint_stats does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_agent_groups EXCEPTION (-20010, 'reconciliation failed: RAW.GENESYS.agent_groups does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_proposed_agents EXCEPTION (-20011, 'reconciliation failed: RAW.GENESYS.proposed_agents does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_segment_properties EXCEPTION (-20012, 'reconciliation failed: RAW.GENESYS.segment_properties does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_scored_agents EXCEPTION (-20013, 'reconciliation failed: RAW.GENESYS.scored_agents does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_evaluations EXCEPTION (-20014, 'reconciliation failed: RAW.GENESYS.evaluations does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_surveys EXCEPTION (-20015, 'reconciliation failed: RAW.GENESYS.surveys does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
  reconciliation_failed_resolutions EXCEPTION (-20016, 'reconciliation failed: RAW.GENESYS.resolutions does not hold the 300 rows of run 20261103T031500Z-0a1b2c3d that the manifest lists');
BEGIN
  BEGIN TRANSACTION;

  -- Order guard: refuse to replace partitions that a newer run already loaded.
  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.genesys_loaded_partitions
   WHERE run_id > '20261103T031500Z-0a1b2c3d' AND ((dataset = 'conversations' AND partition_value IN (DATE '2026-11-01', DATE '2026-11-02')));
  IF (counted <> 0) THEN RAISE newer_run_loaded; END IF;

  -- conversations: replace the rows of Sales (7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02) in 2 partition(s); the other divisions' rows stay.
  -- conversations: 2 file(s), 300 row(s). First, the rows an earlier execution of this script loaded.
  DELETE FROM RAW.GENESYS.conversations
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND run_id = '20261103T031500Z-0a1b2c3d';
  COPY INTO RAW.GENESYS.conversations (
      conversation_id, conversation_date, conversation_start, access_attributes,
      associated_conversation_id, conference_start, consultation_conversation_ids,
      conversation_end, conversation_initiator, customer_participation, division_ids,
      external_tag, inactivity_timeout, knowledge_base_ids, media_stats_min_conversation_mos,
      media_stats_min_conversation_r_factor, originating_direction,
      originating_social_media_public, self_served, evaluations, surveys, resolutions,
      extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"access_attributes", $1:"associated_conversation_id", $1:"conference_start",
             $1:"consultation_conversation_ids", $1:"conversation_end",
             $1:"conversation_initiator", $1:"customer_participation", $1:"division_ids",
             $1:"external_tag", $1:"inactivity_timeout", $1:"knowledge_base_ids",
             $1:"media_stats_min_conversation_mos", $1:"media_stats_min_conversation_r_factor",
             $1:"originating_direction", $1:"originating_social_media_public", $1:"self_served",
             PARSE_JSON($1:"evaluations"::VARCHAR), PARSE_JSON($1:"surveys"::VARCHAR),
             PARSE_JSON($1:"resolutions"::VARCHAR), PARSE_JSON($1:"extra_fields"::VARCHAR),
             $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'conversations/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'conversations/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- The child tables' rows of the replaced keys: those of Sales (7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02), and those conversations holds again.
  DELETE FROM RAW.GENESYS.participants
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.sessions
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.segments
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.session_metrics
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.flows
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.flow_outcomes
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.media_endpoint_stats
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.agent_groups
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.proposed_agents
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.segment_properties
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.scored_agents
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.evaluations
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.surveys
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));
  DELETE FROM RAW.GENESYS.resolutions
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02'))
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));

  -- The older conversations rows of the replaced keys.
  DELETE FROM RAW.GENESYS.conversations
   WHERE (conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND run_id <> '20261103T031500Z-0a1b2c3d'
     AND (conversation_id IN (SELECT s.conversation_id FROM RAW.GENESYS.conversations AS s, LATERAL FLATTEN(input => s.division_ids) AS f
       WHERE (s.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND f.value::VARCHAR IN ('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02'))
      OR conversation_id IN (SELECT r.conversation_id FROM RAW.GENESYS.conversations AS r
       WHERE (r.conversation_date IN (DATE '2026-11-01', DATE '2026-11-02')) AND r.run_id = '20261103T031500Z-0a1b2c3d'));

  -- participants: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.participants (
      conversation_id, conversation_date, conversation_start, participant_id, external_contact_id,
      external_organization_id, flagged_reason, participant_name, purpose, screen_recording,
      team_id, user_id, attributes, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"external_contact_id", $1:"external_organization_id",
             $1:"flagged_reason", $1:"participant_name", $1:"purpose", $1:"screen_recording",
             $1:"team_id", $1:"user_id", PARSE_JSON($1:"attributes"::VARCHAR),
             PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'participants/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'participants/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- sessions: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.sessions (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      active_skill_ids, acw_skipped, address_from, address_other, address_self, address_to,
      agent_assistant_id, agent_bullseye_ring, agent_owned, ani, assigner_id, authenticated,
      barged_participant_id, bcc, callback_numbers, callback_scheduled_time, callback_user_name,
      cc, cleared, coached_participant_id, cobrowse_role, cobrowse_room_id, delivery_pushed,
      delivery_status, delivery_status_change_date, destination_addresses, detected_speech_end,
      detected_speech_start, direction, disposition_analyzer, disposition_name, dnis, edge_id,
      eligible_agent_counts, engagement_source, error_code_description, extended_delivery_status,
      flow_in_type, flow_out_type, journey_action_id, journey_action_map_id,
      journey_action_map_version, journey_customer_id, journey_customer_id_type,
      journey_customer_session_id, journey_customer_session_id_type, media_bridge_id, media_count,
      media_type, message_type, monitored_participant_id, outbound_campaign_id,
      outbound_contact_id, outbound_contact_list_id, peer_id, protocol_call_id, provider,
      recording, remote, remote_name_displayable, removed_skill_ids, requested_routings, room_id,
      routing_ring, routing_rule, routing_rule_type, screen_monitored_user_id,
      screen_share_address_self, screen_share_room_id, script_id, selected_agent_id,
      selected_agent_rank, session_dnis, sharing_screen, skill_expression_id, skip_enabled,
      snippet_recording, timeout_seconds, used_routing, video_address_self, video_room_id,
      waiting_interaction_counts, agent_groups, proposed_agents, media_endpoint_stats, flow,
      extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"active_skill_ids", $1:"acw_skipped",
             $1:"address_from", $1:"address_other", $1:"address_self", $1:"address_to",
             $1:"agent_assistant_id", $1:"agent_bullseye_ring", $1:"agent_owned", $1:"ani",
             $1:"assigner_id", $1:"authenticated", $1:"barged_participant_id", $1:"bcc",
             $1:"callback_numbers", $1:"callback_scheduled_time", $1:"callback_user_name",
             $1:"cc", $1:"cleared", $1:"coached_participant_id", $1:"cobrowse_role",
             $1:"cobrowse_room_id", $1:"delivery_pushed", $1:"delivery_status",
             $1:"delivery_status_change_date", $1:"destination_addresses",
             $1:"detected_speech_end", $1:"detected_speech_start", $1:"direction",
             $1:"disposition_analyzer", $1:"disposition_name", $1:"dnis", $1:"edge_id",
             $1:"eligible_agent_counts", $1:"engagement_source", $1:"error_code_description",
             $1:"extended_delivery_status", $1:"flow_in_type", $1:"flow_out_type",
             $1:"journey_action_id", $1:"journey_action_map_id", $1:"journey_action_map_version",
             $1:"journey_customer_id", $1:"journey_customer_id_type",
             $1:"journey_customer_session_id", $1:"journey_customer_session_id_type",
             $1:"media_bridge_id", $1:"media_count", $1:"media_type", $1:"message_type",
             $1:"monitored_participant_id", $1:"outbound_campaign_id", $1:"outbound_contact_id",
             $1:"outbound_contact_list_id", $1:"peer_id", $1:"protocol_call_id", $1:"provider",
             $1:"recording", $1:"remote", $1:"remote_name_displayable", $1:"removed_skill_ids",
             $1:"requested_routings", $1:"room_id", $1:"routing_ring", $1:"routing_rule",
             $1:"routing_rule_type", $1:"screen_monitored_user_id",
             $1:"screen_share_address_self", $1:"screen_share_room_id", $1:"script_id",
             $1:"selected_agent_id", $1:"selected_agent_rank", $1:"session_dnis",
             $1:"sharing_screen", $1:"skill_expression_id", $1:"skip_enabled",
             $1:"snippet_recording", $1:"timeout_seconds", $1:"used_routing",
             $1:"video_address_self", $1:"video_room_id", $1:"waiting_interaction_counts",
             PARSE_JSON($1:"agent_groups"::VARCHAR), PARSE_JSON($1:"proposed_agents"::VARCHAR),
             PARSE_JSON($1:"media_endpoint_stats"::VARCHAR), PARSE_JSON($1:"flow"::VARCHAR),
             PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'sessions/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'sessions/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- segments: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.segments (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      segment_index, audio_muted, conference, destination_conversation_id, destination_session_id,
      disconnect_type, error_code, group_id, q850_response_codes, queue_id, requested_language_id,
      requested_routing_skill_ids, requested_routing_user_ids, segment_end, segment_start,
      segment_type, sip_response_codes, source_conversation_id, source_session_id, subject,
      video_muted, wrap_up_code, wrap_up_note, wrap_up_tags, scored_agents, properties,
      extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"segment_index", $1:"audio_muted",
             $1:"conference", $1:"destination_conversation_id", $1:"destination_session_id",
             $1:"disconnect_type", $1:"error_code", $1:"group_id", $1:"q850_response_codes",
             $1:"queue_id", $1:"requested_language_id", $1:"requested_routing_skill_ids",
             $1:"requested_routing_user_ids", $1:"segment_end", $1:"segment_start",
             $1:"segment_type", $1:"sip_response_codes", $1:"source_conversation_id",
             $1:"source_session_id", $1:"subject", $1:"video_muted", $1:"wrap_up_code",
             $1:"wrap_up_note", $1:"wrap_up_tags", PARSE_JSON($1:"scored_agents"::VARCHAR),
             PARSE_JSON($1:"properties"::VARCHAR), PARSE_JSON($1:"extra_fields"::VARCHAR),
             $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'segments/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'segments/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- session_metrics: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.session_metrics (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      metric_index, emit_date, name, value, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"metric_index", $1:"emit_date", $1:"name",
             $1:"value", PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'session_metrics/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'session_metrics/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- flows: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.flows (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      ending_language, entry_reason, entry_type, exit_reason, flow_id, flow_name, flow_type,
      flow_version, issued_callback, recognition_failure_reason, starting_language,
      transfer_target_address, transfer_target_name, transfer_type, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"ending_language", $1:"entry_reason",
             $1:"entry_type", $1:"exit_reason", $1:"flow_id", $1:"flow_name", $1:"flow_type",
             $1:"flow_version", $1:"issued_callback", $1:"recognition_failure_reason",
             $1:"starting_language", $1:"transfer_target_address", $1:"transfer_target_name",
             $1:"transfer_type", PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'flows/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'flows/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- flow_outcomes: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.flow_outcomes (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      outcome_index, flow_outcome, flow_outcome_end_timestamp, flow_outcome_id,
      flow_outcome_start_timestamp, flow_outcome_value, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"outcome_index", $1:"flow_outcome",
             $1:"flow_outcome_end_timestamp", $1:"flow_outcome_id",
             $1:"flow_outcome_start_timestamp", $1:"flow_outcome_value",
             PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'flow_outcomes/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'flow_outcomes/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- media_endpoint_stats: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.media_endpoint_stats (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      stat_index, codecs, discarded_packets, duplicate_packets, event_time, invalid_packets,
      max_latency_ms, min_mos, min_r_factor, overrun_packets, received_packets, underrun_packets,
      extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"stat_index", $1:"codecs",
             $1:"discarded_packets", $1:"duplicate_packets", $1:"event_time",
             $1:"invalid_packets", $1:"max_latency_ms", $1:"min_mos", $1:"min_r_factor",
             $1:"overrun_packets", $1:"received_packets", $1:"underrun_packets",
             PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'media_endpoint_stats/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'media_endpoint_stats/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- agent_groups: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.agent_groups (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      group_index, agent_group_id, agent_group_type, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"group_index", $1:"agent_group_id",
             $1:"agent_group_type", PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'agent_groups/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'agent_groups/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- proposed_agents: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.proposed_agents (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      proposal_index, agent_rank, proposed_agent_id, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"proposal_index", $1:"agent_rank",
             $1:"proposed_agent_id", PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'proposed_agents/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'proposed_agents/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- segment_properties: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.segment_properties (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      segment_index, property_index, property, property_type, value, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"segment_index", $1:"property_index",
             $1:"property", $1:"property_type", $1:"value",
             PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'segment_properties/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'segment_properties/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- scored_agents: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.scored_agents (
      conversation_id, conversation_date, conversation_start, participant_id, session_id,
      segment_index, score_index, agent_score, scored_agent_id, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"participant_id", $1:"session_id", $1:"segment_index", $1:"score_index",
             $1:"agent_score", $1:"scored_agent_id", PARSE_JSON($1:"extra_fields"::VARCHAR),
             $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'scored_agents/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'scored_agents/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- evaluations: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.evaluations (
      conversation_id, conversation_date, conversation_start, evaluation_index,
      assignee_applicable, assignee_id, calibration_id, context_id, deleted, evaluation_id,
      evaluation_status, evaluator_id, event_time, form_id, form_name, queue_id, released,
      rescored, system_submitted, user_id, o_total_critical_score, o_total_score, extra_fields,
      run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"evaluation_index", $1:"assignee_applicable", $1:"assignee_id",
             $1:"calibration_id", $1:"context_id", $1:"deleted", $1:"evaluation_id",
             $1:"evaluation_status", $1:"evaluator_id", $1:"event_time", $1:"form_id",
             $1:"form_name", $1:"queue_id", $1:"released", $1:"rescored", $1:"system_submitted",
             $1:"user_id", $1:"o_total_critical_score", $1:"o_total_score",
             PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'evaluations/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'evaluations/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- surveys: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.surveys (
      conversation_id, conversation_date, conversation_start, survey_index, event_time, queue_id,
      survey_completed_date, survey_form_context_id, survey_form_id, survey_form_name, survey_id,
      survey_partial_response, survey_promoter_score, survey_status, survey_type, user_id,
      o_survey_total_score, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"survey_index", $1:"event_time", $1:"queue_id", $1:"survey_completed_date",
             $1:"survey_form_context_id", $1:"survey_form_id", $1:"survey_form_name",
             $1:"survey_id", $1:"survey_partial_response", $1:"survey_promoter_score",
             $1:"survey_status", $1:"survey_type", $1:"user_id", $1:"o_survey_total_score",
             PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'surveys/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'surveys/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- resolutions: 2 file(s), 300 row(s)
  COPY INTO RAW.GENESYS.resolutions (
      conversation_id, conversation_date, conversation_start, resolution_index, event_time,
      queue_id, user_id, n_next_contact_avoided, extra_fields, run_id
    )
    FROM (
      SELECT $1:"conversation_id", $1:"conversation_date", $1:"conversation_start",
             $1:"resolution_index", $1:"event_time", $1:"queue_id", $1:"user_id",
             $1:"n_next_contact_avoided", PARSE_JSON($1:"extra_fields"::VARCHAR), $1:"run_id"
        FROM @RAW.GENESYS.genesys_stage
    )
    FILES = (
      'resolutions/conversation_date=2026-11-01/part-20261103T031500Z-0a1b2c3d-00000.parquet',
      'resolutions/conversation_date=2026-11-02/part-20261103T031500Z-0a1b2c3d-00000.parquet'
    )
    FILE_FORMAT = (TYPE = PARQUET USE_VECTORIZED_SCANNER = TRUE)
    ON_ERROR = ABORT_STATEMENT
    FORCE = TRUE;

  -- Record this run as the last to load its partitions, with the divisions it reached.
  DELETE FROM RAW.GENESYS.genesys_loaded_partitions
   WHERE (dataset = 'conversations' AND partition_value IN (DATE '2026-11-01', DATE '2026-11-02'));
  INSERT INTO RAW.GENESYS.genesys_loaded_partitions (dataset, partition_value, run_id, loaded_at, divisions)
    SELECT column1, column2, '20261103T031500Z-0a1b2c3d', CURRENT_TIMESTAMP(), ARRAY_CONSTRUCT('7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02')
      FROM VALUES
        ('conversations', DATE '2026-11-01'),
        ('conversations', DATE '2026-11-02');

  -- Reconciliation: each table holds exactly the manifest's rows of this run.
  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.conversations WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_conversations; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.participants WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_participants; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.sessions WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_sessions; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.segments WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_segments; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.session_metrics WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_session_metrics; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.flows WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_flows; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.flow_outcomes WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_flow_outcomes; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.media_endpoint_stats WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_media_endpoint_stats; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.agent_groups WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_agent_groups; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.proposed_agents WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_proposed_agents; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.segment_properties WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_segment_properties; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.scored_agents WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_scored_agents; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.evaluations WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_evaluations; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.surveys WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_surveys; END IF;

  SELECT COUNT(*) INTO :counted FROM RAW.GENESYS.resolutions WHERE run_id = '20261103T031500Z-0a1b2c3d';
  IF (counted <> 300) THEN RAISE reconciliation_failed_resolutions; END IF;

  COMMIT;
  RETURN 'loaded run 20261103T031500Z-0a1b2c3d: conversations 300, participants 300, sessions 300, segments 300, session_metrics 300, flows 300, flow_outcomes 300, media_endpoint_stats 300, agent_groups 300, proposed_agents 300, segment_properties 300, scored_agents 300, evaluations 300, surveys 300, resolutions 300';
EXCEPTION
  WHEN OTHER THEN
    ROLLBACK;
    RAISE;
END;
$$;
