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
    /// The unit that reviews (复查 / 复核) on the county's behalf when the unit one level above
    /// the deciding unit is the county itself (信访工作条例 Arts 35–36), by name or id, e.g.
    /// `县信访局`. Empty: such a request must name its reviewing unit.
    pub review_unit: String,
    /// A suggested lead unit at or above this confidence may be dispatched in one click (直派).
    pub direct_dispatch_confidence: f32,
    /// Duplicates are looked for among open appeals registered within this many days.
    pub duplicate_days: u32,
    /// How alike (0–1) two appeals must be to be shown as possible duplicates.
    pub duplicate_threshold: f32,
    /// The address people reach the console at, e.g. `https://12345.county.example`, when a
    /// proxy stands in front; state-changing requests must come from it. Empty: the host each
    /// request was sent to.
    pub public_origin: String,
    /// Whether the session cookie is marked `Secure` (sent over HTTPS only): `auto` marks it when
    /// `public_origin` is https or the proxy says the request came over HTTPS
    /// (`X-Forwarded-Proto: https`); `always`; `never`.
    pub secure_cookies: String,
    /// Failed logins of one login name from one address before it must wait `login_window_mins`.
    pub login_max_failures: u32,
    /// Failed logins from one address, for any names, before it must wait.
    pub login_max_failures_per_address: u32,
    /// How long failures are counted and a throttled login waits (minutes).
    pub login_window_mins: u64,
    /// Password hashes computed at once; 0: one per core.
    pub hash_concurrency: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Connections served at once; past it a new connection is answered 503 and closed. Keep it
    /// below the process's file-descriptor limit (`ulimit -n`, `LimitNOFILE=`) less about 100
    /// for the database and the search index.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; also how long a kept-alive connection
    /// may sit idle.
    pub header_timeout_secs: u64,
    /// Seconds a request may take, reading its body included (408 after).
    pub request_timeout_secs: u64,
    /// Whether `/metrics` answers without a login (for a scraper on a closed network); off, it
    /// needs an administrator's token.
    pub public_metrics: bool,
    /// Whether `/api/v1/calendar/add` (the working-day calculator) answers without a login.
    pub public_calendar: bool,
    /// Appeals one address may submit on the citizen portal per hour.
    pub portal_submissions_per_hour: u32,
    /// Look-ups (and ratings) one address may make on the portal per ten minutes.
    pub portal_lookups_per_10min: u32,
    /// The fewest seconds between serving the portal's form and its submission (robots are
    /// faster than people).
    pub portal_min_fill_secs: u64,
    /// The secret that signs the portal's forms; empty: a random one per process (then set it,
    /// the same on every server, when several serve one address).
    pub portal_secret: String,
    /// How often notices are derived and text messages sent (seconds); 0 turns it off.
    pub notify_interval_secs: u64,
    /// An HTTP SMS gateway that takes `POST {"phone": …, "text": …}`; empty: text messages stay
    /// in the console's outbox.
    pub sms_gateway_url: String,
    /// A bearer token for the gateway, if it wants one.
    pub sms_gateway_token: String,
    /// The secret an AI-call platform signs its survey results with (HMAC-SHA256 of the body,
    /// header `X-Bihuan-Signature: sha256=<hex>`); empty: `/api/v1/survey-results` is closed.
    pub survey_webhook_secret: String,
    /// The services a 楼格格 team records as offered on a visit (empty: the defaults, 政策宣讲、
    /// 创业辅导、法律咨询、纠纷调解、人才服务、融资对接、审批代办).
    pub enterprise_services: Vec<String>,
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
            review_unit: String::new(),
            direct_dispatch_confidence: 0.9,
            duplicate_days: 30,
            duplicate_threshold: 0.5,
            public_origin: String::new(),
            secure_cookies: "auto".into(),
            login_max_failures: 5,
            login_max_failures_per_address: 30,
            login_window_mins: 15,
            hash_concurrency: 0,
            trust_forwarded_for: false,
            max_connections: 900,
            header_timeout_secs: 10,
            request_timeout_secs: 60,
            public_metrics: false,
            public_calendar: true,
            portal_submissions_per_hour: 10,
            portal_lookups_per_10min: 30,
            portal_min_fill_secs: 3,
            portal_secret: String::new(),
            notify_interval_secs: 5,
            sms_gateway_url: String::new(),
            sms_gateway_token: String::new(),
            survey_webhook_secret: String::new(),
            enterprise_services: vec![],
            demo_logins: vec![],
        }
    }
}

impl Config {
    /// The login throttle's limits.
    pub fn login_limits(&self) -> crate::throttle::Limits {
        crate::throttle::Limits {
            per_login: self.login_max_failures,
            per_address: self.login_max_failures_per_address,
            window: std::time::Duration::from_secs(self.login_window_mins * 60),
        }
    }

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
            self.session_hours = v.parse().context("BIHUAN_SESSION_HOURS 须为整数小时")?;
        }
        if let Some(v) = get("BIHUAN_SCAN_INTERVAL_SECS") {
            self.scan_interval_secs = v.parse().context("BIHUAN_SCAN_INTERVAL_SECS 须为整数秒")?;
        }
        if let Some(v) = get("BIHUAN_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = get("BIHUAN_SEARCH_DIR") {
            self.search_dir = v;
        }
        if let Some(v) = get("BIHUAN_MAX_CONNECTIONS") {
            self.max_connections = v.parse().context("BIHUAN_MAX_CONNECTIONS 须为整数")?;
        }
        if self.max_connections == 0 {
            anyhow::bail!("max_connections 至少为 1");
        }
        if let Some(v) = get("BIHUAN_SURVEY_WEBHOOK_SECRET") {
            self.survey_webhook_secret = v;
        }
        if let Some(v) = get("BIHUAN_PUBLIC_ORIGIN") {
            self.public_origin = v;
        }
        if let Some(v) = get("BIHUAN_SECURE_COOKIES") {
            self.secure_cookies = v;
        }
        if !matches!(self.secure_cookies.as_str(), "auto" | "always" | "never") {
            anyhow::bail!(
                "secure_cookies must be \"auto\", \"always\" or \"never\", not {:?}",
                self.secure_cookies
            );
        }
        let origin = self.public_origin.trim_end_matches('/').to_string();
        if !origin.is_empty()
            && !((origin.starts_with("http://") || origin.starts_with("https://"))
                && origin
                    .split("://")
                    .nth(1)
                    .is_some_and(|r| !r.is_empty() && !r.contains('/')))
        {
            anyhow::bail!(
                "public_origin must be a scheme and host such as https://12345.county.example, not {:?}",
                self.public_origin
            );
        }
        self.public_origin = origin;
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
        if self.login_max_failures == 0
            || self.login_max_failures_per_address == 0
            || !(1..=24 * 60).contains(&self.login_window_mins)
        {
            anyhow::bail!(
                "login_max_failures and login_max_failures_per_address must be at least 1, \
                 login_window_mins between 1 and 1440"
            );
        }
        if self.session_hours == 0 || self.session_hours > 24 * 30 {
            anyhow::bail!("session_hours 须在 1 至 720 之间");
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
