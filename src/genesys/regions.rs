//! Genesys Cloud regions. Each org lives in one region; its API host is `api.<domain>` and its
//! login host `login.<domain>`. The list follows the official SDK's region table.

/// (domain, AWS location) for every region.
pub const REGIONS: &[(&str, &str)] = &[
    ("mypurecloud.com", "US East (N. Virginia)"),
    ("use2.us-gov-pure.cloud", "US East (Ohio), FedRAMP"),
    ("usw2.pure.cloud", "US West (Oregon)"),
    ("cac1.pure.cloud", "Canada (Central)"),
    ("sae1.pure.cloud", "South America (São Paulo)"),
    ("mxc1.pure.cloud", "Mexico (Central)"),
    ("mypurecloud.ie", "EU (Ireland)"),
    ("euw2.pure.cloud", "EU (London)"),
    ("mypurecloud.de", "EU (Frankfurt)"),
    ("euc2.pure.cloud", "EU (Zurich)"),
    (
        "edee1.eusc-pure.cloud",
        "European Sovereign Cloud (Germany)",
    ),
    ("mec1.pure.cloud", "Middle East (UAE)"),
    ("aps1.pure.cloud", "Asia Pacific (Mumbai)"),
    ("mypurecloud.jp", "Asia Pacific (Tokyo)"),
    ("apne2.pure.cloud", "Asia Pacific (Seoul)"),
    ("apne3.pure.cloud", "Asia Pacific (Osaka)"),
    ("apse1.pure.cloud", "Asia Pacific (Singapore)"),
    ("mypurecloud.com.au", "Asia Pacific (Sydney)"),
];

/// The API and login base URLs of a region, given its domain (`mypurecloud.ie`). A user who
/// pastes a host (`api.mypurecloud.ie`, `https://apps.mypurecloud.ie/`) is understood too.
pub fn hosts(region: &str) -> Option<(String, String)> {
    let trimmed = region
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let domain = ["api.", "login.", "apps."]
        .iter()
        .find_map(|p| trimmed.strip_prefix(p))
        .unwrap_or(&trimmed);
    REGIONS
        .iter()
        .find(|(d, _)| *d == domain)
        .map(|(d, _)| (format!("https://api.{d}"), format!("https://login.{d}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_eighteen_regions_are_known() {
        assert_eq!(REGIONS.len(), 18);
        for (d, _) in REGIONS {
            assert!(hosts(d).is_some());
        }
    }

    #[test]
    fn hosts_are_built_from_the_domain() {
        assert_eq!(
            hosts("euw2.pure.cloud"),
            Some((
                "https://api.euw2.pure.cloud".into(),
                "https://login.euw2.pure.cloud".into()
            ))
        );
        assert_eq!(
            hosts("https://api.mypurecloud.ie/").unwrap().1,
            "https://login.mypurecloud.ie"
        );
        assert_eq!(hosts("mypurecloud.co.uk"), None);
    }
}
