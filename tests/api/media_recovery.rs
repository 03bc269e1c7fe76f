//! A worker is killed with SIGKILL in the middle of a job; after a restart the job runs
//! again (its steps are idempotent) and the video becomes READY.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::media::{have_ffmpeg, multipart_body, post_multipart, wait_processed, TINY_MP4};
use crate::search_recovery::Env;

/// An ffprobe that, on its first run, marks that it started and then hangs.
fn hanging_ffprobe(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let marker = dir.join("started");
    let script = dir.join("ffprobe-hang");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = -version ] && exec ffprobe -version\nif [ ! -e '{m}' ]; then touch '{m}'; sleep 60; fi\nexec ffprobe \"$@\"\n",
            m = marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, marker)
}

pub async fn ready(app: &TestApp) {
    let started = Instant::now();
    while app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_job_killed_mid_run_runs_again_after_restart() {
    if !have_ffmpeg() {
        return;
    }
    let env = Env::new().await;
    let tools = tempfile::tempdir().unwrap();
    let (script, marker) = hanging_ffprobe(tools.path());
    let script = script.display().to_string();
    let vars = [
        ("REELGRAPH_FFPROBE", script.as_str()),
        ("REELGRAPH_JOB_HEARTBEAT_SECONDS", "1"),
        (
            "REELGRAPH_JWT_SECRET",
            "test-secret-test-secret-test-secret-0123",
        ),
    ];
    let (server, port) = env.serve_with(&vars);
    let app = TestApp::at(
        format!("127.0.0.1:{port}").parse().unwrap(),
        env.data.path().into(),
        env.database_url.clone(),
    );
    ready(&app).await;
    let owner = app.register("crash_owner").await;
    let id = app.create_video(&owner, "Crash", json!({})).await;
    let (ct, body) = multipart_body(
        "mutation($v: ID!, $f: Upload!) { uploadVideo(videoId: $v, file: $f) { status } }",
        json!({ "v": id, "f": null }),
        &[("f", "clip.mp4", "video/mp4", TINY_MP4)],
    );
    let (status, resp) = post_multipart(&app, &owner, &ct, body, true).await;
    assert_eq!(status, 200, "{resp}");

    // The job is in its probe stage when the process dies.
    let started = Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before: Value = crate::media::video(&app, Some(&owner), &id).await;
    assert_eq!(before["status"], "PROCESSING");
    assert_eq!(before["processingJob"]["status"], "RUNNING");
    server.kill();

    let (_server, port) = env.serve_with(&vars);
    let app = TestApp::at(
        format!("127.0.0.1:{port}").parse().unwrap(),
        env.data.path().into(),
        env.database_url.clone(),
    );
    ready(&app).await;
    let v = wait_processed(&app, &owner, &id, Duration::from_secs(90)).await;
    assert_eq!(v["status"], "READY", "{v}");
    assert_eq!(v["processingJob"]["status"], "SUCCEEDED");
    assert_eq!(v["processingJob"]["attempts"], 2, "{v}");
    assert_eq!(v["width"], 160);
}
