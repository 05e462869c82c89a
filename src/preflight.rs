//! `preflight`: what this OAuth client can do, against what the chosen datasets need.
//!
//! It reads the client's grant type and role–division pairs, each role's permissions (when the
//! client may read roles), and the org's divisions; works out, per dataset, whether a needed
//! permission is held and in which divisions (divisions it misses mean silently missing rows);
//! probes each dataset's endpoint with the smallest request; and flags any write, admin or
//! wildcard permission as excess privilege. A security team can hand the printed custom-role
//! permission list straight to a Genesys admin.

use std::sync::Arc;

use chrono::{Days, Utc};
use serde::Serialize;

use crate::datasets::Dataset;
use crate::error::{Error, Result};
use crate::genesys::access::{self, Access, Coverage};
use crate::genesys::allowlist::Allowlist;
use crate::genesys::permissions;
use crate::genesys::{ApiClient, ApiConfig, ApiStats};
use crate::plan::day_start;

#[derive(Debug, Clone)]
pub struct PreflightConfig {
    pub api: ApiConfig,
    pub datasets: Vec<String>,
    pub allow_excess_privilege: bool,
}

/// How a probe of an endpoint went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStatus {
    Ok,
    MissingPermission,
    NotReachable,
}

#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub request: String,
    pub status: ProbeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatasetCheck {
    pub dataset: String,
    /// Any one of these is needed (empty: none).
    pub permissions: Vec<String>,
    pub coverage: Coverage,
    pub probes: Vec<Probe>,
    /// The ways of reading the dataset, best first, and whether the roles allow each (empty
    /// for a dataset with one way).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteCheck {
    pub route: String,
    /// Every group is needed; any permission of a group satisfies it.
    pub needs: Vec<Vec<String>>,
    /// Whether the roles allow it: None when no role could be read.
    pub granted: Option<bool>,
}

impl DatasetCheck {
    /// Whether some way of reading the dataset is open: a refused probe of the best route
    /// does not count against a dataset whose roles allow another.
    fn readable(&self) -> bool {
        let refused = self
            .probes
            .iter()
            .any(|p| p.status == ProbeStatus::MissingPermission);
        let another_route = self.routes.iter().skip(1).any(|r| r.granted == Some(true));
        self.coverage.granted != Some(false) && (!refused || another_route)
    }
}

fn route_checks(access: &Access, spec: &crate::datasets::Spec) -> Vec<RouteCheck> {
    spec.routes
        .iter()
        .map(|r| {
            let grants: Vec<Option<bool>> = r
                .needs
                .iter()
                .map(|any| access.coverage(any).granted)
                .collect();
            let granted = if grants.contains(&Some(false)) {
                Some(false)
            } else if grants.iter().all(|g| *g == Some(true)) {
                Some(true)
            } else {
                None
            };
            RouteCheck {
                route: r.name.to_string(),
                needs: r
                    .needs
                    .iter()
                    .map(|g| g.iter().map(|p| p.to_string()).collect())
                    .collect(),
                granted,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Excess {
    pub role: String,
    pub permission: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything the datasets need is there, and nothing more.
    Ok,
    /// A needed permission is missing or an endpoint refused.
    MissingPermission,
    /// An endpoint could not be reached.
    NotReachable,
    /// The client holds write, admin or wildcard permissions.
    ExcessPrivilege,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub access: Access,
    pub datasets: Vec<DatasetCheck>,
    pub excess_privilege: Vec<Excess>,
    pub excess_allowed: bool,
    /// The permissions of a custom read-only role covering the chosen datasets.
    pub recommended_role: Vec<String>,
    pub verdict: Verdict,
}

impl Report {
    /// The process exit code: 0 ok, 4 missing permission, 5 not reachable, 7 excess privilege.
    pub fn exit_code(&self) -> i32 {
        match self.verdict {
            Verdict::Ok => 0,
            Verdict::MissingPermission => 4,
            Verdict::NotReachable => 5,
            Verdict::ExcessPrivilege => 7,
        }
    }
}

pub async fn run(cfg: PreflightConfig) -> Result<Report> {
    let chosen = crate::datasets::resolve("--dataset", &cfg.datasets)?;
    let allowlist = Allowlist::new(chosen.iter().flat_map(|d| d.spec().endpoints.iter()));
    let api = cfg.api.connect(Arc::new(ApiStats::default()), allowlist)?;
    let access = access::read(&api).await?;
    let mut datasets = Vec::new();
    for ds in &chosen {
        let spec = ds.spec();
        datasets.push(DatasetCheck {
            dataset: spec.name.to_string(),
            permissions: spec.permissions.iter().map(|p| p.to_string()).collect(),
            coverage: access.coverage(spec.permissions),
            probes: probe(&api, *ds).await,
            routes: route_checks(&access, spec),
        });
    }
    let mut excess = Vec::new();
    for role in &access.roles {
        let label = role.name.clone().unwrap_or_else(|| role.id.clone());
        if role.name.as_deref().is_some_and(permissions::admin_role) {
            excess.push(Excess {
                role: label.clone(),
                permission: "(role)".into(),
                reason: "an administrator role".into(),
            });
        }
        for p in role.permissions.iter().flatten() {
            if let Some(reason) = permissions::excess(p) {
                excess.push(Excess {
                    role: label.clone(),
                    permission: p.clone(),
                    reason: reason.into(),
                });
            }
        }
    }
    let statuses: Vec<&ProbeStatus> = datasets
        .iter()
        .flat_map(|d| d.probes.iter().map(|p| &p.status))
        .collect();
    let missing = datasets.iter().any(|d| !d.readable());
    let verdict = if !excess.is_empty() && !cfg.allow_excess_privilege {
        Verdict::ExcessPrivilege
    } else if missing {
        Verdict::MissingPermission
    } else if statuses.contains(&&ProbeStatus::NotReachable) {
        Verdict::NotReachable
    } else {
        Verdict::Ok
    };
    Ok(Report {
        access,
        datasets,
        excess_privilege: excess,
        excess_allowed: cfg.allow_excess_privilege,
        recommended_role: permissions::recommended_role(chosen.iter().flat_map(|d| {
            let spec = d.spec();
            // A dataset with several ways of reading it: everything its best route needs.
            match spec.routes.first() {
                Some(route) => route.needs.to_vec(),
                None => vec![spec.permissions],
            }
        })),
        verdict,
    })
}

/// Calls each endpoint a dataset uses with the smallest request it accepts.
async fn probe(api: &ApiClient, ds: &dyn Dataset) -> Vec<Probe> {
    let yesterday = day_start(Utc::now().date_naive() - Days::new(1));
    let calls: Vec<(String, Option<serde_json::Value>)> = ds
        .probes(yesterday)
        .into_iter()
        .map(|(method, path, body)| (format!("{method} {path}"), body))
        .collect();
    let mut out = Vec::new();
    for (request, body) in calls {
        let (method, path) = request.split_once(' ').unwrap_or(("GET", &request));
        let result = match body {
            Some(b) => api.post_json(path, &b).await,
            None if method == "GET" => api.get(path).await,
            None => continue,
        };
        let (status, detail) = match result {
            Ok(_) => (ProbeStatus::Ok, None),
            // A probe for an entity that cannot exist (no id is known before a run): not
            // found means the permission is there.
            Err(Error::Api {
                status: Some(404), ..
            }) => (ProbeStatus::Ok, None),
            Err(Error::Permission { message, .. }) => {
                (ProbeStatus::MissingPermission, Some(message))
            }
            Err(e) => (ProbeStatus::NotReachable, Some(e.to_string())),
        };
        out.push(Probe {
            request,
            status,
            detail,
        });
    }
    out
}

/// The report as a person reads it.
pub fn render_text(r: &Report) -> String {
    let a = &r.access;
    let mut s = String::new();
    s.push_str(&format!(
        "Client {} ({}), grant type {}, org {}\n",
        a.client_name.as_deref().unwrap_or("?"),
        a.client_id.as_deref().unwrap_or("?"),
        a.grant_type.as_deref().unwrap_or("?"),
        a.organization.as_deref().unwrap_or("?"),
    ));
    if a.grant_type
        .as_deref()
        .is_some_and(|g| !g.eq_ignore_ascii_case("CLIENT-CREDENTIALS"))
    {
        s.push_str("  warning: not a client-credentials client\n");
    }
    s.push_str("  Note: OAuth scopes do not limit a client-credentials token; its roles and their divisions do.\n");
    s.push_str(&format!(
        "\nRoles ({}); the org has {} divisions\n",
        a.roles.len(),
        a.org_divisions.len()
    ));
    for role in &a.roles {
        let divisions = if role.divisions.iter().any(|d| d == "*") {
            "all divisions".to_string()
        } else {
            format!("{} division(s)", role.divisions.len())
        };
        match &role.permissions {
            Some(p) => s.push_str(&format!(
                "  {:<32} {:>3} permission(s), {divisions}\n",
                role.name.as_deref().unwrap_or(&role.id),
                p.len()
            )),
            None => s.push_str(&format!(
                "  {:<32} permissions unreadable (grant {} to see them), {divisions}\n",
                role.id,
                permissions::ROLE_VIEW
            )),
        }
    }
    s.push_str(&format!(
        "\n{:<15} {:<36} {:<8} {:<12} probe\n",
        "dataset", "permission", "granted", "divisions"
    ));
    for d in &r.datasets {
        let permission = d
            .permissions
            .first()
            .cloned()
            .unwrap_or_else(|| "(none needed)".into());
        let granted = match d.coverage.granted {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "unknown",
        };
        let reach = format!(
            "{}/{}{}",
            d.coverage.divisions.len(),
            d.coverage.divisions.len() + d.coverage.missing.len(),
            if d.coverage.exact { "" } else { "?" }
        );
        let probe = d
            .probes
            .iter()
            .map(|p| match p.status {
                ProbeStatus::Ok => "ok",
                ProbeStatus::MissingPermission => "missing permission",
                ProbeStatus::NotReachable => "not reachable",
            })
            .collect::<Vec<_>>()
            .join(", ");
        s.push_str(&format!(
            "{:<15} {:<36} {:<8} {:<12} {probe}\n",
            d.dataset, permission, granted, reach
        ));
        if !d.coverage.missing.is_empty() {
            let names: Vec<&str> = d.coverage.missing.iter().map(|m| m.name.as_str()).collect();
            s.push_str(&format!(
                "  {} rows in these divisions will be silently missing: {}\n",
                d.dataset,
                names.join(", ")
            ));
        }
        for (i, r) in d.routes.iter().enumerate() {
            let granted = match r.granted {
                Some(true) => "allowed",
                Some(false) => "not allowed",
                None => "unknown",
            };
            let used = if d.routes[..i].iter().all(|x| x.granted == Some(false))
                && r.granted == Some(true)
            {
                " (the run reads it this way)"
            } else {
                ""
            };
            let needs: Vec<String> = r.needs.iter().map(|g| g.join(" or ")).collect();
            s.push_str(&format!(
                "  route {}: {granted}{used}; needs {}\n",
                r.route,
                needs.join(" and ")
            ));
        }
        for p in d.probes.iter().filter(|p| p.status != ProbeStatus::Ok) {
            s.push_str(&format!(
                "  {}: {}\n",
                p.request,
                p.detail.as_deref().unwrap_or("")
            ));
        }
    }
    if r.excess_privilege.is_empty() {
        s.push_str("\nExcess privilege: none\n");
    } else {
        s.push_str(&format!(
            "\nExcess privilege ({}{}):\n",
            r.excess_privilege.len(),
            if r.excess_allowed {
                ", allowed by --allow-excess-privilege"
            } else {
                ""
            }
        ));
        for e in r.excess_privilege.iter().take(20) {
            s.push_str(&format!(
                "  {:<32} {:<40} {}\n",
                e.role, e.permission, e.reason
            ));
        }
        if r.excess_privilege.len() > 20 {
            s.push_str(&format!(
                "  ... and {} more\n",
                r.excess_privilege.len() - 20
            ));
        }
    }
    s.push_str(
        "\nA custom read-only role for these datasets, granted in every division to load:\n",
    );
    for p in &r.recommended_role {
        let note = if p == permissions::ROLE_VIEW {
            "  (optional: lets preflight read the client's roles)"
        } else {
            ""
        };
        s.push_str(&format!("  {p}{note}\n"));
    }
    s.push_str(&format!(
        "\nVerdict: {}\n",
        match r.verdict {
            Verdict::Ok => "OK",
            Verdict::MissingPermission => "MISSING PERMISSION",
            Verdict::NotReachable => "NOT REACHABLE",
            Verdict::ExcessPrivilege =>
                "REFUSED: excess privilege (use a read-only role, or --allow-excess-privilege)",
        }
    ));
    s
}
