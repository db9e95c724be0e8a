//! `bihuan`: the one binary. `bihuan --help` lists the jobs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use bihuan::{bench, demo, eval, export, import};
use bihuan_domain::lifecycle::Role;
use bihuan_domain::org::{Unit, UnitId, UnitKind};
use bihuan_domain::Calendar;
use bihuan_server::{auth, Application, Clock, Config, OffsetClock};
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::{AppealFilter, NewUser, Store};
use chrono::{Datelike, NaiveDate};
use clap::{Parser, Subcommand};

/// mimalloc: the server allocates many short-lived buffers per request (JSON, SQL values,
/// HTTP headers) on two or more threads; glibc's allocator spent about a tenth of the
/// registration benchmark's CPU in malloc/free and their consolidation.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "bihuan",
    version,
    about = "bihuan 闭环： every citizen appeal through a closed loop"
)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// The official working-day calendar (holidays and make-up workdays, 2007–2026 shipped).
    Calendar {
        /// Extra year files in the holiday-cn JSON format, loaded over the shipped years.
        #[arg(long = "holidays", value_name = "FILE", global = true)]
        holidays: Vec<PathBuf>,
        #[command(subcommand)]
        command: CalendarCmd,
    },
    /// Serves the platform: the JSON API, operations endpoints and background deadline work.
    Serve {
        /// A TOML configuration file (see docs/operations.md).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The database: a SQLite file, or `postgres://user@host/db` (overrides the configuration).
        #[arg(long)]
        db: Option<String>,
        /// Address to listen on, e.g. 0.0.0.0:8080 (overrides the configuration).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Creates (or reuses) a demo county with a year of appeals and serves it.
    Demo {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long, default_value = "bihuan-demo.db")]
        db: String,
        /// Address to listen on, e.g. 127.0.0.1:8080 (0.0.0.0:8080 for every interface).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// How many appeals to generate for a new demo database.
        #[arg(long, default_value_t = 30_000)]
        appeals: usize,
        /// Delete an existing demo database and generate it again.
        #[arg(long)]
        fresh: bool,
        /// Generate only; do not serve.
        #[arg(long)]
        no_serve: bool,
    },
    /// Generates N demo appeals quickly into a database (installing the demo county first if
    /// the database is empty), for measurements at scale. `BIHUAN_NOW` sets the day it stands at.
    Generate {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
        /// How many appeals to generate.
        #[arg(long)]
        appeals: usize,
        /// The random seed (the same seed makes the same appeals).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The SQLite file's storage: where its bytes go, compacting rows of older versions, and
    /// the dictionaries appeals are compressed with (docs/operations.md, "Storage").
    Storage {
        #[command(subcommand)]
        command: StorageCmd,
    },
    /// Rollups (the metric sums kept with every write).
    Rollups {
        #[command(subcommand)]
        command: RollupsCmd,
    },
    /// Measures the metrics API and the dashboard's figures on an existing database, beside
    /// DuckDB computing the same figures from an export in the same run, and the rollup rebuild.
    BenchMetrics {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
        /// Requests to the metrics API.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// The Python with `duckdb` installed (skipped with a notice when it is missing).
        #[arg(long, default_value = "python3")]
        python: String,
        /// Also time a full rollup rebuild (rewrites the rollups).
        #[arg(long)]
        rebuild: bool,
    },
    /// 入户听诉 at county scale in a temporary SQLite database: imports the households, assigns
    /// cadres, launches a campaign, writes the visits, and prints the p50/p95 of a cadre's task
    /// list, the registry's search and the coverage tables beside an anchor measured in the
    /// same run.
    BenchVisits {
        /// Households to register.
        #[arg(long, default_value_t = 200_000)]
        households: usize,
        /// Visits to write.
        #[arg(long, default_value_t = 1_000_000)]
        visits: usize,
        /// Reads timed per figure.
        #[arg(long, default_value_t = 50)]
        samples: usize,
    },
    /// Trains the routing models (lead unit and category) on the newest closed appeals and
    /// stores them with the data as a new version; running servers pick them up within seconds.
    Train {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
    },
    /// The full-text search index (derived data).
    Search {
        #[command(subcommand)]
        command: SearchCmd,
    },
    /// Scores smart dispatch on labelled files: the classifier and the duplicate check.
    Eval {
        #[command(subcommand)]
        command: EvalCmd,
    },
    /// Measures durable registrations per second through HTTP (in a temporary folder).
    Bench {
        /// Requests to send.
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Run against PostgreSQL: the server's address (a new database is made there and
        /// dropped afterwards), e.g. postgres://postgres@127.0.0.1/postgres.
        #[arg(long)]
        postgres: Option<String>,
        /// Give the server trained unit and category models first (trained on the bench's own
        /// texts), so that the indexer classifies every new appeal as a county's server does.
        #[arg(long)]
        with_models: bool,
    },
    /// Prepares a new database: the county (root unit) and the first administrator.
    Init {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
        /// The county's (or city's) name.
        #[arg(long)]
        county: String,
        /// The first administrator's login.
        #[arg(long, default_value = "admin")]
        admin_login: String,
        /// The administrator's password; or set BIHUAN_PASSWORD.
        #[arg(long, env = "BIHUAN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// User accounts.
    User {
        #[command(subcommand)]
        command: UserCmd,
    },
    /// Imports appeals from a CSV or XLSX export, columns mapped by a TOML file.
    Import {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
        /// The .csv or .xlsx file.
        #[arg(long)]
        file: PathBuf,
        /// The column mapping (see docs/import.md).
        #[arg(long)]
        mapping: PathBuf,
        /// The login the rows are registered as.
        #[arg(long = "as", default_value = "admin")]
        as_login: String,
        /// Check every row and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where to write the refused rows (default: beside the file, NAME.rejected.csv).
        #[arg(long)]
        rejected: Option<PathBuf>,
    },
    /// Exports appeals to CSV (UTF-8 with BOM; phones and names masked).
    Export {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
        /// Output file; `-` for standard output.
        #[arg(long, default_value = "-")]
        out: String,
        /// Only appeals registered on or after this date (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Only appeals registered on or before this date (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
    },
    /// Writes a consistent backup of a database while it is in use (one portable file that
    /// either store can restore).
    Backup {
        /// The database: a SQLite file or `postgres://…`.
        #[arg(long)]
        db: String,
        /// The archive to write (written under a temporary name, moved into place when
        /// complete); a name ending in `.zst` is compressed (about a tenth of the size).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restores a backup into a new, empty database (SQLite or PostgreSQL): all of it, or
    /// nothing.
    Restore {
        /// The new database: a SQLite file or `postgres://…`; it must hold nothing yet.
        #[arg(long)]
        db: String,
        /// The archive written by `bihuan backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// Prints the API's OpenAPI document (the same as `GET /api/v1/openapi.json`).
    Openapi,
}

#[derive(Subcommand)]
enum StorageCmd {
    /// Bytes per table and index (SQLite's dbstat), and per appeal.
    Report {
        /// The SQLite database file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Rewrites appeal states and events kept as JSON text (by versions before compact storage)
    /// as compressed frames, then gives the space back (VACUUM: stop the server first; it needs
    /// room for a second copy of the file while it runs).
    Compact {
        /// The SQLite database file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Trains the two compression dictionaries from a database's appeals (for developers: the
    /// shipped ones are in crates/bihuan-store/dict and must never change once used).
    Train {
        /// The SQLite database file to sample (e.g. one made by `bihuan generate`).
        #[arg(long)]
        db: PathBuf,
        /// The folder to write state-N.zdict and event-N.zdict into.
        #[arg(long)]
        out: PathBuf,
        /// Samples of each kind.
        #[arg(long, default_value_t = 20_000)]
        samples: u64,
        /// The largest size of each dictionary in bytes.
        #[arg(long, default_value_t = 32_768)]
        size: usize,
    },
}

#[derive(Subcommand)]
enum SearchCmd {
    /// Rebuilds the search index from the store (stop the server that uses the index first).
    Rebuild {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
        /// The index folder; default: `<db>.search` for SQLite.
        #[arg(long, default_value = "")]
        dir: String,
    },
    /// Measures search and the duplicate check on an existing database (index built first if
    /// empty): p50/p95 over queries drawn from the appeals themselves.
    Bench {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
        /// The folder of the search index.
        #[arg(long, default_value = "")]
        dir: String,
        /// Queries to time.
        #[arg(long, default_value_t = 500)]
        queries: usize,
    },
}

#[derive(Subcommand)]
enum EvalCmd {
    /// Cross-validates the routing classifier on a `label,text` CSV and, in the same run, the
    /// TF-IDF + linear SVM baseline (scikit-learn) on the same folds.
    Classify {
        /// The labelled `label,text` CSV.
        #[arg(long)]
        data: PathBuf,
        /// Cross-validation folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// The Python with scikit-learn and jieba (skipped with a notice when missing).
        #[arg(long, default_value = "python3")]
        python: String,
    },
    /// Precision and recall of the duplicate check over a messages CSV in which rows sharing a
    /// subject are duplicates.
    Duplicates {
        /// The messages CSV.
        #[arg(long)]
        data: PathBuf,
        /// Writes the found pairs that share no subject and have no judgment yet, for review.
        #[arg(long)]
        unjudged: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RollupsCmd {
    /// Recomputes every rollup from the appeals (blocks writes while it runs).
    Rebuild {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
    },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// Prints `workday` or `rest` for a date.
    Check {
        /// The date (YYYY-MM-DD).
        date: String,
    },
    /// Prints the date N working days after DATE (DATE itself not counted).
    Add {
        /// The start date (YYYY-MM-DD), not counted.
        date: String,
        /// Working days to add.
        days: u32,
    },
    /// Prints the number of working days after FROM up to and including TO.
    Count {
        /// The first date (YYYY-MM-DD), not counted.
        from: String,
        /// The last date (YYYY-MM-DD), counted.
        to: String,
    },
    /// Prints the last day of a period of N calendar days counted as the Civil Code says.
    Period {
        /// The day the period starts from (YYYY-MM-DD), not counted.
        date: String,
        /// Calendar days.
        days: u32,
    },
    /// Lists the loaded years and the notices they come from.
    Years,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Adds a user account.
    Add {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
        /// The account's login.
        #[arg(long)]
        login: String,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// operator, dispatcher, handler, unit_leader, supervisor, return_visitor, grid_member,
        /// leader or admin.
        #[arg(long)]
        role: String,
        /// The unit's id.
        #[arg(long)]
        unit: u32,
        /// The password; or set BIHUAN_PASSWORD.
        #[arg(long, env = "BIHUAN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Lists user accounts.
    List {
        /// The database: a SQLite file, or `postgres://user@host/db`.
        #[arg(long)]
        db: String,
    },
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    bihuan_domain::time::parse_date(s).map_err(|e| anyhow::anyhow!("{s:?}: {e}"))
}

/// Says on standard error when an answer rests on a provisional year (its notice not loaded):
/// the answer itself stays one plain value for scripts.
fn provisional_note(cal: &Calendar, dates: &[NaiveDate]) {
    if let Some(d) = dates.iter().find(|d| cal.is_provisional(**d)) {
        eprintln!(
            "预计： {} 年的国务院放假通知尚未导入，按周末和法定节假日推算（无调休）；导入后请以通知为准。",
            d.year()
        );
    }
}

fn calendar(holidays: &[PathBuf], cmd: CalendarCmd) -> Result<String> {
    let mut cal = Calendar::official();
    for path in holidays {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read holiday file {}", path.display()))?;
        cal.load_json(&text)
            .with_context(|| format!("cannot load holiday file {}", path.display()))?;
    }
    Ok(match cmd {
        CalendarCmd::Check { date } => {
            let d = parse_date(&date)?;
            let workday = cal.is_workday(d)?;
            provisional_note(&cal, &[d]);
            if workday { "workday" } else { "rest" }.into()
        }
        CalendarCmd::Add { date, days } => {
            let d = cal.add_working_days(parse_date(&date)?, days)?;
            provisional_note(&cal, &[d]);
            d.to_string()
        }
        CalendarCmd::Count { from, to } => {
            let (a, b) = (parse_date(&from)?, parse_date(&to)?);
            let n = cal.working_days_after(a, b)?;
            provisional_note(&cal, &[a, b]);
            n.to_string()
        }
        CalendarCmd::Period { date, days } => {
            let d = cal.calendar_days_period(parse_date(&date)?, days)?;
            provisional_note(&cal, &[d]);
            d.to_string()
        }
        CalendarCmd::Years => {
            let out: Vec<String> = cal
                .loaded_years()
                .filter_map(|y| cal.notice(y))
                .map(|n| format!("{}\t{} days\t{}", n.year, n.days.len(), n.papers.join(" ")))
                .collect();
            if out.is_empty() {
                bail!("没有导入任何年份的节假日安排");
            }
            out.join("\n")
        }
    })
}

/// Logging to standard error; `RUST_LOG` overrides the default level. `access`: one line per
/// request (target `bihuan::access`), as `bihuan serve` writes; the demo leaves them out so its
/// terminal stays readable.
fn init_logging(format: &str, access: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if access {
        "info"
    } else {
        "info,bihuan::access=off"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Opens the store `db` names: a `postgres://` (or `postgresql://`) address, else a SQLite file.
/// Index rows made by an older version are rebuilt here, once, before anything is written (a
/// new database is marked current while it is empty).
async fn open(db: &str) -> Result<Arc<dyn Store>> {
    let store = open_raw(db).await?;
    bihuan_server::ensure_indexes(store.as_ref()).await?;
    Ok(store)
}

/// The store, as it is (a restore marks the index versions after it has loaded the rows, which
/// may come from an older version).
async fn open_raw(db: &str) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if db.starts_with("postgres://") || db.starts_with("postgresql://")
    {
        let store = bihuan_store::postgres::PgStore::connect(db)
            .await
            .map_err(|e| anyhow::anyhow!("无法打开 PostgreSQL 数据库：{e}"))?;
        Arc::new(store)
    } else {
        Arc::new(SqliteStore::open(db).with_context(|| format!("cannot open the database {db}"))?)
    };
    Ok(store)
}

async fn hash(password: &str) -> Result<String> {
    auth::check_password_strength(password).map_err(|m| anyhow::anyhow!("密码强度不够：{m}"))?;
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await?
}

/// The search index lives beside a SQLite database unless configured; PostgreSQL servers keep it
/// in memory unless `search_dir` is set (each server its own folder).
fn search_dir_for(db: &str, configured: String) -> String {
    if configured.is_empty() && !db.contains("://") {
        format!("{db}.search")
    } else {
        configured
    }
}

/// The configuration the search commands open the index with.
fn search_config(db: &str, dir: String) -> Config {
    Config {
        db: db.to_string(),
        search_dir: search_dir_for(db, dir),
        ..Config::default()
    }
}

async fn serve(
    mut config: Config,
    store: Arc<dyn Store>,
    clock: Option<OffsetClock>,
) -> Result<()> {
    config.search_dir = search_dir_for(&config.db, std::mem::take(&mut config.search_dir));
    // The banner goes through the log, in its configured format (one JSON object per line
    // when `log_format = "json"`), with what an operator checks first.
    let (db, format) = (redact_db(&config.db), config.log_format.clone());
    let app = match clock {
        Some(clock) => {
            tracing::warn!(
                starts_at = %bihuan_domain::time::format_local(clock.now()),
                "注意：服务器时间从设定的时刻开始计（BIHUAN_NOW 或演示时钟）"
            );
            Application::build_with_clock(config, store, Arc::new(clock)).await?
        }
        None => Application::build(config, store).await?,
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = %app.local_addr(),
        db = %db,
        log_format = %format,
        "bihuan 正在服务： http://{}",
        app.local_addr()
    );
    app.run_until_stopped().await
}

/// A database address fit for a log: a PostgreSQL password is left out.
fn redact_db(db: &str) -> String {
    match db.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((cred, host)) => {
                let user = cred.split(':').next().unwrap_or("");
                format!("{scheme}://{user}@{host}")
            }
            None => db.to_string(),
        },
        None => db.to_string(),
    }
}

/// The demo's clock. Normally the real time; but when the calendar cannot carry an ordinary
/// deadline from today (past even the provisional years after the newest notice), a clock that
/// starts on the last day that can, so the demo keeps working. A real deployment never does
/// this: there an administrator loads the new years.
fn demo_clock(cal: &Calendar, real: bihuan_domain::time::Instant) -> Option<OffsetClock> {
    let today = bihuan_domain::time::local_date(real);
    if cal.add_working_days(today, 15).is_ok() {
        return None;
    }
    let last = cal.loaded_years().last()? + bihuan_domain::calendar::PROVISIONAL_YEARS;
    let mut day = NaiveDate::from_ymd_opt(last, 12, 31)?;
    while cal.add_working_days(day, 15).is_err() {
        day = day.pred_opt()?;
    }
    let start = bihuan_domain::time::start_of_day(day) + chrono::Duration::hours(9);
    eprintln!(
        "注意： {} 年的节假日安排尚未导入，演示县的时间定在 {day}（真实部署中请管理员导入新一年的安排）。",
        today.year() + 1
    );
    Some(OffsetClock::starting_at(start))
}

async fn run(cmd: Top) -> Result<String> {
    match cmd {
        Top::Calendar { holidays, command } => calendar(&holidays, command),
        Top::Openapi => Ok(serde_json::to_string_pretty(
            &bihuan_server::openapi::document(),
        )?),
        Top::Serve { config, db, listen } => {
            let mut c = Config::load(config.as_deref())?;
            if let Some(db) = db {
                c.db = db;
            }
            if let Some(l) = listen {
                c.listen = l;
            }
            init_logging(&c.log_format, true);
            let store = open(&c.db).await?;
            if store.catalog().org.units().next().is_none() {
                eprintln!("注意： 数据库中还没有单位。请先运行 `bihuan init --db {} --county 县名` 创建县和第一个管理员。", c.db);
            }
            serve(c, store, OffsetClock::from_env()?).await?;
            Ok(String::new())
        }
        Top::Demo {
            db,
            listen,
            appeals,
            fresh,
            no_serve,
        } => {
            init_logging("text", false);
            if fresh && db.contains("://") {
                bail!("--fresh 只删除 SQLite 演示数据库文件；PostgreSQL 数据库请自行删除");
            }
            if fresh {
                for suffix in ["", "-wal", "-shm"] {
                    let p = format!("{db}{suffix}");
                    if Path::new(&p).exists() {
                        std::fs::remove_file(&p).with_context(|| format!("cannot delete {p}"))?;
                    }
                }
            }
            let store = open(&db).await?;
            let county = demo::county();
            let clock = match OffsetClock::from_env()? {
                Some(c) => Some(c),
                None => demo_clock(&store.catalog().calendar, demo::now()),
            };
            if store.catalog().org.units().next().is_none() {
                let started = std::time::Instant::now();
                let h = hash(demo::DEMO_PASSWORD).await?;
                demo::install(&store, &county, &h).await?;
                let now = match &clock {
                    Some(c) => c.now(),
                    None => demo::now(),
                };
                let n = demo::generate(&store, &county, appeals, now, 2026).await?;
                demo::save_filters(&store, now).await?;
                let (reviews, declined, repeats) = demo::petitions(&store, now).await?;
                eprintln!(
                    "信访事项：复查、复核案件 {reviews} 件，不予受理 {declined} 件，重复信访（关联前次）{repeats} 件"
                );
                let (archive, first_half) =
                    demo::last_years_petitions(&store, &county, now).await?;
                if archive > 0 {
                    eprintln!(
                        "上年信访档案 {archive} 件（上半年 {first_half} 件：今年上半年同比下降49.5%，见驾驶舱 half 期间）"
                    );
                }
                // Registered before the campaign below launched.
                let homes =
                    demo::households(&store, &county, now - chrono::Duration::days(45)).await?;
                eprintln!("住户台账 {homes} 户");
                let v = demo::visits(&store, &county, now).await?;
                eprintln!(
                    "入户听诉：应访 {} 户，走访记录 {} 次，转为工单 {} 件（已办结 {} 件）",
                    v.frozen, v.visits, v.appeals, v.closed
                );
                let (days, cases) = demo::leaders(&store, now).await?;
                eprintln!("领导接访日 {days} 个，领导包案 {cases} 件");
                let a = demo::approvals(&store, now).await?;
                eprintln!(
                    "一件事一次办：香精香料产业链一件事（{} 个事项、承诺15个工作日），申请 {} 件",
                    a.matters, a.applications
                );
                let k = demo::campaigns(&store, &county.townships, now).await?;
                eprintln!(
                    "攻坚调度：三大会战和十大攻坚战 {} 个活动、清单事项 {} 项、填报 {} 次；四比评比 {} 期（已公开晾晒 {} 期）",
                    k.campaigns, k.items, k.reports, k.evaluations, k.published
                );
                let s = demo::surveys(&store, &county.townships, now).await?;
                eprintln!(
                    "双提升测评：已完成 {} 个完整测评电话，公众安全感 {}；进行中的测评已完成 {} 个",
                    s.completes,
                    s.safety
                        .map_or("—".into(), |v| format!("{:.2}%", v * 100.0)),
                    s.running_completes
                );
                let e = demo::enterprises(&store, now).await?;
                eprintln!(
                    "楼格格：凤凰街道 {} 栋商务楼宇、{} 支服务队、{} 家企业，走访 {} 次；企业需求 {} 个（已解决 {} 个），融资对接成功 {} 笔、{:.1} 万元",
                    e.buildings,
                    e.teams,
                    e.enterprises,
                    e.visits,
                    e.demands,
                    e.solved,
                    e.financed,
                    e.financed_amount as f64 / 10_000.0
                );
                let j = demo::jobs(&store, now).await?;
                eprintln!(
                    "就业之家：云溪镇发布岗位 {} 个，推荐就业 {} 人，促成贷款 {} 笔、{:.1} 万元",
                    j.published,
                    j.placements,
                    j.loans,
                    j.loan_amount as f64 / 10_000.0
                );
                let o = demo::open311(&store, now).await?;
                eprintln!(
                    "开放接口：应用「云溪城市通」经 Open311 提交诉求 {} 件（演示密钥 {}）",
                    o.requests,
                    demo::DEMO_OPEN311_KEY
                );
                // The last few hundred steps get their notices, so the demo shows some.
                bihuan_server::notify::start_near_the_end(store.as_ref(), 600, now).await?;
                eprintln!(
                    "已生成演示县「云溪县」： {n} 件诉求，用时 {:.1} 秒 ({db})",
                    started.elapsed().as_secs_f64()
                );
            } else {
                eprintln!("沿用已有的演示数据库 {db}（加 --fresh 可重新生成）");
            }
            let logins: Vec<(String, String, String)> = county
                .accounts
                .iter()
                .map(|(login, name, role, _)| {
                    (
                        login.clone(),
                        demo::DEMO_PASSWORD.to_string(),
                        format!("{} · {name}", role.label()),
                    )
                })
                .collect();
            eprintln!("\n演示账号（密码均为 {}）:", demo::DEMO_PASSWORD);
            for (login, _, who) in logins
                .iter()
                .filter(|l| !l.0.starts_with("dept") || l.0 == "dept01" || l.0 == "dept01-lead")
                .filter(|l| !l.0.starts_with("town") || l.0 == "town01" || l.0 == "town01-lead")
            {
                eprintln!("  {login:<14} {who}");
            }
            eprintln!("  dept01–dept30 各部门承办人， town01–town15 各乡镇承办人\n");
            if no_serve {
                return Ok(String::new());
            }
            let config = Config {
                db: db.clone(),
                listen,
                demo_logins: logins,
                // The demo county's 县信访局 organises 复查 and 复核 for the county government.
                review_unit: "县信访局".into(),
                ..Config::default()
            };
            serve(config, store, clock).await?;
            Ok(String::new())
        }
        Top::Bench {
            requests,
            clients,
            postgres,
            with_models,
        } => {
            if requests == 0 || clients == 0 {
                bail!("--requests 和 --clients 至少为 1");
            }
            let f = bench::run(requests, clients, postgres, with_models).await?;
            let cpu = match (f.cpu_us, f.writer_cpu_us) {
                (Some(all), Some(writer)) => format!(
                    "\nCPU per registration (server, background work and load generator): {all:.0} µs, \
                     of which the store's writer thread {writer:.0} µs"
                ),
                (Some(all), None) => format!(
                    "\nCPU per registration in this process (server, background work and load \
                     generator; not the database's): {all:.0} µs"
                ),
                _ => String::new(),
            };
            let cpu = match f.disk_bytes {
                Some(b) => format!(
                    "{cpu}\nwritten to disk per registration: {:.1} KiB",
                    b / 1024.0
                ),
                None => cpu,
            };
            if let Some(pg) = &f.postgres {
                return Ok(format!(
                    "registrations through HTTP on PostgreSQL ({} requests, {} concurrent clients, synchronous_commit=on):\n  \
                     {:>10.0} /s   p50 {:.2} ms   p99 {:.2} ms\n\
                     the same rows straight into PostgreSQL, one row per transaction, {} connections, same run:\n  \
                     {:>10.0} /s\n\
                     the same rows straight into SQLite (synchronous=FULL), same run, same disk:\n  \
                     {:>10.0} /s   one row per transaction\n  \
                     {:>10.0} /s   all rows in one transaction\n\
                     ratio HTTP / PostgreSQL direct: {:.2}x{cpu}",
                    f.requests, f.clients, f.http_rps, f.p50_ms, f.p99_ms, pg.connections, pg.direct_rps,
                    f.direct_single_rps, f.direct_batched_rps, f.http_rps / pg.direct_rps
                ));
            }
            let models = if with_models {
                ", trained routing models"
            } else {
                ", no routing model"
            };
            Ok(format!(
                "registrations through HTTP ({} requests, {} concurrent clients, synchronous=FULL, group commit{models}):\n  \
                 {:>10.0} /s   p50 {:.2} ms   p99 {:.2} ms\n\
                 the same rows straight into SQLite (synchronous=FULL), same run, same disk:\n  \
                 {:>10.0} /s   one row per transaction\n  \
                 {:>10.0} /s   all rows in one transaction\n\
                 ratio HTTP / one-per-transaction: {:.1}x{cpu}",
                f.requests, f.clients, f.http_rps, f.p50_ms, f.p99_ms, f.direct_single_rps, f.direct_batched_rps,
                f.http_rps / f.direct_single_rps
            ))
        }
        Top::Init {
            db,
            county,
            admin_login,
            password,
        } => {
            let store = open(&db).await?;
            if store.catalog().org.units().next().is_some() {
                bail!("{db} 已有单位；添加账号请用 `bihuan user add`");
            }
            let name = county.trim();
            if name.is_empty() {
                bail!("县（市）名称不能为空");
            }
            store
                .put_units(vec![Unit {
                    id: UnitId(1),
                    name: name.into(),
                    kind: UnitKind::County,
                    parent: None,
                    aliases: vec![],
                }])
                .await?;
            let h = hash(&password).await?;
            let u = store
                .create_user(NewUser {
                    login: admin_login,
                    name: "管理员".into(),
                    role: Role::Admin,
                    unit: UnitId(1),
                    password_hash: h,
                })
                .await?;
            Ok(format!(
                "created {name} (unit 1) and administrator {} (user {}) in {db}",
                u.login, u.id.0
            ))
        }
        Top::User { command } => match command {
            UserCmd::Add {
                db,
                login,
                name,
                role,
                unit,
                password,
            } => {
                let role: Role = serde_json::from_value(serde_json::Value::String(role.clone()))
                    .ok()
                    .filter(|r| *r != Role::System)
                    .with_context(|| format!("unknown role {role:?}: use operator, dispatcher, handler, unit_leader, supervisor, return_visitor, grid_member, leader or admin"))?;
                let store = open(&db).await?;
                let h = hash(&password).await?;
                let u = store
                    .create_user(NewUser {
                        login,
                        name,
                        role,
                        unit: UnitId(unit),
                        password_hash: h,
                    })
                    .await?;
                Ok(format!(
                    "created user {} (id {}, {})",
                    u.login,
                    u.id.0,
                    u.role.label()
                ))
            }
            UserCmd::List { db } => {
                let store = open(&db).await?;
                let users = store.users().await?;
                Ok(users
                    .iter()
                    .map(|u| {
                        format!(
                            "{}\t{}\t{}\t{}\tunit {}{}",
                            u.id.0,
                            u.login,
                            u.name,
                            u.role.label(),
                            u.unit.0,
                            if u.active { "" } else { "\t（停用）" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
        },
        Top::Import {
            db,
            file,
            mapping,
            as_login,
            dry_run,
            rejected,
        } => {
            let text = std::fs::read_to_string(&mapping)
                .with_context(|| format!("cannot read {}", mapping.display()))?;
            let map: import::Mapping = toml::from_str(&text)
                .with_context(|| format!("invalid mapping file {}", mapping.display()))?;
            let store = open(&db).await?;
            let user = store
                .user_by_login(&as_login)
                .await
                .with_context(|| format!("no user {as_login:?}"))?;
            let actor = store.catalog().actor(&user);
            let run = import::Run {
                dry_run,
                rejected,
                progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let started = std::time::Instant::now();
            let report =
                import::import(&store, &file, &map, &actor, &run, chrono::Utc::now()).await?;
            let secs = started.elapsed().as_secs_f64();
            let mut out = format!(
                "{}{} new ({} closed, entered as history), {} already present, {} refused; {:.0} rows/s",
                if report.dry_run { "dry run: would import " } else { "imported " },
                report.created,
                report.closed,
                report.skipped,
                report.errors.len(),
                (report.created + report.skipped + report.errors.len() as u64) as f64 / secs.max(1e-9)
            );
            for (line, reason) in report.errors.iter().take(50) {
                out.push_str(&format!("\nline {line}: {reason}"));
            }
            if report.errors.len() > 50 {
                out.push_str(&format!("\n… {} more", report.errors.len() - 50));
            }
            if let Some(f) = &report.rejected_file {
                out.push_str(&format!(
                    "\nrefused rows written to {} (fix them and import that file with the same mapping)",
                    f.display()
                ));
            }
            if report.errors.is_empty() {
                Ok(out)
            } else {
                println!("{out}");
                Err(anyhow::Error::new(RowsRefused(report.errors.len())))
            }
        }
        Top::Export { db, out, from, to } => {
            let store = open(&db).await?;
            let mut filter = AppealFilter::default();
            if let Some(f) = from {
                filter.from = Some(bihuan_domain::time::start_of_day(parse_date(&f)?));
            }
            if let Some(t) = to {
                filter.to = parse_date(&t)?
                    .succ_opt()
                    .map(bihuan_domain::time::start_of_day);
            }
            let now = chrono::Utc::now();
            let n = if out == "-" {
                let mut stdout = std::io::stdout().lock();
                export::export_csv(&store, filter, now, &mut stdout).await?
            } else {
                let mut f = std::io::BufWriter::new(
                    std::fs::File::create(&out).with_context(|| format!("cannot create {out}"))?,
                );
                export::export_csv(&store, filter, now, &mut f).await?
            };
            eprintln!("已导出 {n} 件诉求");
            Ok(String::new())
        }
        Top::Generate { db, appeals, seed } => {
            if appeals == 0 {
                bail!("--appeals 至少为 1");
            }
            let store = open(&db).await?;
            let county = demo::county();
            if store.catalog().org.units().next().is_none() {
                let h = hash(demo::DEMO_PASSWORD).await?;
                demo::install(&store, &county, &h).await?;
            }
            let started = std::time::Instant::now();
            // `BIHUAN_NOW` sets the day the county stands at (as for `serve` and `demo`).
            let real = match OffsetClock::from_env()? {
                Some(c) => c.now(),
                None => demo::now(),
            };
            let now = demo_clock(&store.catalog().calendar, real)
                .map(|c| c.now())
                .unwrap_or(real);
            let n = with_progress(
                &format!("生成 {appeals} 件诉求"),
                demo::generate(&store, &county, appeals, now, seed),
            )
            .await?;
            let secs = started.elapsed().as_secs_f64();
            Ok(format!(
                "generated {n} appeals in {secs:.1} s ({:.0}/s) into {db}",
                n as f64 / secs
            ))
        }
        Top::Storage { command } => storage(command).await,
        Top::Rollups {
            command: RollupsCmd::Rebuild { db },
        } => {
            let store = open(&db).await?;
            let started = std::time::Instant::now();
            let n = with_progress("重建汇总数据", store.rebuild_rollups())
                .await
                .map_err(|e| anyhow::anyhow!("重建失败，原有汇总数据保留不变：{e}"))?;
            Ok(format!(
                "rollups rebuilt from {n} appeals in {:.1} s",
                started.elapsed().as_secs_f64()
            ))
        }
        Top::BenchMetrics {
            db,
            requests,
            python,
            rebuild,
        } => {
            let store = open(&db).await?;
            bench::metrics(store, requests, &python, rebuild).await
        }
        Top::BenchVisits {
            households,
            visits,
            samples,
        } => bench::visits(households, visits, samples).await,
        Top::Train { db } => {
            let store = open(&db).await?;
            let r = bihuan_server::smart::train(&store, chrono::Utc::now()).await?;
            Ok(r.describe())
        }
        Top::Search {
            command: SearchCmd::Rebuild { db, dir },
        } => {
            let config = search_config(&db, dir);
            if config.search_dir.is_empty() {
                bail!("PostgreSQL 上每台服务器的搜索索引在内存中，启动时自动建立，无需重建；若服务器配置了 search_dir，请用 --dir 指定该目录（先停止该服务器）");
            }
            let store = open(&db).await?;
            let smart = bihuan_server::smart::Smart::open(&store, &config).await?;
            let started = std::time::Instant::now();
            let n = with_progress("重建搜索索引", smart.rebuild(&store)).await?;
            Ok(format!(
                "搜索索引已重建： {n} 件诉求， {} 个文档， 用时 {:.1} 秒",
                smart.search.documents(),
                started.elapsed().as_secs_f64()
            ))
        }
        Top::Search {
            command: SearchCmd::Bench { db, dir, queries },
        } => {
            let store = open(&db).await?;
            bench::search(store, search_config(&db, dir), queries).await
        }
        Top::Eval {
            command:
                EvalCmd::Classify {
                    data,
                    folds,
                    python,
                },
        } => tokio::task::spawn_blocking(move || eval::classify(&data, folds, &python)).await?,
        Top::Eval {
            command: EvalCmd::Duplicates { data, unjudged },
        } => tokio::task::spawn_blocking(move || eval::dups(&data, unjudged.as_deref())).await?,
        Top::Backup { db, out } => {
            if out.exists() {
                bail!(
                    "{} already exists; choose a new name (a backup never overwrites a file)",
                    out.display()
                );
            }
            let store = open(&db).await?;
            let started = std::time::Instant::now();
            let s = with_progress("备份", store.backup(out.clone()))
                .await
                .map_err(|e| anyhow::anyhow!("备份失败：{e}"))?;
            let on_disk = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(s.bytes);
            Ok(format!(
                "备份完成 backup written: {} ({:.1} MB on disk, {:.1} MB of JSON, {:.1} s)\n{}",
                out.display(),
                on_disk as f64 / 1e6,
                s.bytes as f64 / 1e6,
                started.elapsed().as_secs_f64(),
                table_counts(&s)
            ))
        }
        Top::Restore { db, from } => {
            let store = open_raw(&db).await?;
            let started = std::time::Instant::now();
            let s = with_progress("恢复", store.restore(from.clone()))
                .await
                .map_err(|e| anyhow::anyhow!("恢复失败，数据未作任何改动：{e}"))?;
            // The archive's index rows may be an older version's: rebuilt from the states.
            bihuan_server::ensure_indexes(store.as_ref()).await?;
            Ok(format!(
                "恢复完成 restored {} into {db} ({:.1} s)\n{}",
                from.display(),
                started.elapsed().as_secs_f64(),
                table_counts(&s)
            ))
        }
    }
}

fn table_counts(s: &bihuan_store::backup::BackupSummary) -> String {
    s.tables
        .iter()
        .map(|(t, n)| format!("  {t:<15} {n:>10}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs a long job with a spinner and the time it has taken on the terminal (nothing when
/// standard error is not a terminal: logs and CI stay clean).
async fn storage(cmd: StorageCmd) -> Result<String> {
    use bihuan_store::sqlite::maintain;
    let sqlite_file = |db: &Path| -> Result<()> {
        if db.to_string_lossy().starts_with("postgres") {
            bail!("storage 只适用于 SQLite 数据库文件；PostgreSQL 用它自己的工具（见 docs/deployment.md）");
        }
        if !db.exists() {
            bail!("数据库文件 {} 不存在", db.display());
        }
        Ok(())
    };
    match cmd {
        StorageCmd::Report { db } => {
            sqlite_file(&db)?;
            let store = SqliteStore::open(&db)
                .with_context(|| format!("cannot open the database {}", db.display()))?;
            let r = store.storage_report().await?;
            let mut out = format!(
                "{}: {} appeals, {} events, page size {} B, {:.1} MB ({:.0} bytes per appeal, {} free pages)\n",
                db.display(),
                r.appeals,
                r.events,
                r.page_size,
                r.file_bytes as f64 / 1e6,
                r.per_appeal(r.file_bytes),
                r.free_pages
            );
            if r.text_appeals + r.text_events > 0 {
                out.push_str(&format!(
                    "{} appeals and {} events are kept as text from an older version: `bihuan storage compact --db {}` rewrites them\n",
                    r.text_appeals,
                    r.text_events,
                    db.display()
                ));
            }
            out.push_str("| table or index | of table | pages | MB | bytes per appeal |\n|---|---|---|---|---|\n");
            for o in &r.objects {
                out.push_str(&format!(
                    "| {} | {} | {} | {:.1} | {:.0} |\n",
                    o.name,
                    o.table,
                    o.pages,
                    o.bytes as f64 / 1e6,
                    r.per_appeal(o.bytes)
                ));
            }
            Ok(out.trim_end().to_string())
        }
        StorageCmd::Compact { db } => {
            sqlite_file(&db)?;
            let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                indicatif::ProgressBar::new(0)
            } else {
                indicatif::ProgressBar::hidden()
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} 行已压缩（已用 {elapsed}，约剩 {eta}）",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let path = db.clone();
            let b = bar.clone();
            let started = std::time::Instant::now();
            let s = tokio::task::spawn_blocking(move || {
                maintain::compact(&path, &|done, total| {
                    b.set_length(total);
                    b.set_position(done);
                })
            })
            .await?
            .map_err(|e| {
                anyhow::anyhow!(
                    "压缩未完成（已压缩的部分保留，可再次运行继续）：{e}；若提示数据库被占用，请先停止使用该数据库的服务器，并确认磁盘有一份数据库大小的空余空间"
                )
            })?;
            bar.finish_and_clear();
            Ok(format!(
                "compacted {} appeals and {} events in {:.1} s: {:.1} MB → {:.1} MB",
                s.appeals,
                s.events,
                started.elapsed().as_secs_f64(),
                s.bytes_before as f64 / 1e6,
                s.bytes_after as f64 / 1e6
            ))
        }
        StorageCmd::Train {
            db,
            out,
            samples,
            size,
        } => {
            sqlite_file(&db)?;
            let (state, event) = maintain::train_dictionaries(&db, samples, size)?;
            std::fs::create_dir_all(&out)?;
            let (sp, ep) = (out.join("state-N.zdict"), out.join("event-N.zdict"));
            std::fs::write(&sp, &state)?;
            std::fs::write(&ep, &event)?;
            Ok(format!(
                "wrote {} ({} B) and {} ({} B); rename N to the next free number and give it a new codec byte (crates/bihuan-store/src/sqlite/codec.rs)",
                sp.display(),
                state.len(),
                ep.display(),
                event.len()
            ))
        }
    }
}

async fn with_progress<T>(what: &str, job: impl std::future::Future<Output = T>) -> T {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}（已用 {elapsed}）")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b.set_message(what.to_string());
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let out = job.await;
    bar.finish_and_clear();
    out
}

/// Some rows of an import were refused: the command ends with exit code 1 (2 is a failure).
#[derive(Debug)]
struct RowsRefused(usize);

impl std::fmt::Display for RowsRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} 行被拒绝，未导入", self.0)
    }
}

impl std::error::Error for RowsRefused {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("错误：无法启动运行环境：{e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(out) => {
            if !out.is_empty() {
                println!("{out}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("错误：{e:#}");
            if e.downcast_ref::<RowsRefused>().is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option of every subcommand says what it is (`bihuan <cmd> --help`).
    #[test]
    fn every_option_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id != "help" && id != "version" && a.get_help().is_none() {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(
            &<Cli as clap::CommandFactory>::command(),
            "bihuan",
            &mut missing,
        );
        assert!(missing.is_empty(), "options without help: {missing:?}");
    }
    use bihuan_domain::time::{local, local_date};

    #[test]
    fn the_demo_clock_stays_inside_the_calendar() {
        let cal = Calendar::official();
        // December 2026: deadlines run into 2027, which the calendar answers provisionally.
        assert!(demo_clock(&cal, local(2026, 12, 28, 10, 0, 0).unwrap()).is_none());
        // Late December 2028, past the provisional years too: the clock stops where fifteen
        // working days still fit.
        let clock = demo_clock(&cal, local(2028, 12, 28, 10, 0, 0).unwrap()).unwrap();
        let day = local_date(clock.now());
        assert!(cal.add_working_days(day, 15).is_ok());
        assert!(
            cal.add_working_days(day.succ_opt().unwrap(), 15).is_err()
                || !cal.is_workday(day.succ_opt().unwrap()).unwrap()
        );
        assert_eq!(day.year(), 2028);
        assert!(day.month() == 12 && day.day() < 28, "{day}");
    }
}
