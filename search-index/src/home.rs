//! The index folder: generations side by side and a `CURRENT` file naming the live one.
//! A rebuild writes a new generation and then replaces `CURRENT` with a rename, so a
//! reader of the folder sees the old index or the new one, never half of either.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexWriter};

use crate::schema::{Fields, SCHEMA_VERSION};
use crate::writer::{commit_at, create_index, fields_of, open_index, to_document, Payload};
use crate::{Result, SearchIndex, VideoDoc};

const CURRENT: &str = "CURRENT";
/// Generations untouched for this long and not current are removed.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct IndexHome {
    root: PathBuf,
}

/// Why the live index cannot be opened as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    Missing,
    Incompatible(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Missing => f.write_str("no index yet"),
            Unusable::Incompatible(why) => write!(f, "incompatible index: {why}"),
        }
    }
}

impl IndexHome {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        IndexHome { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The generation `CURRENT` names, if any.
    pub fn current_generation(&self) -> Option<String> {
        let name = fs::read_to_string(self.root.join(CURRENT)).ok()?;
        let name = name.trim();
        (!name.is_empty()).then(|| name.to_owned())
    }

    /// Opens the live generation, or says why it has to be rebuilt first.
    pub fn open(&self) -> Result<Result<SearchIndex, Unusable>> {
        let Some(generation) = self.current_generation() else {
            return Ok(Err(Unusable::Missing));
        };
        let dir = self.root.join(&generation);
        if !dir.join("meta.json").exists() {
            return Ok(Err(Unusable::Missing));
        }
        let (index, directory) = match open_index(&dir) {
            Ok(opened) => opened,
            Err(err) => return Ok(Err(Unusable::Incompatible(err.to_string()))),
        };
        let Some(fields) = fields_of(&index) else {
            return Ok(Err(Unusable::Incompatible("schema differs".into())));
        };
        match Payload::read(&index)? {
            Some(p) if p.schema == SCHEMA_VERSION => {}
            Some(p) => {
                return Ok(Err(Unusable::Incompatible(format!(
                    "schema version {} (this build writes {SCHEMA_VERSION})",
                    p.schema
                ))))
            }
            None => return Ok(Err(Unusable::Incompatible("no commit payload".into()))),
        }
        Ok(Ok(SearchIndex::start(
            index, directory, fields, generation,
        )?))
    }

    /// The change-feed position of the live generation's last commit, read without
    /// opening a writer.
    pub fn position(&self) -> Result<Option<u64>> {
        let Some(generation) = self.current_generation() else {
            return Ok(None);
        };
        let dir = self.root.join(generation);
        if !dir.join("meta.json").exists() {
            return Ok(None);
        }
        let (index, _) = open_index(&dir)?;
        Ok(Payload::read(&index)?.map(|p| p.position))
    }

    /// What the live generation holds, read without taking the writer lock (another
    /// process may be writing it): its change-feed position and every document.
    pub fn snapshot(&self) -> Result<Option<Snapshot>> {
        let Some(generation) = self.current_generation() else {
            return Ok(None);
        };
        let (index, _) = open_index(&self.root.join(generation))?;
        let Some(fields) = fields_of(&index) else {
            return Ok(None);
        };
        let position = Payload::read(&index)?.map_or(0, |p| p.position);
        let reader: tantivy::IndexReader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()?;
        let documents = crate::search::stored_documents(&reader.searcher(), &fields)?;
        Ok(Some(Snapshot {
            position,
            documents,
        }))
    }

    /// Starts a new generation; nothing changes for readers until [`Builder::finish`].
    pub fn builder(&self, memory_bytes: usize, threads: usize) -> Result<Builder> {
        fs::create_dir_all(&self.root)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let generation = format!("gen-{nanos:x}-{}", std::process::id());
        let dir = self.root.join(&generation);
        fs::create_dir_all(&dir)?;
        let (index, fields, directory) = create_index(&dir)?;
        let writer = index.writer_with_num_threads(threads.max(1), memory_bytes)?;
        Ok(Builder {
            home: self.clone(),
            generation,
            index,
            directory,
            fields,
            writer,
            added: 0,
        })
    }

    /// Points `CURRENT` at `generation` atomically and removes other generations that
    /// are not in use by this process (other processes keep their open files: removing
    /// a folder on Unix does not take mapped files away from their readers).
    fn swap_to(&self, generation: &str) -> Result<()> {
        let tmp = self
            .root
            .join(format!("{CURRENT}.tmp-{}", std::process::id()));
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(generation.as_bytes())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, self.root.join(CURRENT))?;
        if let Ok(dir) = fs::File::open(&self.root) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Removes generation folders other than the current one and `keep`, once nobody
    /// has written to them for an hour.
    pub fn remove_stale(&self, keep: &str) {
        let current = self.current_generation();
        let Ok(entries) = fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // A generation written to within the hour may be another process's build.
            let recent = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < STALE_AFTER);
            if name.starts_with("gen-")
                && Some(name.as_str()) != current.as_deref()
                && name != keep
                && !recent
            {
                if let Err(err) = fs::remove_dir_all(entry.path()) {
                    tracing::warn!(generation = %name, error = %err, "could not remove an old search index");
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub position: u64,
    pub documents: Vec<crate::StoredVideo>,
}

/// Writes a whole new generation; dropped unfinished, it leaves a folder that the next
/// [`IndexHome::remove_stale`] removes.
pub struct Builder {
    home: IndexHome,
    generation: String,
    index: Index,
    directory: MmapDirectory,
    fields: Fields,
    writer: IndexWriter,
    added: u64,
}

impl Builder {
    pub fn add(&mut self, doc: &VideoDoc) -> Result<()> {
        self.writer.add_document(to_document(&self.fields, doc))?;
        self.added += 1;
        Ok(())
    }

    pub fn added(&self) -> u64 {
        self.added
    }

    /// Commits the generation as having applied the change feed up to `position`,
    /// makes it the live one and opens it.
    pub fn finish(mut self, position: u64) -> Result<SearchIndex> {
        commit_at(&mut self.writer, position)?;
        self.writer.wait_merging_threads()?;
        self.home.swap_to(&self.generation)?;
        SearchIndex::start(self.index, self.directory, self.fields, self.generation)
    }
}
