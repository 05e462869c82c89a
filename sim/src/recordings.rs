//! Recording metadata (genesys-api.md §9): `GET /api/v2/conversations/{id}/recordingmetadata`.
//!
//! A conversation has exactly one recording per session the details mark `recording: true`,
//! plus a screen recording for each agent participant marked `screenRecording: true`; a
//! conversation with none answers 404. Each recording carries pause annotations for its hold
//! segments (a secure pause nests a pause inside it) and, for one in three, an agent's bookmark
//! with a free-text description, which, as on the platform, is only served when the caller
//! also holds `recording:annotation:view`. No media URL is ever part of the metadata.
//! Recordings archive 30 days after the conversation and are deleted after a year.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::access;
use crate::error::ApiError;
use crate::model::{Attributes, Conversation, Id, Session, Ts};
use crate::rng::mix;
use crate::server::AppState;

/// Any one of these reads recording metadata.
pub(crate) const PERMISSIONS: &[&str] = &[
    "recording:recording:view",
    "recording:recordingSegment:view",
    "recording:snippetRecording:view",
    "recording:screenRecording:view",
];
/// Needed besides one of [`PERMISSIONS`] for bookmark annotations.
pub(crate) const ANNOTATION_PERMISSION: &str = "recording:annotation:view";

const MS_DAY: i64 = 86_400_000;
const BOOKMARKS: [&str; 3] = [
    "Customer asked for a supervisor",
    "Card number read out before the pause",
    "Good de-escalation example",
];

fn derived_id(seed: u64, parts: &[u64]) -> Id {
    let mut all = vec![seed, 0x004E_C04D];
    all.extend_from_slice(parts);
    let hi = mix(&all);
    all.push(1);
    Id((u128::from(hi) << 64) | u128::from(mix(&all)))
}

fn lo(id: Id) -> u64 {
    id.0 as u64
}

fn media_of(session: &Session) -> &'static str {
    match session.media_type {
        "voice" | "callback" => "audio",
        "chat" => "chat",
        "email" => "email",
        "message" => "message",
        other => other,
    }
}

/// One pause annotation at `start..end` of a recording that began at `origin`.
fn pause(id: Id, reason: &str, origin: Ts, start: Ts, end: Ts) -> Value {
    let (location, duration) = (start.0 - origin.0, end.0 - start.0);
    json!({
        "id": id,
        "name": reason,
        "type": "Pause",
        "location": location,
        "durationMs": duration,
        "absoluteLocation": location,
        "absoluteDurationMs": duration,
        "recordingLocation": location,
        "recordingDurationMs": duration,
        "realtimeLocation": location,
        "reason": reason,
    })
}

/// The metadata of the recordings of `c` as served at `now` (empty: nothing was recorded).
pub(crate) fn recordings_of(seed: u64, c: &Conversation, now: Ts, bookmarks: bool) -> Vec<Value> {
    let Some(c) = c.render(now, Attributes::Omit) else {
        return Vec::new();
    };
    let file_state = |start: Ts| {
        if c.conversation_end.is_none() {
            "UPLOADING"
        } else if start.plus(30 * MS_DAY) <= now {
            "ARCHIVED"
        } else {
            "AVAILABLE"
        }
    };
    let mut out = Vec::new();
    for p in &c.participants {
        for s in &p.sessions {
            if s.recording != Some(true) {
                continue;
            }
            let (Some(first), Some(last)) = (s.segments.first(), s.segments.last()) else {
                continue;
            };
            let start = first.segment_start;
            let end = last.segment_end.unwrap_or(now);
            let id = derived_id(seed, &[lo(s.session_id)]);
            let mut annotations = Vec::new();
            for (i, hold) in s
                .segments
                .iter()
                .enumerate()
                .filter(|(_, g)| g.segment_type == "hold")
            {
                let hold_end = hold.segment_end.unwrap_or(now);
                let mut a = pause(
                    derived_id(seed, &[lo(id), i as u64]),
                    "Hold",
                    start,
                    hold.segment_start,
                    hold_end,
                );
                // One in five holds was a secure pause around the hold (card details).
                if mix(&[seed, lo(id), i as u64, 5]).is_multiple_of(5) {
                    let mut outer = pause(
                        derived_id(seed, &[lo(id), i as u64, 2]),
                        "SecurePause",
                        start,
                        hold.segment_start,
                        hold_end,
                    );
                    outer["annotations"] = json!([a]);
                    a = outer;
                }
                annotations.push(a);
            }
            if bookmarks && mix(&[seed, lo(id), 3]).is_multiple_of(3) {
                let at = start.plus((end.0 - start.0) / 2);
                annotations.push(json!({
                    "id": derived_id(seed, &[lo(id), 99]),
                    "name": "Bookmark",
                    "type": "Bookmark",
                    "location": at.0 - start.0,
                    "durationMs": 0,
                    "absoluteLocation": at.0 - start.0,
                    "absoluteDurationMs": 0,
                    "recordingLocation": at.0 - start.0,
                    "recordingDurationMs": 0,
                    "realtimeLocation": at.0 - start.0,
                    "user": p.user_id.map(|u| json!({"id": u, "selfUri": format!("/api/v2/users/{u}")})),
                    "description": BOOKMARKS[(mix(&[seed, lo(id), 4]) % 3) as usize],
                }));
            }
            out.push(metadata(
                id,
                &c,
                s.session_id,
                (media_of(s), "Trunk"),
                (start, end),
                file_state(start),
                annotations,
            ));
        }
        if p.screen_recording == Some(true)
            && let Some(s) = p.sessions.first()
            && let (Some(first), Some(last)) = (s.segments.first(), s.segments.last())
        {
            let (start, end) = (first.segment_start, last.segment_end.unwrap_or(now));
            let id = derived_id(seed, &[lo(p.participant_id), 7]);
            let mut m = metadata(
                id,
                &c,
                s.session_id,
                ("screen", "Screen"),
                (start, end),
                file_state(start),
                Vec::new(),
            );
            m["startTime"] = json!(start);
            m["endTime"] = json!(end);
            out.push(m);
        }
    }
    out
}

fn metadata(
    id: Id,
    c: &Conversation,
    session: Id,
    (media, subtype): (&str, &str),
    (start, _end): (Ts, Ts),
    file_state: &str,
    annotations: Vec<Value>,
) -> Value {
    let mut m = json!({
        "id": id,
        "conversationId": c.conversation_id,
        "media": media,
        "mediaSubtype": subtype,
        "fileState": file_state,
        "archiveDate": start.plus(30 * MS_DAY),
        "archiveMedium": "CLOUDARCHIVE",
        "deleteDate": start.plus(365 * MS_DAY),
        "sessionId": session,
        "region": "us-east-1",
        "maxAllowedRestorationsForOrg": 20,
        "remainingRestorationsAllowedForOrg": 20,
        "selfUri": format!(
            "/api/v2/conversations/{}/recordingmetadata/{id}",
            c.conversation_id
        ),
    });
    if !annotations.is_empty() {
        m["annotations"] = json!(annotations);
    }
    m
}

/// `GET /api/v2/conversations/{conversationId}/recordingmetadata`.
pub(crate) async fn metadata_of(
    State(state): State<Arc<AppState>>,
    Path(conversation_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    access::require(&state, PERMISSIONS)?;
    let missing = || {
        ApiError::not_found(format!(
            "No recordings found for conversation {conversation_id}"
        ))
    };
    let conversation = Id::parse(&conversation_id)
        .and_then(|id| state.org.find(id))
        .ok_or_else(missing)?;
    let bookmarks = access::holds_any(&state, &[ANNOTATION_PERMISSION]);
    let all = recordings_of(state.config.seed, &conversation, state.now(), bookmarks);
    if all.is_empty() {
        return Err(missing());
    }
    Ok(Json(Value::Array(all)))
}
