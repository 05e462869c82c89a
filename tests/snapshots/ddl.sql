-- genesys-loader <version> Snowflake DDL, generated from schemas/

CREATE TABLE IF NOT EXISTS conversations (
  conversation_id                       VARCHAR NOT NULL COMMENT 'Unique identifier for the conversation',
  conversation_date                     DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start                    TIMESTAMP_TZ(6) NOT NULL COMMENT 'The start time of a conversation.',
  access_attributes                     ARRAY COMMENT 'Set of attributes that limit which users can access the conversation',
  associated_conversation_id            VARCHAR COMMENT 'ID of the conversation the initiator is signaling this new conversation is associated with',
  conference_start                      TIMESTAMP_TZ(6) COMMENT 'The start time of a conference call.',
  consultation_conversation_ids         ARRAY COMMENT 'Set of conversationIds the initiator has signaled this conversation is associated with',
  conversation_end                      TIMESTAMP_TZ(6) COMMENT 'The end time of a conversation.',
  conversation_initiator                VARCHAR COMMENT 'Indicates the participant purpose of the participant initiating a message conversation',
  customer_participation                BOOLEAN COMMENT 'Indicates a messaging conversation in which the customer participated by sending at least one message',
  division_ids                          ARRAY COMMENT 'Identifier(s) of division(s) associated with a conversation',
  external_tag                          VARCHAR COMMENT 'External tag for the conversation',
  inactivity_timeout                    TIMESTAMP_TZ(6) COMMENT 'The time in the future, after which this conversation would be considered inactive.',
  knowledge_base_ids                    ARRAY COMMENT 'The unique identifier(s) of the knowledge base(s) used',
  media_stats_min_conversation_mos      FLOAT COMMENT 'The lowest estimated average MOS among all the audio streams belonging to this conversation',
  media_stats_min_conversation_r_factor FLOAT COMMENT 'The lowest R-factor value among all of the audio streams belonging to this conversation',
  originating_direction                 VARCHAR COMMENT 'The original direction of the conversation',
  originating_social_media_public       BOOLEAN COMMENT 'Indicates that the conversation originated from a public message on social media',
  self_served                           BOOLEAN COMMENT 'Indicates whether all flow sessions were self serviced',
  evaluations                           VARIANT COMMENT 'Evaluations associated with this conversation (JSON of AnalyticsEvaluation; normalised tables come later)',
  surveys                               VARIANT COMMENT 'Surveys associated with this conversation (JSON of AnalyticsSurvey; normalised tables come later)',
  resolutions                           VARIANT COMMENT 'Resolutions associated with this conversation (JSON of AnalyticsResolution; normalised tables come later)',
  extra_fields                          VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                                VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per conversation (AnalyticsConversation), partitioned by the UTC date of its start. [genesys-loader schema v1; key: conversation_id]';

CREATE TABLE IF NOT EXISTS participants (
  conversation_id          VARCHAR NOT NULL COMMENT 'Conversation this row belongs to (AnalyticsConversation.conversationId)',
  conversation_date        DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start       TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id           VARCHAR NOT NULL COMMENT 'Unique identifier for the participant',
  external_contact_id      VARCHAR COMMENT 'External contact identifier',
  external_organization_id VARCHAR COMMENT 'External organization identifier',
  flagged_reason           VARCHAR COMMENT 'Reason for which participant flagged conversation',
  participant_name         VARCHAR COMMENT 'A human readable name identifying the participant',
  purpose                  VARCHAR COMMENT 'The participant''s purpose',
  screen_recording         BOOLEAN COMMENT 'Flag determining if a screen recording was started or not',
  team_id                  VARCHAR COMMENT 'The team ID the user is a member of',
  user_id                  VARCHAR COMMENT 'Unique identifier for the user',
  attributes               VARIANT COMMENT 'Participant data (custom attributes) as a JSON object of strings; present in async job results only, keys and values truncated by the API at 1024 characters',
  extra_fields             VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                   VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per participant of a conversation (AnalyticsParticipant). [genesys-loader schema v1; key: conversation_id, participant_id]';

CREATE TABLE IF NOT EXISTS sessions (
  conversation_id                  VARCHAR NOT NULL COMMENT 'Conversation this row belongs to (AnalyticsConversation.conversationId)',
  conversation_date                DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start               TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id                   VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id                       VARCHAR NOT NULL COMMENT 'The unique identifier of this session',
  active_skill_ids                 ARRAY COMMENT 'ID(s) of Skill(s) that are active on the conversation',
  acw_skipped                      BOOLEAN COMMENT 'Marker for an agent that skipped after call work',
  address_from                     VARCHAR COMMENT 'The address that initiated an action',
  address_other                    VARCHAR COMMENT 'The email address for the participant on the other side of the email conversation',
  address_self                     VARCHAR COMMENT 'The email address for the participant on this side of the email conversation',
  address_to                       VARCHAR COMMENT 'The address receiving an action',
  agent_assistant_id               VARCHAR COMMENT 'Unique identifier of the active virtual agent assistant',
  agent_bullseye_ring              NUMBER(38,0) COMMENT 'Bullseye ring of the targeted agent',
  agent_owned                      BOOLEAN COMMENT 'Flag indicating an agent-owned callback',
  ani                              VARCHAR COMMENT 'Automatic Number Identification (caller''s number)',
  assigner_id                      VARCHAR COMMENT 'ID of the user that manually assigned a conversation',
  authenticated                    BOOLEAN COMMENT 'Flag that indicates that the identity of the customer has been asserted as verified by the provider.',
  barged_participant_id            VARCHAR COMMENT 'The participantId being barged in on (if someone (e.g. an agent) is being barged in on, this would correspond to one of the other participantIds present in the conversation)',
  bcc                              ARRAY COMMENT 'Blind carbon copy email address(es)',
  callback_numbers                 ARRAY COMMENT 'Callback phone number(s)',
  callback_scheduled_time          TIMESTAMP_TZ(6) COMMENT 'Scheduled callback date/time.',
  callback_user_name               VARCHAR COMMENT 'The name of the user requesting a call back',
  cc                               ARRAY COMMENT 'Carbon copy email address(es)',
  cleared                          BOOLEAN COMMENT 'Flag that indicates that the conversation has been cleared by the customer',
  coached_participant_id           VARCHAR COMMENT 'The participantId being coached (if someone (e.g. an agent) is being coached, this would correspond to one of the other participantIds present in the conversation)',
  cobrowse_role                    VARCHAR COMMENT 'Describes side of the cobrowse (sharer or viewer)',
  cobrowse_room_id                 VARCHAR COMMENT 'A unique identifier for a Genesys Cloud cobrowse room',
  delivery_pushed                  BOOLEAN COMMENT 'Flag that indicates that the push delivery mechanism was used',
  delivery_status                  VARCHAR COMMENT 'The email or SMS delivery status',
  delivery_status_change_date      TIMESTAMP_TZ(6) COMMENT 'Date and time of the most recent delivery status change.',
  destination_addresses            ARRAY COMMENT 'Destination address(es) of transfers or consults',
  detected_speech_end              TIMESTAMP_TZ(6) COMMENT 'Absolute time when the speech ended.',
  detected_speech_start            TIMESTAMP_TZ(6) COMMENT 'Absolute time when the speech started.',
  direction                        VARCHAR COMMENT 'The direction of the communication',
  disposition_analyzer             VARCHAR COMMENT '(Dialer) Analyzer (for example speech.person)',
  disposition_name                 VARCHAR COMMENT '(Dialer) Result of the analysis (for example disposition.classification.callable.machine)',
  dnis                             VARCHAR COMMENT 'Dialed number identification service (number dialed by the calling party)',
  edge_id                          VARCHAR COMMENT 'Unique identifier of the edge device',
  eligible_agent_counts            ARRAY COMMENT 'Number of eligible agents for each predictive routing attempt',
  engagement_source                VARCHAR COMMENT 'Open Messaging engagement source type',
  error_code_description           VARCHAR COMMENT 'Error code description extracted from the first disconnectReason',
  extended_delivery_status         VARCHAR COMMENT 'Extended delivery status',
  flow_in_type                     VARCHAR COMMENT 'Type of flow in that occurred when entering ACD.',
  flow_out_type                    VARCHAR COMMENT 'Type of flow out that occurred when emitting tFlowOut.',
  journey_action_id                VARCHAR COMMENT 'Identifier of the journey action.',
  journey_action_map_id            VARCHAR COMMENT 'Identifier of the journey action map that triggered the action.',
  journey_action_map_version       NUMBER(38,0) COMMENT 'Version of the journey action map that triggered the action.',
  journey_customer_id              VARCHAR COMMENT 'Primary identifier of the journey customer in the source where the activities originate from.',
  journey_customer_id_type         VARCHAR COMMENT 'Type of primary identifier of the journey customer (e.g. cookie).',
  journey_customer_session_id      VARCHAR COMMENT 'Unique identifier of the journey session.',
  journey_customer_session_id_type VARCHAR COMMENT 'Type or category of journey sessions (e.g. web, ticket, delivery, atm).',
  media_bridge_id                  VARCHAR COMMENT 'Media bridge ID for the conference session consistent across all participants',
  media_count                      NUMBER(38,0) COMMENT 'Count of any media (images, files, etc) included in this session',
  media_type                       VARCHAR COMMENT 'The session media type',
  message_type                     VARCHAR COMMENT 'Message type for messaging services. E.g.: sms, facebook, twitter, line',
  monitored_participant_id         VARCHAR COMMENT 'The participantId being monitored (if someone (e.g. an agent) is being monitored, this would correspond to one of the other participantIds present in the conversation)',
  outbound_campaign_id             VARCHAR COMMENT '(Dialer) Unique identifier of the outbound campaign',
  outbound_contact_id              VARCHAR COMMENT '(Dialer) Unique identifier of the contact',
  outbound_contact_list_id         VARCHAR COMMENT '(Dialer) Unique identifier of the contact list that this contact belongs to',
  peer_id                          VARCHAR COMMENT 'This identifies pairs of related sessions on a conversation. E.g. an external session’s peerId will be the session that the call originally connected to, e.g. if an IVR was dialed, the IVR session, which will also have the external session’s ID as its peer. After that point, any transfers of that session to other internal components (acd, agent, etc.) will all spawn new sessions whose peerIds point back to that original external session.',
  protocol_call_id                 VARCHAR COMMENT 'The original voice protocol call ID, e.g. a SIP call ID',
  provider                         VARCHAR COMMENT 'The source provider for the communication.',
  recording                        BOOLEAN COMMENT 'Flag determining if an audio recording was started or not',
  remote                           VARCHAR COMMENT 'Name, phone number, or email address of the remote party.',
  remote_name_displayable          VARCHAR COMMENT 'Unique identifier for the remote party',
  removed_skill_ids                ARRAY COMMENT 'ID(s) of Skill(s) that have been removed by bullseye routing',
  requested_routings               ARRAY COMMENT 'Routing type(s) for requested/attempted routing methods.',
  room_id                          VARCHAR COMMENT 'Unique identifier for the room',
  routing_ring                     NUMBER(38,0) COMMENT 'Routing ring for bullseye or preferred agent routing',
  routing_rule                     VARCHAR COMMENT 'Routing rule for preferred, conditional and predictive routing type',
  routing_rule_type                VARCHAR COMMENT 'Routing rule type',
  screen_monitored_user_id         VARCHAR COMMENT 'The user ID for the participant who is being screen monitored.',
  screen_share_address_self        VARCHAR COMMENT 'Direct screen share address',
  screen_share_room_id             VARCHAR COMMENT 'A unique identifier for a Genesys Cloud screen share room',
  script_id                        VARCHAR COMMENT 'A unique identifier for a script',
  selected_agent_id                VARCHAR COMMENT 'Selected agent ID',
  selected_agent_rank              NUMBER(38,0) COMMENT 'Selected agent GPR rank',
  session_dnis                     VARCHAR COMMENT 'Dialed number for the current session; this can be different from dnis, e.g. if the call was transferred',
  sharing_screen                   BOOLEAN COMMENT 'Flag determining if screen share is started or not (true/false)',
  skill_expression_id              VARCHAR COMMENT 'Unique identifier for the skill requested for an interaction',
  skip_enabled                     BOOLEAN COMMENT '(Dialer) Whether the agent can skip the dialer contact',
  snippet_recording                BOOLEAN COMMENT 'Whether or not the conversation included a snippet being recorded.',
  timeout_seconds                  NUMBER(38,0) COMMENT 'The number of seconds before Genesys Cloud begins the call for a call back (0 disables automatic calling)',
  used_routing                     VARCHAR COMMENT 'Complete routing method',
  video_address_self               VARCHAR COMMENT 'Direct Video address',
  video_room_id                    VARCHAR COMMENT 'A unique identifier for a Genesys Cloud video room',
  waiting_interaction_counts       ARRAY COMMENT 'Number of waiting interactions for each predictive routing attempt',
  agent_groups                     VARIANT COMMENT 'Conditional group routing agent groups (JSON of AnalyticsAgentGroup; normalised tables come later)',
  proposed_agents                  VARIANT COMMENT 'Proposed agents (JSON of AnalyticsProposedAgent; normalised tables come later)',
  media_endpoint_stats             VARIANT COMMENT 'MediaEndpointStats associated with this session (JSON of AnalyticsMediaEndpointStat; normalised tables come later)',
  flow                             VARIANT COMMENT 'IVR flow execution associated with this session (JSON of AnalyticsFlow; normalised tables come later)',
  extra_fields                     VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                           VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per session of a participant (AnalyticsSession). [genesys-loader schema v1; key: conversation_id, participant_id, session_id]';

CREATE TABLE IF NOT EXISTS segments (
  conversation_id             VARCHAR NOT NULL COMMENT 'Conversation this row belongs to (AnalyticsConversation.conversationId)',
  conversation_date           DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start          TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id              VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id                  VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  segment_index               NUMBER(38,0) NOT NULL COMMENT 'Position of the segment in its session''s segment list (0-based)',
  audio_muted                 BOOLEAN COMMENT 'Flag indicating if audio is muted or not (true/false)',
  conference                  BOOLEAN COMMENT 'Indicates whether the segment was a conference',
  destination_conversation_id VARCHAR COMMENT 'The unique identifier of a new conversation when a conversation is ended for a conference',
  destination_session_id      VARCHAR COMMENT 'The unique identifier of a new session when a session is ended for a conference',
  disconnect_type             VARCHAR COMMENT 'The session disconnect type',
  error_code                  VARCHAR COMMENT 'A code corresponding to the error that occurred',
  group_id                    VARCHAR COMMENT 'Unique identifier for a Genesys Cloud group',
  q850_response_codes         ARRAY COMMENT 'Q.850 response code(s)',
  queue_id                    VARCHAR COMMENT 'Queue identifier',
  requested_language_id       VARCHAR COMMENT 'Unique identifier for the language requested for an interaction',
  requested_routing_skill_ids ARRAY COMMENT 'Unique identifier(s) for skill(s) requested for an interaction',
  requested_routing_user_ids  ARRAY COMMENT 'Unique identifier(s) for agent(s) requested for an interaction',
  segment_end                 TIMESTAMP_TZ(6) COMMENT 'The end time of a segment.',
  segment_start               TIMESTAMP_TZ(6) COMMENT 'The start time of a segment.',
  segment_type                VARCHAR COMMENT 'The activity that takes place in the segment, such as hold or interact',
  sip_response_codes          ARRAY COMMENT 'SIP response code(s)',
  source_conversation_id      VARCHAR COMMENT 'The unique identifier of the previous conversation when a new conversation is created for a conference',
  source_session_id           VARCHAR COMMENT 'The unique identifier of the previous session when a new session is created for a conference',
  subject                     VARCHAR COMMENT 'The subject for the initial email that started this conversation',
  video_muted                 BOOLEAN COMMENT 'Flag indicating if video is muted/paused or not (true/false)',
  wrap_up_code                VARCHAR COMMENT 'Wrap up code',
  wrap_up_note                VARCHAR COMMENT 'Note entered by an agent during after-call work',
  wrap_up_tags                ARRAY COMMENT 'Tag(s) assigned during after-call work',
  scored_agents               VARIANT COMMENT 'Scored agents (JSON of AnalyticsScoredAgent; normalised tables come later)',
  properties                  VARIANT COMMENT 'Additional segment properties (JSON of AnalyticsProperty; normalised tables come later)',
  extra_fields                VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                      VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per segment of a session (AnalyticsConversationSegment), in the order the API serves them. [genesys-loader schema v1; key: conversation_id, participant_id, session_id, segment_index]';

CREATE TABLE IF NOT EXISTS session_metrics (
  conversation_id    VARCHAR NOT NULL COMMENT 'Conversation this row belongs to (AnalyticsConversation.conversationId)',
  conversation_date  DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id     VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id         VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  metric_index       NUMBER(38,0) NOT NULL COMMENT 'Position of the metric in its session''s metric list (0-based)',
  emit_date          TIMESTAMP_TZ(6) COMMENT 'Metric emission date.',
  name               VARCHAR COMMENT 'Unique name of this metric',
  value              NUMBER(38,0) COMMENT 'The metric value',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per metric of a session (AnalyticsSessionMetric), long form: t* in milliseconds, n* counts, o* observed values. [genesys-loader schema v1; key: conversation_id, participant_id, session_id, metric_index]';

CREATE TABLE IF NOT EXISTS flows (
  conversation_id            VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date          DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start         TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id             VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id                 VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  ending_language            VARCHAR COMMENT 'Flow ending language, e.g. en-us',
  entry_reason               VARCHAR COMMENT 'The particular entry reason for this flow, e.g. an address, userId, or flowId',
  entry_type                 VARCHAR COMMENT 'The entry type for this flow, e.g. dnis, dialer, agent, flow, or direct',
  exit_reason                VARCHAR COMMENT 'The exit reason for this flow, e.g. DISCONNECT',
  flow_id                    VARCHAR COMMENT 'The unique identifier of this flow',
  flow_name                  VARCHAR COMMENT 'The name of this flow at the time of flow execution',
  flow_type                  VARCHAR COMMENT 'The type of this flow',
  flow_version               VARCHAR COMMENT 'The version of this flow',
  issued_callback            BOOLEAN COMMENT 'Flag indicating whether the flow issued a callback',
  recognition_failure_reason VARCHAR COMMENT 'The recognition failure reason causing to exit/disconnect',
  starting_language          VARCHAR COMMENT 'Flow starting language, e.g. en-us',
  transfer_target_address    VARCHAR COMMENT 'The address of a flow transfer target, e.g. a phone number, an email address, or a queueId',
  transfer_target_name       VARCHAR COMMENT 'The name of a flow transfer target',
  transfer_type              VARCHAR COMMENT 'The type of transfer for flows that ended with a transfer',
  extra_fields               VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                     VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per IVR or bot flow run in a session (AnalyticsFlow). [genesys-loader schema v2; key: conversation_id, participant_id, session_id]';

CREATE TABLE IF NOT EXISTS flow_outcomes (
  conversation_id              VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date            DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start           TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id               VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id                   VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  outcome_index                NUMBER(38,0) NOT NULL COMMENT 'Position of the outcome in its parent''s list (0-based)',
  flow_outcome                 VARCHAR COMMENT 'Combination of unique flow outcome identifier and its value separated by colon',
  flow_outcome_end_timestamp   TIMESTAMP_TZ(6) COMMENT 'The outcome ending timestamp in ISO 8601 format. This may be null if the outcome did not succeed.',
  flow_outcome_id              VARCHAR COMMENT 'Unique identifier of a flow outcome',
  flow_outcome_start_timestamp TIMESTAMP_TZ(6) COMMENT 'The outcome starting timestamp in ISO 8601 format',
  flow_outcome_value           VARCHAR COMMENT 'Flow outcome value, e.g. SUCCESS',
  extra_fields                 VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                       VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per outcome of a flow (AnalyticsFlowOutcome). [genesys-loader schema v2; key: conversation_id, participant_id, session_id, outcome_index]';

CREATE TABLE IF NOT EXISTS media_endpoint_stats (
  conversation_id    VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date  DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id     VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id         VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  stat_index         NUMBER(38,0) NOT NULL COMMENT 'Position of the statistic in its parent''s list (0-based)',
  codecs             ARRAY COMMENT 'The MIME type(s) of the audio encodings used by the audio streams belonging to this endpoint',
  discarded_packets  NUMBER(38,0) COMMENT 'The total number of packets received too late or too early, jitter queue overrun or underrun, for all audio streams belonging to this endpoint',
  duplicate_packets  NUMBER(38,0) COMMENT 'The total number of packets received with the same sequence number as another one recently received (window of 64 packets), for all audio streams belonging to this endpoint',
  event_time         TIMESTAMP_TZ(6) COMMENT 'Specifies when an event occurred.',
  invalid_packets    NUMBER(38,0) COMMENT 'The total number of malformed or not RTP packets, unknown payload type, or discarded probation packets for all audio streams belonging to this endpoint',
  max_latency_ms     NUMBER(38,0) COMMENT 'The maximum latency experienced by any audio stream belonging to this endpoint, in milliseconds',
  min_mos            FLOAT COMMENT 'The lowest estimated average MOS among all the audio streams belonging to this endpoint',
  min_r_factor       FLOAT COMMENT 'The lowest R-factor value among all of the audio streams belonging to this endpoint',
  overrun_packets    NUMBER(38,0) COMMENT 'The total number of packets for which there was no room in the jitter queue when it was received, for all audio streams belonging to this endpoint (also counted in discarded)',
  received_packets   NUMBER(38,0) COMMENT 'The total number of packets received for all audio streams belonging to this endpoint (includes invalid, duplicate, and discarded packets)',
  underrun_packets   NUMBER(38,0) COMMENT 'The total number of packets received after their timestamp/seqnum has been played out, for all audio streams belonging to this endpoint (also counted in discarded)',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per media endpoint statistic of a session: voice quality (AnalyticsMediaEndpointStat). [genesys-loader schema v2; key: conversation_id, participant_id, session_id, stat_index]';

CREATE TABLE IF NOT EXISTS agent_groups (
  conversation_id    VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date  DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id     VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id         VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  group_index        NUMBER(38,0) NOT NULL COMMENT 'Position of the agent group in its parent''s list (0-based)',
  agent_group_id     VARCHAR COMMENT 'Conditional group routing agent group identifier',
  agent_group_type   VARCHAR COMMENT 'Conditional group routing agent group type',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per agent group a session was routed through (AnalyticsAgentGroup). [genesys-loader schema v2; key: conversation_id, participant_id, session_id, group_index]';

CREATE TABLE IF NOT EXISTS proposed_agents (
  conversation_id    VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date  DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id     VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id         VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  proposal_index     NUMBER(38,0) NOT NULL COMMENT 'Position of the proposed agent in its parent''s list (0-based)',
  agent_rank         NUMBER(38,0) COMMENT 'Proposed agent rank for this conversation from predictive routing (lower is better)',
  proposed_agent_id  VARCHAR COMMENT 'Unique identifier for the agent that was proposed by predictive routing',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per agent proposed by predictive or bullseye routing (AnalyticsProposedAgent). [genesys-loader schema v2; key: conversation_id, participant_id, session_id, proposal_index]';

CREATE TABLE IF NOT EXISTS segment_properties (
  conversation_id    VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date  DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id     VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id         VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  segment_index      NUMBER(38,0) NOT NULL COMMENT 'Position of the segment this row belongs to in its session (segments.segment_index)',
  property_index     NUMBER(38,0) NOT NULL COMMENT 'Position of the property in its parent''s list (0-based)',
  property           VARCHAR COMMENT 'User-defined rather than intrinsic system-observed values. These are tagged onto segments by other components within PureCloud or by API users directly. This is the name of the user-defined property.',
  property_type      VARCHAR COMMENT 'Indicates what the data type is (e.g. integer vs string) and therefore how to evaluate what would constitute a match',
  value              VARCHAR COMMENT 'What property value to match against',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per user-defined property of a segment (AnalyticsProperty). [genesys-loader schema v2; key: conversation_id, participant_id, session_id, segment_index, property_index]';

CREATE TABLE IF NOT EXISTS scored_agents (
  conversation_id    VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date  DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  participant_id     VARCHAR NOT NULL COMMENT 'Participant this row belongs to',
  session_id         VARCHAR NOT NULL COMMENT 'Session this row belongs to',
  segment_index      NUMBER(38,0) NOT NULL COMMENT 'Position of the segment this row belongs to in its session (segments.segment_index)',
  score_index        NUMBER(38,0) NOT NULL COMMENT 'Position of the scored agent in its parent''s list (0-based)',
  agent_score        NUMBER(38,0) COMMENT 'Assigned agent score for this conversation (0 - 100, higher being better)',
  scored_agent_id    VARCHAR COMMENT 'Unique identifier for the agent that was scored for this conversation',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per agent scored for a segment by predictive routing (AnalyticsScoredAgent). [genesys-loader schema v2; key: conversation_id, participant_id, session_id, segment_index, score_index]';

CREATE TABLE IF NOT EXISTS evaluations (
  conversation_id        VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date      DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start     TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  evaluation_index       NUMBER(38,0) NOT NULL COMMENT 'Position of the evaluation in its parent''s list (0-based)',
  assignee_applicable    BOOLEAN COMMENT 'Indicates whether an assignee is applicable for the evaluation. Set to false when assignee is not applicable',
  assignee_id            VARCHAR COMMENT 'UserId of the assignee',
  calibration_id         VARCHAR COMMENT 'The calibration ID used for the purpose of training evaluators',
  context_id             VARCHAR COMMENT 'A unique identifier for an evaluation form, regardless of version',
  deleted                BOOLEAN COMMENT 'Whether the evaluation has been deleted',
  evaluation_id          VARCHAR COMMENT 'Unique identifier for the evaluation',
  evaluation_status      VARCHAR COMMENT 'Status of evaluation',
  evaluator_id           VARCHAR COMMENT 'A unique identifier of the user who evaluated the interaction',
  event_time             TIMESTAMP_TZ(6) COMMENT 'Specifies when an evaluation occurred.',
  form_id                VARCHAR COMMENT 'ID of the evaluation form used',
  form_name              VARCHAR COMMENT 'Name of the evaluation form used',
  queue_id               VARCHAR COMMENT 'The ID of the associated queue',
  released               BOOLEAN COMMENT 'Whether the evaluation has been released',
  rescored               BOOLEAN COMMENT 'Whether the evaluation has been rescored at least once',
  system_submitted       BOOLEAN COMMENT 'Whether the evaluation was auto submitted by the system',
  user_id                VARCHAR COMMENT 'ID of the agent the evaluation was performed against',
  o_total_critical_score NUMBER(38,0) COMMENT 'oTotalCriticalScore',
  o_total_score          NUMBER(38,0) COMMENT 'oTotalScore',
  extra_fields           VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                 VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per quality evaluation linked to a conversation (AnalyticsEvaluation). [genesys-loader schema v2; key: conversation_id, evaluation_index]';

CREATE TABLE IF NOT EXISTS surveys (
  conversation_id         VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date       DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start      TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  survey_index            NUMBER(38,0) NOT NULL COMMENT 'Position of the survey in its parent''s list (0-based)',
  event_time              TIMESTAMP_TZ(6) COMMENT 'Specifies when an event occurred.',
  queue_id                VARCHAR COMMENT 'The ID of the associated queue',
  survey_completed_date   TIMESTAMP_TZ(6) COMMENT 'Completion datetime of the survey in ISO 8601 format',
  survey_form_context_id  VARCHAR COMMENT 'Unique identifier for the survey form, regardless of version',
  survey_form_id          VARCHAR COMMENT 'ID of the survey form used',
  survey_form_name        VARCHAR COMMENT 'Name of the survey form used',
  survey_id               VARCHAR COMMENT 'ID of the survey',
  survey_partial_response BOOLEAN COMMENT 'Whether the survey was completed with any required questions unanswered.',
  survey_promoter_score   NUMBER(38,0) COMMENT 'Score of the survey used with NPS',
  survey_status           VARCHAR COMMENT 'The status of the survey',
  survey_type             VARCHAR COMMENT 'The type of the survey',
  user_id                 VARCHAR COMMENT 'ID of the agent the survey was performed against',
  o_survey_total_score    NUMBER(38,0) COMMENT 'oSurveyTotalScore',
  extra_fields            VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                  VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per survey linked to a conversation (AnalyticsSurvey). [genesys-loader schema v2; key: conversation_id, survey_index]';

CREATE TABLE IF NOT EXISTS resolutions (
  conversation_id        VARCHAR NOT NULL COMMENT 'Conversation this row belongs to',
  conversation_date      DATE NOT NULL COMMENT 'UTC date of the conversation''s start: the partition column',
  conversation_start     TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the conversation this row belongs to; bounds partial-day reloads',
  resolution_index       NUMBER(38,0) NOT NULL COMMENT 'Position of the resolution in its parent''s list (0-based)',
  event_time             TIMESTAMP_TZ(6) COMMENT 'Specifies when an event occurred.',
  queue_id               VARCHAR COMMENT 'The ID of the last queue on which the conversation was handled.',
  user_id                VARCHAR COMMENT 'The ID of the last user who handled the conversation.',
  n_next_contact_avoided NUMBER(38,0) COMMENT 'nNextContactAvoided',
  extra_fields           VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                 VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per resolution (next contact avoided) of a conversation (AnalyticsResolution). [genesys-loader schema v2; key: conversation_id, resolution_index]';

CREATE TABLE IF NOT EXISTS conversation_aggregates (
  interval_date              DATE NOT NULL COMMENT 'UTC date of the interval start: the partition column',
  interval_start             TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the bucket (inclusive)',
  interval_end               TIMESTAMP_TZ(6) NOT NULL COMMENT 'End of the bucket (exclusive)',
  queue_id                   VARCHAR COMMENT 'Group dimension queueId (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  media_type                 VARCHAR COMMENT 'Group dimension mediaType (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  user_id                    VARCHAR COMMENT 'Group dimension userId (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  direction                  VARCHAR COMMENT 'Group dimension direction (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  originating_direction      VARCHAR COMMENT 'Group dimension originatingDirection (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  division_id                VARCHAR COMMENT 'Group dimension divisionId (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  wrap_up_code               VARCHAR COMMENT 'Group dimension wrapUpCode (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  purpose                    VARCHAR COMMENT 'Group dimension purpose (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  requested_language_id      VARCHAR COMMENT 'Group dimension requestedLanguageId (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  requested_routing_skill_id VARCHAR COMMENT 'Group dimension requestedRoutingSkillId (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  team_id                    VARCHAR COMMENT 'Group dimension teamId (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  message_type               VARCHAR COMMENT 'Group dimension messageType (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  flow_in_type               VARCHAR COMMENT 'Group dimension flowInType (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  flow_out_type              VARCHAR COMMENT 'Group dimension flowOutType (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  outbound_campaign_id       VARCHAR COMMENT 'Group dimension outboundCampaignId (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  interaction_type           VARCHAR COMMENT 'Group dimension interactionType (null when not grouped by it, or when the group has no value, e.g. outbound without a queue)',
  group_dimensions           VARIANT COMMENT 'The whole group of the row, dimension to value, as a JSON object (ConversationAggregateDataContainer.group)',
  group_key                  VARCHAR NOT NULL COMMENT 'The group as sorted dim=value pairs joined by ''|'' (empty string when not grouped): a stable key',
  metric                     VARCHAR NOT NULL COMMENT 'Metric name (e.g. tHandle, nOffered), or the view name for rows from views',
  qualifier                  VARCHAR COMMENT 'Metric qualifier, for metrics the API breaks down further (null otherwise)',
  "VIEW"                     BOOLEAN NOT NULL COMMENT 'True for rows from the response''s views (derived metrics), false for metrics',
  count                      NUMBER(38,0) COMMENT 'Number of observations of the metric in the bucket (the value of n* metrics; for t* metrics, how many durations were summed)',
  sum                        FLOAT COMMENT 'Sum of the observed values (ms for t* metrics)',
  min                        FLOAT COMMENT 'Smallest observed value (ms for t* metrics)',
  max                        FLOAT COMMENT 'Largest observed value (ms for t* metrics)',
  "CURRENT"                  FLOAT COMMENT 'Current value, for metrics that report a level rather than a total',
  ratio                      FLOAT COMMENT 'numerator / denominator, for ratio metrics (e.g. oServiceLevel)',
  numerator                  FLOAT COMMENT 'Numerator of a ratio metric (e.g. interactions answered within the service level target)',
  denominator                FLOAT COMMENT 'Denominator of a ratio metric (e.g. interactions answered or abandoned)',
  target                     FLOAT COMMENT 'Target a ratio metric is measured against (e.g. the service level target)',
  count_negative             NUMBER(38,0) COMMENT 'Number of observations with a negative outcome, for metrics that count both',
  count_positive             NUMBER(38,0) COMMENT 'Number of observations with a positive outcome, for metrics that count both',
  p95                        NUMBER(38,0) COMMENT '95th percentile of the observed values (ms for t* metrics)',
  p99                        NUMBER(38,0) COMMENT '99th percentile of the observed values (ms for t* metrics)',
  calculated_metric_value    NUMBER(38,0) COMMENT 'Value of a calculated metric',
  granularity                VARCHAR NOT NULL COMMENT 'Bucket size asked for, as an ISO-8601 duration (e.g. PT30M)',
  extra_fields               VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                     VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (interval_date)
COMMENT = 'Conversation aggregate metrics (POST /api/v2/analytics/conversations/aggregates/query), in long format: one row per interval bucket, group and metric (or view), with the statistics of the metric as columns. t* metrics are in milliseconds; buckets with no data are absent, not zero. Partitioned by the UTC date of the bucket start. [genesys-loader schema v1; key: interval_start, group_key, metric, qualifier]';

CREATE TABLE IF NOT EXISTS quality_evaluations (
  id                           VARCHAR NOT NULL COMMENT 'The evaluation''s id',
  conversation_date            DATE NOT NULL COMMENT 'UTC date of the start of the evaluated conversation: the partition column',
  conversation_start           TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the evaluated conversation (conversationDate); bounds partial-day reloads',
  name                         VARCHAR COMMENT 'name',
  conversation_id              VARCHAR NOT NULL COMMENT 'Id of conversation',
  conversation                 VARIANT COMMENT 'conversation (JSON of ConversationReference)',
  evaluation_form_id           VARCHAR COMMENT 'Id of Evaluation form used for evaluation.',
  evaluation_form_context_id   VARCHAR COMMENT 'Context id shared by every version of the form',
  evaluation_form_name         VARCHAR COMMENT 'Name of the evaluation form version',
  evaluation_form              VARIANT COMMENT 'Evaluation form used for evaluation. (JSON of EvaluationFormResponse)',
  evaluator_id                 VARCHAR COMMENT 'Id of evaluator',
  evaluator                    VARIANT COMMENT 'evaluator (JSON of User)',
  agent_id                     VARCHAR COMMENT 'Id of agent',
  agent                        VARIANT COMMENT 'agent (JSON of User)',
  calibration_id               VARCHAR COMMENT 'Id of calibration',
  calibration                  VARIANT COMMENT 'calibration (JSON of AddressableEntityRef)',
  status                       VARCHAR COMMENT 'status',
  agent_has_read               BOOLEAN COMMENT 'agentHasRead',
  assignee_id                  VARCHAR COMMENT 'Id of assignee',
  assignee                     VARIANT COMMENT 'assignee (JSON of User)',
  assignee_applicable          BOOLEAN COMMENT 'Indicates whether an assignee is applicable for the evaluation. Set to false when assignee is not applicable.',
  release_date                 TIMESTAMP_TZ(6) COMMENT 'releaseDate',
  assigned_date                TIMESTAMP_TZ(6) COMMENT 'assignedDate',
  created_date                 TIMESTAMP_TZ(6) COMMENT 'Date the first version of this evaluation was created.',
  changed_date                 TIMESTAMP_TZ(6) COMMENT 'changedDate',
  submitted_date               TIMESTAMP_TZ(6) COMMENT 'Date the evaluation was last submitted.',
  revision_created_date        TIMESTAMP_TZ(6) COMMENT 'Date of when evaluation revision is created. Null if there is no revision.',
  queue_id                     VARCHAR COMMENT 'Id of queue',
  queue                        VARIANT COMMENT 'queue (JSON of Queue)',
  media_type                   ARRAY COMMENT 'List of different communication types used in conversation.',
  division_ids                 ARRAY COMMENT 'Evaluation is assigned in the following division(s).',
  rescore                      BOOLEAN COMMENT 'Is only true when evaluation is re-scored.',
  conversation_end_date        TIMESTAMP_TZ(6) COMMENT 'End date of conversation if it had completed before evaluation creation. Null if created before the conversation ended.',
  never_release                BOOLEAN COMMENT 'Signifies if the evaluation is never to be released. This cannot be set true if release date is also set.',
  assigned                     BOOLEAN COMMENT 'Set to false to unassign the evaluation. This cannot be set to false when assignee is also set.',
  date_assignee_changed        TIMESTAMP_TZ(6) COMMENT 'Date when the assignee was last changed.',
  resource_id                  VARCHAR COMMENT 'Only used for email evaluations. Will be null for all other evaluations.',
  resource_type                VARCHAR COMMENT 'The type of resource. Only used for email evaluations. Will be null for evaluations on all other resources.',
  redacted                     BOOLEAN COMMENT 'Is only true when the user making the request does not have sufficient permissions to see evaluation',
  is_scoring_index             BOOLEAN COMMENT 'isScoringIndex',
  authorized_actions           ARRAY COMMENT 'List of user authorized actions on evaluation. Possible values: assign, edit, editScore, editAgentSignoff, delete, release, viewAudit',
  has_assistance_failed        BOOLEAN COMMENT 'Is true when evaluation assistance didn''t execute successfully',
  evaluation_source            VARIANT COMMENT 'The source that created the evaluation. (JSON of EvaluationSource)',
  dispute_count                NUMBER(38,0) COMMENT 'The number of times this evaluation has been disputed',
  version                      NUMBER(38,0) COMMENT 'The evaluation version number',
  version_history              VARIANT COMMENT 'List of all versions of the evaluation (JSON of PagelessDomainEntityListingEvaluationVersion)',
  declined_review              BOOLEAN COMMENT 'Is true when the evaluation review was declined',
  evaluation_context_id        VARCHAR COMMENT 'The shared id for different versions of an evaluation',
  retracted_evaluation         VARIANT COMMENT 'The previous evaluation version (JSON of EvaluationReference)',
  ai_scoring                   VARIANT COMMENT 'AI scoring details for the evaluation. (JSON of AiScoring)',
  self_uri                     VARCHAR COMMENT 'The URI for this object',
  total_score                  FLOAT COMMENT 'Scoring set (answers): Score of all questions',
  total_critical_score         FLOAT COMMENT 'Scoring set (answers): Score of only the critical questions',
  max_total_raw_critical_score FLOAT COMMENT 'Scoring set (answers): Maximum total raw score for the critical questions. Raw score is the actual point values before applying weights or percentages.',
  max_total_raw_score          FLOAT COMMENT 'Scoring set (answers): Maximum total raw score for all questions. Raw score is the actual point values before applying weights or percentages.',
  total_non_critical_score     FLOAT COMMENT 'Scoring set (answers): Score of only the non-critical questions',
  any_failed_kill_questions    BOOLEAN COMMENT 'Scoring set (answers): Indicates that at least one fatal question was answered without having the highest score available for the question',
  comments                     VARCHAR COMMENT 'Scoring set (answers): Overall comments from the evaluator. Free text: null with --drop-free-text',
  private_comments             VARCHAR COMMENT 'Scoring set (answers): Overall private comments from the evaluator. Free text: null with --drop-free-text',
  agent_comments               VARCHAR COMMENT 'Scoring set (answers): Comments from the agent while reviewing evaluation results. Free text: null with --drop-free-text',
  transcript_topics            VARIANT COMMENT 'Scoring set (answers): List of topics found within the conversation''s transcripts (JSON of list[TranscriptTopic])',
  extra_fields                 VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                       VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per quality evaluation (EvaluationResponse, as the evaluation search or the single read serves it) of the conversations that started on the UTC day of the partition, with the totals of its scoring set (answers.*, flattened into the row). Deleted evaluations are not rows. Joins: conversation_id → conversations.conversation_id; evaluation_form_id → quality_forms.id; agent_id / evaluator_id / assignee_id → users.id; queue_id → queues.id. [genesys-loader schema v1; key: id]';

CREATE TABLE IF NOT EXISTS quality_question_group_scores (
  evaluation_id                           VARCHAR NOT NULL COMMENT 'The evaluation (quality_evaluations.id)',
  conversation_date                       DATE NOT NULL COMMENT 'UTC date of the start of the evaluated conversation: the partition column',
  conversation_start                      TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the evaluated conversation; bounds partial-day reloads',
  question_group_id                       VARCHAR NOT NULL COMMENT 'The question group (quality_form_question_groups.id)',
  total_score                             FLOAT COMMENT 'Score of all questions in the group',
  max_total_score                         FLOAT COMMENT 'Maximum possible score of all questions in the group',
  marked_na                               BOOLEAN COMMENT 'True when the evaluation is submitted with a question group that does not have any answers. Only allowed when naEnabled is true or if set by the system',
  system_marked_na                        BOOLEAN COMMENT 'If markedNA is true, systemMarkedNA indicates whether it was marked by a user or by the system due to visibility conditions. Always false if markedNA is false.',
  total_critical_score                    FLOAT COMMENT 'Score of only the critical questions in the group',
  max_total_critical_score                FLOAT COMMENT 'Maximum possible score of only the critical questions in the group',
  total_non_critical_score                FLOAT COMMENT 'Score of only the non critical questions in the group',
  max_total_non_critical_score            FLOAT COMMENT 'Maximum possible score of only the non critical questions in the group',
  total_score_unweighted                  FLOAT COMMENT 'Unweighted score of all questions in the group',
  max_total_score_unweighted              FLOAT COMMENT 'Maximum possible unweighted score of all questions in the group',
  total_critical_score_unweighted         FLOAT COMMENT 'Unweighted score of only the critical questions in the group',
  max_total_critical_score_unweighted     FLOAT COMMENT 'Maximum possible unweighted score of only the critical questions in the group',
  total_non_critical_score_unweighted     FLOAT COMMENT 'Unweighted score of only the non critical questions in the group',
  max_total_non_critical_score_unweighted FLOAT COMMENT 'Maximum possible unweighted score of only the non critical questions in the group',
  extra_fields                            VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                                  VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per question group score of an evaluation (EvaluationQuestionGroupScore). [genesys-loader schema v1; key: evaluation_id, question_group_id]';

CREATE TABLE IF NOT EXISTS quality_question_scores (
  evaluation_id                          VARCHAR NOT NULL COMMENT 'The evaluation (quality_evaluations.id)',
  conversation_date                      DATE NOT NULL COMMENT 'UTC date of the start of the evaluated conversation: the partition column',
  conversation_start                     TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the evaluated conversation; bounds partial-day reloads',
  question_group_id                      VARCHAR NOT NULL COMMENT 'The question group (quality_form_question_groups.id)',
  question_id                            VARCHAR NOT NULL COMMENT 'The question (quality_form_questions.id)',
  answer_id                              VARCHAR COMMENT 'answerId',
  score                                  NUMBER(38,0) COMMENT 'Unweighted score of the question',
  marked_na                              BOOLEAN COMMENT 'True when the evaluation is submitted with a question that does not have an answer. Only allowed when naEnabled is true or if set by the system',
  system_marked_na                       BOOLEAN COMMENT 'If markedNA is true, systemMarkedNA indicates whether it was marked by a user or by the system due to visibility conditions. Always false if markedNA is false.',
  assisted_answer_id                     VARCHAR COMMENT 'AnswerId found with evaluation assistance conditions',
  failed_kill_question                   BOOLEAN COMMENT 'Applicable only on fatal questions. Indicates that the answer selected was not the highest score available for the question',
  comments                               VARCHAR COMMENT 'Comments from the evaluator specific to this question. Free text: null with --drop-free-text',
  ai_answer                              VARIANT COMMENT 'Suggested AI answer (JSON of AiAnswer)',
  multiple_select_question_option_scores VARIANT COMMENT 'Only applicable to Multiple Select questions. Scores corresponding to the options of Multiple Select questions. (JSON of list[EvaluationQuestionScore])',
  extra_fields                           VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                                 VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per question score of an evaluation (EvaluationQuestionScore): the answer chosen, its score, and comments. [genesys-loader schema v1; key: evaluation_id, question_id]';

CREATE TABLE IF NOT EXISTS recordings (
  id                                     VARCHAR NOT NULL COMMENT 'The recording''s id',
  conversation_date                      DATE NOT NULL COMMENT 'UTC date of the start of the recorded conversation: the partition column',
  conversation_start                     TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the recorded conversation, from the conversation details the recording was found through (not a field of RecordingMetadata); bounds partial-day reloads',
  name                                   VARCHAR COMMENT 'name',
  conversation_id                        VARCHAR NOT NULL COMMENT 'conversationId',
  path                                   VARCHAR COMMENT 'path',
  start_time                             TIMESTAMP_TZ(6) COMMENT 'The start time of the recording for screen recordings. Null for other types. (served as a string; set for screen recordings)',
  end_time                               TIMESTAMP_TZ(6) COMMENT 'endTime (served as a string; set for screen recordings)',
  media                                  VARCHAR COMMENT 'The type of media that the recording is. At the moment that could be audio, chat, email, or message.',
  media_subtype                          VARCHAR COMMENT 'The recording media subtype.',
  media_subject                          VARCHAR COMMENT 'The recording media subject.',
  file_state                             VARCHAR COMMENT 'Represents the current file state for a recording. Examples: Uploading, Archived, etc',
  restore_expiration_time                TIMESTAMP_TZ(6) COMMENT 'The amount of time a restored recording will remain restored before being archived again.',
  archive_date                           TIMESTAMP_TZ(6) COMMENT 'The date the recording will be archived.',
  archive_medium                         VARCHAR COMMENT 'The type of archive medium used. Example: CloudArchive',
  delete_date                            TIMESTAMP_TZ(6) COMMENT 'The date the recording will be deleted.',
  export_date                            TIMESTAMP_TZ(6) COMMENT 'The date the recording will be exported.',
  exported_date                          TIMESTAMP_TZ(6) COMMENT 'The date the recording was exported.',
  max_allowed_restorations_for_org       NUMBER(38,0) COMMENT 'How many archive restorations the organization is allowed to have. Deprecated - Always returns 10000 since the restoration limit is no longer enforced.',
  remaining_restorations_allowed_for_org NUMBER(38,0) COMMENT 'The remaining archive restorations the organization has. Deprecated - Always returns 10000 since the restoration limit is no longer enforced.',
  session_id                             VARCHAR COMMENT 'The session id represents an external resource id, such as email, call, chat, etc',
  region                                 VARCHAR COMMENT 'The region the source recording is stored in',
  self_uri                               VARCHAR COMMENT 'The URI for this object',
  extra_fields                           VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                                 VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per recording of the conversations that started on the UTC day of the partition (RecordingMetadata): media, file state, archive and delete dates. No media and no media URL. Joins: conversation_id → conversations.conversation_id; session_id → sessions.session_id. [genesys-loader schema v1; key: id]';

CREATE TABLE IF NOT EXISTS recording_annotations (
  recording_id          VARCHAR NOT NULL COMMENT 'The recording (recordings.id)',
  conversation_date     DATE NOT NULL COMMENT 'UTC date of the start of the recorded conversation: the partition column',
  conversation_start    TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the recorded conversation; bounds partial-day reloads',
  conversation_id       VARCHAR NOT NULL COMMENT 'The recorded conversation',
  id                    VARCHAR NOT NULL COMMENT 'The annotation''s id',
  parent_annotation_id  VARCHAR COMMENT 'The annotation this one is nested in (null at the top level): nested annotations are flattened into rows',
  name                  VARCHAR COMMENT 'name',
  type                  VARCHAR COMMENT 'type',
  location              NUMBER(38,0) COMMENT 'Offset of annotation in milliseconds.',
  duration_ms           NUMBER(38,0) COMMENT 'Duration of annotation in milliseconds.',
  absolute_location     NUMBER(38,0) COMMENT 'Offset of annotation (milliseconds) from start of recording (after removing the cumulative duration of all pauses).',
  absolute_duration_ms  NUMBER(38,0) COMMENT 'Duration of annotation (milliseconds).',
  recording_location    NUMBER(38,0) COMMENT 'Offset of annotation (milliseconds) from start of recording, adjusted for any recording cuts',
  recording_duration_ms NUMBER(38,0) COMMENT 'Duration of annotation (milliseconds), adjusted for any recording cuts.',
  user_id               VARCHAR COMMENT 'Id of User that created this annotation (if any).',
  user                  VARIANT COMMENT 'User that created this annotation (if any). (JSON of User)',
  description           VARCHAR COMMENT 'Text of annotation. Maximum character limit is 500.. Free text: null with --drop-free-text',
  reason                VARCHAR COMMENT 'Reason for a pause annotation. Valid values: Hold,SecurePause,FlowOrQueue,Pause',
  realtime_location     NUMBER(38,0) COMMENT 'Offset of annotation (milliseconds) from start of the recording before removing the cumulative duration of all pauses before this annotation',
  self_uri              VARCHAR COMMENT 'The URI for this object',
  extra_fields          VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (conversation_date)
COMMENT = 'One row per annotation of a recording (Annotation): pauses, holds, bookmarks; nested annotations are flattened, each with its parent_annotation_id. Bookmarks are only served to a client that also holds recording:annotation:view. [genesys-loader schema v1; key: recording_id, id]';

CREATE TABLE IF NOT EXISTS users (
  id                   VARCHAR NOT NULL COMMENT 'The globally unique identifier of the user',
  snapshot_date        DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name                 VARCHAR COMMENT 'The user''s full name',
  division_id          VARCHAR COMMENT 'Id of the division the user belongs to (divisions.id)',
  division             VARIANT COMMENT 'The division to which this user belongs (JSON of Division)',
  chat                 VARIANT COMMENT 'Chat settings: the user''s XMPP jabberId (JSON of Chat)',
  department           VARCHAR COMMENT 'The user''s department',
  email                VARCHAR COMMENT 'The user''s email address',
  primary_contact_info VARIANT COMMENT 'The user''s primary email address and phone numbers, auto populated from addresses (JSON array of Contact)',
  addresses            VARIANT COMMENT 'Email addresses and phone numbers for this user (JSON array of Contact)',
  state                VARCHAR COMMENT 'The current state for this user: active, inactive or deleted',
  title                VARCHAR COMMENT 'The user''s job title',
  username             VARCHAR COMMENT 'The user''s login name',
  manager_id           VARCHAR COMMENT 'Id of the user''s manager (users.id)',
  manager              VARIANT COMMENT 'The user''s manager, as a reference {id, selfUri} (JSON of User)',
  images               VARIANT COMMENT 'Profile images at several resolutions, each {resolution, imageUri} (JSON array of Image)',
  version              NUMBER(38,0) COMMENT 'Version of the user record, incremented on each update (required when updating a user)',
  certifications       ARRAY COMMENT 'Certifications the user holds (only when expanded)',
  biography            VARIANT COMMENT 'Biography: free-text bio, interests, hobbies, spouse, education (JSON of Biography; only when expanded)',
  employer_info        VARIANT COMMENT 'Employer details: official name, employee id and type, hire date (JSON of EmployerInfo; only when expanded)',
  preferred_name       VARCHAR COMMENT 'Preferred full name of the agent',
  routing_status       VARIANT COMMENT 'ACD routing status (JSON of RoutingStatus; only when expanded)',
  presence             VARIANT COMMENT 'Active presence (JSON of UserPresence; only when expanded)',
  integration_presence VARIANT COMMENT 'Integration presence (JSON of UserPresence; only when expanded)',
  conversation_summary VARIANT COMMENT 'Counts of the user''s active conversations by media type (JSON of UserConversationSummary; only when expanded)',
  out_of_office        VARIANT COMMENT 'Out-of-office status: whether it is active or indefinite, with its start and end dates (JSON of OutOfOffice; only when expanded)',
  geolocation          VARIANT COMMENT 'Current geolocation position (JSON of Geolocation; only when expanded)',
  station              VARIANT COMMENT 'Effective, default, and last station information (JSON of UserStations; only when expanded)',
  "AUTHORIZATION"      VARIANT COMMENT 'Roles and permissions assigned to the user (JSON of UserAuthorization; only when expanded)',
  profile_skills       ARRAY COMMENT 'Profile skills possessed by the user (only when expanded)',
  locations            VARIANT COMMENT 'The user placement at each site location (JSON array of Location; only when expanded)',
  groups               VARIANT COMMENT 'The groups the user is a member of (JSON array of Group; only when expanded)',
  team_id              VARCHAR COMMENT 'Id of the team the user is a member of (teams.id); only when expanded',
  team                 VARIANT COMMENT 'The team the user is a member of, as a reference (JSON of Team; only when expanded)',
  work_plan_bid_ranks  VARIANT COMMENT 'The WFM work plan bid rank settings for the user (JSON of WorkPlanBidRanks; only when expanded)',
  skills               VARIANT COMMENT 'Routing (ACD) skills possessed by the user (JSON array of UserRoutingSkill; only when expanded)',
  languages            VARIANT COMMENT 'Routing (ACD) languages possessed by the user (JSON array of UserRoutingLanguage; only when expanded)',
  acd_auto_answer      BOOLEAN COMMENT 'Whether ACD conversations are answered automatically for this user',
  language_preference  VARCHAR COMMENT 'The user''s preferred language (only when expanded)',
  last_token_issued    VARIANT COMMENT 'When the user was last issued an OAuth token, as {dateIssued} (JSON of OAuthLastTokenIssued; only when expanded)',
  date_last_login      TIMESTAMP_TZ(6) COMMENT 'The last time the user logged in using username and password (only when expanded)',
  date_welcome_sent    TIMESTAMP_TZ(6) COMMENT 'The date & time the user was sent their welcome email (only when expanded)',
  self_uri             VARCHAR COMMENT 'The URI of this user in the API',
  extra_fields         VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id               VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per user of the org (User), active, inactive and deleted alike (listed with state=any): a full snapshot per run, merged by id. Joins: users.id ← participants.user_id, sessions.selected_agent_id / assigner_id, proposed_agents.proposed_agent_id, scored_agents.scored_agent_id, segments.requested_routing_user_ids (each element), evaluations.user_id / evaluator_id, surveys.user_id, resolutions.user_id, conversation_aggregates.user_id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS users_staging (
  id                   VARCHAR NOT NULL COMMENT 'The globally unique identifier of the user',
  snapshot_date        DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name                 VARCHAR COMMENT 'The user''s full name',
  division_id          VARCHAR COMMENT 'Id of the division the user belongs to (divisions.id)',
  division             VARIANT COMMENT 'The division to which this user belongs (JSON of Division)',
  chat                 VARIANT COMMENT 'Chat settings: the user''s XMPP jabberId (JSON of Chat)',
  department           VARCHAR COMMENT 'The user''s department',
  email                VARCHAR COMMENT 'The user''s email address',
  primary_contact_info VARIANT COMMENT 'The user''s primary email address and phone numbers, auto populated from addresses (JSON array of Contact)',
  addresses            VARIANT COMMENT 'Email addresses and phone numbers for this user (JSON array of Contact)',
  state                VARCHAR COMMENT 'The current state for this user: active, inactive or deleted',
  title                VARCHAR COMMENT 'The user''s job title',
  username             VARCHAR COMMENT 'The user''s login name',
  manager_id           VARCHAR COMMENT 'Id of the user''s manager (users.id)',
  manager              VARIANT COMMENT 'The user''s manager, as a reference {id, selfUri} (JSON of User)',
  images               VARIANT COMMENT 'Profile images at several resolutions, each {resolution, imageUri} (JSON array of Image)',
  version              NUMBER(38,0) COMMENT 'Version of the user record, incremented on each update (required when updating a user)',
  certifications       ARRAY COMMENT 'Certifications the user holds (only when expanded)',
  biography            VARIANT COMMENT 'Biography: free-text bio, interests, hobbies, spouse, education (JSON of Biography; only when expanded)',
  employer_info        VARIANT COMMENT 'Employer details: official name, employee id and type, hire date (JSON of EmployerInfo; only when expanded)',
  preferred_name       VARCHAR COMMENT 'Preferred full name of the agent',
  routing_status       VARIANT COMMENT 'ACD routing status (JSON of RoutingStatus; only when expanded)',
  presence             VARIANT COMMENT 'Active presence (JSON of UserPresence; only when expanded)',
  integration_presence VARIANT COMMENT 'Integration presence (JSON of UserPresence; only when expanded)',
  conversation_summary VARIANT COMMENT 'Counts of the user''s active conversations by media type (JSON of UserConversationSummary; only when expanded)',
  out_of_office        VARIANT COMMENT 'Out-of-office status: whether it is active or indefinite, with its start and end dates (JSON of OutOfOffice; only when expanded)',
  geolocation          VARIANT COMMENT 'Current geolocation position (JSON of Geolocation; only when expanded)',
  station              VARIANT COMMENT 'Effective, default, and last station information (JSON of UserStations; only when expanded)',
  "AUTHORIZATION"      VARIANT COMMENT 'Roles and permissions assigned to the user (JSON of UserAuthorization; only when expanded)',
  profile_skills       ARRAY COMMENT 'Profile skills possessed by the user (only when expanded)',
  locations            VARIANT COMMENT 'The user placement at each site location (JSON array of Location; only when expanded)',
  groups               VARIANT COMMENT 'The groups the user is a member of (JSON array of Group; only when expanded)',
  team_id              VARCHAR COMMENT 'Id of the team the user is a member of (teams.id); only when expanded',
  team                 VARIANT COMMENT 'The team the user is a member of, as a reference (JSON of Team; only when expanded)',
  work_plan_bid_ranks  VARIANT COMMENT 'The WFM work plan bid rank settings for the user (JSON of WorkPlanBidRanks; only when expanded)',
  skills               VARIANT COMMENT 'Routing (ACD) skills possessed by the user (JSON array of UserRoutingSkill; only when expanded)',
  languages            VARIANT COMMENT 'Routing (ACD) languages possessed by the user (JSON array of UserRoutingLanguage; only when expanded)',
  acd_auto_answer      BOOLEAN COMMENT 'Whether ACD conversations are answered automatically for this user',
  language_preference  VARCHAR COMMENT 'The user''s preferred language (only when expanded)',
  last_token_issued    VARIANT COMMENT 'When the user was last issued an OAuth token, as {dateIssued} (JSON of OAuthLastTokenIssued; only when expanded)',
  date_last_login      TIMESTAMP_TZ(6) COMMENT 'The last time the user logged in using username and password (only when expanded)',
  date_welcome_sent    TIMESTAMP_TZ(6) COMMENT 'The date & time the user was sent their welcome email (only when expanded)',
  self_uri             VARCHAR COMMENT 'The URI of this user in the API',
  extra_fields         VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id               VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for users: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS queues (
  id                               VARCHAR NOT NULL COMMENT 'The globally unique identifier of the queue',
  snapshot_date                    DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name                             VARCHAR COMMENT 'The queue name',
  division_id                      VARCHAR COMMENT 'Id of the division the queue belongs to (divisions.id)',
  division                         VARIANT COMMENT 'The division to which this queue belongs (JSON of Division)',
  description                      VARCHAR COMMENT 'The queue description',
  date_created                     TIMESTAMP_TZ(6) COMMENT 'The date the queue was created',
  date_modified                    TIMESTAMP_TZ(6) COMMENT 'The date of the last modification to the queue',
  modified_by                      VARCHAR COMMENT 'The ID of the user that last modified the queue (users.id)',
  created_by                       VARCHAR COMMENT 'The ID of the user that created the queue (users.id)',
  member_count                     NUMBER(38,0) COMMENT 'The total number of members in the queue',
  user_member_count                NUMBER(38,0) COMMENT 'The number of user members (i.e., non-group members) in the queue',
  joined_member_count              NUMBER(38,0) COMMENT 'The number of joined members in the queue',
  media_settings                   VARIANT COMMENT 'The media settings for the queue (JSON of QueueMediaSettings)',
  routing_rules                    VARIANT COMMENT 'The routing rules for the queue, used for Preferred Agent Routing (JSON array of RoutingRule)',
  conditional_group_routing        VARIANT COMMENT 'The Conditional Group Routing settings for the queue (JSON of ConditionalGroupRouting)',
  conditional_group_activation     VARIANT COMMENT 'The Conditional Group Activation settings for the queue (JSON of ConditionalGroupActivation)',
  bullseye                         VARIANT COMMENT 'The bullseye settings for the queue (JSON of Bullseye)',
  scoring_method                   VARCHAR COMMENT 'The scoring method for the queue: TimestampAndPriority or PriorityOnly',
  last_agent_routing_mode          VARCHAR COMMENT 'The last agent routing mode for the queue: Disabled, QueueMembersOnly or AnyAgent',
  acw_settings                     VARIANT COMMENT 'The ACW settings for the queue (JSON of AcwSettings)',
  skill_evaluation_method          VARCHAR COMMENT 'The skill evaluation method to use when routing conversations: NONE, BEST or ALL',
  member_groups                    VARIANT COMMENT 'The groups of agents associated with the queue, if any; queue membership follows their membership (JSON array of MemberGroup)',
  queue_flow_id                    VARCHAR COMMENT 'Id of the in-queue flow for call conversations waiting in queue',
  queue_flow                       VARIANT COMMENT 'The in-queue flow to use for call conversations waiting in queue (JSON of DomainEntityRef)',
  email_in_queue_flow_id           VARCHAR COMMENT 'Id of the in-queue flow for email conversations waiting in queue',
  email_in_queue_flow              VARIANT COMMENT 'The in-queue flow to use for email conversations waiting in queue (JSON of DomainEntityRef)',
  message_in_queue_flow_id         VARCHAR COMMENT 'Id of the in-queue flow for message conversations waiting in queue',
  message_in_queue_flow            VARIANT COMMENT 'The in-queue flow to use for message conversations waiting in queue (JSON of DomainEntityRef)',
  whisper_prompt_id                VARCHAR COMMENT 'Id of the whisper prompt of the queue, if configured',
  whisper_prompt                   VARIANT COMMENT 'The prompt used for whisper on the queue, if configured (JSON of DomainEntityRef)',
  on_hold_prompt_id                VARCHAR COMMENT 'Id of the on-hold audio prompt of the queue, if configured',
  on_hold_prompt                   VARIANT COMMENT 'The audio played to calls on hold in this queue (the default on-hold music when not configured) (JSON of DomainEntityRef)',
  default_media_language           VARCHAR COMMENT 'The canonical language code (e.g. en-US) used for the default media language on the queue',
  auto_answer_only                 BOOLEAN COMMENT 'Specifies whether the configured whisper should play for all ACD calls, or only for those which are auto-answered',
  canned_response_libraries        VARIANT COMMENT 'Canned response library IDs and mode with which they are associated with the queue (JSON of CannedResponseLibraries)',
  enable_transcription             BOOLEAN COMMENT 'Indicates whether voice transcription is enabled for this queue',
  enable_audio_monitoring          BOOLEAN COMMENT 'Indicates whether audio monitoring is enabled for this queue',
  enable_manual_assignment         BOOLEAN COMMENT 'Indicates whether manual assignment is enabled for this queue',
  agent_owned_routing              VARIANT COMMENT 'The Agent Owned Routing settings for the queue (JSON of AgentOwnedRouting)',
  direct_routing                   VARIANT COMMENT 'The Direct Routing settings for the queue (JSON of DirectRouting)',
  calling_party_name               VARCHAR COMMENT 'The name to use for caller identification for outbound calls from this queue',
  calling_party_number             VARCHAR COMMENT 'The phone number to use for caller identification for outbound calls from this queue',
  default_scripts                  VARIANT COMMENT 'The default scripts for the communication types, keyed by communication type (JSON object of Script)',
  outbound_messaging_addresses     VARIANT COMMENT 'The messaging addresses (SMS, open messaging, WhatsApp) used for outbound messages from this queue (JSON of QueueMessagingAddresses)',
  outbound_email_address           VARIANT COMMENT 'The default email address (domain and route) to use for outbound email from this queue (JSON of QueueEmailAddress)',
  peer_id                          VARCHAR COMMENT 'The ID of an associated external queue',
  suppress_in_queue_call_recording BOOLEAN COMMENT 'Indicates whether recording in-queue calls is suppressed for this queue',
  self_uri                         VARCHAR COMMENT 'The URI of this queue in the API',
  extra_fields                     VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                           VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per routing queue of the org (Queue): a full snapshot per run, merged by id. Joins: queues.id ← segments.queue_id, evaluations.queue_id, surveys.queue_id, resolutions.queue_id, conversation_aggregates.queue_id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS queues_staging (
  id                               VARCHAR NOT NULL COMMENT 'The globally unique identifier of the queue',
  snapshot_date                    DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name                             VARCHAR COMMENT 'The queue name',
  division_id                      VARCHAR COMMENT 'Id of the division the queue belongs to (divisions.id)',
  division                         VARIANT COMMENT 'The division to which this queue belongs (JSON of Division)',
  description                      VARCHAR COMMENT 'The queue description',
  date_created                     TIMESTAMP_TZ(6) COMMENT 'The date the queue was created',
  date_modified                    TIMESTAMP_TZ(6) COMMENT 'The date of the last modification to the queue',
  modified_by                      VARCHAR COMMENT 'The ID of the user that last modified the queue (users.id)',
  created_by                       VARCHAR COMMENT 'The ID of the user that created the queue (users.id)',
  member_count                     NUMBER(38,0) COMMENT 'The total number of members in the queue',
  user_member_count                NUMBER(38,0) COMMENT 'The number of user members (i.e., non-group members) in the queue',
  joined_member_count              NUMBER(38,0) COMMENT 'The number of joined members in the queue',
  media_settings                   VARIANT COMMENT 'The media settings for the queue (JSON of QueueMediaSettings)',
  routing_rules                    VARIANT COMMENT 'The routing rules for the queue, used for Preferred Agent Routing (JSON array of RoutingRule)',
  conditional_group_routing        VARIANT COMMENT 'The Conditional Group Routing settings for the queue (JSON of ConditionalGroupRouting)',
  conditional_group_activation     VARIANT COMMENT 'The Conditional Group Activation settings for the queue (JSON of ConditionalGroupActivation)',
  bullseye                         VARIANT COMMENT 'The bullseye settings for the queue (JSON of Bullseye)',
  scoring_method                   VARCHAR COMMENT 'The scoring method for the queue: TimestampAndPriority or PriorityOnly',
  last_agent_routing_mode          VARCHAR COMMENT 'The last agent routing mode for the queue: Disabled, QueueMembersOnly or AnyAgent',
  acw_settings                     VARIANT COMMENT 'The ACW settings for the queue (JSON of AcwSettings)',
  skill_evaluation_method          VARCHAR COMMENT 'The skill evaluation method to use when routing conversations: NONE, BEST or ALL',
  member_groups                    VARIANT COMMENT 'The groups of agents associated with the queue, if any; queue membership follows their membership (JSON array of MemberGroup)',
  queue_flow_id                    VARCHAR COMMENT 'Id of the in-queue flow for call conversations waiting in queue',
  queue_flow                       VARIANT COMMENT 'The in-queue flow to use for call conversations waiting in queue (JSON of DomainEntityRef)',
  email_in_queue_flow_id           VARCHAR COMMENT 'Id of the in-queue flow for email conversations waiting in queue',
  email_in_queue_flow              VARIANT COMMENT 'The in-queue flow to use for email conversations waiting in queue (JSON of DomainEntityRef)',
  message_in_queue_flow_id         VARCHAR COMMENT 'Id of the in-queue flow for message conversations waiting in queue',
  message_in_queue_flow            VARIANT COMMENT 'The in-queue flow to use for message conversations waiting in queue (JSON of DomainEntityRef)',
  whisper_prompt_id                VARCHAR COMMENT 'Id of the whisper prompt of the queue, if configured',
  whisper_prompt                   VARIANT COMMENT 'The prompt used for whisper on the queue, if configured (JSON of DomainEntityRef)',
  on_hold_prompt_id                VARCHAR COMMENT 'Id of the on-hold audio prompt of the queue, if configured',
  on_hold_prompt                   VARIANT COMMENT 'The audio played to calls on hold in this queue (the default on-hold music when not configured) (JSON of DomainEntityRef)',
  default_media_language           VARCHAR COMMENT 'The canonical language code (e.g. en-US) used for the default media language on the queue',
  auto_answer_only                 BOOLEAN COMMENT 'Specifies whether the configured whisper should play for all ACD calls, or only for those which are auto-answered',
  canned_response_libraries        VARIANT COMMENT 'Canned response library IDs and mode with which they are associated with the queue (JSON of CannedResponseLibraries)',
  enable_transcription             BOOLEAN COMMENT 'Indicates whether voice transcription is enabled for this queue',
  enable_audio_monitoring          BOOLEAN COMMENT 'Indicates whether audio monitoring is enabled for this queue',
  enable_manual_assignment         BOOLEAN COMMENT 'Indicates whether manual assignment is enabled for this queue',
  agent_owned_routing              VARIANT COMMENT 'The Agent Owned Routing settings for the queue (JSON of AgentOwnedRouting)',
  direct_routing                   VARIANT COMMENT 'The Direct Routing settings for the queue (JSON of DirectRouting)',
  calling_party_name               VARCHAR COMMENT 'The name to use for caller identification for outbound calls from this queue',
  calling_party_number             VARCHAR COMMENT 'The phone number to use for caller identification for outbound calls from this queue',
  default_scripts                  VARIANT COMMENT 'The default scripts for the communication types, keyed by communication type (JSON object of Script)',
  outbound_messaging_addresses     VARIANT COMMENT 'The messaging addresses (SMS, open messaging, WhatsApp) used for outbound messages from this queue (JSON of QueueMessagingAddresses)',
  outbound_email_address           VARIANT COMMENT 'The default email address (domain and route) to use for outbound email from this queue (JSON of QueueEmailAddress)',
  peer_id                          VARCHAR COMMENT 'The ID of an associated external queue',
  suppress_in_queue_call_recording BOOLEAN COMMENT 'Indicates whether recording in-queue calls is suppressed for this queue',
  self_uri                         VARCHAR COMMENT 'The URI of this queue in the API',
  extra_fields                     VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                           VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for queues: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS divisions (
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
CREATE TRANSIENT TABLE IF NOT EXISTS divisions_staging (
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

CREATE TABLE IF NOT EXISTS wrapup_codes (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the wrap-up code',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name          VARCHAR COMMENT 'The wrap-up code name',
  division_id   VARCHAR COMMENT 'Id of the division the wrap-up code belongs to (divisions.id)',
  division      VARIANT COMMENT 'The division to which this wrap-up code belongs (JSON of StarrableDivision)',
  description   VARCHAR COMMENT 'The wrap-up code description',
  date_created  TIMESTAMP_TZ(6) COMMENT 'Date when the wrap-up code was created',
  date_modified TIMESTAMP_TZ(6) COMMENT 'Date when the wrap-up code was last modified',
  created_by    VARCHAR COMMENT 'The ID of the user that created the wrap-up code (users.id)',
  modified_by   VARCHAR COMMENT 'The ID of the user that modified the wrap-up code (users.id)',
  self_uri      VARCHAR COMMENT 'The URI of this wrap-up code in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per wrap-up code of the org (WrapupCode): a full snapshot per run, merged by id. Joins: wrapup_codes.id ← segments.wrap_up_code, conversation_aggregates.wrap_up_code. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS wrapup_codes_staging (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the wrap-up code',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name          VARCHAR COMMENT 'The wrap-up code name',
  division_id   VARCHAR COMMENT 'Id of the division the wrap-up code belongs to (divisions.id)',
  division      VARIANT COMMENT 'The division to which this wrap-up code belongs (JSON of StarrableDivision)',
  description   VARCHAR COMMENT 'The wrap-up code description',
  date_created  TIMESTAMP_TZ(6) COMMENT 'Date when the wrap-up code was created',
  date_modified TIMESTAMP_TZ(6) COMMENT 'Date when the wrap-up code was last modified',
  created_by    VARCHAR COMMENT 'The ID of the user that created the wrap-up code (users.id)',
  modified_by   VARCHAR COMMENT 'The ID of the user that modified the wrap-up code (users.id)',
  self_uri      VARCHAR COMMENT 'The URI of this wrap-up code in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for wrapup_codes: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS skills (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the skill',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name          VARCHAR COMMENT 'The name of the skill',
  division_id   VARCHAR COMMENT 'Id of the division the skill belongs to (divisions.id)',
  division      VARIANT COMMENT 'The division this skill belongs to (JSON of Division)',
  date_modified TIMESTAMP_TZ(6) COMMENT 'Date the skill was last modified',
  state         VARCHAR COMMENT 'The current state for this skill: active, inactive or deleted',
  version       VARCHAR COMMENT 'Version of the skill, assigned by the system (required when updating)',
  self_uri      VARCHAR COMMENT 'The URI of this skill in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per routing (ACD) skill of the org (RoutingSkill): a full snapshot per run, merged by id. Joins: skills.id ← segments.requested_routing_skill_ids (each element), sessions.active_skill_ids / removed_skill_ids (each element), conversation_aggregates.requested_routing_skill_id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS skills_staging (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the skill',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name          VARCHAR COMMENT 'The name of the skill',
  division_id   VARCHAR COMMENT 'Id of the division the skill belongs to (divisions.id)',
  division      VARIANT COMMENT 'The division this skill belongs to (JSON of Division)',
  date_modified TIMESTAMP_TZ(6) COMMENT 'Date the skill was last modified',
  state         VARCHAR COMMENT 'The current state for this skill: active, inactive or deleted',
  version       VARCHAR COMMENT 'Version of the skill, assigned by the system (required when updating)',
  self_uri      VARCHAR COMMENT 'The URI of this skill in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for skills: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS languages (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the language',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name          VARCHAR COMMENT 'The language name',
  date_modified TIMESTAMP_TZ(6) COMMENT 'Date the language was last modified',
  state         VARCHAR COMMENT 'The current state for this language: active, inactive or deleted',
  version       VARCHAR COMMENT 'Version of the language, assigned by the system',
  self_uri      VARCHAR COMMENT 'The URI of this language in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per routing language of the org (Language): a full snapshot per run, merged by id. Joins: languages.id ← segments.requested_language_id, conversation_aggregates.requested_language_id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS languages_staging (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the language',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name          VARCHAR COMMENT 'The language name',
  date_modified TIMESTAMP_TZ(6) COMMENT 'Date the language was last modified',
  state         VARCHAR COMMENT 'The current state for this language: active, inactive or deleted',
  version       VARCHAR COMMENT 'Version of the language, assigned by the system',
  self_uri      VARCHAR COMMENT 'The URI of this language in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for languages: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS groups (
  id             VARCHAR NOT NULL COMMENT 'The globally unique identifier of the group',
  snapshot_date  DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name           VARCHAR COMMENT 'The group name',
  description    VARCHAR COMMENT 'The group description',
  date_modified  TIMESTAMP_TZ(6) COMMENT 'Last modified date/time',
  member_count   NUMBER(38,0) COMMENT 'Number of members of the group',
  state          VARCHAR COMMENT 'The current state for this group: active, inactive or deleted',
  version        NUMBER(38,0) COMMENT 'Current version of the group record',
  type           VARCHAR COMMENT 'Type of group: official or social',
  images         VARIANT COMMENT 'Group images at several resolutions, each {resolution, imageUri} (JSON array of Image)',
  addresses      VARIANT COMMENT 'Phone numbers and other contact addresses of the group (JSON array of GroupContact)',
  rules_visible  BOOLEAN COMMENT 'Whether membership rules are visible to the person requesting to view the group',
  visibility     VARCHAR COMMENT 'Who can view this group: public, owners or members',
  roles_enabled  BOOLEAN COMMENT 'Whether roles can be assigned to this group',
  include_owners BOOLEAN COMMENT 'Whether owners are included as members of the group',
  calls_enabled  BOOLEAN COMMENT 'Whether calls can be placed to this group',
  email          VARCHAR COMMENT 'Email address for the group',
  owners         VARIANT COMMENT 'Owners of the group, as user references (JSON array of User)',
  self_uri       VARCHAR COMMENT 'The URI of this group in the API',
  extra_fields   VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id         VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per group of the org (Group): a full snapshot per run, merged by id. Joins: groups.id ← agent_groups.agent_group_id (when the agent group is a group), segments.group_id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS groups_staging (
  id             VARCHAR NOT NULL COMMENT 'The globally unique identifier of the group',
  snapshot_date  DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name           VARCHAR COMMENT 'The group name',
  description    VARCHAR COMMENT 'The group description',
  date_modified  TIMESTAMP_TZ(6) COMMENT 'Last modified date/time',
  member_count   NUMBER(38,0) COMMENT 'Number of members of the group',
  state          VARCHAR COMMENT 'The current state for this group: active, inactive or deleted',
  version        NUMBER(38,0) COMMENT 'Current version of the group record',
  type           VARCHAR COMMENT 'Type of group: official or social',
  images         VARIANT COMMENT 'Group images at several resolutions, each {resolution, imageUri} (JSON array of Image)',
  addresses      VARIANT COMMENT 'Phone numbers and other contact addresses of the group (JSON array of GroupContact)',
  rules_visible  BOOLEAN COMMENT 'Whether membership rules are visible to the person requesting to view the group',
  visibility     VARCHAR COMMENT 'Who can view this group: public, owners or members',
  roles_enabled  BOOLEAN COMMENT 'Whether roles can be assigned to this group',
  include_owners BOOLEAN COMMENT 'Whether owners are included as members of the group',
  calls_enabled  BOOLEAN COMMENT 'Whether calls can be placed to this group',
  email          VARCHAR COMMENT 'Email address for the group',
  owners         VARIANT COMMENT 'Owners of the group, as user references (JSON array of User)',
  self_uri       VARCHAR COMMENT 'The URI of this group in the API',
  extra_fields   VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id         VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for groups: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS teams (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the team',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name          VARCHAR COMMENT 'The team name',
  division_id   VARCHAR COMMENT 'Id of the division the team belongs to (divisions.id)',
  division      VARIANT COMMENT 'The division to which this team belongs (JSON of WritableDivision)',
  description   VARCHAR COMMENT 'The team description',
  date_created  TIMESTAMP_TZ(6) COMMENT 'Date the team was created',
  date_modified TIMESTAMP_TZ(6) COMMENT 'Date the team was last modified',
  member_count  NUMBER(38,0) COMMENT 'Number of members in the team',
  self_uri      VARCHAR COMMENT 'The URI of this team in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per work team of the org (Team): a full snapshot per run, merged by id. Joins: teams.id ← participants.team_id, users.team_id, conversation_aggregates.team_id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS teams_staging (
  id            VARCHAR NOT NULL COMMENT 'The globally unique identifier of the team',
  snapshot_date DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears from the listing keeps the date of the last snapshot that saw it',
  name          VARCHAR COMMENT 'The team name',
  division_id   VARCHAR COMMENT 'Id of the division the team belongs to (divisions.id)',
  division      VARIANT COMMENT 'The division to which this team belongs (JSON of WritableDivision)',
  description   VARCHAR COMMENT 'The team description',
  date_created  TIMESTAMP_TZ(6) COMMENT 'Date the team was created',
  date_modified TIMESTAMP_TZ(6) COMMENT 'Date the team was last modified',
  member_count  NUMBER(38,0) COMMENT 'Number of members in the team',
  self_uri      VARCHAR COMMENT 'The URI of this team in the API',
  extra_fields  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for teams: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS quality_forms (
  id                       VARCHAR NOT NULL COMMENT 'The form version''s id (evaluations.form_id)',
  snapshot_date            DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  name                     VARCHAR COMMENT 'The evaluation form name',
  division_id              VARCHAR COMMENT 'Id of The division to which this entity belongs.',
  division                 VARIANT COMMENT 'The division to which this entity belongs. (JSON of WritableStarrableDivision)',
  modified_date            TIMESTAMP_TZ(6) COMMENT 'modifiedDate',
  published                BOOLEAN COMMENT 'published',
  context_id               VARCHAR COMMENT 'contextId',
  weight_mode              VARCHAR COMMENT 'Mode for evaluation form weight',
  evaluation_settings      VARIANT COMMENT 'Settings for evaluations associated with this form (JSON of EvaluationSettings)',
  published_versions       VARIANT COMMENT 'A list of the published versions of this form. Not populated by default, its availability depends on the endpoint. Use the ''expand=publishHistory'' query parameter to retrieve this data where applicable (refer to the endpoint description to see if it is applicable). (JSON of DomainEntityListingEvaluationForm)',
  latest_version_form_name VARCHAR COMMENT 'The name of the form''s most recently published version',
  ai_scoring               VARIANT COMMENT 'AI scoring settings for the evaluation form. (JSON of AiScoringSettings)',
  dialect                  VARCHAR COMMENT 'The language dialect for this evaluation form. Supported dialects: ar, cs, da, de, en-US, es, fi, fr, fr-CA, he, hi, it, ja, ko, nl, no, pl, pt-BR, pt-PT, ru, sv, th, tr, uk, zh-CN, zh-TW',
  self_uri                 VARCHAR COMMENT 'The URI for this object',
  extra_fields             VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                   VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per evaluation form version (EvaluationFormResponse), published versions included: each version has its own id, versions of one form share context_id. A snapshot per run, merged by id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS quality_forms_staging (
  id                       VARCHAR NOT NULL COMMENT 'The form version''s id (evaluations.form_id)',
  snapshot_date            DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  name                     VARCHAR COMMENT 'The evaluation form name',
  division_id              VARCHAR COMMENT 'Id of The division to which this entity belongs.',
  division                 VARIANT COMMENT 'The division to which this entity belongs. (JSON of WritableStarrableDivision)',
  modified_date            TIMESTAMP_TZ(6) COMMENT 'modifiedDate',
  published                BOOLEAN COMMENT 'published',
  context_id               VARCHAR COMMENT 'contextId',
  weight_mode              VARCHAR COMMENT 'Mode for evaluation form weight',
  evaluation_settings      VARIANT COMMENT 'Settings for evaluations associated with this form (JSON of EvaluationSettings)',
  published_versions       VARIANT COMMENT 'A list of the published versions of this form. Not populated by default, its availability depends on the endpoint. Use the ''expand=publishHistory'' query parameter to retrieve this data where applicable (refer to the endpoint description to see if it is applicable). (JSON of DomainEntityListingEvaluationForm)',
  latest_version_form_name VARCHAR COMMENT 'The name of the form''s most recently published version',
  ai_scoring               VARIANT COMMENT 'AI scoring settings for the evaluation form. (JSON of AiScoringSettings)',
  dialect                  VARCHAR COMMENT 'The language dialect for this evaluation form. Supported dialects: ar, cs, da, de, en-US, es, fi, fr, fr-CA, he, hi, it, ja, ko, nl, no, pl, pt-BR, pt-PT, ru, sv, th, tr, uk, zh-CN, zh-TW',
  self_uri                 VARCHAR COMMENT 'The URI for this object',
  extra_fields             VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                   VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
COMMENT = 'Staging for quality_forms: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS quality_form_question_groups (
  form_id                    VARCHAR NOT NULL COMMENT 'The form version (quality_forms.id)',
  id                         VARCHAR NOT NULL COMMENT 'The question group''s id (quality_question_group_scores.question_group_id)',
  snapshot_date              DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  question_group_index       NUMBER(38,0) NOT NULL COMMENT 'Position of the group in the form (0-based)',
  context_id                 VARCHAR COMMENT 'An identifier for this question group that stays the same across versions of the form.',
  name                       VARCHAR COMMENT 'name',
  type                       VARCHAR COMMENT 'type',
  default_answers_to_highest BOOLEAN COMMENT 'defaultAnswersToHighest',
  default_answers_to_na      BOOLEAN COMMENT 'defaultAnswersToNA',
  na_enabled                 BOOLEAN COMMENT 'naEnabled',
  weight                     FLOAT COMMENT 'weight',
  manual_weight              BOOLEAN COMMENT 'manualWeight',
  visibility_condition       VARIANT COMMENT 'visibilityCondition (JSON of VisibilityCondition)',
  default_answers_to         VARIANT COMMENT 'Default scoring settings for the questions within this question group. (JSON of DefaultAnswersTo)',
  extra_fields               VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                     VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per question group of a form version (EvaluationQuestionGroup). [genesys-loader schema v1; key: form_id, id]';
CREATE TRANSIENT TABLE IF NOT EXISTS quality_form_question_groups_staging (
  form_id                    VARCHAR NOT NULL COMMENT 'The form version (quality_forms.id)',
  id                         VARCHAR NOT NULL COMMENT 'The question group''s id (quality_question_group_scores.question_group_id)',
  snapshot_date              DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  question_group_index       NUMBER(38,0) NOT NULL COMMENT 'Position of the group in the form (0-based)',
  context_id                 VARCHAR COMMENT 'An identifier for this question group that stays the same across versions of the form.',
  name                       VARCHAR COMMENT 'name',
  type                       VARCHAR COMMENT 'type',
  default_answers_to_highest BOOLEAN COMMENT 'defaultAnswersToHighest',
  default_answers_to_na      BOOLEAN COMMENT 'defaultAnswersToNA',
  na_enabled                 BOOLEAN COMMENT 'naEnabled',
  weight                     FLOAT COMMENT 'weight',
  manual_weight              BOOLEAN COMMENT 'manualWeight',
  visibility_condition       VARIANT COMMENT 'visibilityCondition (JSON of VisibilityCondition)',
  default_answers_to         VARIANT COMMENT 'Default scoring settings for the questions within this question group. (JSON of DefaultAnswersTo)',
  extra_fields               VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                     VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
COMMENT = 'Staging for quality_form_question_groups: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS quality_form_questions (
  form_id                          VARCHAR NOT NULL COMMENT 'The form version (quality_forms.id)',
  question_group_id                VARCHAR NOT NULL COMMENT 'The question group (quality_form_question_groups.id)',
  id                               VARCHAR NOT NULL COMMENT 'The question''s id (quality_question_scores.question_id)',
  snapshot_date                    DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  question_index                   NUMBER(38,0) NOT NULL COMMENT 'Position of the question in its group (0-based)',
  context_id                       VARCHAR COMMENT 'An identifier for this question that stays the same across versions of the form.',
  text                             VARCHAR COMMENT 'text',
  help_text                        VARCHAR COMMENT 'helpText',
  type                             VARCHAR COMMENT 'type',
  na_enabled                       BOOLEAN COMMENT 'naEnabled',
  comments_required                BOOLEAN COMMENT 'commentsRequired',
  visibility_condition             VARIANT COMMENT 'visibilityCondition (JSON of VisibilityCondition)',
  multiple_select_option_questions VARIANT COMMENT 'Only used by Multiple Select type questions. A list of multiple choice questions representing selectable options. (JSON of list[EvaluationQuestion])',
  default_answer                   VARIANT COMMENT 'The default selected answer for the question (JSON of DefaultAnswer)',
  automated_scoring_focus          VARCHAR COMMENT 'Focus setting for automated scoring',
  is_kill                          BOOLEAN COMMENT 'isKill',
  is_critical                      BOOLEAN COMMENT 'isCritical',
  extra_fields                     VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                           VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per question of a form version (EvaluationQuestion), with its text. [genesys-loader schema v1; key: form_id, id]';
CREATE TRANSIENT TABLE IF NOT EXISTS quality_form_questions_staging (
  form_id                          VARCHAR NOT NULL COMMENT 'The form version (quality_forms.id)',
  question_group_id                VARCHAR NOT NULL COMMENT 'The question group (quality_form_question_groups.id)',
  id                               VARCHAR NOT NULL COMMENT 'The question''s id (quality_question_scores.question_id)',
  snapshot_date                    DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  question_index                   NUMBER(38,0) NOT NULL COMMENT 'Position of the question in its group (0-based)',
  context_id                       VARCHAR COMMENT 'An identifier for this question that stays the same across versions of the form.',
  text                             VARCHAR COMMENT 'text',
  help_text                        VARCHAR COMMENT 'helpText',
  type                             VARCHAR COMMENT 'type',
  na_enabled                       BOOLEAN COMMENT 'naEnabled',
  comments_required                BOOLEAN COMMENT 'commentsRequired',
  visibility_condition             VARIANT COMMENT 'visibilityCondition (JSON of VisibilityCondition)',
  multiple_select_option_questions VARIANT COMMENT 'Only used by Multiple Select type questions. A list of multiple choice questions representing selectable options. (JSON of list[EvaluationQuestion])',
  default_answer                   VARIANT COMMENT 'The default selected answer for the question (JSON of DefaultAnswer)',
  automated_scoring_focus          VARCHAR COMMENT 'Focus setting for automated scoring',
  is_kill                          BOOLEAN COMMENT 'isKill',
  is_critical                      BOOLEAN COMMENT 'isCritical',
  extra_fields                     VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                           VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
COMMENT = 'Staging for quality_form_questions: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS quality_form_answer_options (
  form_id               VARCHAR NOT NULL COMMENT 'The form version (quality_forms.id)',
  question_id           VARCHAR NOT NULL COMMENT 'The question (quality_form_questions.id)',
  id                    VARCHAR NOT NULL COMMENT 'The answer option''s id (quality_question_scores.answer_id)',
  snapshot_date         DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  answer_index          NUMBER(38,0) NOT NULL COMMENT 'Position of the option in its question (0-based)',
  context_id            VARCHAR COMMENT 'An identifier for this answer that stays the same across versions of the form.',
  built_in_type         VARCHAR COMMENT 'The built-in type of this answer option. Only used for built-in answer options such as selection states for Multiple Select answer options. Possible values include: Selected, Unselected',
  text                  VARCHAR COMMENT 'text',
  value                 NUMBER(38,0) COMMENT 'value',
  assistance_conditions VARIANT COMMENT 'List of assistance conditions which are combined together with a logical AND operator. Eg ( assistanceCondtion1 && assistanceCondition2 ) wherein assistanceCondition could be ( EXISTS topic1 || topic2 || ... ) or (NOTEXISTS topic3 || topic4 || ...). (JSON of list[AssistanceCondition])',
  extra_fields          VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per answer option of a form question (AnswerOption), with its text and value. [genesys-loader schema v1; key: form_id, question_id, id]';
CREATE TRANSIENT TABLE IF NOT EXISTS quality_form_answer_options_staging (
  form_id               VARCHAR NOT NULL COMMENT 'The form version (quality_forms.id)',
  question_id           VARCHAR NOT NULL COMMENT 'The question (quality_form_questions.id)',
  id                    VARCHAR NOT NULL COMMENT 'The answer option''s id (quality_question_scores.answer_id)',
  snapshot_date         DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column',
  answer_index          NUMBER(38,0) NOT NULL COMMENT 'Position of the option in its question (0-based)',
  context_id            VARCHAR COMMENT 'An identifier for this answer that stays the same across versions of the form.',
  built_in_type         VARCHAR COMMENT 'The built-in type of this answer option. Only used for built-in answer options such as selection states for Multiple Select answer options. Possible values include: Selected, Unselected',
  text                  VARCHAR COMMENT 'text',
  value                 NUMBER(38,0) COMMENT 'value',
  assistance_conditions VARIANT COMMENT 'List of assistance conditions which are combined together with a logical AND operator. Eg ( assistanceCondtion1 && assistanceCondition2 ) wherein assistanceCondition could be ( EXISTS topic1 || topic2 || ... ) or (NOTEXISTS topic3 || topic4 || ...). (JSON of list[AssistanceCondition])',
  extra_fields          VARIANT COMMENT 'Fields the schema does not know yet, as a JSON object (logged as a warning)',
  run_id                VARCHAR NOT NULL COMMENT 'Id of the run that wrote the row'
)
COMMENT = 'Staging for quality_form_answer_options: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS wfm_business_units (
  id                VARCHAR NOT NULL COMMENT 'The globally unique identifier of the business unit',
  snapshot_date     DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears keeps the date of the last snapshot that saw it',
  name              VARCHAR COMMENT 'The business unit''s name',
  authorized        BOOLEAN COMMENT 'Whether the client is authorized to access the business unit',
  division_id       VARCHAR COMMENT 'Id of the division the business unit belongs to (divisions.id)',
  division          VARIANT COMMENT 'The division of the business unit (JSON of DivisionReference)',
  start_day_of_week VARCHAR COMMENT 'First day of the business unit''s week (Sunday ... Saturday), from its settings',
  time_zone         VARCHAR COMMENT 'IANA time zone of the business unit (e.g. America/New_York), from its settings',
  settings          VARIANT COMMENT 'The business unit''s settings as served by GET .../businessunits/{id}?expand=settings (JSON of BusinessUnitSettingsResponse)',
  self_uri          VARCHAR COMMENT 'The URI of this business unit in the API',
  extra_fields      VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id            VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per WFM business unit (BusinessUnitListItem with its BusinessUnitSettingsResponse): a full snapshot per run, merged by id. Its start day and time zone define the weeks schedules are published in. Joins: wfm_business_units.id <- wfm_management_units.business_unit_id, wfm_activity_codes.business_unit_id, wfm_shifts.business_unit_id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS wfm_business_units_staging (
  id                VARCHAR NOT NULL COMMENT 'The globally unique identifier of the business unit',
  snapshot_date     DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears keeps the date of the last snapshot that saw it',
  name              VARCHAR COMMENT 'The business unit''s name',
  authorized        BOOLEAN COMMENT 'Whether the client is authorized to access the business unit',
  division_id       VARCHAR COMMENT 'Id of the division the business unit belongs to (divisions.id)',
  division          VARIANT COMMENT 'The division of the business unit (JSON of DivisionReference)',
  start_day_of_week VARCHAR COMMENT 'First day of the business unit''s week (Sunday ... Saturday), from its settings',
  time_zone         VARCHAR COMMENT 'IANA time zone of the business unit (e.g. America/New_York), from its settings',
  settings          VARIANT COMMENT 'The business unit''s settings as served by GET .../businessunits/{id}?expand=settings (JSON of BusinessUnitSettingsResponse)',
  self_uri          VARCHAR COMMENT 'The URI of this business unit in the API',
  extra_fields      VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id            VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for wfm_business_units: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS wfm_management_units (
  id                VARCHAR NOT NULL COMMENT 'The globally unique identifier of the management unit',
  snapshot_date     DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears keeps the date of the last snapshot that saw it',
  business_unit_id  VARCHAR NOT NULL COMMENT 'Business unit the management unit belongs to (wfm_business_units.id)',
  name              VARCHAR COMMENT 'The management unit''s name',
  business_unit     VARIANT COMMENT 'The business unit reference as served (JSON of BusinessUnitReference)',
  start_day_of_week VARCHAR COMMENT 'Start day of week for scheduling and forecasting purposes',
  time_zone         VARCHAR COMMENT 'The IANA time zone of the management unit',
  settings          VARIANT COMMENT 'The configuration settings for this management unit (JSON of ManagementUnitSettingsResponse)',
  metadata          VARIANT COMMENT 'Version metadata for this management unit (JSON of WfmVersionedEntityMetadata)',
  division_id       VARCHAR COMMENT 'Id of the division the management unit belongs to (divisions.id)',
  division          VARIANT COMMENT 'The division to which this entity belongs (JSON of DivisionReference)',
  version           NUMBER(38,0) COMMENT 'The version of the underlying entity',
  modified_by_id    VARCHAR COMMENT 'Id of the user who last modified this entity (users.id)',
  modified_by       VARIANT COMMENT 'The user who last modified this entity (JSON of UserReference)',
  date_modified     TIMESTAMP_TZ(6) COMMENT 'The date and time at which this entity was last modified',
  self_uri          VARCHAR COMMENT 'The URI of this management unit in the API',
  extra_fields      VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id            VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per management unit of a business unit (ManagementUnit): a full snapshot per run, merged by id. [genesys-loader schema v1; key: id]';
CREATE TRANSIENT TABLE IF NOT EXISTS wfm_management_units_staging (
  id                VARCHAR NOT NULL COMMENT 'The globally unique identifier of the management unit',
  snapshot_date     DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears keeps the date of the last snapshot that saw it',
  business_unit_id  VARCHAR NOT NULL COMMENT 'Business unit the management unit belongs to (wfm_business_units.id)',
  name              VARCHAR COMMENT 'The management unit''s name',
  business_unit     VARIANT COMMENT 'The business unit reference as served (JSON of BusinessUnitReference)',
  start_day_of_week VARCHAR COMMENT 'Start day of week for scheduling and forecasting purposes',
  time_zone         VARCHAR COMMENT 'The IANA time zone of the management unit',
  settings          VARIANT COMMENT 'The configuration settings for this management unit (JSON of ManagementUnitSettingsResponse)',
  metadata          VARIANT COMMENT 'Version metadata for this management unit (JSON of WfmVersionedEntityMetadata)',
  division_id       VARCHAR COMMENT 'Id of the division the management unit belongs to (divisions.id)',
  division          VARIANT COMMENT 'The division to which this entity belongs (JSON of DivisionReference)',
  version           NUMBER(38,0) COMMENT 'The version of the underlying entity',
  modified_by_id    VARCHAR COMMENT 'Id of the user who last modified this entity (users.id)',
  modified_by       VARIANT COMMENT 'The user who last modified this entity (JSON of UserReference)',
  date_modified     TIMESTAMP_TZ(6) COMMENT 'The date and time at which this entity was last modified',
  self_uri          VARCHAR COMMENT 'The URI of this management unit in the API',
  extra_fields      VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id            VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for wfm_management_units: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS wfm_management_unit_users (
  management_unit_id VARCHAR NOT NULL COMMENT 'Management unit the agent belongs to (wfm_management_units.id)',
  user_id            VARCHAR NOT NULL COMMENT 'The agent''s user id (users.id; the same ids conversations'' participants carry)',
  snapshot_date      DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears keeps the date of the last snapshot that saw it',
  business_unit_id   VARCHAR NOT NULL COMMENT 'Business unit of the management unit (wfm_business_units.id)',
  self_uri           VARCHAR COMMENT 'The URI of the user in the API',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per agent of a management unit (UserReference from GET .../managementunits/{id}/users): a full snapshot per run, merged by (management_unit_id, user_id). [genesys-loader schema v1; key: management_unit_id, user_id]';
CREATE TRANSIENT TABLE IF NOT EXISTS wfm_management_unit_users_staging (
  management_unit_id VARCHAR NOT NULL COMMENT 'Management unit the agent belongs to (wfm_management_units.id)',
  user_id            VARCHAR NOT NULL COMMENT 'The agent''s user id (users.id; the same ids conversations'' participants carry)',
  snapshot_date      DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears keeps the date of the last snapshot that saw it',
  business_unit_id   VARCHAR NOT NULL COMMENT 'Business unit of the management unit (wfm_business_units.id)',
  self_uri           VARCHAR COMMENT 'The URI of the user in the API',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for wfm_management_unit_users: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS wfm_activity_codes (
  business_unit_id          VARCHAR NOT NULL COMMENT 'Business unit the activity code belongs to (wfm_business_units.id)',
  id                        VARCHAR NOT NULL COMMENT 'The globally unique identifier of the activity code',
  snapshot_date             DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears keeps the date of the last snapshot that saw it',
  name                      VARCHAR COMMENT 'The name of the activity code',
  active                    BOOLEAN COMMENT 'Whether the activity code is active',
  default_code              BOOLEAN COMMENT 'Whether this is a default activity code',
  category                  VARCHAR COMMENT 'The activity code''s category (OnQueueWork, Break, Meal, Meeting, OffQueueWork, TimeOff, Training, Unavailable)',
  length_in_minutes         NUMBER(38,0) COMMENT 'The default length of the activity in minutes',
  counts_as_paid_time       BOOLEAN COMMENT 'Whether an agent is paid while performing this activity',
  counts_as_work_time       BOOLEAN COMMENT 'Indicates whether or not the activity should be counted as contiguous work time for calculating daily constraints',
  agent_time_off_selectable BOOLEAN COMMENT 'Whether an agent can select this activity code when creating or editing a time off request',
  counts_toward_shrinkage   BOOLEAN COMMENT 'Whether the activity code counts toward shrinkage calculations',
  planned_shrinkage         BOOLEAN COMMENT 'Whether this activity code is considered planned or unplanned shrinkage',
  interruptible             BOOLEAN COMMENT 'Whether this activity code is considered interruptible',
  secondary_presences       VARIANT COMMENT 'The secondary presences of this activity code (JSON list of SecondaryPresence)',
  planning_groups           VARIANT COMMENT 'The planning groups associated with this activity code (JSON list of PlanningGroupReference)',
  style                     VARIANT COMMENT 'The style of this activity code (JSON of ActivityCodeStyle)',
  metadata                  VARIANT COMMENT 'Version metadata for this activity code (JSON of WfmVersionedEntityMetadata)',
  self_uri                  VARCHAR COMMENT 'The URI of this activity code in the API',
  extra_fields              VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                    VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (snapshot_date)
COMMENT = 'One row per activity code of a business unit (BusinessUnitActivityCode; served inline or through a download URL): a full snapshot per run, merged by (business_unit_id, id). Joins: wfm_shift_activities.activity_code_id, wfm_time_off_markers.activity_code_id, wfm_adherence_exceptions.*_activity_code_id. [genesys-loader schema v1; key: business_unit_id, id]';
CREATE TRANSIENT TABLE IF NOT EXISTS wfm_activity_codes_staging (
  business_unit_id          VARCHAR NOT NULL COMMENT 'Business unit the activity code belongs to (wfm_business_units.id)',
  id                        VARCHAR NOT NULL COMMENT 'The globally unique identifier of the activity code',
  snapshot_date             DATE NOT NULL COMMENT 'UTC date of the run that took this snapshot: the partition column; an entity that later disappears keeps the date of the last snapshot that saw it',
  name                      VARCHAR COMMENT 'The name of the activity code',
  active                    BOOLEAN COMMENT 'Whether the activity code is active',
  default_code              BOOLEAN COMMENT 'Whether this is a default activity code',
  category                  VARCHAR COMMENT 'The activity code''s category (OnQueueWork, Break, Meal, Meeting, OffQueueWork, TimeOff, Training, Unavailable)',
  length_in_minutes         NUMBER(38,0) COMMENT 'The default length of the activity in minutes',
  counts_as_paid_time       BOOLEAN COMMENT 'Whether an agent is paid while performing this activity',
  counts_as_work_time       BOOLEAN COMMENT 'Indicates whether or not the activity should be counted as contiguous work time for calculating daily constraints',
  agent_time_off_selectable BOOLEAN COMMENT 'Whether an agent can select this activity code when creating or editing a time off request',
  counts_toward_shrinkage   BOOLEAN COMMENT 'Whether the activity code counts toward shrinkage calculations',
  planned_shrinkage         BOOLEAN COMMENT 'Whether this activity code is considered planned or unplanned shrinkage',
  interruptible             BOOLEAN COMMENT 'Whether this activity code is considered interruptible',
  secondary_presences       VARIANT COMMENT 'The secondary presences of this activity code (JSON list of SecondaryPresence)',
  planning_groups           VARIANT COMMENT 'The planning groups associated with this activity code (JSON list of PlanningGroupReference)',
  style                     VARIANT COMMENT 'The style of this activity code (JSON of ActivityCodeStyle)',
  metadata                  VARIANT COMMENT 'Version metadata for this activity code (JSON of WfmVersionedEntityMetadata)',
  self_uri                  VARCHAR COMMENT 'The URI of this activity code in the API',
  extra_fields              VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                    VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
COMMENT = 'Staging for wfm_activity_codes: each load script empties it, copies a snapshot in, and merges it';

CREATE TABLE IF NOT EXISTS wfm_shifts (
  id                 VARCHAR NOT NULL COMMENT 'ID of the schedule shift',
  shift_date         DATE NOT NULL COMMENT 'UTC date of the shift''s start: the partition column',
  user_id            VARCHAR NOT NULL COMMENT 'The agent (users.id) from the agent schedule''s user',
  business_unit_id   VARCHAR NOT NULL COMMENT 'Business unit the schedule was published in (wfm_business_units.id)',
  schedule_id        VARCHAR COMMENT 'The published schedule this shift belongs to',
  week_date          DATE COMMENT 'First day of the business unit week of the schedule (yyyy-MM-dd, the business unit''s local date)',
  schedule           VARIANT COMMENT 'The schedule reference as served (JSON of BuScheduleReference)',
  start_date         TIMESTAMP_TZ(6) NOT NULL COMMENT 'The start of the shift, UTC',
  length_minutes     NUMBER(38,0) COMMENT 'The length of the shift in minutes',
  time_zone          VARCHAR COMMENT 'IANA time zone of the business unit the schedule was published in (businessUnitTimeZone); instants are UTC',
  manually_edited    BOOLEAN COMMENT 'Whether the shift was set manually',
  work_plan_id       VARCHAR COMMENT 'ID of the work plan associated with this shift',
  work_plan_shift_id VARCHAR COMMENT 'ID of the work plan shift associated with this shift',
  extra_fields       VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id             VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (shift_date)
COMMENT = 'One row per published shift of an agent (BuAgentScheduleShift from the agent schedules search), in the partition of the UTC date of its start; a run over [from, to) writes the shifts that start in it. [genesys-loader schema v1; key: id]';

CREATE TABLE IF NOT EXISTS wfm_shift_activities (
  shift_id                      VARCHAR NOT NULL COMMENT 'Shift this activity belongs to (wfm_shifts.id)',
  activity_index                NUMBER(38,0) NOT NULL COMMENT 'Position of the activity in its shift',
  shift_date                    DATE NOT NULL COMMENT 'UTC date of the shift''s start: the partition column',
  user_id                       VARCHAR NOT NULL COMMENT 'The agent (users.id)',
  start_date                    TIMESTAMP_TZ(6) NOT NULL COMMENT 'The start of the activity, UTC',
  length_minutes                NUMBER(38,0) COMMENT 'The length of the activity in minutes',
  activity_code_id              VARCHAR COMMENT 'The activity code (wfm_activity_codes.id)',
  description                   VARCHAR COMMENT 'The description of the activity',
  paid                          BOOLEAN COMMENT 'Whether the activity is paid',
  payable_minutes               NUMBER(38,0) COMMENT 'Payable minutes for this activity',
  time_off_request_id           VARCHAR COMMENT 'ID of the time off request associated with this activity, if any',
  time_off_request_sync_version NUMBER(38,0) COMMENT 'The sync version of the associated time off request',
  external_activity_id          VARCHAR COMMENT 'ID of the external activity associated with this activity, if any',
  external_activity_type        VARCHAR COMMENT 'The type of the external activity, if any',
  time_zone                     VARCHAR COMMENT 'IANA time zone of the business unit the schedule was published in (businessUnitTimeZone); instants are UTC',
  extra_fields                  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (shift_date)
COMMENT = 'One row per activity of a published shift (BuAgentScheduleActivity), in the partition of its shift. [genesys-loader schema v1; key: shift_id, activity_index]';

CREATE TABLE IF NOT EXISTS wfm_time_off_markers (
  user_id                       VARCHAR NOT NULL COMMENT 'The agent (users.id) from the agent schedule''s user',
  business_unit_date            DATE NOT NULL COMMENT 'The business unit''s local date of the time off',
  start_offset_minutes          NUMBER(38,0) NOT NULL COMMENT 'The start offset in minutes from the business unit date''s local midnight',
  marker_date                   DATE NOT NULL COMMENT 'UTC date of the marker''s start: the partition column',
  business_unit_id              VARCHAR NOT NULL COMMENT 'Business unit the schedule was published in (wfm_business_units.id)',
  start_date                    TIMESTAMP_TZ(6) NOT NULL COMMENT 'The start of the time off, UTC: local midnight of business_unit_date in time_zone plus start_offset_minutes',
  end_date                      TIMESTAMP_TZ(6) COMMENT 'The end of the time off, UTC: local midnight of business_unit_date plus end_offset_minutes',
  end_offset_minutes            NUMBER(38,0) COMMENT 'The end offset in minutes from the business unit date''s local midnight',
  length_minutes                NUMBER(38,0) COMMENT 'The length of the time off marker in minutes',
  activity_code_id              VARCHAR COMMENT 'The activity code (wfm_activity_codes.id)',
  description                   VARCHAR COMMENT 'The description of the time off',
  paid                          BOOLEAN COMMENT 'Whether the time off is paid',
  payable_minutes               NUMBER(38,0) COMMENT 'Payable minutes for the time off',
  time_off_request_id           VARCHAR COMMENT 'The ID of the time off request',
  time_off_request_sync_version NUMBER(38,0) COMMENT 'The sync version of the time off request',
  "DELETE"                      BOOLEAN COMMENT 'Whether this marker is flagged for deletion',
  time_zone                     VARCHAR COMMENT 'IANA time zone of the business unit the schedule was published in (businessUnitTimeZone); instants are UTC',
  extra_fields                  VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                        VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (marker_date)
COMMENT = 'One row per full-day time-off marker of the published schedule of an agent (BuFullDayTimeOffMarker), in the partition of the UTC date of its start (local midnight of the business-unit date plus startOffsetMinutes). [genesys-loader schema v1; key: user_id, business_unit_date, start_offset_minutes]';

CREATE TABLE IF NOT EXISTS wfm_adherence_days (
  user_id                      VARCHAR NOT NULL COMMENT 'The agent (users.id)',
  adherence_date               DATE NOT NULL COMMENT 'UTC day: the partition column',
  management_unit_id           VARCHAR NOT NULL COMMENT 'The management unit the adherence was asked for (wfm_management_units.id)',
  day_start                    TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the day, UTC: the job''s startDate plus dayStartOffsetSeconds',
  day_start_offset_seconds     NUMBER(38,0) COMMENT 'Seconds from the job''s startDate to the start of this day',
  adherence_schedule_seconds   NUMBER(38,0) COMMENT 'Duration of schedule in seconds included for adherence percentage calculation',
  conformance_schedule_seconds NUMBER(38,0) COMMENT 'Total scheduled duration in seconds for OnQueue activities',
  conformance_actual_seconds   NUMBER(38,0) COMMENT 'Total actually worked duration in seconds for OnQueue activities',
  exception_count              NUMBER(38,0) COMMENT 'Total number of adherence exceptions for this user',
  exception_duration_seconds   NUMBER(38,0) COMMENT 'Total duration in seconds of adherence exceptions for this user',
  impact_seconds               NUMBER(38,0) COMMENT 'The impact duration in seconds of current adherence state for this user',
  schedule_length_seconds      NUMBER(38,0) COMMENT 'Total duration in seconds of scheduled activities',
  actual_length_seconds        NUMBER(38,0) COMMENT 'Total duration in seconds of actual activities',
  adherence_percentage         FLOAT COMMENT 'Adherence percentage for this day',
  conformance_percentage       FLOAT COMMENT 'Conformance percentage for this day',
  range_adherence_percentage   FLOAT COMMENT 'The agent''s adherence percentage over the job''s range (WfmHistoricalAdherenceBulkUserResult.adherencePercentage)',
  range_conformance_percentage FLOAT COMMENT 'The agent''s conformance percentage over the job''s range (WfmHistoricalAdherenceBulkUserResult.conformancePercentage)',
  range_impact                 VARCHAR COMMENT 'The agent''s impact over the job''s range (Positive, Negative, Neutral, Unknown)',
  extra_fields                 VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                       VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (adherence_date)
COMMENT = 'One row per agent and UTC day of historical adherence (WfmHistoricalAdherenceBulkUserDayMetrics from the bulk adherence job, asked in UTC), with the whole-range figures of the agent (the range is that day). [genesys-loader schema v1; key: user_id, adherence_date]';

CREATE TABLE IF NOT EXISTS wfm_adherence_exceptions (
  user_id                                 VARCHAR NOT NULL COMMENT 'The agent (users.id)',
  start_date                              TIMESTAMP_TZ(6) NOT NULL COMMENT 'Start of the exception, UTC: the job''s startDate plus startOffsetSeconds',
  exception_date                          DATE NOT NULL COMMENT 'UTC day of the exception''s start: the partition column',
  management_unit_id                      VARCHAR NOT NULL COMMENT 'The management unit the adherence was asked for (wfm_management_units.id)',
  end_date                                TIMESTAMP_TZ(6) COMMENT 'End of the exception, UTC: the job''s startDate plus endOffsetSeconds',
  start_offset_seconds                    NUMBER(38,0) COMMENT 'Exception start offset in seconds relative to the job''s startDate',
  end_offset_seconds                      NUMBER(38,0) COMMENT 'Exception end offset in seconds relative to the job''s startDate',
  scheduled_activity_code_id              VARCHAR COMMENT 'The ID of the scheduled activity code (wfm_activity_codes.id)',
  scheduled_activity_category             VARCHAR COMMENT 'Activity for which the user is scheduled',
  scheduled_secondary_presence_lookup_ids ARRAY COMMENT 'The lookup IDs used to retrieve the scheduled secondary statuses',
  actual_activity_code_id                 VARCHAR COMMENT 'The ID of the actual activity code (wfm_activity_codes.id)',
  actual_activity_category                VARCHAR COMMENT 'Activity for which the user is actually engaged',
  system_presence                         VARCHAR COMMENT 'Actual underlying system presence value',
  routing_status                          VARCHAR COMMENT 'Actual underlying routing status',
  impact                                  VARCHAR COMMENT 'The impact of the current adherence state for this user (Positive, Negative, Neutral, Unknown)',
  secondary_presence_lookup_id            VARCHAR COMMENT 'The lookup ID used to retrieve the actual secondary status',
  secondary_presence_id                   VARCHAR COMMENT 'The actual secondary status, resolved through the job result''s lookupIdToSecondaryPresenceId',
  extra_fields                            VARIANT COMMENT 'Fields the API returned that this schema version does not know, as a JSON object (null when none)',
  run_id                                  VARCHAR NOT NULL COMMENT 'Loader run that wrote this row (matches the manifest''s run_id)'
)
CLUSTER BY (exception_date)
COMMENT = 'One row per adherence exception that starts in the range (HistoricalAdherenceExceptionInfo from the bulk adherence job), with UTC instants computed from its offsets, in the partition of the UTC day of its start. [genesys-loader schema v1; key: user_id, start_date]';

CREATE TABLE IF NOT EXISTS genesys_loaded_partitions (
  dataset         VARCHAR NOT NULL COMMENT 'Dataset whose tables were loaded (conversations, divisions, ...)',
  partition_value DATE NOT NULL COMMENT 'The partition (conversation_date or snapshot_date) that was replaced',
  run_id          VARCHAR NOT NULL COMMENT 'The run whose files are loaded there now; run ids sort by start time',
  loaded_at       TIMESTAMP_TZ(6) NOT NULL COMMENT 'When its load script committed',
  divisions       ARRAY COMMENT 'Ids of the divisions the loading client reached for the dataset (NULL: not known, or not division-scoped); a later load that does not reach one of them is refused'
)
COMMENT = 'genesys-loader bookkeeping: the last run to load each partition; load scripts refuse to replace newer data with older';
