use clap::Parser;
use reelgraph::cli::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    reelgraph::telemetry::init(cli.config.log_format);
    reelgraph::commands::run(cli).await
}
