//! The `jobs.*` settings: the background job runner's queues, leases,
//! retries and history.

use std::time::Duration;

use storekeep_store::DatabaseKind;

use super::{parse, parse_positive};

/// The job runner's settings (`jobs.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    /// Whether `serve` runs the job runner on this node.
    pub enabled: bool,
    /// Each queue this node works and how many of its jobs run at once.
    pub queues: Vec<(String, usize)>,
    /// How long a claimed job is leased before the rescuer may hand it to
    /// another worker; a heartbeat extends it while the handler runs.
    pub lease: Duration,
    /// How often an idle queue looks for due jobs (an enqueue on this node
    /// wakes it at once).
    pub poll_interval: Duration,
    /// Attempts before a job is dead-lettered, unless it says otherwise.
    pub max_attempts: i32,
    /// The first retry's delay ceiling; each retry doubles it.
    pub backoff_base: Duration,
    /// The longest delay ceiling between two attempts.
    pub backoff_max: Duration,
    /// Completed jobs are deleted after this many days.
    pub retain_completed_days: u32,
    /// While this node serves this many requests at once or more, its
    /// queues start jobs on a quarter of their workers (0: never); unset,
    /// [`JobSettings::give_way_at`] by database.
    pub give_way_at: Option<usize>,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            queues: parse_queues(DEFAULT_QUEUES).expect("the default queues parse"),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(1000),
            max_attempts: 20,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(8 * 3600),
            retain_completed_days: 7,
            give_way_at: None,
        }
    }
}

pub const DEFAULT_QUEUES: &str = "default=4,email=4,webhooks=16,maintenance=1";

/// `name=concurrency,…`: every name once, every concurrency 1 to 1,000.
pub fn parse_queues(value: &str) -> Result<Vec<(String, usize)>, String> {
    let mut queues: Vec<(String, usize)> = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, n) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not name=concurrency"))?;
        let name = name.trim();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if !valid {
            return Err(format!(
                "'{name}' is not a queue name (letters, digits, _ - .)"
            ));
        }
        let n: usize = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| format!("the concurrency of '{name}' must be 1 to 1000"))?;
        if queues.iter().any(|(q, _)| q == name) {
            return Err(format!("queue '{name}' is named twice"));
        }
        queues.push((name.to_owned(), n));
    }
    if queues.is_empty() {
        return Err("names no queue".into());
    }
    Ok(queues)
}

impl JobSettings {
    /// `jobs.give_way_at`, or its default on `database`: 16 requests on
    /// PostgreSQL; never on SQLite, whose checkouts wait for its one
    /// writer rather than the processor, and which gained nothing from it
    /// (docs/benchmarks.md, "Jobs give way to requests").
    pub fn give_way_at(&self, database: DatabaseKind) -> usize {
        self.give_way_at.unwrap_or(match database {
            DatabaseKind::Postgres => 16,
            DatabaseKind::Sqlite => 0,
        })
    }

    /// Sets `key` (a `jobs.*` key) from `value`.
    pub(super) fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "jobs.enabled" => self.enabled = parse(value, "true or false")?,
            "jobs.queues" => self.queues = parse_queues(value)?,
            "jobs.lease_secs" => self.lease = Duration::from_secs(parse_positive(value)?),
            "jobs.poll_interval_ms" => {
                self.poll_interval = Duration::from_millis(parse_positive(value)?);
            }
            "jobs.max_attempts" => self.max_attempts = parse_positive(value)?,
            "jobs.backoff_base_secs" => {
                self.backoff_base = Duration::from_secs(parse_positive(value)?);
            }
            "jobs.backoff_max_secs" => {
                self.backoff_max = Duration::from_secs(parse_positive(value)?);
            }
            "jobs.retain_completed_days" => self.retain_completed_days = parse_positive(value)?,
            "jobs.give_way_at" => {
                self.give_way_at = Some(parse(value, "a number of requests (0: never)")?);
            }
            _ => return Err("is not a known setting".into()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_parse_with_their_concurrency() {
        let q = parse_queues("default=4, email=2").unwrap();
        assert_eq!(q, vec![("default".into(), 4), ("email".into(), 2)]);
        assert!(parse_queues("default").is_err());
        assert!(parse_queues("default=0").is_err());
        assert!(parse_queues("a=1,a=2").is_err());
        assert!(parse_queues("bad name=1").is_err());
        assert!(parse_queues("").is_err());
    }

    #[test]
    fn queues_give_way_by_default_on_postgresql_only() {
        let mut s = JobSettings::default();
        assert_eq!(s.give_way_at(DatabaseKind::Postgres), 16);
        assert_eq!(s.give_way_at(DatabaseKind::Sqlite), 0);
        s.set("jobs.give_way_at", "4").unwrap();
        assert_eq!(s.give_way_at(DatabaseKind::Sqlite), 4);
        s.set("jobs.give_way_at", "0").unwrap();
        assert_eq!(s.give_way_at(DatabaseKind::Postgres), 0);
        assert!(s.set("jobs.give_way_at", "-1").is_err());
        assert!(s.set("jobs.give_way_at", "many").is_err());
    }
}
