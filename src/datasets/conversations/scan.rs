//! What the per-conversation datasets (evaluations read one by one, recording metadata) need
//! to know of a span's conversations, read from the conversation details the way the
//! `conversations` dataset reads them: a details job up to the data availability date, the
//! query after it.
//!
//! Only a compact summary of each conversation is kept (its id, start, whether anything of
//! it was recorded, its evaluations), so a day of 50,000 conversations costs a few MB. The
//! details are read over every division the client reaches, never `--division`: the tables
//! these summaries feed replace whole days.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::details::ConversationApi;
use crate::datasets::RunContext;
use crate::decode::parse_instant;
use crate::error::{Error, Result};
use crate::genesys::paging::Page;

/// One conversation as the per-conversation datasets see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub id: String,
    pub start: DateTime<Utc>,
    /// Whether a session was recorded (`sessions[].recording`) or a participant's screen
    /// (`participants[].screenRecording`).
    pub recorded: bool,
    /// The evaluations the details list, deleted ones left out.
    pub evaluations: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Conversation {
    conversation_id: String,
    conversation_start: String,
    #[serde(default)]
    evaluations: Option<Vec<Evaluation>>,
    #[serde(default)]
    participants: Option<Vec<Participant>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Evaluation {
    evaluation_id: Option<String>,
    #[serde(default)]
    deleted: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Participant {
    #[serde(default)]
    screen_recording: Option<bool>,
    #[serde(default)]
    sessions: Option<Vec<Session>>,
}

#[derive(Deserialize)]
struct Session {
    #[serde(default)]
    recording: Option<bool>,
}

impl Conversation {
    fn seen(self) -> Result<Seen> {
        let micros = parse_instant(&self.conversation_start).ok_or_else(|| Error::Payload {
            path: "conversations[].conversationStart".into(),
            message: format!(
                "conversation {}: unreadable start {:?}",
                self.conversation_id, self.conversation_start
            ),
        })?;
        let start = DateTime::from_timestamp_micros(micros).ok_or_else(|| Error::Payload {
            path: "conversations[].conversationStart".into(),
            message: format!("conversation {}: start out of range", self.conversation_id),
        })?;
        let participants = self.participants.unwrap_or_default();
        let recorded = participants.iter().any(|p| {
            p.screen_recording == Some(true)
                || p.sessions
                    .iter()
                    .flatten()
                    .any(|s| s.recording == Some(true))
        });
        let evaluations = self
            .evaluations
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.deleted != Some(true))
            .filter_map(|e| e.evaluation_id)
            .collect();
        Ok(Seen {
            id: self.conversation_id,
            start,
            recorded,
            evaluations,
        })
    }
}

/// The conversations that started in `[start, end)`, each once, in order of start and id.
pub async fn conversations(
    run: &RunContext,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Seen>> {
    let api = ConversationApi::new(&run.api, &run.options.details, &[]);
    let known = run
        .facts
        .lock()
        .expect("facts")
        .get("data_availability")
        .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
        .map(|a| a.with_timezone(&Utc));
    let availability = match known {
        Some(a) => a,
        None => api.availability().await?,
    };
    let (tx, mut rx) = mpsc::channel::<Page>(4);
    let fetch = async {
        let r = if end <= availability {
            api.fetch_job(start, end, &tx, None).await
        } else {
            api.fetch_query(start, end, &tx).await
        };
        drop(tx);
        r
    };
    let gather = async {
        let mut by_id: HashMap<String, Seen> = HashMap::new();
        let mut failure = None;
        while let Some(page) = rx.recv().await {
            let items = match page.items() {
                Ok(items) => items,
                Err(e) => {
                    failure = failure.or(Some(e));
                    continue;
                }
            };
            for item in items {
                let parsed = serde_json::from_str::<Conversation>(item)
                    .map_err(|e| Error::Payload {
                        path: "conversations[]".into(),
                        message: e.to_string(),
                    })
                    .and_then(Conversation::seen);
                match parsed {
                    Ok(seen) if seen.start >= start && seen.start < end => {
                        by_id.insert(seen.id.clone(), seen);
                    }
                    Ok(_) => {}
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(by_id),
        }
    };
    let (fetched, gathered) = tokio::join!(fetch, gather);
    fetched?;
    let mut out: Vec<Seen> = gathered?.into_values().collect();
    out.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    Ok(out)
}
