//! Configuration: defaults, then a TOML file, then environment variables (`BIHUAN_DB`,
//! `BIHUAN_LISTEN`, `BIHUAN_SESSION_HOURS`, `BIHUAN_SCAN_INTERVAL_SECS`, `BIHUAN_LOG_FORMAT`),
//! then command-line flags.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Database: a SQLite file path.
    pub db: String,
    /// Address to listen on.
    pub listen: String,
    /// How long a console session lasts.
    pub session_hours: u64,
    /// How often the deadline scanner runs; 0 turns it off.
    pub scan_interval_secs: u64,
    /// `text` or `json`.
    pub log_format: String,
    /// Where the full-text search index lives (derived data, rebuilt when missing). Empty: `bihuan
    /// serve` puts it beside a SQLite database (`<db>.search`); in memory for PostgreSQL.
    pub search_dir: String,
    /// How often the search and duplicate indexes follow new events (seconds); 0 turns the
    /// background indexing, retraining and catalogue reloading off (benchmarks of other parts).
    pub index_interval_secs: u64,
    /// Retrain the routing models this often (hours); 0 never (use `bihuan train`).
    pub retrain_hours: u64,
    /// A suggested lead unit at or above this confidence may be dispatched in one click (直派).
    pub direct_dispatch_confidence: f32,
    /// Duplicates are looked for among open appeals registered within this many days.
    pub duplicate_days: u32,
    /// How alike (0–1) two appeals must be to be shown as possible duplicates.
    pub duplicate_threshold: f32,
    /// Demo accounts shown on the landing page (set by `bihuan demo` only).
    #[serde(skip)]
    pub demo_logins: Vec<(String, String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db: "bihuan.db".into(),
            listen: "127.0.0.1:8080".into(),
            session_hours: 12,
            scan_interval_secs: 60,
            log_format: "text".into(),
            search_dir: String::new(),
            index_interval_secs: 1,
            retrain_hours: 24,
            direct_dispatch_confidence: 0.9,
            duplicate_days: 30,
            duplicate_threshold: 0.5,
            demo_logins: vec![],
        }
    }
}

impl Config {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut c = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the configuration file {}", path.display())
                })?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid configuration file {}", path.display()))?
            }
            None => Config::default(),
        };
        c.apply_env(|k| std::env::var(k).ok())?;
        Ok(c)
    }

    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("BIHUAN_DB") {
            self.db = v;
        }
        if let Some(v) = get("BIHUAN_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("BIHUAN_SESSION_HOURS") {
            self.session_hours = v
                .parse()
                .context("BIHUAN_SESSION_HOURS must be a whole number of hours")?;
        }
        if let Some(v) = get("BIHUAN_SCAN_INTERVAL_SECS") {
            self.scan_interval_secs = v
                .parse()
                .context("BIHUAN_SCAN_INTERVAL_SECS must be a whole number of seconds")?;
        }
        if let Some(v) = get("BIHUAN_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = get("BIHUAN_SEARCH_DIR") {
            self.search_dir = v;
        }
        if !(0.0..=1.0).contains(&self.direct_dispatch_confidence)
            || !(0.0..=1.0).contains(&self.duplicate_threshold)
        {
            anyhow::bail!(
                "direct_dispatch_confidence and duplicate_threshold must be between 0 and 1"
            );
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            anyhow::bail!(
                "log_format must be \"text\" or \"json\", not {:?}",
                self.log_format
            );
        }
        if self.session_hours == 0 || self.session_hours > 24 * 30 {
            anyhow::bail!("session_hours must be between 1 and 720");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let mut c: Config =
            toml::from_str("db = \"/srv/county.db\"\nscan_interval_secs = 30").unwrap();
        assert_eq!(c.db, "/srv/county.db");
        assert_eq!(c.listen, "127.0.0.1:8080");
        c.apply_env(|k| (k == "BIHUAN_LISTEN").then(|| "0.0.0.0:9000".to_string()))
            .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.scan_interval_secs, 30);
        assert!(c
            .apply_env(|k| (k == "BIHUAN_SESSION_HOURS").then(|| "x".to_string()))
            .is_err());
        assert!(toml::from_str::<Config>("dbb = 1").is_err());
    }
}
