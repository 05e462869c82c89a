//! The same run against a real S3-compatible server (s3s-fs, started in this process on
//! 127.0.0.1) and against a local folder gives the same files and the same rows.

mod util;

use std::path::Path;

use genesys_sim::Sim;
use util::*;

const BUCKET: &str = "loader-test";

/// Starts s3s-fs on loopback, serving `root` (a bucket is a directory), with SigV4 checked.
async fn start_s3(root: &Path) -> String {
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let mut b = s3s::service::S3ServiceBuilder::new(s3s_fs::FileSystem::new(root).unwrap());
    b.set_auth(s3s::auth::SimpleAuth::from_single("testing", "testing"));
    let service = b.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let http =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let conn = http
                .serve_connection(hyper_util::rt::TokioIo::new(sock), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    format!("http://{addr}")
}

fn layout(manifest: &genesys_loader::snowflake::Manifest) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = manifest
        .files
        .iter()
        .map(|f| {
            (
                f.table.clone(),
                f.path.replace(&manifest.run_id, "RUN"),
                f.rows,
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_and_local_outputs_are_the_same() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let s3_root = tempfile::tempdir().unwrap();
    let endpoint = start_s3(s3_root.path()).await;
    let local = tempfile::tempdir().unwrap();
    let args = ["--from", "2026-10-01", "--to", "2026-10-03"];

    let to_local = extract(&sim, local.path().to_str().unwrap(), &args, &[]).await;
    assert!(to_local.ok(), "{}", to_local.stderr);
    let s3_env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];
    let to_s3 = extract(&sim, &format!("s3://{BUCKET}/lake/genesys"), &args, &s3_env).await;
    assert!(to_s3.ok(), "{}", to_s3.stderr);
    assert!(
        to_s3.summary()["manifest"]
            .as_str()
            .unwrap()
            .starts_with("s3://loader-test/lake/genesys/_manifests/")
    );

    // s3s-fs keeps objects as plain files: <root>/<bucket>/<key>.
    let s3_out = s3_root.path().join(BUCKET).join("lake/genesys");
    let (m_local, m_s3) = (read_manifest(local.path()), read_manifest(&s3_out));
    assert_eq!(layout(&m_local), layout(&m_s3));
    assert_eq!(
        m_local
            .tables
            .iter()
            .map(|(t, v)| (t, v.rows))
            .collect::<Vec<_>>(),
        m_s3.tables
            .iter()
            .map(|(t, v)| (t, v.rows))
            .collect::<Vec<_>>()
    );
    for f in &m_s3.files {
        let on_disk = std::fs::metadata(s3_out.join(&f.path)).unwrap().len();
        assert_eq!(on_disk, f.bytes, "{}", f.path);
        assert!(f.e_tag.is_some(), "S3 reports an ETag for {}", f.path);
    }
    assert_eq!(contents(local.path(), &m_local), contents(&s3_out, &m_s3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_errors_fail_the_run_without_a_manifest() {
    let sim = Sim::start(sim_config(utc(2026, 10, 2, 0))).await.unwrap();
    let s3_root = tempfile::tempdir().unwrap();
    let endpoint = start_s3(s3_root.path()).await;
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "wrong-key"),
        ("AWS_REGION", "us-east-1"),
    ];
    let run = extract(
        &sim,
        &format!("s3://{BUCKET}/x"),
        &["--date", "2026-10-01"],
        &env,
    )
    .await;
    assert_eq!(run.code(), Some(6), "{}", run.stderr);
    assert!(
        run.stderr.contains("storage error at s3://loader-test/x"),
        "{}",
        run.stderr
    );
    assert!(!s3_root.path().join(BUCKET).join("x/_manifests").exists());

    let env = [
        ("AWS_ENDPOINT_URL", "http://192.0.2.10:9000"),
        ("AWS_ACCESS_KEY_ID", "a"),
        ("AWS_SECRET_ACCESS_KEY", "b"),
    ];
    let run = extract(&sim, "s3://bucket/x", &["--date", "2026-10-01"], &env).await;
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("plain http on a non-loopback host"),
        "{}",
        run.stderr
    );
}
