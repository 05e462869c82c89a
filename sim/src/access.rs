//! What the client may do: the roles paired with it, their permissions, and the divisions each
//! role is granted in (genesys-api.md §2.3, §3, §11, §12).
//!
//! As on the platform, a missing permission is a 403 naming it, while a missing division is
//! silent: analytics simply return fewer conversations.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::data::DIVISIONS;
use crate::error::ApiError;
use crate::server::AppState;

/// A role paired with the OAuth client, and the divisions it is granted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// Permission strings (`domain:entity:action`, `*` wildcards allowed).
    pub permissions: Vec<String>,
    /// Division ids the role is granted in; `"*"` means every division.
    pub divisions: Vec<String>,
}

impl Role {
    /// A read-only role with what a loader needs, granted in every division.
    pub fn least_privilege_loader() -> Role {
        Role {
            id: "5e7a0c1d-2b3f-4a59-8c6d-7e8f9a0b1c2d".into(),
            name: "Genesys Loader (read-only)".into(),
            permissions: [
                "analytics:conversationDetail:view",
                "analytics:conversationAggregate:view",
                "authorization:role:view",
                "routing:queue:view",
                "routing:wrapupCode:view",
                "routing:skill:view",
                "groups:team:view",
                "directory:user:view",
                "recording:recording:view",
                "recording:annotation:view",
                "quality:evaluation:view",
                "quality:evaluation:searchAny",
                "quality:evaluationForm:view",
                "wfm:publishedSchedule:view",
                "wfm:historicalAdherence:view",
            ]
            .map(String::from)
            .to_vec(),
            divisions: DIVISIONS.iter().map(|(id, _)| id.to_string()).collect(),
        }
    }

    /// The "God mode" client security teams refuse: every permission, everywhere.
    pub fn god_mode() -> Role {
        Role {
            id: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d".into(),
            name: "Master Admin".into(),
            permissions: vec!["*:*:*".into()],
            divisions: vec!["*".into()],
        }
    }
}

/// Whether a granted permission covers a required one, segment by segment.
fn covers(granted: &str, required: &str) -> bool {
    let g: Vec<&str> = granted.split(':').collect();
    let r: Vec<&str> = required.split(':').collect();
    g.len() == r.len()
        && g.iter()
            .zip(&r)
            .all(|(g, r)| *g == "*" || g.eq_ignore_ascii_case(r))
}

fn holds(role: &Role, any_of: &[&str]) -> bool {
    role.permissions
        .iter()
        .any(|p| any_of.iter().any(|r| covers(p, r)))
}

/// `Ok` if some role holds one of `any_of`; otherwise the platform's 403
/// `missing.any.permissions` naming them (endpoints whose permissions are listed as ANY).
pub(crate) fn require(state: &AppState, any_of: &[&str]) -> Result<(), ApiError> {
    if state.config.roles.iter().any(|r| holds(r, any_of)) {
        return Ok(());
    }
    Err(forbidden(state, "missing.any.permissions", any_of))
}

/// Whether some role holds one of `any_of` (for what the platform leaves out rather than
/// refuses, such as bookmark annotations).
pub(crate) fn holds_any(state: &AppState, any_of: &[&str]) -> bool {
    state.config.roles.iter().any(|r| holds(r, any_of))
}

/// `Ok` if the roles together hold every one of `all_of`; otherwise the platform's 403
/// `missing.permissions` naming them (endpoints whose permissions are listed as ALL, such as
/// `GET /api/v2/routing/wrapupcodes`).
pub(crate) fn require_all(state: &AppState, all_of: &[&str]) -> Result<(), ApiError> {
    let roles = &state.config.roles;
    if all_of.iter().all(|p| roles.iter().any(|r| holds(r, &[p]))) {
        return Ok(());
    }
    Err(forbidden(state, "missing.permissions", all_of))
}

fn forbidden(state: &AppState, code: &'static str, permissions: &[&str]) -> ApiError {
    state.stats.record_forbidden();
    ApiError::new(
        StatusCode::FORBIDDEN,
        code,
        format!(
            "Unable to perform the requested action. You are missing the following permission(s): [{}]",
            permissions.join(", ")
        ),
    )
}

/// The divisions a permission reaches: `None` for all of them.
pub(crate) fn visible_divisions(state: &AppState, any_of: &[&str]) -> Option<HashSet<String>> {
    let mut out = HashSet::new();
    for role in state.config.roles.iter().filter(|r| holds(r, any_of)) {
        if role.divisions.iter().any(|d| d == "*") {
            return None;
        }
        out.extend(role.divisions.iter().cloned());
    }
    Some(out)
}

/// The role–division pairs `GET /api/v2/tokens/me` reports.
pub(crate) fn role_divisions(state: &AppState) -> Vec<Value> {
    state
        .config
        .roles
        .iter()
        .flat_map(|r| {
            r.divisions
                .iter()
                .map(move |d| json!({ "roleId": r.id, "divisionId": d }))
        })
        .collect()
}

/// `GET /api/v2/authorization/roles/{roleId}`: a role's permissions
/// (needs `authorization:role:view`).
pub(crate) async fn role(
    State(state): State<Arc<AppState>>,
    Path(role_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &["authorization:role:view"])?;
    let role = state
        .config
        .roles
        .iter()
        .find(|r| r.id == role_id)
        .ok_or_else(|| ApiError::not_found(format!("Role {role_id} was not found.")))?;
    let policies: Vec<Value> = role
        .permissions
        .iter()
        .filter_map(|p| {
            let mut parts = p.splitn(3, ':');
            let (domain, entity, action) = (parts.next()?, parts.next()?, parts.next()?);
            Some(json!({ "domain": domain, "entityName": entity, "actionSet": [action] }))
        })
        .collect();
    Ok(Json(json!({
        "id": role.id,
        "name": role.name,
        "permissions": role.permissions,
        "permissionPolicies": policies,
        "userCount": 0,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_segment_by_segment() {
        assert!(covers("*:*:*", "analytics:conversationDetail:view"));
        assert!(covers(
            "analytics:*:view",
            "analytics:conversationDetail:view"
        ));
        assert!(!covers(
            "analytics:conversationAggregate:view",
            "analytics:conversationDetail:view"
        ));
    }
}
