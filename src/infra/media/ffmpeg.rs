//! ffprobe and ffmpeg as [`MediaTools`]: each found by answering `-version`, each run
//! with its demuxer pinned to the sniffed container and its protocols to reading a file
//! or the store's URL.

use std::path::Path;
use std::process::Stdio;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::process::Command;

use crate::domain::media::{Format, MediaTools, Probed, VideoStream};

/// External programs, each `None` when it cannot be run here.
#[derive(Debug, Clone)]
pub struct Ffmpeg {
    pub ffprobe: Option<String>,
    pub ffmpeg: Option<String>,
}

impl Ffmpeg {
    /// Keeps each program that answers `-version`.
    pub async fn detect(ffprobe: &str, ffmpeg: &str) -> Self {
        async fn works(program: &str) -> bool {
            Command::new(program)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await
                .is_ok_and(|s| s.success())
        }
        let tools = Ffmpeg {
            ffprobe: works(ffprobe).await.then(|| ffprobe.to_owned()),
            ffmpeg: works(ffmpeg).await.then(|| ffmpeg.to_owned()),
        };
        if tools.ffprobe.is_none() || tools.ffmpeg.is_none() {
            tracing::info!(
                ffprobe = tools.ffprobe.is_some(),
                ffmpeg = tools.ffmpeg.is_some(),
                "media processing without ffprobe/ffmpeg: videos become READY with their size and type only"
            );
        }
        tools
    }
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<i32>,
    height: Option<i32>,
}

#[derive(Deserialize)]
struct ProbeFormat {
    duration: Option<String>,
}

/// Runs a media tool on `input`. The reason it gives for a failure is kept (users see it
/// in `processing.error`), with the input, a file path or signed URL, replaced.
async fn run_tool(mut cmd: Command, what: &str, input: &str) -> Result<Vec<u8>, String> {
    let out = cmd
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("no output")
            .replace(input, "the media file");
        return Err(format!("{what} could not read the file: {}", line.trim()));
    }
    Ok(out.stdout)
}

/// Input options that pin the demuxer to the sniffed container (so the file's contents
/// cannot pick another, such as a playlist reader) and the protocols to reading a file or
/// the store's URL; they end with `-i`.
fn input_args(format: &Format) -> [&'static str; 5] {
    let demuxer = match format.extension {
        "webm" | "mkv" => "matroska",
        _ => "mov",
    };
    [
        "-protocol_whitelist",
        "file,http,https,tcp,tls",
        "-f",
        demuxer,
        "-i",
    ]
}

#[async_trait]
impl MediaTools for Ffmpeg {
    fn can_probe(&self) -> bool {
        self.ffprobe.is_some()
    }

    fn can_render(&self) -> bool {
        self.ffmpeg.is_some()
    }

    async fn probe(&self, input: &str, format: &Format) -> Result<Probed, String> {
        let ffprobe = self.ffprobe.as_deref().ok_or("ffprobe is not installed")?;
        let mut cmd = Command::new(ffprobe);
        cmd.args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .args(input_args(format))
        .arg(input);
        let out = run_tool(cmd, "ffprobe", input).await?;
        let probe: Probe = serde_json::from_slice(&out)
            .map_err(|e| format!("ffprobe gave unreadable output: {e}"))?;
        let video = probe
            .streams
            .into_iter()
            .find(|s| s.codec_type.as_deref() == Some("video"))
            .map(|s| VideoStream {
                width: s.width,
                height: s.height,
                codec: s.codec_name,
            });
        let duration_seconds = probe
            .format
            .and_then(|f| f.duration)
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d > 0.0);
        Ok(Probed {
            video,
            duration_seconds,
        })
    }

    async fn thumbnail(
        &self,
        input: &str,
        format: &Format,
        at_seconds: f64,
        out: &Path,
    ) -> Result<(), String> {
        let ffmpeg = self.ffmpeg.as_deref().ok_or("ffmpeg is not installed")?;
        let at = format!("{at_seconds:.3}");
        let mut cmd = Command::new(ffmpeg);
        cmd.args(["-nostdin", "-v", "error", "-y", "-ss", &at])
            .args(input_args(format))
            .arg(input)
            .args([
                "-frames:v",
                "1",
                "-vf",
                "scale='min(640,iw)':-2",
                "-q:v",
                "3",
                "-f",
                "image2",
            ])
            .arg(out);
        run_tool(cmd, "ffmpeg", input).await.map(drop)
    }
}
