//! Resume: a run's lock and per-chunk checkpoints under `<out>/_state/<key>/`.
//!
//! The key is derived from what the run extracts (datasets, range, divisions), so starting the
//! same command again after a crash finds the same state: it keeps the interrupted run's id,
//! skips the chunks whose checkpoint exists, and writes one manifest covering the whole range.
//! A checkpoint is written only after every file of its chunk is closed, so a chunk killed
//! half-way is simply done again (its stray files are never listed in a manifest). The state
//! is removed when the run commits; `--force` ignores it.
//!
//! The lock is created with a conditional put, so two runs of the same command on the same
//! output cannot both hold it. Its holder rewrites it every [`HEARTBEAT`]; a lock left by a
//! killed process on this host (its pid is gone), or whose heartbeat stopped [`LOCK_SILENCE`]
//! ago (a task killed on another host: an Airflow retry lands on a new pod), is taken over. A
//! lock without a heartbeat (written by an older version) goes stale after [`STALE_LOCK`].

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sink::{FileWritten, Output};

pub const STATE_DIR: &str = "_state";

/// A lock without a heartbeat older than this is taken over whatever its owner.
pub const STALE_LOCK: chrono::Duration = chrono::Duration::hours(12);

/// How often the holder rewrites its lock.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(60);

/// A lock whose heartbeat is older than this belongs to a process that is gone.
pub const LOCK_SILENCE: chrono::Duration = chrono::Duration::minutes(10);

/// What one finished chunk produced: enough to list its files in the final manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ChunkOutcome {
    pub files: Vec<FileWritten>,
    /// Served items kept (conversations, entities, aggregate groups).
    #[serde(alias = "conversations")]
    pub records: u64,
    pub pages: u64,
    pub duplicates: u64,
    pub outside: u64,
    /// Unknown (or mistyped) fields: "table.field" → rows.
    #[serde(default)]
    pub unknown: BTreeMap<String, u64>,
    /// Records that could not be decoded, per root table, and where they were kept.
    #[serde(default)]
    pub quarantined: BTreeMap<String, u64>,
    #[serde(default)]
    pub quarantine_files: Vec<String>,
    /// The first quarantined record's line (its reason), for the run's message.
    #[serde(default)]
    pub quarantine_sample: Option<String>,
    /// Keys of the quarantined records (where they have one).
    #[serde(default)]
    pub kept_keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lock {
    run_id: String,
    host: String,
    pid: u32,
    acquired_at: DateTime<Utc>,
    /// The holder's last sign of life (absent in locks of versions without a heartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    heartbeat_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunInfo {
    run_id: String,
    attempt: u32,
    started_at: DateTime<Utc>,
}

/// A run's state: its id, which attempt this is, and the chunks already done.
pub struct RunState {
    output: Output,
    dir: String,
    pub run_id: String,
    /// 0 for a fresh run, then 1, 2, ... for each resume. File sequence numbers are offset by
    /// it, so a resumed attempt never reuses a name a killed one may have written.
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub done: BTreeMap<String, ChunkOutcome>,
    /// Set (under its lock) when the run lets the lock go, so the heartbeat never writes it
    /// again after it is deleted.
    released: std::sync::Arc<tokio::sync::Mutex<bool>>,
    heartbeat: Option<tokio::task::AbortHandle>,
}

impl Drop for RunState {
    fn drop(&mut self) {
        if let Some(h) = &self.heartbeat {
            h.abort();
        }
    }
}

/// A stable key for "this command": FNV-1a over its defining arguments.
pub fn run_key(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Whether a process of this host still runs (Linux); elsewhere assume it does.
fn alive(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl RunState {
    /// Takes the lock and loads (or, with `force`, discards) the state of `key`.
    pub async fn begin(
        output: &Output,
        key: &str,
        force: bool,
        new_run_id: String,
        now: DateTime<Utc>,
    ) -> Result<RunState> {
        let dir = format!("{STATE_DIR}/{key}");
        let store = output.store.clone();
        let loc = |p: &str| format!("{}/{p}", output.url);
        let lock_path = Path::from(format!("{dir}/lock.json"));
        let mine = Lock {
            run_id: new_run_id.clone(),
            host: host(),
            pid: std::process::id(),
            acquired_at: now,
            heartbeat_at: Some(now),
        };
        let body = Bytes::from(serde_json::to_vec(&mine).expect("lock serialises"));
        let create = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match store
            .put_opts(&lock_path, PutPayload::from(body.clone()), create)
            .await
        {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                let held = store
                    .get(&lock_path)
                    .await
                    .map_err(|e| Error::storage(loc(lock_path.as_ref()), e))?;
                let meta_version = held.meta.e_tag.clone();
                let bytes = held
                    .bytes()
                    .await
                    .map_err(|e| Error::storage(loc(lock_path.as_ref()), e))?;
                let other: Option<Lock> = serde_json::from_slice(&bytes).ok();
                let stale = match &other {
                    Some(l) if l.host == mine.host && !alive(l.pid) => true,
                    Some(Lock {
                        heartbeat_at: Some(beat),
                        ..
                    }) => now - *beat > LOCK_SILENCE,
                    Some(l) => now - l.acquired_at > STALE_LOCK,
                    None => true,
                };
                if !stale {
                    let l = other.expect("not stale implies readable");
                    return Err(Error::Locked(format!(
                        "run {} (pid {} on {}, since {}) is extracting the same range into {}; \
                         wait for it (its lock is free {} minutes after its last heartbeat), or remove {} if it is gone",
                        l.run_id,
                        l.pid,
                        l.host,
                        l.acquired_at.to_rfc3339(),
                        output.url,
                        LOCK_SILENCE.num_minutes(),
                        loc(lock_path.as_ref())
                    )));
                }
                // Take the stale lock over only if nobody else did meanwhile.
                let update = PutOptions {
                    mode: PutMode::Update(object_store::UpdateVersion {
                        e_tag: meta_version,
                        version: None,
                    }),
                    ..Default::default()
                };
                if let Err(e) = store
                    .put_opts(&lock_path, PutPayload::from(body), update)
                    .await
                {
                    return Err(match e {
                        object_store::Error::Precondition { .. } => Error::Locked(format!(
                            "another run took over the lock at {} first",
                            loc(lock_path.as_ref())
                        )),
                        // Stores without conditional updates: overwrite (the stale owner is gone).
                        object_store::Error::NotImplemented { .. } => {
                            output
                                .put(
                                    lock_path.as_ref(),
                                    Bytes::from(serde_json::to_vec(&mine).expect("lock")),
                                )
                                .await?;
                            tracing::warn!(
                                "the store cannot update conditionally; took the stale lock over plainly"
                            );
                            return Self::load(output, dir, force, new_run_id, now)
                                .await
                                .map(|s| s.with_heartbeat(mine));
                        }
                        other => Error::storage(loc(lock_path.as_ref()), other),
                    });
                }
                tracing::warn!(previous = ?other.map(|l| l.run_id), "took over a stale lock");
            }
            Err(e) => return Err(Error::storage(loc(lock_path.as_ref()), e)),
        }
        Self::load(output, dir, force, new_run_id, now)
            .await
            .map(|s| s.with_heartbeat(mine))
    }

    /// Rewrites the lock every [`HEARTBEAT`] while the run holds it.
    fn with_heartbeat(mut self, mut lock: Lock) -> Self {
        let (output, released) = (self.output.clone(), self.released.clone());
        let path = format!("{}/lock.json", self.dir);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                let released = released.lock().await;
                if *released {
                    return;
                }
                lock.heartbeat_at = Some(Utc::now());
                let body = Bytes::from(serde_json::to_vec(&lock).expect("lock serialises"));
                if let Err(e) = output.put(&path, body).await {
                    tracing::warn!(error = %e, "could not renew the run lock");
                }
            }
        });
        self.heartbeat = Some(task.abort_handle());
        self
    }

    async fn load(
        output: &Output,
        dir: String,
        force: bool,
        new_run_id: String,
        now: DateTime<Utc>,
    ) -> Result<RunState> {
        let info_path = format!("{dir}/run.json");
        let previous: Option<RunInfo> = if force {
            None
        } else {
            match output.store.get(&Path::from(info_path.as_str())).await {
                Ok(r) => {
                    let bytes = r
                        .bytes()
                        .await
                        .map_err(|e| Error::storage(format!("{}/{info_path}", output.url), e))?;
                    serde_json::from_slice(&bytes).ok()
                }
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => return Err(Error::storage(format!("{}/{info_path}", output.url), e)),
            }
        };
        let mut done = BTreeMap::new();
        let info = match previous {
            Some(p) => {
                let prefix = Path::from(format!("{dir}/chunks"));
                let listed: Vec<_> = output
                    .store
                    .list(Some(&prefix))
                    .try_collect()
                    .await
                    .map_err(|e| Error::storage(format!("{}/{prefix}", output.url), e))?;
                for meta in listed {
                    let bytes = output
                        .store
                        .get(&meta.location)
                        .await
                        .map_err(|e| {
                            Error::storage(format!("{}/{}", output.url, meta.location), e)
                        })?
                        .bytes()
                        .await
                        .map_err(|e| {
                            Error::storage(format!("{}/{}", output.url, meta.location), e)
                        })?;
                    let name = meta
                        .location
                        .filename()
                        .unwrap_or_default()
                        .trim_end_matches(".json")
                        .replacen('=', "/", 1);
                    match serde_json::from_slice::<ChunkOutcome>(&bytes) {
                        Ok(c) => {
                            done.insert(name, c);
                        }
                        Err(e) => {
                            tracing::warn!(checkpoint = %meta.location, error = %e, "unreadable checkpoint; the chunk is done again")
                        }
                    }
                }
                tracing::info!(run_id = %p.run_id, attempt = p.attempt + 1, chunks_done = done.len(), "resuming an interrupted run");
                RunInfo {
                    run_id: p.run_id,
                    attempt: p.attempt + 1,
                    started_at: p.started_at,
                }
            }
            None => {
                // A fresh start: checkpoints left by an earlier run (one whose cleanup died
                // after removing run.json) must not leak into this run.
                delete_prefix(output, &format!("{dir}/chunks")).await?;
                RunInfo {
                    run_id: new_run_id,
                    attempt: 0,
                    started_at: now,
                }
            }
        };
        output
            .put(
                &info_path,
                Bytes::from(serde_json::to_vec(&info).expect("run info")),
            )
            .await?;
        Ok(RunState {
            output: output.clone(),
            dir,
            run_id: info.run_id,
            attempt: info.attempt,
            started_at: info.started_at,
            done,
            released: Default::default(),
            heartbeat: None,
        })
    }

    /// Records a finished chunk (all its files closed).
    pub async fn checkpoint(&self, chunk_key: &str, outcome: &ChunkOutcome) -> Result<()> {
        let path = format!("{}/chunks/{}.json", self.dir, chunk_key.replace('/', "="));
        let body = serde_json::to_vec(outcome).map_err(|e| Error::Encode {
            table: "checkpoint".into(),
            message: e.to_string(),
        })?;
        self.output.put(&path, Bytes::from(body)).await
    }

    /// The run committed: its state is no longer needed.
    pub async fn finish(self) -> Result<()> {
        // Checkpoints first, run.json and the lock last: a cleanup that dies half-way leaves
        // either a resumable run or nothing, never checkpoints without their run.
        delete_prefix(&self.output, &format!("{}/chunks", self.dir)).await?;
        let _released = self.stop_heartbeat().await;
        delete_prefix(&self.output, &self.dir).await
    }

    /// Stops the heartbeat; the guard held keeps it from writing until the lock is gone.
    async fn stop_heartbeat(&self) -> tokio::sync::MutexGuard<'_, bool> {
        let mut released = self.released.lock().await;
        *released = true;
        if let Some(h) = &self.heartbeat {
            h.abort();
        }
        released
    }

    /// The run failed: keep the checkpoints for a resume, release the lock.
    pub async fn release(self) {
        let _released = self.stop_heartbeat().await;
        let lock = Path::from(format!("{}/lock.json", self.dir));
        if let Err(e) = self.output.store.delete(&lock).await {
            tracing::warn!(error = %e, "could not release the run lock");
        }
    }
}

async fn delete_prefix(output: &Output, prefix: &str) -> Result<()> {
    let p = Path::from(prefix);
    let listed: Vec<_> = output
        .store
        .list(Some(&p))
        .try_collect()
        .await
        .map_err(|e| Error::storage(format!("{}/{prefix}", output.url), e))?;
    for meta in listed {
        match output.store.delete(&meta.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(Error::storage(
                    format!("{}/{}", output.url, meta.location),
                    e,
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn keys_depend_on_every_part() {
        assert_eq!(run_key(&["a", "b"]), run_key(&["a", "b"]));
        assert_ne!(run_key(&["a", "b"]), run_key(&["ab", ""]));
        assert_ne!(run_key(&["a", "b"]), run_key(&["a", "c"]));
    }

    #[tokio::test]
    async fn a_second_run_is_refused_and_a_dead_owner_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::open(dir.path().to_str().unwrap()).unwrap();
        let first = RunState::begin(&out, "k", false, "r1".into(), now())
            .await
            .unwrap();
        let err = RunState::begin(&out, "k", false, "r2".into(), now())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, Error::Locked(_)), "{err}");
        assert!(err.to_string().contains("run r1"), "{err}");
        // A lock whose pid is gone (here: an impossible pid) is stale.
        let dead = Lock {
            run_id: "r1".into(),
            host: host(),
            pid: u32::MAX - 1,
            acquired_at: now(),
            heartbeat_at: Some(now()),
        };
        out.put(
            "_state/k/lock.json",
            Bytes::from(serde_json::to_vec(&dead).unwrap()),
        )
        .await
        .unwrap();
        let again = RunState::begin(&out, "k", false, "r3".into(), now())
            .await
            .unwrap();
        assert_eq!(
            again.run_id, "r1",
            "a resume keeps the interrupted run's id"
        );
        assert_eq!(again.attempt, 1);
        drop(first);
    }

    /// A task killed on another host (an Airflow retry on a new pod): its pid cannot be
    /// checked, so its lock is free once its heartbeat is older than LOCK_SILENCE; a lock
    /// written by a version without a heartbeat only after STALE_LOCK.
    #[tokio::test]
    async fn a_lock_on_another_host_is_free_once_its_heartbeat_stops() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::open(dir.path().to_str().unwrap()).unwrap();
        let foreign = |beat: Option<DateTime<Utc>>, acquired: DateTime<Utc>| Lock {
            run_id: "r1".into(),
            host: "another-host".into(),
            pid: 1,
            acquired_at: acquired,
            heartbeat_at: beat,
        };
        let minutes = chrono::Duration::minutes;
        for (lock, free) in [
            (
                foreign(Some(now() - minutes(1)), now() - minutes(300)),
                false,
            ),
            (
                foreign(Some(now() - minutes(11)), now() - minutes(300)),
                true,
            ),
            (foreign(None, now() - minutes(300)), false),
            (foreign(None, now() - minutes(13 * 60)), true),
        ] {
            out.put(
                "_state/k/lock.json",
                Bytes::from(serde_json::to_vec(&lock).unwrap()),
            )
            .await
            .unwrap();
            let got = RunState::begin(&out, "k", false, "r2".into(), now()).await;
            assert_eq!(got.is_ok(), free, "{lock:?}: {:?}", got.err());
            if let Ok(state) = got {
                state.release().await;
            }
        }
    }

    /// The holder's heartbeat rewrites the lock, and stops once the lock is released.
    #[tokio::test(start_paused = true)]
    async fn the_heartbeat_renews_the_lock_until_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::open(dir.path().to_str().unwrap()).unwrap();
        let state = RunState::begin(&out, "k", false, "r1".into(), now())
            .await
            .unwrap();
        let read = || async {
            let bytes = out.get("_state/k/lock.json").await.ok()?;
            serde_json::from_slice::<Lock>(&bytes).ok()
        };
        let first = read().await.unwrap().heartbeat_at.unwrap();
        tokio::time::sleep(HEARTBEAT + std::time::Duration::from_secs(1)).await;
        // The heartbeat's write runs on the blocking pool: give it real time to land.
        let mut renewed = None;
        for _ in 0..2000 {
            tokio::task::yield_now().await;
            std::thread::sleep(std::time::Duration::from_millis(5));
            renewed = read()
                .await
                .and_then(|l| l.heartbeat_at)
                .filter(|t| *t > first);
            if renewed.is_some() {
                break;
            }
        }
        assert!(renewed.is_some(), "the lock was not renewed");
        state.release().await;
        tokio::time::sleep(HEARTBEAT * 3).await;
        assert!(
            read().await.is_none(),
            "the heartbeat wrote a released lock"
        );
    }

    #[tokio::test]
    async fn checkpoints_survive_a_failure_and_vanish_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::open(dir.path().to_str().unwrap()).unwrap();
        let s = RunState::begin(&out, "k", false, "r1".into(), now())
            .await
            .unwrap();
        let outcome = ChunkOutcome {
            records: 3,
            ..Default::default()
        };
        s.checkpoint("conversations/2026-10-01", &outcome)
            .await
            .unwrap();
        s.release().await;
        let resumed = RunState::begin(&out, "k", false, "r2".into(), now())
            .await
            .unwrap();
        assert_eq!(resumed.done["conversations/2026-10-01"], outcome);
        resumed.finish().await.unwrap();
        let fresh = RunState::begin(&out, "k", false, "r4".into(), now())
            .await
            .unwrap();
        assert!(fresh.done.is_empty());
        assert_eq!((fresh.run_id.as_str(), fresh.attempt), ("r4", 0));
        fresh.release().await;
        let forced = RunState::begin(&out, "k", true, "r5".into(), now())
            .await
            .unwrap();
        assert_eq!(forced.run_id, "r5");
    }
}
