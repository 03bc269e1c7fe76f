//! The live index: one thread owns the `IndexWriter` and applies batches of changes,
//! each committed with the change-feed position it brings the index up to; readers are
//! reloaded right after every commit.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::schema::Facet;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};
use tokio::sync::{oneshot, watch};

use crate::analysis;
use crate::schema::{self, Fields, SCHEMA_VERSION};
use crate::{id_text, Change, Result, SearchError, VideoDoc};

/// What every commit records: the schema it was written with and how far the change
/// feed has been applied.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Payload {
    pub schema: u32,
    pub position: u64,
}

impl Payload {
    pub fn read(index: &Index) -> Result<Option<Payload>> {
        let metas = index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok()))
    }

    pub fn json(self) -> String {
        format!(
            "{{\"schema\":{},\"position\":{}}}",
            self.schema, self.position
        )
    }
}

enum Command {
    Apply {
        changes: Vec<Change>,
        position: u64,
        done: oneshot::Sender<Result<()>>,
    },
}

pub(crate) struct Inner {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub generation: String,
    commands: std::sync::mpsc::SyncSender<Command>,
    position: watch::Sender<u64>,
    /// Recent point-in-time views, newest last, so that later pages of a listing are
    /// cut from the same view as its first page.
    views: Mutex<VecDeque<View>>,
    next_view: AtomicU64,
}

/// A searcher as of one reload.
struct View {
    id: u64,
    taken: Instant,
    searcher: Searcher,
}

fn first_view_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 48)
}

/// How long and how many point-in-time views are kept for paging.
const VIEW_TTL: Duration = Duration::from_secs(600);
const MAX_VIEWS: usize = 16;

impl Inner {
    /// Remembers the reader's current state as a new view.
    fn take_view(&self) {
        let id = self.next_view.fetch_add(1, Ordering::Relaxed) & (u64::MAX >> 1);
        let view = View {
            id,
            taken: Instant::now(),
            searcher: self.reader.searcher(),
        };
        if let Ok(mut views) = self.views.lock() {
            views.push_back(view);
            while views.len() > MAX_VIEWS
                || views.front().is_some_and(|v| v.taken.elapsed() > VIEW_TTL)
            {
                views.pop_front();
            }
        }
    }

    /// The view a cursor was cut from while it is kept, else the newest one.
    pub fn view(&self, wanted: Option<u64>) -> (u64, Searcher) {
        if let Ok(views) = self.views.lock() {
            let found = match wanted {
                Some(id) => views.iter().rev().find(|v| v.id == id),
                None => None,
            }
            .or_else(|| views.back());
            if let Some(v) = found {
                return (v.id, v.searcher.clone());
            }
        }
        (u64::MAX, self.reader.searcher())
    }
}

/// A handle to an open index; cheap to clone. The writer thread stops when the last
/// handle is dropped.
#[derive(Clone)]
pub struct SearchIndex {
    pub(crate) inner: Arc<Inner>,
}

/// An index in a folder, with the folder's directory handle kept for
/// [`forget_deleted_files`].
pub(crate) fn open_index(dir: &Path) -> Result<(Index, MmapDirectory)> {
    let directory = MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
    let index = Index::open(directory.clone())?;
    analysis::register(index.tokenizers());
    Ok((index, directory))
}

pub(crate) fn create_index(dir: &Path) -> Result<(Index, Fields, MmapDirectory)> {
    let (schema, fields) = schema::build();
    let directory = MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
    let index = Index::create(directory.clone(), schema, tantivy::IndexSettings::default())?;
    analysis::register(index.tokenizers());
    Ok((index, fields, directory))
}

/// Drops the directory's memory of files that are gone. tantivy's `MmapDirectory` keeps a
/// map entry for every file it ever opened and prunes it only when asked for its cache
/// statistics; every commit and merge makes new segment files, so without this the map
/// grows by a few hundred bytes per commit for as long as the server runs.
fn forget_deleted_files(directory: &MmapDirectory) {
    let _ = directory.get_cache_info();
}

/// The fields of an opened index, or None when its schema is not this version's.
pub(crate) fn fields_of(index: &Index) -> Option<Fields> {
    let (expected, fields) = schema::build();
    (index.schema() == expected).then_some(fields)
}

pub(crate) fn to_document(fields: &Fields, doc: &VideoDoc) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    let title = analysis::normalize(&doc.title);
    let description = analysis::normalize(&doc.description);
    d.add_text(fields.id, id_text(doc.id));
    d.add_u64(fields.id_hi, (doc.id >> 64) as u64);
    d.add_u64(fields.id_lo, doc.id as u64);
    for f in [
        fields.title,
        fields.title_cjk,
        fields.title_zh,
        fields.title_en,
    ] {
        d.add_text(f, &title);
    }
    for f in [
        fields.description,
        fields.description_cjk,
        fields.description_zh,
        fields.description_en,
    ] {
        d.add_text(f, &description);
    }
    for tag in &doc.tags {
        let tag = analysis::normalize(tag);
        d.add_text(fields.tags, &tag);
        d.add_text(fields.tags_text, &tag);
        d.add_text(fields.tag, analysis::label_key(&tag));
        d.add_facet(fields.tag_facet, Facet::from_path([tag.as_str()]));
    }
    for category in &doc.categories {
        let category = analysis::normalize(category);
        d.add_text(fields.categories, &category);
        d.add_text(fields.category, analysis::label_key(&category));
        d.add_facet(fields.category_facet, Facet::from_path([category.as_str()]));
    }
    d.add_text(fields.owner, id_text(doc.owner));
    d.add_u64(fields.listed, u64::from(doc.listed));
    if let Some(p) = doc.published_at_micros {
        d.add_i64(fields.published_at, p);
    }
    d.add_i64(fields.sort_time, doc.sort_time_micros);
    d.add_u64(fields.like_count, doc.like_count);
    d.add_u64(fields.view_count, doc.view_count);
    d
}

/// Memory for the live writer: batches here are small.
const LIVE_WRITER_BYTES: usize = 50_000_000;

/// How long taking the writer lock may wait for a moment's hold to pass.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// The live writer. The writer lock is an `flock` on a file in the index folder, and a
/// child process this one starts (ffprobe, ffmpeg) holds a copy of that descriptor from
/// its fork until its exec: right after a writer is dropped (a rebuild that finished, a
/// restart within one process) the lock can look busy for that instant. A lock still
/// busy after [`LOCK_PATIENCE`] is another writer's, and is reported.
fn live_writer(index: &Index) -> Result<IndexWriter> {
    let started = Instant::now();
    loop {
        match index.writer_with_num_threads(1, LIVE_WRITER_BYTES) {
            Err(tantivy::TantivyError::LockFailure(
                tantivy::directory::error::LockError::LockBusy,
                _,
            )) if started.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

impl SearchIndex {
    pub(crate) fn start(
        index: Index,
        directory: MmapDirectory,
        fields: Fields,
        generation: String,
    ) -> Result<Self> {
        let position = Payload::read(&index)?.map_or(0, |p| p.position);
        let writer = live_writer(&index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let (commands, rx) = std::sync::mpsc::sync_channel(16);
        let (position_tx, _) = watch::channel(position);
        let inner = Arc::new(Inner {
            index,
            reader,
            fields,
            generation,
            commands,
            position: position_tx,
            views: Mutex::default(),
            // Distinct per process and start, so a cursor from another instance or an
            // earlier run does not name one of this index's views by accident.
            next_view: AtomicU64::new(first_view_id()),
        });
        inner.take_view();
        let thread_inner = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("search-writer".into())
            .spawn(move || writer_loop(writer, directory, fields, rx, thread_inner))?;
        Ok(SearchIndex { inner })
    }

    /// Applies changes in order and commits them as having reached `position`.
    /// Applying the same changes again leaves the same index.
    pub async fn apply(&self, changes: Vec<Change>, position: u64) -> Result<()> {
        let (done, wait) = oneshot::channel();
        let command = Command::Apply {
            changes,
            position,
            done,
        };
        let commands = self.inner.commands.clone();
        tokio::task::spawn_blocking(move || commands.send(command))
            .await
            .map_err(|e| SearchError::Task(e.to_string()))?
            .map_err(|_| SearchError::WriterStopped)?;
        wait.await.map_err(|_| SearchError::WriterStopped)?
    }

    /// The change-feed position the searchable index has reached.
    pub fn position(&self) -> u64 {
        *self.inner.position.borrow()
    }

    /// Waits until searches see everything up to `position`; false on timeout.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut rx = self.inner.position.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The folder name of this generation inside its [`crate::IndexHome`].
    pub fn generation(&self) -> &str {
        &self.inner.generation
    }

    pub fn num_docs(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }
}

fn writer_loop(
    mut writer: IndexWriter,
    directory: MmapDirectory,
    fields: Fields,
    rx: std::sync::mpsc::Receiver<Command>,
    inner: std::sync::Weak<Inner>,
) {
    while let Ok(Command::Apply {
        changes,
        position,
        done,
    }) = rx.recv()
    {
        let result = apply_batch(&mut writer, &fields, changes, position).and_then(|()| {
            let inner = inner.upgrade().ok_or(SearchError::WriterStopped)?;
            inner.reader.reload()?;
            inner.take_view();
            inner.position.send_replace(position);
            forget_deleted_files(&directory);
            Ok(())
        });
        if let Err(err) = &result {
            tracing::error!(error = %err, "search index commit failed");
            // Whatever was staged is not part of any commit; start clean.
            if let Err(err) = writer.rollback() {
                tracing::error!(error = %err, "search index rollback failed");
            }
        }
        let _ = done.send(result);
    }
    if let Err(err) = writer.wait_merging_threads() {
        tracing::warn!(error = %err, "search index merge threads ended with an error");
    }
}

fn apply_batch(
    writer: &mut IndexWriter,
    fields: &Fields,
    changes: Vec<Change>,
    position: u64,
) -> Result<()> {
    for change in changes {
        writer.delete_term(Term::from_field_text(fields.id, &id_text(change.id())));
        if let Change::Upsert(doc) = change {
            writer.add_document(to_document(fields, &doc))?;
        }
    }
    commit_at(writer, position)
}

/// Commits what the writer holds, recording `position` and this schema version.
pub(crate) fn commit_at(writer: &mut IndexWriter, position: u64) -> Result<()> {
    let mut commit = writer.prepare_commit()?;
    commit.set_payload(
        &Payload {
            schema: SCHEMA_VERSION,
            position,
        }
        .json(),
    );
    commit.commit()?;
    Ok(())
}
