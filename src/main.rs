use clap::Parser;
use reelgraph::cli::Cli;

// glibc malloc kept hundreds of MB after a login storm (argon2 allocates 19 MiB per hash
// on whichever blocking thread runs it) and spent a fifth of the feed's CPU time;
// mimalloc returns that memory and allocates faster.
// The `system-allocator` feature leaves the system's malloc in place, for heap profilers
// (heaptrack, valgrind's massif) that only see that one.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    reelgraph::telemetry::init(cli.config.log_format);
    reelgraph::commands::run(cli).await
}
