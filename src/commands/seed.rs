use crate::config::Config;

pub async fn run(_config: &Config, _users: u32, _videos: u32, _seed: u64) -> anyhow::Result<()> {
    anyhow::bail!("seeding is not built yet")
}
