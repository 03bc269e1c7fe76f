//! Stand-alone migration CLI (`cargo run -p migration -- up`); the server binary offers the
//! same through `reelgraph migrate`.
use sea_orm_migration::prelude::*;

#[tokio::main]
async fn main() {
    cli::run_cli(migration::Migrator).await;
}
