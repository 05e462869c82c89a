//! The conversation detail record types, serialised with the platform's camelCase JSON names
//! (genesys-api.md §4.7).
//!
//! Records are stored compactly (ids as `u128`, instants as epoch milliseconds, enum-like
//! values as `&'static str`) because a simulated year holds tens of thousands of them, and
//! are only turned into JSON text when served. Every optional field is skipped when absent,
//! as the platform does, so consumers see genuinely nullable fields.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// Formats an instant the way the platform does: millisecond precision, always `Z`.
pub(crate) fn format_instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// An instant as milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Ts(pub(crate) i64);

impl Ts {
    pub(crate) fn from_datetime(at: DateTime<Utc>) -> Self {
        Self(at.timestamp_millis())
    }

    pub(crate) fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// This instant shifted by `ms` milliseconds.
    pub(crate) fn plus(self, ms: i64) -> Self {
        Self(self.0 + ms)
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!(
            "{}",
            self.to_datetime().format("%Y-%m-%dT%H:%M:%S%.3fZ")
        ))
    }
}

/// A UUID kept as 128 bits and written in the canonical lowercase hyphenated form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Id(pub(crate) u128);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xFFFF_FFFF_FFFF
        )
    }
}

impl Id {
    /// Reads an id in its rendered form (`8-4-4-4-12` hex digits).
    pub(crate) fn parse(text: &str) -> Option<Id> {
        let hex: String = text.split('-').collect();
        (text.len() == 36 && hex.len() == 32)
            .then(|| u128::from_str_radix(&hex, 16).ok().map(Id))
            .flatten()
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `AnalyticsConversation`; with `attributes` stripped from its participants it is the
/// sync query's `AnalyticsConversationWithoutAttributes`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Conversation {
    pub(crate) conversation_id: Id,
    pub(crate) conversation_start: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) conversation_end: Option<Ts>,
    pub(crate) originating_direction: &'static str,
    pub(crate) conversation_initiator: &'static str,
    pub(crate) customer_participation: bool,
    pub(crate) division_ids: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) media_stats_min_conversation_mos: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) media_stats_min_conversation_r_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) external_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) knowledge_base_ids: Option<Vec<Id>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) self_served: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) evaluations: Option<Vec<Evaluation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) surveys: Option<Vec<Survey>>,
    pub(crate) participants: Vec<Participant>,
}

/// `AnalyticsParticipant` (job results) / `AnalyticsParticipantWithoutAttributes` (query).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Participant {
    pub(crate) participant_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) participant_name: Option<String>,
    pub(crate) purpose: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) team_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) external_contact_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attributes: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) screen_recording: Option<bool>,
    pub(crate) sessions: Vec<Session>,
}

/// `AnalyticsSession`: one media leg of a participant.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Session {
    pub(crate) session_id: Id,
    pub(crate) media_type: &'static str,
    pub(crate) direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ani: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dnis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_dnis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address_self: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address_other: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) edge_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) peer_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) protocol_call_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) remote: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) recording: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) used_routing: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) routing_ring: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) selected_agent_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) eligible_agent_counts: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) agent_groups: Option<Vec<AgentGroup>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) proposed_agents: Option<Vec<ProposedAgent>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) media_endpoint_stats: Option<Vec<MediaEndpointStat>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) flow: Option<Flow>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) metrics: Vec<Metric>,
    pub(crate) segments: Vec<Segment>,
}

/// `AnalyticsConversationSegment`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Segment {
    pub(crate) segment_start: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) segment_end: Option<Ts>,
    pub(crate) segment_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) queue_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) requested_routing_skill_ids: Option<Vec<Id>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) disconnect_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wrap_up_code: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wrap_up_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) conference: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) audio_muted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<String>,
    #[serde(rename = "q850ResponseCodes", skip_serializing_if = "Option::is_none")]
    pub(crate) q850_response_codes: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sip_response_codes: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) properties: Option<Vec<Property>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scored_agents: Option<Vec<ScoredAgent>>,
}

/// `AnalyticsSessionMetric`: `t*` are milliseconds, `n*` counts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metric {
    pub(crate) name: &'static str,
    pub(crate) value: i64,
    pub(crate) emit_date: Ts,
}

/// `AnalyticsFlow`: present on IVR and other flow sessions only.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Flow {
    pub(crate) flow_id: Id,
    pub(crate) flow_name: &'static str,
    pub(crate) flow_type: &'static str,
    pub(crate) flow_version: &'static str,
    pub(crate) entry_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) entry_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exit_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) transfer_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) transfer_target_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) starting_language: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ending_language: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) outcomes: Vec<FlowOutcome>,
}

/// `AnalyticsFlowOutcome`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FlowOutcome {
    pub(crate) flow_outcome_id: Id,
    pub(crate) flow_outcome: String,
    pub(crate) flow_outcome_value: &'static str,
    pub(crate) flow_outcome_start_timestamp: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) flow_outcome_end_timestamp: Option<Ts>,
}

/// `AnalyticsMediaEndpointStat`: voice quality, one per voice session.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MediaEndpointStat {
    pub(crate) codecs: Vec<&'static str>,
    pub(crate) min_mos: f64,
    #[serde(rename = "minRFactor")]
    pub(crate) min_r_factor: f64,
    pub(crate) max_latency_ms: i64,
    pub(crate) received_packets: i64,
    pub(crate) discarded_packets: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duplicate_packets: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invalid_packets: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) underrun_packets: Option<i64>,
    pub(crate) event_time: Ts,
}

/// `AnalyticsAgentGroup`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentGroup {
    pub(crate) agent_group_id: Id,
    pub(crate) agent_group_type: &'static str,
}

/// `AnalyticsProposedAgent`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProposedAgent {
    pub(crate) proposed_agent_id: Id,
    pub(crate) agent_rank: i64,
}

/// `AnalyticsScoredAgent`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScoredAgent {
    pub(crate) scored_agent_id: Id,
    pub(crate) agent_score: i64,
}

/// `AnalyticsProperty`: a user-defined segment property.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Property {
    pub(crate) property: &'static str,
    pub(crate) property_type: &'static str,
    pub(crate) value: String,
}

/// `AnalyticsEvaluation` (a subset of its fields).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Evaluation {
    pub(crate) evaluation_id: Id,
    pub(crate) evaluator_id: Id,
    pub(crate) user_id: Id,
    pub(crate) queue_id: Id,
    pub(crate) form_id: Id,
    pub(crate) form_name: &'static str,
    pub(crate) context_id: Id,
    pub(crate) evaluation_status: &'static str,
    pub(crate) event_time: Ts,
    pub(crate) released: bool,
    pub(crate) rescored: bool,
    pub(crate) deleted: bool,
    pub(crate) assignee_applicable: bool,
    pub(crate) system_submitted: bool,
    pub(crate) o_total_score: i64,
    pub(crate) o_total_critical_score: i64,
}

/// `AnalyticsSurvey` (a subset of its fields).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Survey {
    pub(crate) survey_id: Id,
    pub(crate) survey_form_id: Id,
    pub(crate) survey_form_name: &'static str,
    pub(crate) survey_form_context_id: Id,
    pub(crate) survey_status: &'static str,
    pub(crate) survey_type: &'static str,
    pub(crate) event_time: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) survey_completed_date: Option<Ts>,
    pub(crate) user_id: Id,
    pub(crate) queue_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) survey_promoter_score: Option<i64>,
    pub(crate) survey_partial_response: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) o_survey_total_score: Option<i64>,
}

/// Whether participant `attributes` are served: job results carry them, the sync query
/// does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attributes {
    Include,
    Omit,
}

impl Conversation {
    /// Whether the conversation shows to a client that reaches `divisions` (`None`: all).
    pub(crate) fn visible_in(&self, divisions: Option<&std::collections::HashSet<String>>) -> bool {
        divisions.is_none_or(|set| self.division_ids.iter().any(|d| set.contains(*d)))
    }

    /// The latest instant anywhere in the record, evaluations and surveys included; a record
    /// whose latest instant is not after "now" is served unchanged.
    fn latest_instant(&self) -> Ts {
        let evaluations = self.evaluations.iter().flatten().map(|e| e.event_time);
        let surveys = self.surveys.iter().flatten().map(|s| s.event_time);
        self.conversation_end
            .into_iter()
            .chain(evaluations)
            .chain(surveys)
            .max()
            .unwrap_or(self.conversation_start)
    }

    /// The record as the platform would serve it at `now`: `None` if it has not started yet;
    /// otherwise everything that happens after `now` is removed, segments still running are
    /// left open and a conversation still running has no `conversationEnd`. Attributes are
    /// stripped for the sync query. Borrows when nothing needs to change.
    pub(crate) fn render(&self, now: Ts, attributes: Attributes) -> Option<Cow<'_, Self>> {
        if self.conversation_start > now {
            return None;
        }
        let mut record = Cow::Borrowed(self);
        if self.latest_instant() > now {
            record.to_mut().truncate(now);
        }
        if attributes == Attributes::Omit
            && self.participants.iter().any(|p| p.attributes.is_some())
        {
            for participant in &mut record.to_mut().participants {
                participant.attributes = None;
            }
        }
        Some(record)
    }

    /// Removes everything after `now` (see [`Conversation::render`]).
    fn truncate(&mut self, now: Ts) {
        if self.conversation_end.is_some_and(|end| end > now) {
            self.conversation_end = None;
        }
        if let Some(evaluations) = &mut self.evaluations {
            evaluations.retain(|e| e.event_time <= now);
        }
        if self.evaluations.as_ref().is_some_and(Vec::is_empty) {
            self.evaluations = None;
        }
        if let Some(surveys) = &mut self.surveys {
            surveys.retain(|s| s.event_time <= now);
        }
        if self.surveys.as_ref().is_some_and(Vec::is_empty) {
            self.surveys = None;
        }
        for participant in &mut self.participants {
            for session in &mut participant.sessions {
                session.truncate(now);
            }
            participant.sessions.retain(|s| !s.segments.is_empty());
        }
        self.participants.retain(|p| !p.sessions.is_empty());
    }
}

impl Session {
    fn truncate(&mut self, now: Ts) {
        self.segments.retain(|s| s.segment_start <= now);
        let mut open = false;
        for segment in &mut self.segments {
            if segment.segment_end.is_some_and(|end| end > now) {
                // An open segment has not ended, so nothing decided at its end is known yet.
                segment.segment_end = None;
                segment.disconnect_type = None;
                segment.wrap_up_code = None;
                segment.wrap_up_note = None;
                segment.q850_response_codes = None;
                segment.sip_response_codes = None;
                open = true;
            }
        }
        self.metrics.retain(|m| m.emit_date <= now);
        if let Some(stats) = &mut self.media_endpoint_stats {
            stats.retain(|s| s.event_time <= now);
        }
        if self
            .media_endpoint_stats
            .as_ref()
            .is_some_and(Vec::is_empty)
        {
            self.media_endpoint_stats = None;
        }
        if let Some(flow) = &mut self.flow {
            flow.outcomes
                .retain(|o| o.flow_outcome_start_timestamp <= now);
            for outcome in &mut flow.outcomes {
                if outcome
                    .flow_outcome_end_timestamp
                    .is_some_and(|end| end > now)
                {
                    outcome.flow_outcome_end_timestamp = None;
                }
            }
            if open {
                flow.exit_reason = None;
                flow.transfer_type = None;
                flow.transfer_target_name = None;
                flow.ending_language = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_ids_and_instants_like_the_platform() {
        let id = Id(0x0123_4567_89ab_4def_8123_4567_89ab_cdef);
        assert_eq!(id.to_string(), "01234567-89ab-4def-8123-456789abcdef");
        let ts = Ts(1_709_251_200_123);
        assert_eq!(
            serde_json::to_string(&ts).unwrap(),
            "\"2024-03-01T00:00:00.123Z\""
        );
    }
}
