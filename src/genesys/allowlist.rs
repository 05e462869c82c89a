//! The read-only allowlist: exactly the requests the datasets declare, nothing broader.
//!
//! Each dataset lists the endpoints it calls ([`Endpoint`]); the client is built with the union
//! of those lists plus the self-introspection reads ([`ACCESS_ENDPOINTS`]) and refuses anything
//! else before it leaves the process. Only GET, HEAD and POSTs that read (analytics queries and
//! jobs, searches) can be declared at all, so a mistaken declaration cannot open a write path.

use reqwest::Method;

/// A request a dataset sends: a method and a path template whose `{name}` segments match any
/// one path segment (`/api/v2/analytics/conversations/details/jobs/{jobId}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
}

impl Endpoint {
    pub const fn get(path: &'static str) -> Endpoint {
        Endpoint {
            method: "GET",
            path,
        }
    }

    /// A POST that reads (a query, a search, a job submission); see [`is_reading_post`].
    pub const fn post(path: &'static str) -> Endpoint {
        Endpoint {
            method: "POST",
            path,
        }
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        if method.as_str() != self.method && !(self.method == "GET" && *method == Method::HEAD) {
            return false;
        }
        let want = self.path.split('/');
        let got = path.split('/');
        want.clone().count() == got.clone().count()
            && want
                .zip(got)
                .all(|(w, g)| (w.starts_with('{') && w.ends_with('}') && !g.is_empty()) || w == g)
    }
}

/// What preflight and every run read about the client itself.
pub const ACCESS_ENDPOINTS: &[Endpoint] = &[
    Endpoint::get("/api/v2/tokens/me"),
    Endpoint::get("/api/v2/authorization/roles/{roleId}"),
    Endpoint::get("/api/v2/authorization/divisions"),
];

/// POSTs that read but have neither shape: each named exactly (a template's `{name}` segment
/// is the only freedom).
const READING_POSTS: &[&str] = &[
    // The WFM historical adherence bulk job: a query submitted as a job (genesys-api.md §8.3).
    "/api/v2/workforcemanagement/adherence/historical/bulk",
];

/// Whether a POST to `path` reads rather than writes: analytics queries and jobs, searches,
/// and the few reading POSTs named in [`READING_POSTS`]. Declarations outside this shape are
/// rejected, so the allowlist can never admit a write.
pub fn is_reading_post(path: &str) -> bool {
    path.ends_with("/query")
        || path.ends_with("/search")
        || (path.starts_with("/api/v2/analytics/") && path.ends_with("/jobs"))
        || READING_POSTS.contains(&path)
}

/// The requests a client may send.
#[derive(Debug, Clone)]
pub struct Allowlist {
    endpoints: Vec<Endpoint>,
}

impl Allowlist {
    /// An allowlist of `endpoints` (plus [`ACCESS_ENDPOINTS`]). Declarations that are not
    /// reads are dropped, and said so in the log: they are build defects, caught by tests.
    pub fn new<'a>(endpoints: impl IntoIterator<Item = &'a Endpoint>) -> Allowlist {
        let mut out: Vec<Endpoint> = Vec::new();
        for e in endpoints.into_iter().chain(ACCESS_ENDPOINTS) {
            let reads = match e.method {
                "GET" => true,
                "POST" => is_reading_post(e.path),
                _ => false,
            };
            if !reads {
                tracing::error!(
                    method = e.method,
                    path = e.path,
                    "not a read; left off the allowlist"
                );
            } else if !out.contains(e) {
                out.push(*e);
            }
        }
        Allowlist { endpoints: out }
    }

    /// Whether `method path` (query string ignored) is one of the declared reads.
    pub fn permits(&self, method: &Method, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or(path);
        if !path.starts_with("/api/v2/") || path.contains("..") || path.contains("//") {
            return false;
        }
        self.endpoints.iter().any(|e| e.matches(method, path))
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Allowlist {
        Allowlist::new(&[
            Endpoint::get("/api/v2/users"),
            Endpoint::post("/api/v2/analytics/conversations/details/query"),
            Endpoint::post("/api/v2/analytics/conversations/details/jobs"),
            Endpoint::get("/api/v2/analytics/conversations/details/jobs/{jobId}"),
            Endpoint::get("/api/v2/analytics/conversations/details/jobs/{jobId}/results"),
            // Not reads: never admitted.
            Endpoint::post("/api/v2/users"),
            Endpoint {
                method: "DELETE",
                path: "/api/v2/analytics/conversations/details/jobs/{jobId}",
            },
        ])
    }

    #[test]
    fn only_declared_reads_are_allowed() {
        let a = list();
        assert!(a.permits(&Method::GET, "/api/v2/users?pageSize=1"));
        assert!(a.permits(&Method::HEAD, "/api/v2/users"));
        assert!(a.permits(&Method::GET, "/api/v2/tokens/me"));
        assert!(a.permits(
            &Method::POST,
            "/api/v2/analytics/conversations/details/query"
        ));
        assert!(a.permits(
            &Method::GET,
            "/api/v2/analytics/conversations/details/jobs/abc/results?cursor=x"
        ));
        assert!(!a.permits(
            &Method::DELETE,
            "/api/v2/analytics/conversations/details/jobs/1"
        ));
        assert!(!a.permits(&Method::POST, "/api/v2/users"));
        assert!(!a.permits(&Method::GET, "/api/v2/routing/queues"));
        assert!(!a.permits(&Method::POST, "/api/v2/recording/jobs"));
        assert!(!a.permits(&Method::PUT, "/api/v2/routing/queues/1"));
        assert!(!a.permits(&Method::GET, "/oauth/clients"));
        assert!(!a.permits(
            &Method::GET,
            "/api/v2/analytics/conversations/details/jobs//results"
        ));
        assert!(!a.permits(&Method::POST, "/api/v2/analytics/../users/query"));
    }

    #[test]
    fn writes_cannot_be_declared() {
        assert!(!is_reading_post("/api/v2/users"));
        assert!(!is_reading_post("/api/v2/recording/jobs"));
        assert!(is_reading_post("/api/v2/quality/evaluations/search"));
        assert!(is_reading_post(
            "/api/v2/analytics/conversations/aggregates/jobs"
        ));
        assert_eq!(list().endpoints().len(), 5 + ACCESS_ENDPOINTS.len());
    }

    #[test]
    fn the_wfm_reading_posts_are_allowed_exactly() {
        let bulk = "/api/v2/workforcemanagement/adherence/historical/bulk";
        assert!(is_reading_post(bulk));
        assert!(is_reading_post(
            "/api/v2/workforcemanagement/businessunits/{businessUnitId}/agentschedules/search"
        ));
        // Neighbours of the bulk job that write (adjustments, the deprecated per-MU route's
        // siblings) or are broader stay out.
        for write in [
            "/api/v2/workforcemanagement/adherence/historical/bulk/jobs",
            "/api/v2/workforcemanagement/adherence/historical",
            "/api/v2/workforcemanagement/adherence/historical/bulk/x",
            "/api/v2/workforcemanagement/adherence/explanations",
            "/api/v2/workforcemanagement/businessunits/{businessUnitId}/weeks/{weekId}/schedules",
            "/api/v2/workforcemanagement/managementunits/{managementUnitId}/adherence/adjustments/bulk",
        ] {
            assert!(!is_reading_post(write), "{write}");
        }
        let a = Allowlist::new(&[Endpoint::post(bulk)]);
        assert!(a.permits(&Method::POST, bulk));
        assert!(!a.permits(
            &Method::POST,
            "/api/v2/workforcemanagement/adherence/historical"
        ));
        assert!(!a.permits(&Method::DELETE, bulk));
        // Every endpoint a dataset declares is a read (none is dropped from the allowlist).
        for d in crate::datasets::registry() {
            for e in d.spec().endpoints {
                assert!(
                    e.method == "GET" || is_reading_post(e.path),
                    "{}: {} {}",
                    d.spec().name,
                    e.method,
                    e.path
                );
            }
        }
    }
}
