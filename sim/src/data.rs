//! The deterministic data generator: one simulated contact centre's conversations.
//!
//! Each UTC day is generated from its own PRNG seeded by `mix(seed, day)`, so any day of any
//! year can be produced independently and cheaply, and the same (seed, day) always yields the
//! same records. A conversation belongs to the day it starts on. Records are generated
//! complete; hiding what has not happened yet at "now" is done when serving
//! ([`crate::model::Conversation::render`]).
//!
//! The mix is meant to look like a real org and to exercise every part of the record
//! hierarchy: inbound voice through an IVR, a queue and one or two agents (holds, transfers,
//! wrap-ups), self-served IVR calls, queue abandons, chat/message/email contacts, outbound
//! calls and e-mails; about 5 % of conversations start in the last hour of the day and run
//! past midnight, and about 1 % last 2-5 hours.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::model::{
    AgentGroup, Conversation, Evaluation, Flow, FlowOutcome, Id, MediaEndpointStat, Metric,
    Participant, Property, ProposedAgent, ScoredAgent, Segment, Session, Survey, Ts,
};
use crate::rng::{Rng, mix};

/// The org's four divisions as `(id, name)`. Every conversation belongs to one or two of them.
pub const DIVISIONS: [(&str, &str); 4] = [
    ("4b3e1f0a-6c2d-4e8f-9a1b-2c3d4e5f6a01", "Home"),
    ("7d9c2b1a-0e4f-4a6b-8c2d-3e4f5a6b7c02", "Sales"),
    ("a1e2d3c4-b5a6-4978-8695-a4b3c2d1e003", "Customer Care"),
    ("c0ffee00-1234-4abc-9def-0123456789a4", "Collections"),
];

/// Separate PRNG streams per purpose, so adding a use of one never shifts another.
const REFERENCE_STREAM: u64 = u64::from_be_bytes(*b"sim:refs");
const DAY_STREAM: u64 = u64::from_be_bytes(*b"sim:days");

/// Queues taking inbound contacts (the first ones of [`Reference::queues`]).
const INBOUND_QUEUES: usize = 5;

const MS_SECOND: i64 = 1_000;
const MS_MINUTE: i64 = 60 * MS_SECOND;
const MS_HOUR: i64 = 60 * MS_MINUTE;
const MS_DAY: i64 = 24 * MS_HOUR;

/// Relative weight of a normal conversation starting in each hour 00..=22 (hour 23 is
/// reserved for the midnight-spanning ones).
const HOURLY_PROFILE: [u32; 23] = [
    2, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 20, 18, 19, 20, 18, 15, 12, 9, 7, 5, 4, 3,
];

const DIALLED_NUMBERS: [&str; 3] = ["tel:+18005550100", "tel:+18005550123", "tel:+18005550188"];
const SUPPORT_ADDRESS: &str = "support@sim-org.example";
const SMS_NUMBER: &str = "+18005550177";
const LANGUAGES: [&str; 3] = ["en-us", "en-us", "es-us"];
const INTENTS: [&str; 5] = ["billing", "orders", "technical", "account", "other"];
const TIERS: [&str; 3] = ["gold", "silver", "bronze"];
const CODECS: [&str; 3] = ["audio/opus", "audio/PCMU", "audio/G722"];
const WRAP_UP_NOTES: [&str; 4] = [
    "Customer asked about an invoice",
    "Follow-up promised by e-mail",
    "Escalated to tier 2",
    "Resolved on first contact",
];
const SUBJECTS: [&str; 4] = [
    "Question about my order",
    "Invoice query",
    "Cannot log in",
    "Change of address",
];

/// Fixed reference entities of the org (queues, agents, flows, ...), derived from the seed so
/// that ids are stable across days and runs.
#[derive(Debug)]
pub(crate) struct Reference {
    pub(crate) org_id: Id,
    pub(crate) queues: Vec<Queue>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) evaluators: Vec<Id>,
    pub(crate) wrap_up_codes: Vec<Id>,
    /// Routing skills; each queue requests two of them.
    pub(crate) skills: Vec<Id>,
    /// Teams; agents belong to one, or to none.
    pub(crate) teams: Vec<Id>,
    edges: Vec<Id>,
    pub(crate) agent_groups: Vec<Id>,
    knowledge_bases: Vec<Id>,
    voice_flows: Vec<FlowDef>,
    chat_flow: FlowDef,
    message_flow: FlowDef,
    email_flow: FlowDef,
    outcomes: Vec<(Id, &'static str)>,
    /// Evaluation form versions: `(id, name, context id)`; versions of one form share its
    /// context id, and evaluations use older versions as well as the current one.
    pub(crate) evaluation_forms: Vec<(Id, &'static str, Id)>,
    survey_form: (Id, &'static str, Id),
}

#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) id: Id,
    pub(crate) name: &'static str,
    /// Index into [`DIVISIONS`].
    pub(crate) division: usize,
    pub(crate) skills: Vec<Id>,
}

#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) id: Id,
    pub(crate) team: Option<Id>,
    pub(crate) name: String,
}

#[derive(Debug)]
struct FlowDef {
    id: Id,
    name: &'static str,
    flow_type: &'static str,
    version: &'static str,
}

impl Reference {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(mix(&[seed, REFERENCE_STREAM]));
        let mut id = || Id(rng.uuid());
        let skills: Vec<Id> = (0..8).map(|_| id()).collect();
        let teams: Vec<Id> = (0..4).map(|_| id()).collect();
        // Inbound contacts use the first five queues, outbound ones the last two.
        let queue_names = [
            ("General Support", 2),
            ("Billing", 2),
            ("Technical Support", 2),
            ("Sales Inbound", 1),
            ("Collections", 3),
            ("Sales Outbound", 1),
        ];
        let queues = queue_names
            .iter()
            .enumerate()
            .map(|(i, &(name, division))| Queue {
                id: id(),
                name,
                division,
                skills: vec![skills[i], skills[(i + 3) % skills.len()]],
            })
            .collect();
        let agents = (0..40)
            .map(|i| Agent {
                id: id(),
                team: (i % 10 != 0).then(|| teams[i % teams.len()]),
                name: format!("Agent {:02}", i + 1),
            })
            .collect();
        let flow = |id: Id, name, flow_type, version| FlowDef {
            id,
            name,
            flow_type,
            version,
        };
        Self {
            org_id: id(),
            // Formerly the role id (roles now come from the config); still drawn so every
            // later id, and so every generated org, stays the same.
            evaluators: {
                let _ = id();
                (0..4).map(|_| id()).collect()
            },
            queues,
            agents,
            wrap_up_codes: (0..8).map(|_| id()).collect(),
            skills,
            teams,
            edges: (0..3).map(|_| id()).collect(),
            agent_groups: (0..3).map(|_| id()).collect(),
            knowledge_bases: (0..2).map(|_| id()).collect(),
            voice_flows: vec![
                flow(id(), "Main IVR", "INBOUNDCALL", "24.0"),
                flow(id(), "Billing IVR", "INBOUNDCALL", "7.0"),
            ],
            chat_flow: flow(id(), "Web Chat Flow", "INBOUNDCHAT", "5.0"),
            message_flow: flow(id(), "SMS Messaging Flow", "INBOUNDSHORTMESSAGE", "3.0"),
            email_flow: flow(id(), "Support Email Flow", "INBOUNDEMAIL", "2.0"),
            outcomes: vec![
                (id(), "Caller authenticated"),
                (id(), "Intent captured"),
                (id(), "Payment taken"),
            ],
            evaluation_forms: {
                let (voice, digital) = (id(), id());
                vec![
                    (id(), "Voice Quality Form", voice),
                    (id(), "Digital Quality Form", digital),
                    // The voice form's first version, still behind older evaluations.
                    (id(), "Voice Quality Form", voice),
                ]
            },
            survey_form: (id(), "Post-contact survey", id()),
        }
    }
}

/// Generates days of conversations for one seed.
#[derive(Debug)]
pub(crate) struct Generator {
    seed: u64,
    per_day: u32,
    pub(crate) reference: Reference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Voice,
    Chat,
    Message,
    Email,
}

impl Media {
    fn name(self) -> &'static str {
        match self {
            Media::Voice => "voice",
            Media::Chat => "chat",
            Media::Message => "message",
            Media::Email => "email",
        }
    }

    fn provider(self) -> &'static str {
        match self {
            Media::Voice => "Edge",
            Media::Chat | Media::Message => "PureCloud Messaging",
            Media::Email => "PureCloud Email",
        }
    }
}

/// When in its day a conversation starts, which also bounds how long it may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    /// Starts 00:00-23:00 and lasts minutes.
    Normal,
    /// Starts 23:00-23:59 and runs past midnight.
    SpansMidnight,
    /// Starts 20:00-23:00 and lasts 2-5 hours.
    Long,
}

/// How an inbound contact ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    SelfServed,
    Abandoned,
    Handled { transferred: bool },
}

impl Generator {
    pub(crate) fn new(seed: u64, per_day: u32) -> Self {
        Self {
            seed,
            per_day,
            reference: Reference::new(seed),
        }
    }

    /// All conversations starting on `date` (UTC), complete, sorted by
    /// (conversationStart, conversationId).
    pub(crate) fn day(&self, date: NaiveDate) -> Vec<Conversation> {
        let midnight = Ts(date
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis());
        let day_number = midnight.0.div_euclid(MS_DAY);
        let mut rng = Rng::new(mix(&[self.seed, DAY_STREAM, day_number as u64]));
        let mut conversations: Vec<Conversation> = (0..self.per_day)
            .map(|_| {
                Builder {
                    rng: &mut rng,
                    reference: &self.reference,
                }
                .conversation(midnight)
            })
            .collect();
        conversations.sort_by_key(|c| (c.conversation_start, c.conversation_id));
        for conversation in &mut conversations {
            decorate(conversation);
        }
        conversations
    }
}

/// Builds one conversation. Records are first built on a timeline starting at instant 0, then
/// moved to their start once their length is known (so midnight-spanning ones can be placed).
struct Builder<'a> {
    rng: &'a mut Rng,
    reference: &'a Reference,
}

fn segment(start: Ts, end: Ts, segment_type: &'static str) -> Segment {
    Segment {
        segment_start: start,
        segment_end: Some(end),
        segment_type,
        ..Segment::default()
    }
}

fn metric(name: &'static str, value: i64, emit_date: Ts) -> Metric {
    Metric {
        name,
        value,
        emit_date,
    }
}

/// Rounds to `places` decimals, as quality figures are reported.
fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// The parts of an inbound contact shared by its participants.
struct Contact {
    media: Media,
    customer_number: String,
    customer_name: String,
    customer_email: String,
    dialled: &'static str,
    subject: Option<String>,
}

impl Builder<'_> {
    fn id(&mut self) -> Id {
        Id(self.rng.uuid())
    }

    fn conversation(mut self, midnight: Ts) -> Conversation {
        let timing = match self.rng.f64() {
            x if x < 0.01 => Timing::Long,
            x if x < 0.06 => Timing::SpansMidnight,
            _ => Timing::Normal,
        };
        let mut conversation = if timing == Timing::Long || self.rng.chance(0.8) {
            let media = if timing == Timing::Long {
                Media::Voice
            } else {
                [Media::Voice, Media::Chat, Media::Message, Media::Email]
                    [self.rng.weighted(&[70, 10, 10, 10])]
            };
            self.inbound(media, timing == Timing::Long)
        } else {
            let media = [Media::Voice, Media::Email][self.rng.weighted(&[85, 15])];
            self.outbound(media)
        };
        self.finish(&mut conversation);
        let length = conversation.conversation_end.map_or(0, |end| end.0);
        let offset = match timing {
            Timing::Normal => {
                let hour = self.rng.weighted(&HOURLY_PROFILE) as i64;
                hour * MS_HOUR + self.rng.range(0, MS_HOUR - 1)
            }
            Timing::SpansMidnight => {
                let earliest = (23 * MS_HOUR).max(MS_DAY - length + MS_SECOND);
                self.rng.range(earliest, MS_DAY - MS_SECOND)
            }
            Timing::Long => self.rng.range(20 * MS_HOUR, 23 * MS_HOUR - 1),
        };
        shift(&mut conversation, midnight.0 + offset);
        conversation
    }

    /// Conversation-level fields derived from the participants: the end is the last instant of
    /// any session (so every segment lies within the conversation), and the minimum MOS /
    /// R-factor over all voice endpoints.
    fn finish(&mut self, conversation: &mut Conversation) {
        let mut end = conversation.conversation_start;
        let mut min_mos: Option<f64> = None;
        let mut min_r: Option<f64> = None;
        for session in conversation
            .participants
            .iter()
            .flat_map(|p| p.sessions.iter())
        {
            for s in &session.segments {
                end = end.max(s.segment_end.unwrap_or(s.segment_start));
            }
            for m in &session.metrics {
                end = end.max(m.emit_date);
            }
            for stat in session.media_endpoint_stats.iter().flatten() {
                end = end.max(stat.event_time);
                min_mos = Some(min_mos.map_or(stat.min_mos, |v| v.min(stat.min_mos)));
                min_r = Some(min_r.map_or(stat.min_r_factor, |v| v.min(stat.min_r_factor)));
            }
        }
        conversation.conversation_end = Some(end);
        conversation.media_stats_min_conversation_mos = min_mos;
        conversation.media_stats_min_conversation_r_factor = min_r;
        if self.rng.chance(0.15) {
            conversation.external_tag = Some(format!("EXT-{:06}", self.rng.below(1_000_000)));
        }
        if self.rng.chance(0.10) {
            conversation.knowledge_base_ids =
                Some(vec![*self.rng.pick(&self.reference.knowledge_bases)]);
        }
        let handled_by = conversation
            .participants
            .iter()
            .find(|p| p.purpose == "agent")
            .and_then(|p| p.user_id);
        let queue = conversation
            .participants
            .iter()
            .flat_map(|p| p.sessions.iter().flat_map(|s| s.segments.iter()))
            .find_map(|s| s.queue_id);
        if let (Some(agent), Some(queue)) = (handled_by, queue) {
            if self.rng.chance(0.08) {
                conversation.evaluations = Some(vec![self.evaluation(agent, queue, end)]);
            }
            if conversation.originating_direction == "inbound" && self.rng.chance(0.06) {
                conversation.surveys = Some(vec![self.survey(agent, queue, end)]);
            }
        }
    }

    fn divisions(&mut self, queue: &Queue) -> Vec<&'static str> {
        let mut divisions = vec![DIVISIONS[queue.division].0];
        if self.rng.chance(0.2) {
            let other = (queue.division + 1 + self.rng.below(3) as usize) % DIVISIONS.len();
            divisions.push(DIVISIONS[other].0);
        }
        divisions
    }

    fn contact(&mut self, media: Media) -> Contact {
        let customer = self.rng.below(10_000);
        let dialled = *self.rng.pick(&DIALLED_NUMBERS);
        Contact {
            media,
            customer_number: format!("+1555{:07}", self.rng.below(10_000_000)),
            customer_name: format!("Customer {customer:04}"),
            customer_email: format!("customer{customer:04}@mail.example"),
            dialled,
            subject: (media == Media::Email).then(|| self.rng.pick(&SUBJECTS).to_string()),
        }
    }

    /// A session of the contact's media with the addressing fields that medium carries.
    fn session(&mut self, contact: &Contact, direction: &'static str) -> Session {
        let mut session = Session {
            session_id: self.id(),
            media_type: contact.media.name(),
            direction,
            provider: Some(contact.media.provider()),
            ..Session::default()
        };
        match contact.media {
            Media::Voice => {
                session.ani = Some(format!("tel:{}", contact.customer_number));
                session.dnis = Some(contact.dialled.to_string());
                session.edge_id = Some(*self.rng.pick(&self.reference.edges));
            }
            Media::Message => {
                session.address_from = Some(contact.customer_number.clone());
                session.address_to = Some(SMS_NUMBER.to_string());
                session.message_type = Some("sms");
            }
            Media::Email => {
                session.address_from = Some(contact.customer_email.clone());
                session.address_to = Some(SUPPORT_ADDRESS.to_string());
            }
            Media::Chat => session.remote = Some(contact.customer_name.clone()),
        }
        session
    }

    fn endpoint_stat(&mut self, start: Ts, end: Ts) -> MediaEndpointStat {
        let mos = round(self.rng.float(3.2, 4.45), 3);
        let received = (end.0 - start.0) / 20;
        MediaEndpointStat {
            codecs: vec![*self.rng.pick(&CODECS)],
            min_mos: mos,
            min_r_factor: round(60.0 + (mos - 3.2) * 26.0 + self.rng.float(0.0, 1.0), 3),
            max_latency_ms: self.rng.range(8, 240),
            received_packets: received,
            discarded_packets: self.rng.range(0, received / 400),
            duplicate_packets: self.rng.chance(0.3).then(|| self.rng.range(0, 5)),
            invalid_packets: self.rng.chance(0.2).then_some(0),
            underrun_packets: self.rng.chance(0.2).then(|| self.rng.range(0, 40)),
            event_time: end,
        }
    }

    /// Talk segments of one party between `from` and `to`, split by an optional hold that
    /// lies inside them (both sides of a held call show a "hold" segment).
    fn talk_segments(
        &self,
        from: Ts,
        to: Ts,
        hold: Option<(Ts, Ts)>,
        contact: &Contact,
    ) -> Vec<Segment> {
        let mut segments = Vec::with_capacity(3);
        match hold {
            Some((hold_start, hold_end)) if hold_start > from && hold_end < to => {
                segments.push(segment(from, hold_start, "interact"));
                segments.push(segment(hold_start, hold_end, "hold"));
                segments.push(segment(hold_end, to, "interact"));
            }
            _ => segments.push(segment(from, to, "interact")),
        }
        for s in &mut segments {
            s.subject = contact.subject.clone();
        }
        segments
    }

    /// An inbound contact: customer, flow (IVR for voice), queue and, unless it ends in the
    /// flow or abandons, one agent or two after a transfer.
    fn inbound(&mut self, media: Media, long: bool) -> Conversation {
        let contact = self.contact(media);
        let reference = self.reference;
        let queue = self.rng.pick(&reference.queues[..INBOUND_QUEUES]);
        let t0 = Ts(0);

        let outcome = match (media, self.rng.f64()) {
            (_, _) if long => Outcome::Handled { transferred: false },
            (Media::Voice, x) if x < 0.08 => Outcome::SelfServed,
            (Media::Voice | Media::Chat | Media::Message, x) if x < 0.12 => Outcome::Abandoned,
            _ => Outcome::Handled {
                transferred: self.rng.chance(0.15),
            },
        };
        let flow_ms = match (media, outcome) {
            (Media::Voice, Outcome::SelfServed) => self.rng.range(MS_MINUTE, 6 * MS_MINUTE),
            (Media::Voice, _) => self.rng.range(15 * MS_SECOND, 90 * MS_SECOND),
            (Media::Chat | Media::Message, _) => self.rng.range(3 * MS_SECOND, 25 * MS_SECOND),
            (Media::Email, _) => self.rng.range(500, 3 * MS_SECOND),
        };
        let flow_end = t0.plus(flow_ms);
        let max_wait = match media {
            Media::Email => 45 * MS_MINUTE,
            Media::Voice => 5 * MS_MINUTE,
            _ => 3 * MS_MINUTE,
        };
        // The lesser of two uniforms skews waits short, as queues usually are.
        let wait = self
            .rng
            .range(5 * MS_SECOND, max_wait)
            .min(self.rng.range(5 * MS_SECOND, max_wait));
        let queue_end = flow_end.plus(wait);
        let talk_ms = if long {
            self.rng.range(2 * MS_HOUR, 5 * MS_HOUR - 20 * MS_MINUTE)
        } else {
            match media {
                Media::Voice => self.rng.range(90 * MS_SECOND, 17 * MS_MINUTE),
                Media::Chat => self.rng.range(3 * MS_MINUTE, 15 * MS_MINUTE),
                Media::Message => self.rng.range(2 * MS_MINUTE, 18 * MS_MINUTE),
                Media::Email => self.rng.range(2 * MS_MINUTE, 10 * MS_MINUTE),
            }
        };
        let hold = (media == Media::Voice && self.rng.chance(0.25)).then(|| {
            let start = queue_end.plus((talk_ms as f64 * self.rng.float(0.15, 0.4)) as i64);
            (
                start,
                start.plus(self.rng.range(20 * MS_SECOND, 3 * MS_MINUTE)),
            )
        });
        let hold_ms = hold.map_or(0, |(s, e)| e.0 - s.0);
        let talk_end = queue_end.plus(talk_ms + hold_ms);

        let customer_end = match outcome {
            Outcome::SelfServed => flow_end,
            Outcome::Abandoned => queue_end,
            Outcome::Handled { .. } => talk_end,
        };

        let mut participants = Vec::with_capacity(5);
        let customer = self.customer(&contact, t0, customer_end, hold, outcome);
        let customer_session = customer.sessions[0].session_id;
        participants.push(customer);
        participants.push(self.flow_participant(&contact, t0, flow_end, outcome, queue));
        if outcome == Outcome::SelfServed {
            return self.assemble("inbound", "customer", queue, participants, Some(true));
        }

        let first_agent = self.rng.pick(&reference.agents);
        participants.push(self.acd(&contact, queue, flow_end, queue_end, outcome, first_agent));
        if let Outcome::Handled { transferred } = outcome {
            let transfer_at = transferred.then(|| {
                let base = hold.map_or(queue_end, |(_, e)| e);
                base.plus((talk_end.0 - base.0) * self.rng.range(30, 60) / 100)
            });
            let alert_ms = self.rng.range(2 * MS_SECOND, 15 * MS_SECOND).min(wait);
            let first_end = transfer_at.unwrap_or(talk_end);
            let mut agent = self.agent(
                &contact,
                first_agent,
                queue,
                (queue_end.plus(-alert_ms), queue_end, first_end),
                hold,
                Some(customer_session),
            );
            if let Some(at) = transfer_at {
                mark_transferred(&mut agent, at);
            }
            participants.push(agent);
            if let Some(at) = transfer_at {
                let second = self.rng.pick(&reference.agents);
                let answer = at.plus(self.rng.range(3 * MS_SECOND, 20 * MS_SECOND));
                let second_agent =
                    self.agent(&contact, second, queue, (at, answer, talk_end), None, None);
                participants.push(second_agent);
            }
        }
        self.assemble("inbound", "customer", queue, participants, None)
    }

    fn assemble(
        &mut self,
        direction: &'static str,
        initiator: &'static str,
        queue: &Queue,
        participants: Vec<Participant>,
        self_served: Option<bool>,
    ) -> Conversation {
        let customer_participation = participants.iter().any(|p| {
            matches!(p.purpose, "customer" | "external")
                && p.sessions
                    .iter()
                    .flat_map(|s| s.segments.iter())
                    .any(|s| s.segment_type == "interact")
        });
        Conversation {
            conversation_id: self.id(),
            conversation_start: Ts(0),
            conversation_end: None,
            originating_direction: direction,
            conversation_initiator: initiator,
            customer_participation,
            division_ids: self.divisions(queue),
            media_stats_min_conversation_mos: None,
            media_stats_min_conversation_r_factor: None,
            external_tag: None,
            knowledge_base_ids: None,
            self_served,
            evaluations: None,
            surveys: None,
            participants,
        }
    }

    fn customer(
        &mut self,
        contact: &Contact,
        start: Ts,
        end: Ts,
        hold: Option<(Ts, Ts)>,
        outcome: Outcome,
    ) -> Participant {
        let mut session = self.session(contact, "inbound");
        session.segments = self.talk_segments(start, end, hold, contact);
        if let Some(last) = session.segments.last_mut() {
            let hung_up = outcome == Outcome::Abandoned || self.rng.chance(0.6);
            last.disconnect_type = Some(if hung_up { "endpoint" } else { "peer" });
            if contact.media == Media::Voice {
                last.q850_response_codes = Some(vec![16]);
                if self.rng.chance(0.1) {
                    last.sip_response_codes = Some(vec![200]);
                }
            }
        }
        if contact.media == Media::Voice {
            session.protocol_call_id = Some(self.id());
            session.media_endpoint_stats = Some(vec![self.endpoint_stat(start, end)]);
        }
        let mut attributes = BTreeMap::new();
        if self.rng.chance(0.7) {
            attributes.insert(
                "crm.caseId".to_string(),
                format!("CASE-{:05}", self.rng.below(100_000)),
            );
        }
        attributes.insert(
            "customer.tier".to_string(),
            self.rng.pick(&TIERS).to_string(),
        );
        if contact.media != Media::Voice {
            attributes.insert("context.email".to_string(), contact.customer_email.clone());
        }
        Participant {
            participant_id: self.id(),
            participant_name: Some(contact.customer_name.clone()),
            purpose: "customer",
            user_id: None,
            team_id: None,
            external_contact_id: self.rng.chance(0.3).then(|| self.id()),
            attributes: Some(attributes),
            screen_recording: None,
            sessions: vec![session],
        }
    }

    /// The IVR (voice) or inbound flow (digital) the contact first reaches.
    fn flow_participant(
        &mut self,
        contact: &Contact,
        start: Ts,
        end: Ts,
        outcome: Outcome,
        queue: &Queue,
    ) -> Participant {
        let reference = self.reference;
        let definition = match contact.media {
            Media::Voice => self.rng.pick(&reference.voice_flows),
            Media::Chat => &reference.chat_flow,
            Media::Message => &reference.message_flow,
            Media::Email => &reference.email_flow,
        };
        let language = *self.rng.pick(&LANGUAGES);
        let self_served = outcome == Outcome::SelfServed;
        let mut outcomes = Vec::new();
        if contact.media == Media::Voice {
            let count = self.rng.below(3) as usize;
            let span = (end.0 - start.0) / 3;
            for (i, (id, name)) in reference.outcomes.iter().take(count).enumerate() {
                let from = start.plus(span * i as i64);
                outcomes.push(FlowOutcome {
                    flow_outcome_id: *id,
                    flow_outcome: name.to_string(),
                    flow_outcome_value: if self.rng.chance(0.85) {
                        "SUCCESS"
                    } else {
                        "FAILURE"
                    },
                    flow_outcome_start_timestamp: from,
                    flow_outcome_end_timestamp: Some(from.plus(span)),
                });
            }
        }
        let flow = Flow {
            flow_id: definition.id,
            flow_name: definition.name,
            flow_type: definition.flow_type,
            flow_version: definition.version,
            entry_type: if contact.media == Media::Voice {
                "dnis"
            } else {
                "direct"
            },
            entry_reason: (contact.media == Media::Voice).then(|| contact.dialled.to_string()),
            exit_reason: Some(if self_served {
                "DISCONNECT"
            } else {
                "TRANSFER"
            }),
            transfer_type: (!self_served).then_some("ACD"),
            transfer_target_name: (!self_served).then_some(queue.name),
            starting_language: Some(language),
            ending_language: Some(language),
            outcomes,
        };
        let flow_ms = end.0 - start.0;
        let mut metrics = vec![metric("nFlow", 1, start)];
        if contact.media == Media::Voice {
            metrics.push(metric("tIvr", flow_ms, end));
        }
        metrics.push(metric("tFlow", flow_ms, end));
        metrics.push(metric(
            if self_served {
                "tFlowDisconnect"
            } else {
                "tFlowOut"
            },
            flow_ms,
            end,
        ));
        if !flow.outcomes.is_empty() {
            metrics.push(metric("nFlowOutcome", flow.outcomes.len() as i64, end));
        }
        let mut session = self.session(contact, "inbound");
        session.flow = Some(flow);
        session.metrics = metrics;
        let mut flow_segment = segment(start, end, "interact");
        flow_segment.disconnect_type = Some(if self_served { "peer" } else { "transfer" });
        flow_segment.subject = contact.subject.clone();
        session.segments = vec![flow_segment];
        let mut attributes = BTreeMap::new();
        attributes.insert("ivr.language".to_string(), language.to_string());
        attributes.insert(
            "ivr.intent".to_string(),
            self.rng.pick(&INTENTS).to_string(),
        );
        if contact.media == Media::Voice {
            attributes.insert(
                "ivr.authenticated".to_string(),
                self.rng.chance(0.6).to_string(),
            );
        }
        Participant {
            participant_id: self.id(),
            participant_name: Some(definition.name.to_string()),
            purpose: if contact.media == Media::Voice {
                "ivr"
            } else {
                "workflow"
            },
            user_id: None,
            team_id: None,
            external_contact_id: None,
            attributes: Some(attributes),
            screen_recording: None,
            sessions: vec![session],
        }
    }

    /// The queue leg: waiting from the end of the flow until an agent answers (or the customer
    /// abandons), with the routing details the platform records.
    fn acd(
        &mut self,
        contact: &Contact,
        queue: &Queue,
        start: Ts,
        end: Ts,
        outcome: Outcome,
        agent: &Agent,
    ) -> Participant {
        let handled = matches!(outcome, Outcome::Handled { .. });
        let mut session = self.session(contact, "inbound");
        let routing = self.rng.weighted(&[75, 20, 5]);
        session.used_routing = Some(["Standard", "Bullseye", "Predictive"][routing]);
        if routing == 1 {
            session.routing_ring = Some(self.rng.range(1, 3));
        }
        if handled {
            session.selected_agent_id = Some(agent.id);
        }
        if self.rng.chance(0.3) {
            session.eligible_agent_counts = Some(vec![self.rng.range(1, 25)]);
        }
        if self.rng.chance(0.2) {
            session.agent_groups = Some(vec![AgentGroup {
                agent_group_id: *self.rng.pick(&self.reference.agent_groups),
                agent_group_type: "SkillGroup",
            }]);
        }
        if handled && self.rng.chance(0.15) {
            session.proposed_agents = Some(vec![ProposedAgent {
                proposed_agent_id: agent.id,
                agent_rank: self.rng.range(1, 5),
            }]);
        }
        let mut wait = segment(start, end, "interact");
        wait.queue_id = Some(queue.id);
        let skills = 1 + self.rng.below(2) as usize;
        wait.requested_routing_skill_ids = Some(queue.skills[..skills].to_vec());
        wait.disconnect_type = Some(if handled { "transfer" } else { "peer" });
        wait.subject = contact.subject.clone();
        if self.rng.chance(0.1) {
            wait.properties = Some(vec![Property {
                property: "priority",
                property_type: "integer",
                value: self.rng.range(1, 10).to_string(),
            }]);
        }
        if routing == 2 {
            wait.scored_agents = Some(vec![ScoredAgent {
                scored_agent_id: agent.id,
                agent_score: self.rng.range(40, 100),
            }]);
        }
        session.segments = vec![wait];
        let waited = end.0 - start.0;
        session.metrics = vec![metric("nOffered", 1, start), metric("tAcd", waited, end)];
        if outcome == Outcome::Abandoned {
            session.metrics.push(metric("tAbandon", waited, end));
        }
        Participant {
            participant_id: self.id(),
            participant_name: Some(queue.name.to_string()),
            purpose: "acd",
            user_id: None,
            team_id: None,
            external_contact_id: None,
            attributes: None,
            screen_recording: None,
            sessions: vec![session],
        }
    }

    /// An agent handling an inbound contact: alert, talk (optionally held), disconnect, then
    /// wrap-up. `times` is (alert start, answer, end of talk).
    fn agent(
        &mut self,
        contact: &Contact,
        agent: &Agent,
        queue: &Queue,
        (alert_start, answer, talk_end): (Ts, Ts, Ts),
        hold: Option<(Ts, Ts)>,
        peer: Option<Id>,
    ) -> Participant {
        let mut session = self.session(contact, "inbound");
        session.peer_id = peer.filter(|_| self.rng.chance(0.7));
        match contact.media {
            Media::Voice => {
                session.recording = Some(self.rng.chance(0.85));
                session.remote = Some(contact.customer_name.clone());
                session.protocol_call_id = Some(self.id());
            }
            Media::Email => {
                session.address_self = Some(SUPPORT_ADDRESS.to_string());
                session.address_other = Some(contact.customer_email.clone());
            }
            Media::Chat | Media::Message => {}
        }
        let mut alert = segment(alert_start, answer, "alert");
        alert.queue_id = Some(queue.id);
        alert.subject = contact.subject.clone();
        let mut segments = vec![alert];
        let mut talk = self.talk_segments(answer, talk_end, hold, contact);
        for s in &mut talk {
            s.queue_id = Some(queue.id);
            if s.segment_type == "interact" && self.rng.chance(0.05) {
                s.audio_muted = Some(true);
            }
        }
        if let Some(last) = talk.last_mut() {
            last.disconnect_type = Some(if self.rng.chance(0.5) {
                "client"
            } else {
                "peer"
            });
            if self.rng.chance(0.03) {
                last.conference = Some(true);
            }
        }
        let acw = self.rng.range(10 * MS_SECOND, 3 * MS_MINUTE);
        let mut wrapup = segment(talk_end, talk_end.plus(acw), "wrapup");
        wrapup.queue_id = Some(queue.id);
        wrapup.wrap_up_code = Some(*self.rng.pick(&self.reference.wrap_up_codes));
        if self.rng.chance(0.3) {
            wrapup.wrap_up_note = Some(self.rng.pick(&WRAP_UP_NOTES).to_string());
        }
        wrapup.subject = contact.subject.clone();

        let held = hold
            .filter(|&(s, e)| s > answer && e < talk_end)
            .map_or(0, |(s, e)| e.0 - s.0);
        let talk_ms = talk_end.0 - answer.0 - held;
        let mut metrics = vec![
            metric("tAlert", answer.0 - alert_start.0, answer),
            metric("tAnswered", answer.0 - alert_start.0, answer),
            metric("nConnected", 1, answer),
        ];
        for s in talk.iter().filter(|s| s.segment_type == "interact") {
            let end = s.segment_end.unwrap_or(s.segment_start);
            metrics.push(metric("tTalk", end.0 - s.segment_start.0, end));
        }
        if let Some((_, hold_end)) = hold.filter(|_| held > 0) {
            metrics.push(metric("tHeld", held, hold_end));
            metrics.push(metric("tHeldComplete", held, hold_end));
        }
        metrics.push(metric("tTalkComplete", talk_ms, talk_end));
        metrics.push(metric("tAcw", acw, talk_end.plus(acw)));
        metrics.push(metric("tHandle", talk_ms + held + acw, talk_end.plus(acw)));
        metrics.sort_by_key(|m| m.emit_date);

        if contact.media == Media::Voice {
            session.media_endpoint_stats = Some(vec![self.endpoint_stat(answer, talk_end)]);
        }
        segments.extend(talk);
        segments.push(wrapup);
        session.segments = segments;
        session.metrics = metrics;
        Participant {
            participant_id: self.id(),
            participant_name: Some(agent.name.clone()),
            purpose: "agent",
            user_id: Some(agent.id),
            team_id: agent.team,
            external_contact_id: None,
            attributes: None,
            screen_recording: None,
            sessions: vec![session],
        }
    }

    /// An outbound contact: the agent dials (or writes) first, then the external party.
    fn outbound(&mut self, media: Media) -> Conversation {
        let reference = self.reference;
        let contact = self.contact(media);
        let queue = self.rng.pick(&reference.queues[INBOUND_QUEUES - 1..]);
        let agent = self.rng.pick(&reference.agents);
        let t0 = Ts(0);
        let answered = media == Media::Email || self.rng.chance(0.8);
        let (connect, talk_end) = match media {
            Media::Email => {
                let written = t0.plus(self.rng.range(2 * MS_MINUTE, 12 * MS_MINUTE));
                (t0, written)
            }
            _ => {
                let ring = self.rng.range(5 * MS_SECOND, 30 * MS_SECOND);
                let connect = t0.plus(self.rng.range(2 * MS_SECOND, 5 * MS_SECOND) + ring);
                let talk = if answered {
                    self.rng.range(2 * MS_MINUTE, 15 * MS_MINUTE)
                } else {
                    0
                };
                (connect, connect.plus(talk))
            }
        };
        let acw = self.rng.range(10 * MS_SECOND, 2 * MS_MINUTE);

        // The agent's leg.
        let mut session = self.session(&contact, "outbound");
        let mut segments = Vec::with_capacity(4);
        let dialled = t0.plus(self.rng.range(MS_SECOND, 2 * MS_SECOND));
        let mut metrics = vec![metric("nOutbound", 1, t0)];
        if media == Media::Voice {
            session.ani = Some(contact.dialled.to_string());
            session.dnis = Some(format!("tel:{}", contact.customer_number));
            session.recording = Some(answered && self.rng.chance(0.85));
            session.protocol_call_id = Some(self.id());
            segments.push(segment(t0, dialled, "dialing"));
            let mut contacting = segment(dialled, connect, "contacting");
            if !answered {
                contacting.disconnect_type = Some("client");
            }
            segments.push(contacting);
            metrics.push(metric("nOutboundAttempted", 1, t0));
            metrics.push(metric("tContacting", connect.0 - dialled.0, connect));
        } else {
            session.address_from = Some(SUPPORT_ADDRESS.to_string());
            session.address_to = Some(contact.customer_email.clone());
            session.address_self = Some(SUPPORT_ADDRESS.to_string());
            session.address_other = Some(contact.customer_email.clone());
        }
        if answered {
            let mut talk = segment(connect, talk_end, "interact");
            talk.queue_id = self.rng.chance(0.5).then_some(queue.id);
            talk.disconnect_type = Some(if self.rng.chance(0.6) {
                "client"
            } else {
                "peer"
            });
            talk.subject = contact.subject.clone();
            segments.push(talk);
            if media == Media::Voice {
                metrics.push(metric("nOutboundConnected", 1, connect));
                metrics.push(metric("nConnected", 1, connect));
                metrics.push(metric("tTalk", talk_end.0 - connect.0, talk_end));
                metrics.push(metric("tTalkComplete", talk_end.0 - connect.0, talk_end));
                session.media_endpoint_stats = Some(vec![self.endpoint_stat(connect, talk_end)]);
            }
        }
        let mut wrapup = segment(talk_end, talk_end.plus(acw), "wrapup");
        wrapup.wrap_up_code = Some(*self.rng.pick(&reference.wrap_up_codes));
        segments.push(wrapup);
        metrics.push(metric("tAcw", acw, talk_end.plus(acw)));
        metrics.push(metric(
            "tHandle",
            talk_end.0 - connect.0 + acw,
            talk_end.plus(acw),
        ));
        session.segments = segments;
        session.metrics = metrics;
        let agent_participant = Participant {
            participant_id: self.id(),
            participant_name: Some(agent.name.clone()),
            purpose: "agent",
            user_id: Some(agent.id),
            team_id: agent.team,
            external_contact_id: None,
            attributes: None,
            screen_recording: None,
            sessions: vec![session],
        };

        // The called party's leg.
        let mut far = self.session(&contact, "outbound");
        far.peer_id = agent_participant.sessions.first().map(|s| s.session_id);
        if media == Media::Voice {
            far.ani = Some(contact.dialled.to_string());
            far.dnis = Some(format!("tel:{}", contact.customer_number));
            if answered {
                let mut talk = segment(connect, talk_end, "interact");
                talk.disconnect_type = Some("peer");
                talk.q850_response_codes = Some(vec![16]);
                far.segments = vec![segment(dialled, connect, "alert"), talk];
                far.media_endpoint_stats = Some(vec![self.endpoint_stat(connect, talk_end)]);
            } else {
                let mut ringing = segment(dialled, connect, "alert");
                ringing.disconnect_type = Some("endpoint");
                ringing.q850_response_codes = Some(vec![19]);
                ringing.sip_response_codes = Some(vec![480]);
                far.segments = vec![ringing];
            }
        } else {
            far.address_from = Some(SUPPORT_ADDRESS.to_string());
            far.address_to = Some(contact.customer_email.clone());
            let mut sent = segment(t0, talk_end, "interact");
            sent.subject = contact.subject.clone();
            far.segments = vec![sent];
        }
        let far_participant = Participant {
            participant_id: self.id(),
            participant_name: Some(contact.customer_name.clone()),
            purpose: if self.rng.chance(0.6) {
                "customer"
            } else {
                "external"
            },
            user_id: None,
            team_id: None,
            external_contact_id: self.rng.chance(0.3).then(|| self.id()),
            attributes: None,
            screen_recording: None,
            sessions: vec![far],
        };
        self.assemble(
            "outbound",
            "agent",
            queue,
            vec![agent_participant, far_participant],
            None,
        )
    }

    fn evaluation(&mut self, agent: Id, queue: Id, end: Ts) -> Evaluation {
        let reference = self.reference;
        let &(form_id, form_name, context_id) = self.rng.pick(&reference.evaluation_forms);
        let score = self.rng.range(55, 100);
        Evaluation {
            evaluation_id: self.id(),
            evaluator_id: *self.rng.pick(&reference.evaluators),
            user_id: agent,
            queue_id: queue,
            form_id,
            form_name,
            context_id,
            evaluation_status: if self.rng.chance(0.8) {
                "Finished"
            } else {
                "InProgress"
            },
            event_time: end.plus(self.rng.range(MS_HOUR, 72 * MS_HOUR)),
            released: self.rng.chance(0.7),
            rescored: self.rng.chance(0.05),
            deleted: false,
            assignee_applicable: true,
            system_submitted: false,
            o_total_score: score,
            o_total_critical_score: (score + 10).min(100),
        }
    }

    fn survey(&mut self, agent: Id, queue: Id, end: Ts) -> Survey {
        let (form_id, form_name, context_id) = self.reference.survey_form;
        let event_time = end.plus(self.rng.range(5 * MS_MINUTE, 2 * MS_HOUR));
        let finished = self.rng.chance(0.75);
        Survey {
            survey_id: self.id(),
            survey_form_id: form_id,
            survey_form_name: form_name,
            survey_form_context_id: context_id,
            survey_status: if finished { "Finished" } else { "OptOut" },
            survey_type: if self.rng.chance(0.5) { "Web" } else { "Voice" },
            event_time,
            survey_completed_date: finished.then_some(event_time),
            user_id: agent,
            queue_id: queue,
            survey_promoter_score: finished.then(|| self.rng.range(0, 10)),
            survey_partial_response: !finished,
            o_survey_total_score: finished.then(|| self.rng.range(0, 100)),
        }
    }
}

/// Marks, from hashes of ids (so the random streams of the generator stay as they were), the
/// evaluations that were deleted since (1 in 25: the quality API no longer serves them) and
/// the recorded voice agents whose screen was recorded too (1 in 4).
fn decorate(conversation: &mut Conversation) {
    for e in conversation.evaluations.iter_mut().flatten() {
        e.deleted = mix(&[DELETED_STREAM, e.evaluation_id.0 as u64]).is_multiple_of(25);
    }
    for p in &mut conversation.participants {
        let recorded_voice = p
            .sessions
            .iter()
            .any(|s| s.media_type == "voice" && s.recording == Some(true));
        if p.purpose == "agent"
            && recorded_voice
            && mix(&[SCREEN_STREAM, p.participant_id.0 as u64]).is_multiple_of(4)
        {
            p.screen_recording = Some(true);
        }
    }
}

const DELETED_STREAM: u64 = 0xDE1E7ED;
const SCREEN_STREAM: u64 = 0x5C4EE4;

/// Turns the first agent's disconnect into a blind transfer at `at`.
fn mark_transferred(agent: &mut Participant, at: Ts) {
    let Some(session) = agent.sessions.first_mut() else {
        return;
    };
    if let Some(last_talk) = session
        .segments
        .iter_mut()
        .rev()
        .find(|s| s.segment_type != "wrapup")
    {
        last_talk.disconnect_type = Some("transfer");
    }
    session.metrics.push(metric("nTransferred", 1, at));
    session.metrics.push(metric("nBlindTransferred", 1, at));
    session.metrics.sort_by_key(|m| m.emit_date);
}

/// Moves every instant of a record built at instant 0 by `by` milliseconds.
fn shift(conversation: &mut Conversation, by: i64) {
    let mv = |t: &mut Ts| *t = t.plus(by);
    let mv_opt = |t: &mut Option<Ts>| {
        if let Some(t) = t {
            mv(t);
        }
    };
    mv(&mut conversation.conversation_start);
    mv_opt(&mut conversation.conversation_end);
    for e in conversation.evaluations.iter_mut().flatten() {
        mv(&mut e.event_time);
    }
    for s in conversation.surveys.iter_mut().flatten() {
        mv(&mut s.event_time);
        mv_opt(&mut s.survey_completed_date);
    }
    for session in conversation
        .participants
        .iter_mut()
        .flat_map(|p| p.sessions.iter_mut())
    {
        for s in &mut session.segments {
            mv(&mut s.segment_start);
            mv_opt(&mut s.segment_end);
        }
        for m in &mut session.metrics {
            mv(&mut m.emit_date);
        }
        for stat in session.media_endpoint_stats.iter_mut().flatten() {
            mv(&mut stat.event_time);
        }
        for outcome in session.flow.iter_mut().flat_map(|f| f.outcomes.iter_mut()) {
            mv(&mut outcome.flow_outcome_start_timestamp);
            mv_opt(&mut outcome.flow_outcome_end_timestamp);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Days, TimeDelta, Utc};
    use serde_json::Value;

    use crate::Org;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(org: &Org, date: &str) -> Vec<Value> {
        let from = at(&format!("{date}T00:00:00Z"));
        org.conversations_started_in(from, from + TimeDelta::days(1))
    }

    fn far_future() -> DateTime<Utc> {
        at("2100-01-01T00:00:00Z")
    }

    #[test]
    fn same_seed_and_day_give_identical_records() {
        let a = day(&Org::new(7, 120, far_future()), "2023-06-01");
        let b = day(&Org::new(7, 120, far_future()), "2023-06-01");
        assert_eq!(a.len(), 120);
        assert_eq!(a, b);
        let other_seed = day(&Org::new(8, 120, far_future()), "2023-06-01");
        assert_ne!(a, other_seed);
        let other_day = day(&Org::new(7, 120, far_future()), "2023-06-02");
        assert_ne!(a, other_day);
    }

    /// Every instant below the conversation, as (what, instant) pairs.
    fn instants(conversation: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for participant in conversation["participants"].as_array().unwrap() {
            for session in participant["sessions"].as_array().unwrap() {
                let mut starts = Vec::new();
                for segment in session["segments"].as_array().unwrap() {
                    starts.push(segment["segmentStart"].as_str().unwrap().to_string());
                    for key in ["segmentStart", "segmentEnd"] {
                        if let Some(t) = segment[key].as_str() {
                            out.push((key.to_string(), t.to_string()));
                        }
                    }
                }
                assert!(starts.windows(2).all(|w| w[0] <= w[1]), "segments ordered");
                for metric in session["metrics"].as_array().into_iter().flatten() {
                    out.push((
                        "emitDate".into(),
                        metric["emitDate"].as_str().unwrap().into(),
                    ));
                }
                for stat in session["mediaEndpointStats"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    out.push((
                        "eventTime".into(),
                        stat["eventTime"].as_str().unwrap().into(),
                    ));
                }
                let outcomes = session["flow"]["outcomes"].as_array().into_iter().flatten();
                for outcome in outcomes {
                    for key in ["flowOutcomeStartTimestamp", "flowOutcomeEndTimestamp"] {
                        if let Some(t) = outcome[key].as_str() {
                            out.push((key.to_string(), t.to_string()));
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_session_instant_lies_within_its_conversation() {
        let org = Org::new(42, 120, far_future());
        for date in ["2024-01-01", "2024-02-29", "2024-07-15"] {
            for c in day(&org, date) {
                let start = c["conversationStart"].as_str().unwrap();
                let end = c["conversationEnd"].as_str().unwrap();
                assert!(start < end);
                for (what, t) in instants(&c) {
                    assert!(
                        start <= t.as_str() && t.as_str() <= end,
                        "{what} {t} outside {start}..{end}"
                    );
                    assert_eq!(t.len(), 24, "millisecond precision with Z: {t}");
                    assert!(t.ends_with('Z'));
                }
            }
        }
    }

    #[test]
    fn some_conversations_span_midnight_and_some_last_hours() {
        let org = Org::new(42, 120, far_future());
        let mut spanning = 0;
        let mut long = 0;
        let mut total = 0;
        let first = at("2024-05-01T00:00:00Z").date_naive();
        for offset in 0..30 {
            let date = first.checked_add_days(Days::new(offset)).unwrap();
            for c in day(&org, &date.to_string()) {
                total += 1;
                let start = at(c["conversationStart"].as_str().unwrap());
                let end = at(c["conversationEnd"].as_str().unwrap());
                assert_eq!(
                    start.date_naive(),
                    date,
                    "a conversation belongs to its start day"
                );
                if end.date_naive() > date {
                    spanning += 1;
                }
                if end - start >= TimeDelta::hours(2) {
                    long += 1;
                }
            }
        }
        let share = f64::from(spanning) / f64::from(total);
        assert!(
            (0.04..0.09).contains(&share),
            "{spanning} of {total} span midnight"
        );
        assert!(
            long > 0 && f64::from(long) / f64::from(total) < 0.03,
            "{long} long"
        );
    }

    #[test]
    fn records_exercise_the_whole_hierarchy() {
        let org = Org::new(42, 120, far_future());
        let text: String = (1..=7)
            .flat_map(|d| day(&org, &format!("2024-04-0{d}")))
            .map(|c| c.to_string())
            .collect();
        for needle in [
            "\"purpose\":\"ivr\"",
            "\"purpose\":\"acd\"",
            "\"purpose\":\"agent\"",
            "\"purpose\":\"external\"",
            "\"purpose\":\"workflow\"",
            "\"mediaType\":\"email\"",
            "\"mediaType\":\"chat\"",
            "\"mediaType\":\"message\"",
            "\"segmentType\":\"hold\"",
            "\"segmentType\":\"wrapup\"",
            "\"wrapUpNote\"",
            "\"disconnectType\":\"transfer\"",
            "\"outcomes\"",
            "\"mediaEndpointStats\"",
            "\"evaluations\"",
            "\"surveys\"",
            "\"selfServed\":true",
            "\"scoredAgents\"",
            "\"properties\"",
            "\"proposedAgents\"",
            "\"agentGroups\"",
            "\"q850ResponseCodes\"",
            "\"sipResponseCodes\"",
            "\"attributes\"",
            "\"knowledgeBaseIds\"",
            "\"externalTag\"",
            "\"addressFrom\"",
            "\"subject\"",
            "\"mediaStatsMinConversationRFactor\"",
        ] {
            assert!(text.contains(needle), "no {needle} in a week of data");
        }
    }

    #[test]
    fn conversations_after_now_do_not_exist_and_running_ones_have_no_end() {
        let now = at("2024-03-20T12:00:00Z");
        let org = Org::new(42, 120, now);
        let today = day(&org, "2024-03-20");
        assert!(!today.is_empty() && today.len() < 120);
        for c in &today {
            assert!(at(c["conversationStart"].as_str().unwrap()) <= now);
            if c.get("conversationEnd").is_none() {
                for (what, t) in instants(c) {
                    assert!(at(&t) <= now, "{what} {t} is after now");
                }
            }
        }
        assert!(today.iter().any(|c| c.get("conversationEnd").is_none()));
    }

    /// Prints the average daily volume (`cargo test -p genesys-sim volume -- --nocapture`).
    #[test]
    fn volume_per_day() {
        let org = Org::new(42, 120, far_future());
        let days = 28;
        let (mut participants, mut sessions, mut segments, mut metrics) = (0, 0, 0, 0);
        let mut conversations = 0;
        let mut bytes = 0;
        for d in 0..days {
            let date = at("2024-02-01T00:00:00Z").date_naive() + Days::new(d);
            for c in day(&org, &date.to_string()) {
                conversations += 1;
                bytes += c.to_string().len();
                for p in c["participants"].as_array().unwrap() {
                    participants += 1;
                    for s in p["sessions"].as_array().unwrap() {
                        sessions += 1;
                        segments += s["segments"].as_array().unwrap().len();
                        metrics += s["metrics"].as_array().map_or(0, Vec::len);
                    }
                }
            }
        }
        let per_day = |n: usize| n as f64 / days as f64;
        println!(
            "per day: {} conversations, {:.0} participants, {:.0} sessions, {:.0} segments, {:.0} metrics, {:.0} KB JSON",
            per_day(conversations),
            per_day(participants),
            per_day(sessions),
            per_day(segments),
            per_day(metrics),
            per_day(bytes) / 1024.0
        );
        assert_eq!(conversations, 120 * days as usize);
    }
}
