//! What this client can reach: its roles, their permissions, and the divisions each role is
//! granted in, read from the API itself (`GET /api/v2/tokens/me`, `/authorization/roles/{id}`,
//! `/authorization/divisions`). Used by `preflight` and by every run's coverage report.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::ApiClient;
use super::paging;
use super::permissions::covers;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Division {
    pub id: String,
    pub name: String,
}

/// One role paired with the client.
#[derive(Debug, Clone, Serialize)]
pub struct Role {
    pub id: String,
    pub name: Option<String>,
    /// None when the role could not be read (the client lacks `authorization:role:view`).
    pub permissions: Option<Vec<String>>,
    /// Division ids the role is granted in; `*` means every division.
    pub divisions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// The client's access as the API reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Access {
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub grant_type: Option<String>,
    pub organization: Option<String>,
    pub roles: Vec<Role>,
    pub org_divisions: Vec<Division>,
}

/// Which divisions a permission reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Whether some role holds the permission: None when no role could be read.
    pub granted: Option<bool>,
    /// Divisions of the org the permission reaches.
    pub divisions: Vec<Division>,
    /// Divisions it does not reach: their data is silently missing from analytics results.
    pub missing: Vec<Division>,
    /// False when roles were unreadable and every role's divisions were counted (an upper bound).
    pub exact: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleDivision {
    role_id: String,
    division_id: String,
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_string)
}

/// Reads the client's token info, roles and the org's divisions.
pub async fn read(api: &ApiClient) -> Result<Access> {
    let path = "/api/v2/tokens/me";
    let me: Value =
        serde_json::from_slice(&api.get(path).await?.body).map_err(|e| Error::Payload {
            path: path.into(),
            message: e.to_string(),
        })?;
    let client = me.get("OAuthClient").cloned().unwrap_or(Value::Null);
    let pairs: Vec<RoleDivision> = client
        .get("roleDivisions")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| Error::Payload {
            path: path.into(),
            message: format!("roleDivisions: {e}"),
        })?
        .unwrap_or_default();
    let mut by_role: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in pairs {
        by_role.entry(p.role_id).or_default().push(p.division_id);
    }
    let mut roles = Vec::new();
    for (id, divisions) in by_role {
        let role_path = format!("/api/v2/authorization/roles/{id}?userCount=false");
        let role = match api.get(&role_path).await {
            Ok(resp) => {
                let v: Value = serde_json::from_slice(&resp.body).map_err(|e| Error::Payload {
                    path: role_path.clone(),
                    message: e.to_string(),
                })?;
                Role {
                    id,
                    name: text(&v, &["name"]),
                    permissions: Some(role_permissions(&v)),
                    divisions,
                    unreadable: None,
                }
            }
            // A role deleted since tokens/me answered reads like an unreadable one.
            Err(
                Error::Permission { message, .. }
                | Error::Api {
                    status: Some(404),
                    message,
                    ..
                },
            ) => Role {
                id,
                name: None,
                permissions: None,
                divisions,
                unreadable: Some(message),
            },
            Err(e) => return Err(e),
        };
        roles.push(role);
    }
    let entities = paging::collect(
        api,
        "/api/v2/authorization/divisions",
        paging::Paging::PageNumber,
        100,
        "entities",
    )
    .await?;
    let mut org_divisions: Vec<Division> = entities
        .iter()
        .map(|raw| serde_json::from_str(raw.get()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Payload {
            path: "/api/v2/authorization/divisions".into(),
            message: e.to_string(),
        })?;
    org_divisions.sort();
    org_divisions.dedup();
    Ok(Access {
        client_id: text(&client, &["id"]),
        client_name: text(&client, &["name"]),
        grant_type: text(&client, &["authorizedGrantType"]),
        organization: text(&me, &["organization", "name"]),
        roles,
        org_divisions,
    })
}

/// A role's permission strings, from `permissions` or else from its policies.
fn role_permissions(role: &Value) -> Vec<String> {
    let mut out: BTreeSet<String> = role
        .get("permissions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for policy in role
        .get("permissionPolicies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(domain), Some(entity)) =
            (text(policy, &["domain"]), text(policy, &["entityName"]))
        else {
            continue;
        };
        for action in policy
            .get("actionSet")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            out.insert(format!("{domain}:{entity}:{action}"));
        }
    }
    out.into_iter().collect()
}

impl Access {
    /// Every permission of every readable role.
    pub fn permissions(&self) -> BTreeSet<&str> {
        self.roles
            .iter()
            .flat_map(|r| r.permissions.iter().flatten())
            .map(String::as_str)
            .collect()
    }

    pub fn any_role_unreadable(&self) -> bool {
        self.roles.iter().any(|r| r.permissions.is_none())
    }

    /// Where a permission (any of `any_of`; empty = no permission needed) reaches.
    pub fn coverage(&self, any_of: &[&str]) -> Coverage {
        if self.roles.is_empty() && !any_of.is_empty() {
            // tokens/me did not report role–division pairs: nothing can be said, and nothing
            // is guessed.
            return Coverage {
                granted: None,
                divisions: Vec::new(),
                missing: Vec::new(),
                exact: false,
            };
        }
        let holds = |r: &Role| match &r.permissions {
            _ if any_of.is_empty() => Some(true),
            Some(perms) => Some(
                perms
                    .iter()
                    .any(|g| any_of.iter().any(|req| covers(g, req))),
            ),
            None => None,
        };
        let readable: Vec<bool> = self.roles.iter().filter_map(holds).collect();
        let granted = if readable.iter().any(|h| *h) {
            Some(true)
        } else if self.any_role_unreadable() {
            None
        } else {
            Some(false)
        };
        // With unreadable roles, count their divisions too: an upper bound, said so by `exact`.
        let reaching: Vec<&Role> = self
            .roles
            .iter()
            .filter(|r| holds(r).unwrap_or(true))
            .collect();
        let all = reaching
            .iter()
            .any(|r| r.divisions.iter().any(|d| d == "*"));
        let ids: BTreeSet<&str> = reaching
            .iter()
            .flat_map(|r| r.divisions.iter())
            .map(String::as_str)
            .collect();
        let (divisions, missing): (Vec<Division>, Vec<Division>) = if any_of.is_empty() {
            (self.org_divisions.clone(), Vec::new())
        } else {
            self.org_divisions
                .iter()
                .cloned()
                .partition(|d| all || ids.contains(d.id.as_str()))
        };
        Coverage {
            granted,
            divisions,
            missing,
            exact: !self.any_role_unreadable(),
        }
    }

    /// Resolves `--division` values (names, case-insensitive, or ids) to divisions.
    pub fn resolve_divisions(&self, wanted: &[String]) -> Result<Vec<Division>> {
        let mut out = Vec::new();
        for w in wanted {
            let found = self
                .org_divisions
                .iter()
                .find(|d| d.id == *w || d.name.eq_ignore_ascii_case(w))
                .ok_or_else(|| {
                    Error::Input(format!(
                        "--division {w:?} is not a division of this org (known: {})",
                        self.org_divisions
                            .iter()
                            .map(|d| d.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            if !out.contains(found) {
                out.push(found.clone());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn division(id: &str) -> Division {
        Division {
            id: id.into(),
            name: format!("Division {id}"),
        }
    }

    fn access(roles: Vec<Role>) -> Access {
        Access {
            client_id: None,
            client_name: None,
            grant_type: None,
            organization: None,
            roles,
            org_divisions: vec![division("a"), division("b"), division("c")],
        }
    }

    fn role(perms: Option<&[&str]>, divisions: &[&str]) -> Role {
        Role {
            id: "r".into(),
            name: None,
            permissions: perms.map(|p| p.iter().map(|s| s.to_string()).collect()),
            divisions: divisions.iter().map(|s| s.to_string()).collect(),
            unreadable: None,
        }
    }

    #[test]
    fn missing_divisions_are_the_ones_no_permitted_role_reaches() {
        let a = access(vec![
            role(Some(&["analytics:conversationDetail:view"]), &["a"]),
            role(Some(&["routing:queue:view"]), &["b"]),
        ]);
        let c = a.coverage(&["analytics:conversationDetail:view"]);
        assert_eq!(c.granted, Some(true));
        assert_eq!(c.missing, vec![division("b"), division("c")]);
        assert!(c.exact);
        let wildcard = access(vec![role(Some(&["*:*:*"]), &["*"])]);
        assert!(
            wildcard
                .coverage(&["analytics:conversationDetail:view"])
                .missing
                .is_empty()
        );
    }

    #[test]
    fn no_reported_roles_means_unknown_not_denied() {
        let c = access(vec![]).coverage(&["analytics:conversationDetail:view"]);
        assert_eq!(c.granted, None);
        assert!(c.missing.is_empty() && !c.exact);
    }

    #[test]
    fn unreadable_roles_give_an_upper_bound() {
        let a = access(vec![role(None, &["a", "b"])]);
        let c = a.coverage(&["analytics:conversationDetail:view"]);
        assert_eq!(c.granted, None);
        assert_eq!(c.missing, vec![division("c")]);
        assert!(!c.exact);
    }

    #[test]
    fn permissions_come_from_policies_too() {
        let v = serde_json::json!({"permissions": ["a:b:view"], "permissionPolicies": [{"domain": "x", "entityName": "y", "actionSet": ["view", "edit"]}]});
        assert_eq!(role_permissions(&v), ["a:b:view", "x:y:edit", "x:y:view"]);
    }

    #[test]
    fn divisions_resolve_by_name_or_id() {
        let a = access(vec![]);
        let d = a
            .resolve_divisions(&["division a".into(), "b".into()])
            .unwrap();
        assert_eq!(d, vec![division("a"), division("b")]);
        assert!(
            a.resolve_divisions(&["nope".into()])
                .unwrap_err()
                .to_string()
                .contains("not a division")
        );
    }
}
