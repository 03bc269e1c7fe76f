//! `reelgraph reindex`: a fresh search index from the database, swapped in atomically.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use migration::{Migrator, MigratorTrait};
use search_index::IndexHome;

use crate::config::Config;
use crate::infra::search::rebuild;
use crate::startup::connect_database;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let db = connect_database(config).await?;
    if config.store.auto_migrate {
        Migrator::up(&db.conn, None)
            .await
            .context("migrations failed")?;
    }
    let home = IndexHome::new(config.search_dir());
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")?
            .progress_chars("=> "),
    );
    bar.set_message("indexing");
    let started = std::time::Instant::now();
    let replica = crate::infra::search::replica_id(home.root())?;
    let (index, _) = rebuild(&home, &db, &replica, |done, total| {
        bar.set_length(total.max(done));
        bar.set_position(done);
    })
    .await
    .context("reindex failed")?;
    bar.finish_with_message("done");
    let position = i64::try_from(index.position()).unwrap_or(i64::MAX);
    db.record_replica(&replica, position, crate::domain::clock::now())
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let docs = index.num_docs();
    println!(
        "indexed {docs} videos in {seconds:.1}s ({:.0} docs/s) into {}",
        docs as f64 / seconds.max(1e-9),
        home.root().join(index.generation()).display()
    );
    Ok(())
}
