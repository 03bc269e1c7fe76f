//! `reelgraph recommendations import`: items from a CSV file (with a header row) or a
//! JSON Lines file, mapped by `--columns`, written in one transaction per batch and keyed
//! by (source, sourceRef), so running an import again changes only what changed.
//!
//! A bad row is reported with its line number, and nothing of its batch is written (the
//! other batches are); the command reads on to report every bad row, then fails, so
//! scripts notice. Fix the rows and run it again: what was written is unchanged.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use migration::{Migrator, MigratorTrait};

use super::csv_lines::LineIndex;
use crate::config::Config;
use crate::domain::recommendation::mapping::ColumnMap;
use crate::domain::recommendation::{
    ImportOutcome, RecommendationFields, RecommendationKind, RecommendationRepository,
};
use crate::domain::{clock, DomainError};
use crate::infra::db::SqlRecommendationRepository;
use crate::startup::connect_database;

/// What to import and how to read it.
pub struct ImportArgs {
    pub kind: RecommendationKind,
    pub source: String,
    pub file: ImportFile,
    pub columns: String,
    pub batch: usize,
}

pub enum ImportFile {
    Csv(PathBuf),
    JsonLines(PathBuf),
    /// CSV built into the binary (the seed's books).
    EmbeddedCsv(&'static str),
}

/// The goodbooks-10k books (CC BY-SA 4.0, see `assets/goodbooks-10k/README.md`).
pub const GOODBOOKS_CSV: &str = include_str!("../../assets/goodbooks-10k/books.csv");
/// How `seed` and the README map its columns.
pub const GOODBOOKS_COLUMNS: &str = "title=title,subtitle=authors,rating=average_rating,\
releaseDate=original_publication_year,imageUrl=image_url,score=ratings_count,sourceRef=book_id";

/// The totals of one import.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    pub written: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Good rows not written because a row of their batch was rejected.
    pub held_back: u64,
}

struct Importer<'a> {
    repo: &'a dyn RecommendationRepository,
    map: ColumnMap,
    kind: RecommendationKind,
    source: String,
    batch_size: usize,
    batch: Vec<RecommendationFields>,
    /// Rows of the current batch read so far, good or bad.
    rows_in_batch: usize,
    /// A row of the current batch was rejected: none of it is written.
    batch_rejected: bool,
    /// The line each source reference was first seen on.
    lines: HashMap<String, u64>,
    report: ImportReport,
    bar: ProgressBar,
}

fn describe(err: &DomainError) -> String {
    match err {
        DomainError::BadInput {
            field: Some(field),
            message,
        } => format!("{field}: {message}"),
        other => other.to_string(),
    }
}

impl Importer<'_> {
    fn reject(&mut self, line: u64, why: &str) {
        self.report.rejected += 1;
        self.rows_in_batch += 1;
        self.batch_rejected = true;
        let message = format!("line {line}: {why}");
        // A bar that is not drawn (stderr is no terminal) prints nothing either.
        if self.bar.is_hidden() {
            eprintln!("{message}");
        } else {
            self.bar.println(message);
        }
    }

    async fn row(&mut self, line: u64, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let fields = match self.map.fields(self.kind, &self.source, get) {
            Ok(fields) => fields,
            Err(err) => {
                self.reject(line, &describe(&err));
                return self.flush_if_full().await;
            }
        };
        let reference = fields.source_ref.clone().unwrap_or_default();
        if let Some(first) = self.lines.get(&reference) {
            let why = format!("sourceRef {reference:?} was already given on line {first}");
            self.reject(line, &why);
            return self.flush_if_full().await;
        }
        self.lines.insert(reference, line);
        self.batch.push(fields);
        self.rows_in_batch += 1;
        self.flush_if_full().await
    }

    async fn flush_if_full(&mut self) -> anyhow::Result<()> {
        if self.rows_in_batch >= self.batch_size {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes the batch in one transaction, or nothing of it when one of its rows was
    /// rejected.
    async fn flush(&mut self) -> anyhow::Result<()> {
        let rejected = std::mem::take(&mut self.batch_rejected);
        self.rows_in_batch = 0;
        if rejected {
            self.report.held_back += self.batch.len() as u64;
            self.batch.clear();
            return Ok(());
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let ImportOutcome { written, unchanged } = self
            .repo
            .upsert_sourced(&self.batch, clock::now())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("writing a batch failed; nothing of that batch was written")?;
        self.report.written += written;
        self.report.unchanged += unchanged;
        self.batch.clear();
        Ok(())
    }
}

fn progress(path: &Path) -> anyhow::Result<ProgressBar> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("importing [{bar:40}] {bytes}/{total_bytes} ({eta})")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

async fn read_csv<R: std::io::Read>(
    importer: &mut Importer<'_>,
    mut reader: csv::Reader<LineIndex<R>>,
    name: &str,
) -> anyhow::Result<()> {
    let headers = reader
        .headers()
        .context("cannot read the header row")?
        .clone();
    let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    if let Some(missing) = importer.map.columns().find(|c| !index.contains_key(c)) {
        bail!(
            "--columns names {missing:?}, which {name} does not have (its columns: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    }
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let end = reader.position().byte();
                let line = reader.get_mut().start_line(end, &record);
                let get = |c: &str| index.get(c).and_then(|i| record.get(*i)).map(str::to_owned);
                importer.row(line, get).await?;
            }
            Err(err) => {
                // The row is not at hand, so a multi-line field in it is not counted.
                let end = reader.position().byte();
                let line = reader.get_mut().start_line(end, &csv::StringRecord::new());
                importer.reject(line, &format!("not a valid CSV row: {err}"));
                importer.flush_if_full().await?;
                if !matches!(err.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    bail!("cannot go on reading {name}: {err}");
                }
            }
        }
        importer.bar.set_position(reader.position().byte());
    }
    Ok(())
}

fn json_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

async fn read_json_lines(importer: &mut Importer<'_>, path: &Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut read = 0u64;
    for (i, text) in std::io::BufReader::new(file).lines().enumerate() {
        let line = i as u64 + 1;
        let text = text.with_context(|| format!("cannot read line {line}"))?;
        read += text.len() as u64 + 1;
        importer.bar.set_position(read);
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text) {
            Ok(object) => {
                let get = |c: &str| object.get(c).and_then(json_text);
                importer.row(line, get).await?;
            }
            Err(err) => {
                importer.reject(line, &format!("not a JSON object: {err}"));
                importer.flush_if_full().await?;
            }
        }
    }
    Ok(())
}

/// Imports the file into `repo`; rejected rows are reported and counted.
pub async fn import_into(
    repo: &dyn RecommendationRepository,
    args: ImportArgs,
    bar: ProgressBar,
) -> anyhow::Result<ImportReport> {
    let map = ColumnMap::parse(&args.columns).map_err(|e| anyhow::anyhow!("--columns: {e}"))?;
    let probe = RecommendationFields {
        source: Some(args.source.clone()),
        source_ref: Some("probe".into()),
        ..RecommendationFields::new(args.kind, "probe")
    };
    if args.kind == RecommendationKind::Video {
        bail!("VIDEO items point at videos; create them with createRecommendation");
    }
    probe
        .validated()
        .map_err(|e| anyhow::anyhow!("--source: {}", describe(&e)))?;
    let mut importer = Importer {
        repo,
        map,
        kind: args.kind,
        source: args.source,
        batch_size: args.batch.max(1),
        batch: Vec::new(),
        rows_in_batch: 0,
        batch_rejected: false,
        lines: HashMap::new(),
        report: ImportReport::default(),
        bar,
    };
    match &args.file {
        ImportFile::Csv(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let reader = csv::Reader::from_reader(LineIndex::new(file));
            read_csv(&mut importer, reader, &path.display().to_string()).await?
        }
        ImportFile::EmbeddedCsv(text) => {
            let reader = csv::Reader::from_reader(LineIndex::new(text.as_bytes()));
            read_csv(&mut importer, reader, "the built-in books").await?
        }
        ImportFile::JsonLines(path) => read_json_lines(&mut importer, path).await?,
    }
    importer.flush().await?;
    importer.bar.finish_and_clear();
    Ok(importer.report)
}

pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let path = match &args.file {
        ImportFile::Csv(path) | ImportFile::JsonLines(path) => path.clone(),
        ImportFile::EmbeddedCsv(_) => bail!("the command line names a file"),
    };
    let bar = progress(&path)?;
    let db = connect_database(config).await?;
    if config.store.auto_migrate {
        Migrator::up(&db.conn, None)
            .await
            .context("migrations failed")?;
    }
    let repo = SqlRecommendationRepository { db };
    let report = import_into(&repo, args, bar).await?;
    println!(
        "{}: {} written, {} unchanged, {} rejected, {} held back",
        path.display(),
        report.written,
        report.unchanged,
        report.rejected,
        report.held_back
    );
    if report.rejected > 0 {
        bail!(
            "{} rows were rejected (lines above), and their batches were not written ({} good \
             rows held back); fix them and run the import again (what was written stays, \
             so the second run writes only what is still missing)",
            report.rejected,
            report.held_back
        );
    }
    Ok(())
}
