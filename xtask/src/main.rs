fn main() -> anyhow::Result<()> {
    anyhow::bail!("xtask: no commands yet")
}
