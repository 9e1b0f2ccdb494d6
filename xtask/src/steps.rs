//! Steps: commands run one after another with a header each, timed, and summarised in a table.
//!
//! Every xtask command (`test`, later `bench`) builds a list of [`Step`]s first (pure, so the plan
//! can be unit-tested) and then hands it to [`run_all`]. A failing step does not stop the others:
//! CI should see every failure of a run at once, and the exit status says whether all passed.

use std::fmt;
use std::process::Command;
use std::time::Instant;

/// A command line with extra environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    /// Set for this command only, on top of the inherited environment.
    pub env: Vec<(String, String)>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Cmd {
        Cmd { program: program.into(), args: Vec::new(), env: Vec::new() }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets `key` (replacing an earlier value given to this command).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cmd {
        let key = key.into();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
        self
    }

    /// The value this command sets for `key`, if any.
    #[cfg(test)]
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Runs it with inherited stdio; `Err` describes how it failed.
    pub fn run(&self) -> Result<(), String> {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        match c.status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(match s.code() {
                Some(code) => format!("exit status {code}"),
                None => "killed by a signal".to_string(),
            }),
            Err(e) => Err(format!("could not start `{}`: {e}", self.program)),
        }
    }
}

/// Shell-like rendering (`QEMU_CPU=max cargo test …`) so a user can paste it.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.env {
            write!(f, "{k}={} ", shell_quote(v))?;
        }
        f.write_str(&shell_quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", shell_quote(a))?;
        }
        Ok(())
    }
}

/// Quotes `s` for a POSIX shell when it has anything but plain word characters.
pub fn shell_quote(s: &str) -> String {
    let plain =
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Run(Cmd),
    /// A step that cannot run (a tool is missing): recorded as failed with this explanation,
    /// which says what to install.
    CannotRun(String),
}

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub action: Action,
    /// Index of an earlier step that must have passed; otherwise this one is skipped (running
    /// the aarch64 tests makes no sense when building them failed).
    pub needs: Option<usize>,
}

impl Step {
    pub fn run(name: impl Into<String>, cmd: Cmd) -> Step {
        Step { name: name.into(), action: Action::Run(cmd), needs: None }
    }

    pub fn cannot_run(name: impl Into<String>, why: impl Into<String>) -> Step {
        Step { name: name.into(), action: Action::CannotRun(why.into()), needs: None }
    }

    pub fn after(mut self, index: usize) -> Step {
        self.needs = Some(index);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "ok",
            Outcome::Failed(_) => "FAILED",
            Outcome::Skipped(_) => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub name: String,
    pub outcome: Outcome,
    pub seconds: f64,
}

/// Runs the steps in order, printing a header before each and the summary table at the end.
/// Returns the records; the run passed when every outcome is [`Outcome::Passed`].
pub fn run_all(title: &str, steps: &[Step]) -> Vec<Record> {
    let mut records: Vec<Record> = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        println!("\n==> [{}/{}] {}", i + 1, steps.len(), step.name);
        let start = Instant::now();
        let outcome = match (&step.action, step.needs.map(|n| &records[n].outcome)) {
            (_, Some(o)) if *o != Outcome::Passed => {
                Outcome::Skipped(format!("needs `{}`", records[step.needs.unwrap_or(0)].name))
            }
            (Action::CannotRun(why), _) => Outcome::Failed(why.clone()),
            (Action::Run(cmd), _) => {
                println!("    $ {cmd}");
                match cmd.run() {
                    Ok(()) => Outcome::Passed,
                    Err(e) => Outcome::Failed(e),
                }
            }
        };
        match &outcome {
            Outcome::Passed => {}
            Outcome::Failed(why) | Outcome::Skipped(why) => {
                println!("==> {}: {}", outcome.label(), indent(why));
            }
        }
        records.push(Record {
            name: step.name.clone(),
            outcome,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    println!("\n{}", summary(title, &records));
    records
}

pub fn all_passed(records: &[Record]) -> bool {
    records.iter().all(|r| r.outcome == Outcome::Passed)
}

/// The table printed at the end: step, result, seconds, then the reasons of failures.
pub fn summary(title: &str, records: &[Record]) -> String {
    let width = records.iter().map(|r| r.name.chars().count()).max().unwrap_or(0).max(4);
    let mut out = format!("==> summary: {title}\n");
    out += &format!("    {:<width$}  {:<7}  {:>8}\n", "step", "result", "seconds");
    for r in records {
        out += &format!("    {:<width$}  {:<7}  {:>8.1}\n", r.name, r.outcome.label(), r.seconds);
    }
    let total: f64 = records.iter().map(|r| r.seconds).sum();
    out += &format!("    {:<width$}  {:<7}  {:>8.1}\n", "total", "", total);
    let failed = records.iter().filter(|r| r.outcome != Outcome::Passed).count();
    if failed == 0 {
        out += &format!("==> all {} steps passed", records.len());
    } else {
        out += &format!("==> {failed} of {} steps did not pass", records.len());
    }
    out
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n    ")
}

/// Each step as its command line (or `cannot: why`), for tests of the plans.
#[cfg(test)]
pub fn rendered(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|s| match &s.action {
            Action::Run(c) => c.to_string(),
            Action::CannotRun(why) => format!("cannot: {why}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_render_for_pasting() {
        let c = Cmd::new("cargo")
            .args(["test", "-p", "qnn-ir"])
            .env("QEMU_CPU", "cortex-a53")
            .env("RUNNER", "ssh board 'cd /tmp'");
        assert_eq!(
            c.to_string(),
            r"QEMU_CPU=cortex-a53 RUNNER='ssh board '\''cd /tmp'\''' cargo test -p qnn-ir"
        );
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn env_replaces_earlier_value() {
        let c = Cmd::new("x").env("A", "1").env("B", "2").env("A", "3");
        assert_eq!(c.env_value("A"), Some("3"));
        assert_eq!(c.env.len(), 2);
    }

    #[test]
    fn failures_skip_dependants_and_fail_the_run() {
        let steps = vec![
            Step::run("passes", Cmd::new("true")),
            Step::run("fails", Cmd::new("false")),
            Step::run("after failure", Cmd::new("true")).after(1),
            Step::cannot_run("missing tool", "install it"),
            Step::run("after pass", Cmd::new("true")).after(0),
        ];
        let r = run_all("unit", &steps);
        let outcomes: Vec<_> = r.iter().map(|r| r.outcome.label()).collect();
        assert_eq!(outcomes, ["ok", "FAILED", "skipped", "FAILED", "ok"]);
        assert!(!all_passed(&r));
        assert!(all_passed(&r[..1]));
    }

    #[test]
    fn summary_lists_every_step() {
        let records = vec![
            Record { name: "host tests".into(), outcome: Outcome::Passed, seconds: 1.3 },
            Record {
                name: "fmt".into(),
                outcome: Outcome::Failed("exit status 1".into()),
                seconds: 0.5,
            },
        ];
        let s = summary("t", &records);
        let lines: Vec<_> = s.lines().collect();
        assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["step", "result", "seconds"]);
        assert_eq!(lines[2].split_whitespace().collect::<Vec<_>>(), ["host", "tests", "ok", "1.3"]);
        assert_eq!(lines[3].split_whitespace().collect::<Vec<_>>(), ["fmt", "FAILED", "0.5"]);
        assert_eq!(lines[4].split_whitespace().collect::<Vec<_>>(), ["total", "1.8"]);
        assert_eq!(lines[5], "==> 1 of 2 steps did not pass");
    }
}
