//! Opens the output location from a URL: a local folder (a plain path or `file://`), or
//! `s3://bucket/prefix` on AWS S3 or an S3-compatible store.
//!
//! S3 settings come from the standard AWS environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_SESSION_TOKEN`, ...); `AWS_ENDPOINT_URL` points
//! at an S3-compatible store. Plain `http://` endpoints are accepted only on loopback, so
//! credentials and data never cross a network unencrypted.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};

/// The run's output location.
#[derive(Clone)]
pub struct Output {
    pub store: Arc<dyn ObjectStore>,
    /// The location as the user gave it, normalised, for messages and the manifest.
    pub url: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output").field("url", &self.url).finish()
    }
}

impl Output {
    pub fn open(location: &str) -> Result<Output> {
        let location = location.trim();
        if location.is_empty() {
            return Err(Error::Input("--out is empty".into()));
        }
        match location.split_once("://") {
            None => Self::local(std::path::Path::new(location)),
            Some(("file", rest)) => Self::local(std::path::Path::new(rest)),
            Some(("s3" | "s3a", _)) => Self::s3(location),
            Some((scheme, _)) => Err(Error::Input(format!(
                "--out {location}: unsupported scheme {scheme}:// (use a local path, file://, or s3://bucket/prefix)"
            ))),
        }
    }

    /// Whether an upload to this store may send a part of any size before its last: yes for
    /// a local folder, where a part is a write at an offset of a staging file. Not for S3,
    /// which takes parts from 5 MiB, and whose compatible stores (R2, for one) want every
    /// part but the last of one size: there, parts are always full.
    pub fn takes_any_part(&self) -> bool {
        self.url.starts_with("file://")
    }

    /// The location's name without opening it: a store in memory stands in, so whatever uses
    /// it (planning, a dry run) provably writes nothing, and no folder is created.
    pub fn detached(location: &str) -> Result<Output> {
        let location = location.trim();
        if location.is_empty() {
            return Err(Error::Input("--out is empty".into()));
        }
        let url = match location.split_once("://") {
            None | Some(("file", _)) => {
                let path = location.strip_prefix("file://").unwrap_or(location);
                let abs = std::path::absolute(path).map_err(|e| Error::storage(path, e))?;
                format!("file://{}", abs.display())
            }
            Some(("s3" | "s3a", _)) => location.trim_end_matches('/').to_string(),
            Some((scheme, _)) => {
                return Err(Error::Input(format!(
                    "--out {location}: unsupported scheme {scheme}:// (use a local path, file://, or s3://bucket/prefix)"
                )));
            }
        };
        Ok(Output {
            store: Arc::new(object_store::memory::InMemory::new()),
            url,
        })
    }

    fn local(path: &std::path::Path) -> Result<Output> {
        std::fs::create_dir_all(path).map_err(|e| Error::storage(path.display(), e))?;
        let root = path
            .canonicalize()
            .map_err(|e| Error::storage(path.display(), e))?;
        // Cleanup removes folders a delete leaves empty (the run state, once committed).
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| Error::storage(root.display(), e))?
            .with_automatic_cleanup(true);
        Ok(Output {
            store: Arc::new(store),
            url: format!("file://{}", root.display()),
        })
    }

    fn s3(location: &str) -> Result<Output> {
        let url = url::Url::parse(location)
            .map_err(|e| Error::Input(format!("--out {location}: {e}")))?;
        let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
            Error::Input(format!(
                "--out {location}: no bucket (expected s3://bucket/prefix)"
            ))
        })?;
        let prefix = url.path().trim_matches('/').to_string();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = endpoint_from_env() {
            let ep = url::Url::parse(&endpoint).map_err(|e| {
                Error::Input(format!("AWS_ENDPOINT_URL {endpoint:?} is not a URL: {e}"))
            })?;
            match ep.scheme() {
                "https" => builder = builder.with_allow_http(false),
                "http" if is_loopback(&ep) => builder = builder.with_allow_http(true),
                "http" => {
                    return Err(Error::Input(format!(
                        "AWS_ENDPOINT_URL {endpoint} is plain http on a non-loopback host; use https"
                    )));
                }
                other => {
                    return Err(Error::Input(format!(
                        "AWS_ENDPOINT_URL {endpoint}: unsupported scheme {other}"
                    )));
                }
            }
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| Error::storage(location, e))?;
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(store)
        } else {
            Arc::new(PrefixStore::new(store, Path::from(prefix.as_str())))
        };
        Ok(Output {
            store,
            url: format!("s3://{bucket}/{prefix}")
                .trim_end_matches('/')
                .to_string(),
        })
    }

    /// Writes a small object in one request (manifests, load scripts).
    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<()> {
        self.store
            .put(&Path::from(path), PutPayload::from(bytes))
            .await
            .map_err(|e| Error::storage(format!("{}/{path}", self.url), e))?;
        Ok(())
    }

    /// Writes a small object only if nothing is at `path` yet (a conditional put): the commit's
    /// files are written once, never over an earlier commit. `Ok(false)` when something is
    /// already there. A store that cannot put conditionally falls back to a check, then a put.
    pub async fn put_new(&self, path: &str, bytes: Bytes) -> Result<bool> {
        let location = Path::from(path);
        let create = object_store::PutOptions {
            mode: object_store::PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&location, PutPayload::from(bytes.clone()), create)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(object_store::Error::NotImplemented { .. }) => {
                if self.exists(path).await? {
                    return Ok(false);
                }
                self.put(path, bytes).await?;
                Ok(true)
            }
            Err(e) => Err(Error::storage(format!("{}/{path}", self.url), e)),
        }
    }

    /// Whether an object is at `path`.
    pub async fn exists(&self, path: &str) -> Result<bool> {
        match self.store.head(&Path::from(path)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Error::storage(format!("{}/{path}", self.url), e)),
        }
    }

    /// Reads an object whole.
    pub async fn get(&self, path: &str) -> Result<Bytes> {
        let r = self
            .store
            .get(&Path::from(path))
            .await
            .map_err(|e| Error::storage(format!("{}/{path}", self.url), e))?;
        r.bytes()
            .await
            .map_err(|e| Error::storage(format!("{}/{path}", self.url), e))
    }
}

fn endpoint_from_env() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_file_urls_open_the_same_folder() {
        let dir = tempfile::tempdir().unwrap();
        let a = Output::open(dir.path().to_str().unwrap()).unwrap();
        let b = Output::open(&format!("file://{}", dir.path().display())).unwrap();
        assert_eq!(a.url, b.url);
    }

    /// Only a local folder takes parts of any size: S3 and its compatible stores get full,
    /// equal parts.
    #[test]
    fn only_a_local_folder_takes_parts_of_any_size() {
        for url in ["s3://bucket/lake", "s3a://bucket/lake"] {
            assert!(!Output::detached(url).unwrap().takes_any_part(), "{url}");
        }
        let dir = tempfile::tempdir().unwrap();
        let local = Output::open(dir.path().to_str().unwrap()).unwrap();
        assert!(local.takes_any_part());
    }

    #[test]
    fn unknown_schemes_and_bucketless_urls_are_refused() {
        let e = Output::open("ftp://host/x").unwrap_err().to_string();
        assert!(e.contains("unsupported scheme ftp://"), "{e}");
        let e = Output::open("s3:///prefix").unwrap_err().to_string();
        assert!(e.contains("no bucket"), "{e}");
    }

    #[test]
    fn plain_http_is_loopback_only() {
        assert!(is_loopback(
            &url::Url::parse("http://127.0.0.1:9000").unwrap()
        ));
        assert!(is_loopback(
            &url::Url::parse("http://localhost:9000").unwrap()
        ));
        assert!(is_loopback(&url::Url::parse("http://[::1]:9000").unwrap()));
        assert!(!is_loopback(
            &url::Url::parse("http://10.0.0.5:9000").unwrap()
        ));
    }
}
