//! How granted permissions match what a dataset needs (declared by each dataset, see
//! [`crate::datasets::Spec::permissions`]), and what counts as too much.
//!
//! OAuth scopes do not restrict a client-credentials token: what it reaches is decided by the
//! roles paired with the client and the divisions each role is granted in. So preflight reads
//! roles and divisions, not scopes, and a missing division is reported as silently missing
//! data (analytics queries return fewer rows, not an error).

/// Lets preflight (and the run's coverage report) read the client's own roles. Optional.
pub const ROLE_VIEW: &str = "authorization:role:view";

/// Whether a granted permission (possibly with `*` segments) covers a required one.
pub fn covers(granted: &str, required: &str) -> bool {
    let g: Vec<&str> = granted.split(':').collect();
    let r: Vec<&str> = required.split(':').collect();
    if g.len() == 1 && g[0] == "*" {
        return true;
    }
    g.len() == r.len()
        && g.iter()
            .zip(&r)
            .all(|(g, r)| *g == "*" || g.eq_ignore_ascii_case(r))
}

/// Actions that change something. A loader needs none of them.
const WRITE_ACTIONS: &[&str] = &[
    "add",
    "edit",
    "delete",
    "create",
    "update",
    "upload",
    "assign",
    "administer",
    "admin",
    "manage",
    "submit",
    "execute",
    "grant",
    "revoke",
    "move",
    "transfer",
    "modify",
    "remove",
    "publish",
    "import",
    "send",
    "join",
    "write",
    "approve",
    "reject",
    "cancel",
    "set",
    "reset",
    "sync",
    "restore",
];

/// Why a permission is more than a read-only loader should hold, if it is.
pub fn excess(permission: &str) -> Option<&'static str> {
    let parts: Vec<&str> = permission.split(':').collect();
    if parts.iter().any(|p| p.contains('*')) {
        return Some("wildcard");
    }
    let action = parts
        .last()
        .copied()
        .unwrap_or_default()
        .to_ascii_lowercase();
    WRITE_ACTIONS
        .iter()
        .any(|w| action == *w || action.starts_with(w))
        .then_some("write or admin action")
}

/// Whether a role's name marks it as an administrator role.
pub fn admin_role(name: &str) -> bool {
    name.to_ascii_lowercase().contains("admin")
}

/// The permissions of a custom read-only role covering datasets that need `needs` (each
/// dataset's any-of list; the first of each is recommended), sorted.
pub fn recommended_role<'a>(needs: impl IntoIterator<Item = &'a [&'a str]>) -> Vec<String> {
    let mut out: Vec<String> = needs
        .into_iter()
        .flat_map(|any_of| any_of.first().map(|p| p.to_string()))
        .collect();
    out.push(ROLE_VIEW.to_string());
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_per_segment() {
        assert!(covers(
            "analytics:conversationDetail:view",
            "analytics:conversationDetail:view"
        ));
        assert!(covers(
            "analytics:*:view",
            "analytics:conversationDetail:view"
        ));
        assert!(covers("*:*:*", "recording:recording:view"));
        assert!(covers("*", "recording:recording:view"));
        assert!(!covers(
            "analytics:conversationAggregate:view",
            "analytics:conversationDetail:view"
        ));
        assert!(!covers("analytics:*", "analytics:conversationDetail:view"));
    }

    #[test]
    fn writes_admin_and_wildcards_are_excess() {
        assert_eq!(excess("analytics:conversationDetail:view"), None);
        assert_eq!(excess("recording:recording:view"), None);
        assert!(excess("routing:queue:edit").is_some());
        assert!(excess("recording:recording:delete").is_some());
        assert!(excess("authorization:role:add").is_some());
        assert!(excess("*:*:*").is_some());
        assert!(excess("analytics:*:view").is_some());
        assert!(admin_role("Master Admin"));
        assert!(!admin_role("Genesys Loader (read-only)"));
    }

    #[test]
    fn the_recommended_role_is_read_only() {
        let conversations: &[&str] = &["analytics:conversationDetail:view"];
        let role = recommended_role([conversations, &[]]);
        assert_eq!(
            role,
            [
                "analytics:conversationDetail:view",
                "authorization:role:view"
            ]
        );
        assert!(role.iter().all(|p| excess(p).is_none()));
    }
}
