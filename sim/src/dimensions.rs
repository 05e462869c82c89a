//! The org's reference entities (the "dimensions" the conversations point at) as the listing
//! endpoints serve them (genesys-api.md §6): users, queues, wrap-up codes, routing skills,
//! languages, groups, teams and divisions.
//!
//! Every id a generated conversation carries resolves here: participants' `userId` and
//! evaluators (users), segments' `queueId`, `wrapUpCode` and `requestedRoutingSkillIds`,
//! sessions' `agentGroups` (groups) and participants' `teamId` (teams). History references
//! people who left, so two agents are deleted and one is inactive while conversations keep
//! naming them: a loader that lists only active users (the platform's default) leaves those
//! ids dangling. Conversations carry no `requestedLanguageId` (adding one would change every
//! record already generated), so the languages listing stands alone, with stable ids.
//!
//! Entities nothing references (supervisors, more queues and wrap-up codes, spare teams and
//! groups) fill the listings to the sizes of a mid-sized org, so that paging, the result cap
//! and splitting by state or division have something to do: 52 users (46 active, 2 inactive,
//! 4 deleted), 56 queues and 56 wrap-up codes (at most 15 per division), 10 skills, 6
//! languages, 7 groups and 6 teams.
//!
//! Each dataset draws from its own PRNG stream, so adding an entity to one never shifts
//! another, nor the conversations (whose ids come from the reference stream in `data.rs`).
//! Entities are a slowly-changing snapshot: their dates are fixed (2019-2023) rather than
//! following "now", so the same seed always serves the same listings.

use serde_json::{Value, json};

use crate::data::{DIVISIONS, Reference};
use crate::model::{Id, Ts, format_instant};
use crate::rng::{Rng, mix};

/// The datasets [`Dimensions`] holds, by the name [`crate::Org::dimension`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dataset {
    Users,
    Queues,
    WrapUpCodes,
    Skills,
    Languages,
    Groups,
    Teams,
    Divisions,
}

impl Dataset {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "users" => Dataset::Users,
            "queues" => Dataset::Queues,
            "wrap-up-codes" => Dataset::WrapUpCodes,
            "skills" => Dataset::Skills,
            "languages" => Dataset::Languages,
            "groups" => Dataset::Groups,
            "teams" => Dataset::Teams,
            "divisions" => Dataset::Divisions,
            _ => return None,
        })
    }
}

/// One PRNG stream per dataset (see the module docs).
const USER_STREAM: u64 = u64::from_be_bytes(*b"dim:user");
const QUEUE_STREAM: u64 = u64::from_be_bytes(*b"dim:queu");
const WRAP_UP_STREAM: u64 = u64::from_be_bytes(*b"dim:wrap");
const SKILL_STREAM: u64 = u64::from_be_bytes(*b"dim:skil");
const LANGUAGE_STREAM: u64 = u64::from_be_bytes(*b"dim:lang");
const GROUP_STREAM: u64 = u64::from_be_bytes(*b"dim:grup");
const TEAM_STREAM: u64 = u64::from_be_bytes(*b"dim:team");

const MS_DAY: i64 = 24 * 3600 * 1000;
/// 2019-01-01T00:00:00Z: entities were created from here on.
const CREATED_FROM: Ts = Ts(1_546_300_800_000);
/// 2023-06-01T00:00:00Z: active users last logged in from here on.
const RECENT_LOGIN_FROM: Ts = Ts(1_685_577_600_000);
/// 2020-01-01T00:00:00Z: users who left last logged in from here on.
const OLD_LOGIN_FROM: Ts = Ts(1_577_836_800_000);

/// The division of each of the conversations' four teams, and of the two spare ones.
const TEAMS: [(&str, usize); 6] = [
    ("Team North", 2),
    ("Team South", 1),
    ("Team East", 3),
    ("Team West", 2),
    ("Night Shift", 2),
    ("Digital Channels", 0),
];

/// Names of the conversations' eight skills (queue `i` requests skills `i` and `i + 3`).
const SKILLS: [&str; 8] = [
    "Customer Service",
    "Billing",
    "Technical",
    "Sales",
    "Collections",
    "Outbound",
    "English",
    "Spanish",
];

/// Skills no queue requests: (name, state).
const SPARE_SKILLS: [(&str, &str); 2] = [("Premium Support", "active"), ("French", "inactive")];

const LANGUAGES: [(&str, &str); 6] = [
    ("English", "active"),
    ("Spanish", "active"),
    ("French", "active"),
    ("German", "active"),
    ("Portuguese", "active"),
    ("Mandarin", "inactive"),
];

/// Names of the conversations' eight wrap-up codes.
const WRAP_UP_CODES: [&str; 8] = [
    "Resolved",
    "Follow-up required",
    "Escalated",
    "Callback scheduled",
    "Information given",
    "Wrong number",
    "Sale completed",
    "Payment arranged",
];
/// The spare wrap-up codes are every category with every outcome: 48 of them.
const WRAP_UP_CATEGORIES: [&str; 12] = [
    "Billing",
    "Orders",
    "Returns",
    "Technical",
    "Account",
    "Delivery",
    "Complaint",
    "Retention",
    "Sales",
    "Collections",
    "Warranty",
    "Loyalty",
];
const WRAP_UP_OUTCOMES: [&str; 4] = ["Resolved", "Escalated", "Follow-up", "Callback"];

/// The spare queues are every segment with every function: 50 of them.
const QUEUE_SEGMENTS: [&str; 10] = [
    "Retail",
    "Business",
    "Premium",
    "Partner",
    "Enterprise",
    "Consumer",
    "Wholesale",
    "Government",
    "Education",
    "Healthcare",
];
const QUEUE_FUNCTIONS: [&str; 5] = [
    "Support",
    "Billing",
    "Escalations",
    "Callbacks",
    "Retention",
];

/// Names of the conversations' three agent groups, then the spare groups: (name, type,
/// visibility).
const GROUPS: [(&str, &str, &str); 7] = [
    ("Tier 1 Agents", "official", "public"),
    ("Tier 2 Agents", "official", "public"),
    ("Bilingual Agents", "official", "public"),
    ("All Agents", "official", "public"),
    ("Supervisors", "official", "members"),
    ("Quality Team", "official", "owners"),
    ("Social Committee", "social", "public"),
];

/// Every entity of every dataset, as served, sorted as the listings serve them.
#[derive(Debug)]
pub(crate) struct Dimensions {
    users: Vec<Value>,
    queues: Vec<Value>,
    wrap_up_codes: Vec<Value>,
    skills: Vec<Value>,
    languages: Vec<Value>,
    groups: Vec<Value>,
    teams: Vec<Value>,
    divisions: Vec<Value>,
}

impl Dimensions {
    pub(crate) fn new(seed: u64, reference: &Reference) -> Self {
        let stream = |purpose| Rng::new(mix(&[seed, purpose]));
        let users = users(stream(USER_STREAM), reference);
        Self {
            queues: queues(stream(QUEUE_STREAM), reference, users.admin),
            wrap_up_codes: wrap_up_codes(stream(WRAP_UP_STREAM), reference, users.admin),
            skills: skills(stream(SKILL_STREAM), reference),
            languages: languages(stream(LANGUAGE_STREAM)),
            groups: groups(stream(GROUP_STREAM), reference, users.admin),
            teams: teams(stream(TEAM_STREAM), reference),
            divisions: divisions(),
            users: users.entities,
        }
    }

    pub(crate) fn get(&self, dataset: Dataset) -> &[Value] {
        match dataset {
            Dataset::Users => &self.users,
            Dataset::Queues => &self.queues,
            Dataset::WrapUpCodes => &self.wrap_up_codes,
            Dataset::Skills => &self.skills,
            Dataset::Languages => &self.languages,
            Dataset::Groups => &self.groups,
            Dataset::Teams => &self.teams,
            Dataset::Divisions => &self.divisions,
        }
    }
}

/// The `{id, name, selfUri}` reference to a division that entities carry.
fn division(index: usize) -> Value {
    let (id, name) = DIVISIONS[index];
    json!({ "id": id, "name": name, "selfUri": format!("/api/v2/authorization/divisions/{id}") })
}

/// The `{id, selfUri}` reference to a user.
fn user_ref(id: Id) -> Value {
    json!({ "id": id.to_string(), "selfUri": format!("/api/v2/users/{id}") })
}

/// An instant `from` plus up to `days` days.
fn within(rng: &mut Rng, from: Ts, days: i64) -> Ts {
    from.plus(rng.range(0, days * MS_DAY - 1))
}

/// Creation and last modification instants, formatted, both before 2024.
fn created_modified(rng: &mut Rng) -> (String, String) {
    let created = within(rng, CREATED_FROM, 3 * 365);
    let modified = within(rng, created, 700);
    (
        format_instant(created.to_datetime()),
        format_instant(modified.to_datetime()),
    )
}

/// Sorts entities by name, then id, as the listings serve them.
fn sorted(mut entities: Vec<Value>) -> Vec<Value> {
    entities.sort_by(|a, b| {
        (a["name"].as_str(), a["id"].as_str()).cmp(&(b["name"].as_str(), b["id"].as_str()))
    });
    entities
}

/// The users and the id of the administrator who created the routing objects.
struct Users {
    entities: Vec<Value>,
    admin: Id,
}

/// Someone in the directory, before rendering.
struct Person {
    id: Id,
    name: String,
    title: &'static str,
    department: &'static str,
    division: usize,
    state: &'static str,
    manager: Option<Id>,
}

fn users(mut rng: Rng, reference: &Reference) -> Users {
    let id = |rng: &mut Rng| Id(rng.uuid());
    let manager = id(&mut rng);
    let supervisors: Vec<Id> = (0..reference.teams.len()).map(|_| id(&mut rng)).collect();
    // Agents who left: two deleted, one inactive, chosen once per seed.
    let mut leavers: Vec<usize> = Vec::with_capacity(3);
    while leavers.len() < 3 {
        let i = rng.below(reference.agents.len() as u64) as usize;
        if !leavers.contains(&i) {
            leavers.push(i);
        }
    }
    let team_index = |team: Id| reference.teams.iter().position(|t| *t == team);
    let mut people = Vec::new();
    people.push(Person {
        id: manager,
        name: "Contact Centre Manager".into(),
        title: "Contact Centre Manager",
        department: "Operations",
        division: 0,
        state: "active",
        manager: None,
    });
    for (i, &supervisor) in supervisors.iter().enumerate() {
        people.push(Person {
            id: supervisor,
            name: format!("Supervisor {}", i + 1),
            title: "Team Supervisor",
            department: "Customer Care",
            division: TEAMS[i].1,
            state: "active",
            manager: Some(manager),
        });
    }
    for (i, agent) in reference.agents.iter().enumerate() {
        let team = agent.team.and_then(team_index);
        people.push(Person {
            id: agent.id,
            name: agent.name.clone(),
            title: "Contact Centre Agent",
            department: "Customer Care",
            division: team.map_or(0, |t| TEAMS[t].1),
            state: match leavers.iter().position(|&l| l == i) {
                Some(0 | 1) => "deleted",
                Some(_) => "inactive",
                None => "active",
            },
            manager: Some(team.map_or(manager, |t| supervisors[t])),
        });
    }
    for (i, &evaluator) in reference.evaluators.iter().enumerate() {
        people.push(Person {
            id: evaluator,
            name: format!("Quality Evaluator {}", i + 1),
            title: "Quality Evaluator",
            department: "Quality",
            division: 0,
            state: "active",
            manager: Some(manager),
        });
    }
    for (name, title, department, state) in [
        ("WFM Analyst", "Workforce Analyst", "Operations", "inactive"),
        (
            "Former Supervisor",
            "Team Supervisor",
            "Customer Care",
            "deleted",
        ),
        ("Former Quality Lead", "Quality Lead", "Quality", "deleted"),
    ] {
        people.push(Person {
            id: id(&mut rng),
            name: name.into(),
            title,
            department,
            division: 0,
            state,
            manager: Some(manager),
        });
    }
    let entities = people
        .iter()
        .enumerate()
        .map(|(n, p)| user(&mut rng, p, n))
        .collect();
    Users {
        entities: sorted(entities),
        admin: manager,
    }
}

/// A `User` with the SDK model's top-level fields.
fn user(rng: &mut Rng, person: &Person, number: usize) -> Value {
    let id = person.id;
    let email = format!(
        "{}@sim-org.example",
        person.name.to_ascii_lowercase().replace(' ', ".")
    );
    let hired = within(rng, CREATED_FROM, 3 * 365);
    let last_login = if person.state == "active" {
        within(rng, RECENT_LOGIN_FROM, 200)
    } else {
        within(rng, OLD_LOGIN_FROM, 900)
    };
    let employee_type = ["Full-time", "Part-time", "Contractor"][rng.weighted(&[80, 15, 5])];
    let mut user = json!({
        "id": id.to_string(),
        "name": person.name,
        "division": division(person.division),
        "chat": { "jabberId": format!("{:024x}@sim-org.orgspan.com", id.0 >> 32) },
        "department": person.department,
        "email": email,
        "primaryContactInfo": [{ "address": email, "mediaType": "EMAIL", "type": "PRIMARY" }],
        "addresses": [],
        "state": person.state,
        "title": person.title,
        "username": email,
        "images": [],
        "version": rng.range(1, 40),
        "acdAutoAnswer": rng.chance(0.2),
        "languagePreference": "en-US",
        "dateLastLogin": format_instant(last_login.to_datetime()),
        "employerInfo": {
            "officialName": person.name,
            "employeeId": format!("E{:05}", 1001 + number),
            "employeeType": employee_type,
            "dateHire": hired.to_datetime().format("%Y-%m-%d").to_string(),
        },
        "selfUri": format!("/api/v2/users/{id}"),
    });
    if let Some(manager) = person.manager {
        user["manager"] = user_ref(manager);
    }
    user
}

fn queues(mut rng: Rng, reference: &Reference, admin: Id) -> Vec<Value> {
    let mut named: Vec<(Id, String, usize)> = reference
        .queues
        .iter()
        .map(|q| (q.id, q.name.to_string(), q.division))
        .collect();
    let spare = QUEUE_SEGMENTS
        .iter()
        .flat_map(|s| QUEUE_FUNCTIONS.iter().map(move |f| format!("{s} {f}")));
    for (i, name) in spare.enumerate() {
        named.push((Id(rng.uuid()), name, i % DIVISIONS.len()));
    }
    let entities = named
        .into_iter()
        .map(|(id, name, division_index)| {
            let (created, modified) = created_modified(&mut rng);
            let members = rng.range(3, 30);
            let joined = rng.range(members / 2, members);
            let prompt = *rng.pick(&["MANDATORY", "OPTIONAL", "MANDATORY_TIMEOUT"]);
            let mut acw = json!({ "wrapupPrompt": prompt });
            if prompt == "MANDATORY_TIMEOUT" {
                acw["timeoutMs"] = json!(rng.range(2, 12) * 10_000);
            }
            let media = |alerting: i64, percentage: f64, duration_ms: i64| {
                json!({
                    "alertingTimeoutSeconds": alerting,
                    "serviceLevel": { "percentage": percentage, "durationMs": duration_ms },
                    "enableAutoAnswer": false,
                })
            };
            json!({
                "id": id.to_string(),
                "name": name,
                "division": division(division_index),
                "description": format!("{name} queue"),
                "dateCreated": created,
                "dateModified": modified,
                "createdBy": admin.to_string(),
                "modifiedBy": admin.to_string(),
                "memberCount": members,
                "userMemberCount": members,
                "joinedMemberCount": joined,
                "mediaSettings": {
                    "call": media(8, 0.8, 20_000),
                    "callback": media(30, 0.8, 20_000),
                    "chat": media(30, 0.8, 30_000),
                    "email": media(300, 0.8, 86_400_000),
                    "message": media(30, 0.8, 60_000),
                },
                "routingRules": [],
                "memberGroups": [],
                "scoringMethod": "TimestampAndPriority",
                "lastAgentRoutingMode": "Disabled",
                "acwSettings": acw,
                "skillEvaluationMethod": *rng.pick(&["ALL", "BEST", "NONE"]),
                "autoAnswerOnly": false,
                "enableTranscription": rng.chance(0.5),
                "enableAudioMonitoring": false,
                "enableManualAssignment": false,
                "callingPartyName": "Sim Org",
                "suppressInQueueCallRecording": false,
                "selfUri": format!("/api/v2/routing/queues/{id}"),
            })
        })
        .collect();
    sorted(entities)
}

fn wrap_up_codes(mut rng: Rng, reference: &Reference, admin: Id) -> Vec<Value> {
    let mut named: Vec<(Id, String)> = reference
        .wrap_up_codes
        .iter()
        .zip(WRAP_UP_CODES)
        .map(|(id, name)| (*id, name.to_string()))
        .collect();
    let spare = WRAP_UP_CATEGORIES
        .iter()
        .flat_map(|c| WRAP_UP_OUTCOMES.iter().map(move |o| format!("{c} - {o}")));
    for name in spare {
        named.push((Id(rng.uuid()), name));
    }
    let entities = named
        .into_iter()
        .enumerate()
        .map(|(i, (id, name))| {
            let (created, modified) = created_modified(&mut rng);
            json!({
                "id": id.to_string(),
                "name": name,
                "division": division(i % DIVISIONS.len()),
                "description": format!("Wrap-up: {name}"),
                "dateCreated": created,
                "dateModified": modified,
                "createdBy": admin.to_string(),
                "modifiedBy": admin.to_string(),
                "selfUri": format!("/api/v2/routing/wrapupcodes/{id}"),
            })
        })
        .collect();
    sorted(entities)
}

/// A `{id, name, dateModified, state, version, selfUri}` entity (skills add a division). The
/// SDK types `RoutingSkill.version` and `Language.version` as strings, unlike users' and
/// groups' integers, so they are served as strings.
fn versioned(rng: &mut Rng, id: Id, name: &str, state: &str, path: &str) -> Value {
    let (_, modified) = created_modified(rng);
    json!({
        "id": id.to_string(),
        "name": name,
        "dateModified": modified,
        "state": state,
        "version": rng.range(1, 12).to_string(),
        "selfUri": format!("{path}/{id}"),
    })
}

fn skills(mut rng: Rng, reference: &Reference) -> Vec<Value> {
    let mut named: Vec<(Id, &str, &str)> = reference
        .skills
        .iter()
        .zip(SKILLS)
        .map(|(id, name)| (*id, name, "active"))
        .collect();
    for (name, state) in SPARE_SKILLS {
        named.push((Id(rng.uuid()), name, state));
    }
    let entities = named
        .into_iter()
        .map(|(id, name, state)| {
            let mut skill = versioned(&mut rng, id, name, state, "/api/v2/routing/skills");
            // Skills are not divisioned objects; the platform reports the home division.
            skill["division"] = division(0);
            skill
        })
        .collect();
    sorted(entities)
}

fn languages(mut rng: Rng) -> Vec<Value> {
    let entities = LANGUAGES
        .iter()
        .map(|(name, state)| {
            let id = Id(rng.uuid());
            versioned(&mut rng, id, name, state, "/api/v2/routing/languages")
        })
        .collect();
    sorted(entities)
}

fn groups(mut rng: Rng, reference: &Reference, admin: Id) -> Vec<Value> {
    let entities = GROUPS
        .iter()
        .enumerate()
        .map(|(i, &(name, kind, visibility))| {
            let id = reference
                .agent_groups
                .get(i)
                .copied()
                .unwrap_or_else(|| Id(rng.uuid()));
            let (_, modified) = created_modified(&mut rng);
            json!({
                "id": id.to_string(),
                "name": name,
                "description": format!("{name} ({kind} group)"),
                "dateModified": modified,
                "memberCount": rng.range(2, 40),
                "state": "active",
                "version": rng.range(1, 20),
                "type": kind,
                "images": [],
                "addresses": [],
                "rulesVisible": true,
                "visibility": visibility,
                "rolesEnabled": kind == "official",
                "includeOwners": false,
                "callsEnabled": false,
                "owners": [user_ref(admin)],
                "selfUri": format!("/api/v2/groups/{id}"),
            })
        })
        .collect();
    sorted(entities)
}

fn teams(mut rng: Rng, reference: &Reference) -> Vec<Value> {
    let entities = TEAMS
        .iter()
        .enumerate()
        .map(|(i, &(name, division_index))| {
            let id = reference
                .teams
                .get(i)
                .copied()
                .unwrap_or_else(|| Id(rng.uuid()));
            let members = reference
                .agents
                .iter()
                .filter(|a| a.team == Some(id))
                .count();
            let (created, modified) = created_modified(&mut rng);
            json!({
                "id": id.to_string(),
                "name": name,
                "division": division(division_index),
                "description": format!("{name} of the contact centre"),
                "dateCreated": created,
                "dateModified": modified,
                "memberCount": members,
                "selfUri": format!("/api/v2/teams/{id}"),
            })
        })
        .collect();
    sorted(entities)
}

/// `AuthzDivision`s, in [`DIVISIONS`] order; the first is the home division.
fn divisions() -> Vec<Value> {
    DIVISIONS
        .iter()
        .enumerate()
        .map(|(i, (id, name))| {
            json!({
                "id": id,
                "name": name,
                "description": format!("The {name} division"),
                "homeDivision": i == 0,
                "selfUri": format!("/api/v2/authorization/divisions/{id}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;
    use crate::data::Generator;

    fn dimensions(seed: u64) -> Dimensions {
        Dimensions::new(seed, &Generator::new(seed, 120).reference)
    }

    fn count_by<'a>(entities: &'a [Value], field: &str) -> BTreeMap<&'a str, usize> {
        let mut out = BTreeMap::new();
        for e in entities {
            let key = e[field].as_str().or_else(|| e[field]["id"].as_str());
            *out.entry(key.unwrap_or("")).or_default() += 1;
        }
        out
    }

    #[test]
    fn sizes_states_and_divisions_are_as_documented() {
        let d = dimensions(42);
        let users = d.get(Dataset::Users);
        assert_eq!(users.len(), 52);
        let states = count_by(users, "state");
        assert_eq!(
            states,
            BTreeMap::from([("active", 46), ("deleted", 4), ("inactive", 2)])
        );
        for dataset in [Dataset::Queues, Dataset::WrapUpCodes] {
            let entities = d.get(dataset);
            assert_eq!(entities.len(), 56);
            let per_division = count_by(entities, "division");
            assert_eq!(per_division.len(), 4);
            assert!(per_division.values().all(|&n| n <= 15), "{per_division:?}");
        }
        assert_eq!(d.get(Dataset::Skills).len(), 10);
        assert_eq!(d.get(Dataset::Languages).len(), 6);
        assert_eq!(d.get(Dataset::Groups).len(), 7);
        assert_eq!(d.get(Dataset::Teams).len(), 6);
        assert_eq!(d.get(Dataset::Divisions).len(), 4);
    }

    #[test]
    fn ids_are_unique_stable_and_depend_on_the_seed() {
        let a = dimensions(42);
        let b = dimensions(42);
        let c = dimensions(43);
        let mut ids = HashSet::new();
        for dataset in [
            Dataset::Users,
            Dataset::Queues,
            Dataset::WrapUpCodes,
            Dataset::Skills,
            Dataset::Languages,
            Dataset::Groups,
            Dataset::Teams,
        ] {
            assert_eq!(a.get(dataset), b.get(dataset));
            assert_ne!(a.get(dataset), c.get(dataset));
            for e in a.get(dataset) {
                assert!(ids.insert(e["id"].as_str().unwrap().to_string()), "{e}");
            }
        }
    }

    #[test]
    fn two_agents_are_deleted_and_one_is_inactive() {
        let d = dimensions(42);
        let agents: Vec<&Value> = d
            .get(Dataset::Users)
            .iter()
            .filter(|u| u["title"] == "Contact Centre Agent")
            .collect();
        assert_eq!(agents.len(), 40);
        let states = agents
            .iter()
            .map(|a| a["state"].as_str().unwrap())
            .collect::<Vec<_>>();
        assert_eq!(states.iter().filter(|s| **s == "deleted").count(), 2);
        assert_eq!(states.iter().filter(|s| **s == "inactive").count(), 1);
        // Every manager is a listed user.
        let ids: HashSet<&str> = d
            .get(Dataset::Users)
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        for u in d.get(Dataset::Users) {
            if let Some(m) = u["manager"]["id"].as_str() {
                assert!(ids.contains(m));
            }
        }
    }
}
