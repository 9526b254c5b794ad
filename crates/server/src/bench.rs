//! `meetbridge bench` (being written).

#[derive(Debug, clap::Args)]
pub struct BenchConfig {}

pub fn run(_config: BenchConfig) -> anyhow::Result<()> {
    anyhow::bail!("bench: not written yet")
}
