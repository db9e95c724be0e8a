//! Import of appeals from another system's CSV or XLSX export — a Chinese 12345 platform or a
//! Socrata-style 311 export — with their history (`docs/import.md`).
//!
//! A TOML mapping names the export's columns for our fields and may translate its values:
//!
//! ```toml
//! [columns]
//! content = ["Complaint Type", "Descriptor"]   # one column, or several joined
//! created = "Created Date"                      # required
//! source_number = "Unique Key"                  # the source's work-order number
//! status = "Status"
//! closed = "Closed Date"
//! lead = "Agency"
//! lat = "Latitude"
//! long = "Longitude"
//!
//! [values.status]
//! "Closed" = "closed"
//! "In Progress" = "in_progress"
//!
//! [values.lead]
//! "NYPD" = "县公安局"
//!
//! [options]
//! timezone = "-05:00"
//! source = "nyc311"
//! ```
//!
//! Every row is checked whole first, and each of its problems is reported with its line (the
//! header is line 1, whatever the line ends). Good rows become appeals with the history their
//! status implies — registered, dispatched to the lead unit, replied, return-visited and closed
//! at the source's times — and are written in batches, each batch one transaction with its
//! rollups. A closed row enters as history: nothing runs on it, nothing is supervised. The
//! source's work-order number is kept on the appeal (its text ends with it, so search finds it)
//! and is the row's idempotency key, so the same rows from an XLSX and then a CSV are one
//! appeal each. Refused rows are written to a file to fix and import again.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use bihuan_domain::appeal::{Citizen, Phone, Place};
use bihuan_domain::category::CategoryId;
use bihuan_domain::lifecycle::{
    Actor, Appeal, Command, EventRecord, NewAppeal, Rating, Reply, ReplyResult, ReturnVisit, Role,
};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::{local_date, Instant};
use bihuan_domain::{AppealId, AppealNumber, Channel, Kind, Urgency};
use bihuan_store::Store;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use sha2::Digest;

/// One column, or several whose values are joined.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Cols {
    One(String),
    Many(Vec<String>),
}

impl Cols {
    fn names(&self) -> Vec<&str> {
        match self {
            Cols::One(s) => vec![s.as_str()],
            Cols::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub columns: Columns,
    #[serde(default)]
    pub defaults: Defaults,
    /// Value maps: the export's value → ours, per field.
    #[serde(default)]
    pub values: Values,
    #[serde(default)]
    pub options: Options,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// The subject line; without it, the first 30 characters of the content.
    pub title: Option<Cols>,
    pub content: Cols,
    pub created: String,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub address: Option<Cols>,
    pub channel: Option<String>,
    pub kind: Option<String>,
    /// A category name or path; several columns are joined into a path.
    pub category: Option<Cols>,
    pub township: Option<String>,
    /// The source system's work-order number: kept, searchable, the row's idempotency key.
    pub source_number: Option<String>,
    /// open, dispatched, in_progress, replied, closed (or 待交办 … 已办结), after `values.status`.
    pub status: Option<String>,
    /// The lead unit (a unit's name or alias), after `values.lead`.
    pub lead: Option<String>,
    /// The reply text.
    pub reply: Option<String>,
    /// When it was replied.
    pub replied: Option<String>,
    /// When it was closed.
    pub closed: Option<String>,
    /// The return visit's result: 满意, 基本满意, 不满意, 未联系上 (after `values.visit`).
    pub visit: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    pub channel: String,
    pub kind: String,
    /// The lead unit of rows whose status needs one and that name none.
    pub lead: Option<String>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            channel: "hotline".into(),
            kind: "help".into(),
            lead: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Values {
    pub channel: BTreeMap<String, String>,
    pub kind: BTreeMap<String, String>,
    pub status: BTreeMap<String, String>,
    pub lead: BTreeMap<String, String>,
    pub category: BTreeMap<String, String>,
    pub township: BTreeMap<String, String>,
    pub visit: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// The zone of times written without one: `+08:00` (China, the default), `-05:00`, `UTC`.
    pub timezone: String,
    /// A name for the source system, prefixed to its work-order numbers in the keys.
    pub source: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timezone: "+08:00".into(),
            source: "import".into(),
        }
    }
}

/// How to run an import.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Check and report only; write nothing.
    pub dry_run: bool,
    /// Where to write the refused rows (default: beside the file, `<name>.rejected.csv`).
    pub rejected: Option<PathBuf>,
    /// Show a progress bar on the terminal.
    pub progress: bool,
}

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct Report {
    pub created: u64,
    /// Of those, entered closed (as history).
    pub closed: u64,
    /// Rows already imported before (same source number, or same content).
    pub skipped: u64,
    /// (line in the file, every problem of the row)
    pub errors: Vec<(usize, String)>,
    /// Where the refused rows were written.
    pub rejected_file: Option<PathBuf>,
    pub dry_run: bool,
}

/// A header row and data rows with their line numbers.
pub type Table = (Vec<String>, Vec<(usize, Vec<String>)>);

/// Reads a table: header row, then data rows, with their line numbers (1-based, header = 1;
/// a record's line is where it starts, counted the same for LF and CRLF files).
pub fn read_table(path: &Path) -> anyhow::Result<Table> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "{} 不是 UTF-8 编码的文本：请在 Excel 中另存为「CSV UTF-8」",
                    path.display()
                )
            })?;
            let text = text.trim_start_matches('\u{feff}');
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(text.as_bytes());
            let headers = reader
                .headers()?
                .iter()
                .map(|h| h.trim().to_string())
                .collect();
            let mut rows = Vec::new();
            // Lines counted from byte offsets: one per '\n' before the record starts.
            let (mut counted_to, mut line) = (0usize, 1usize);
            for rec in reader.records() {
                let rec = rec.context("CSV 文件格式有误")?;
                let mut at = rec
                    .position()
                    .map_or(counted_to, |p| p.byte() as usize)
                    .min(text.len());
                // After a CRLF the reader may place a record at the line feed of the one
                // before: the record starts after it.
                while at < text.len() && matches!(text.as_bytes()[at], b'\r' | b'\n') {
                    at += 1;
                }
                line += text.as_bytes()[counted_to..at.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                counted_to = at.min(text.len());
                rows.push((line, rec.iter().map(str::to_string).collect()));
            }
            Ok((headers, rows))
        }
        "xlsx" | "xls" | "xlsm" => {
            use calamine::{open_workbook_auto, Data, Reader};
            let mut wb = open_workbook_auto(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let sheet = wb
                .sheet_names()
                .first()
                .cloned()
                .context("工作簿中没有工作表")?;
            let range = wb.worksheet_range(&sheet)?;
            let cell = |d: &Data| -> String {
                match d {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                        format!("{}", *f as i64)
                    }
                    Data::DateTime(dt) => dt
                        .as_datetime()
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default(),
                    other => other.to_string(),
                }
            };
            let mut rows = range.rows();
            let headers = rows
                .next()
                .context("工作表是空的")?
                .iter()
                .map(|c| cell(c).trim().to_string())
                .collect();
            let data = rows
                .enumerate()
                .map(|(i, r)| (i + 2, r.iter().map(cell).collect()))
                .collect();
            Ok((headers, data))
        }
        _ => bail!("{}：请使用 .csv 或 .xlsx 文件", path.display()),
    }
}

/// The zone of `options.timezone`.
pub fn parse_zone(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Parses the times exports use: RFC 3339 / ISO 8601 with a zone (`2024-04-16T03:03:15Z`,
/// `…+08:00`), ISO 8601 without one (`2024-04-16T03:03:15.000`), the Chinese forms
/// (`2026-11-27 09:30:00`, `2026/11/27 09:30`, `2026年11月27日 09:30`), the US form
/// (`04/16/2024 03:03:15 AM`), or a date alone (09:00 that day). Times without a zone are in
/// `zone`.
pub fn parse_time(s: &str, zone: FixedOffset) -> Option<Instant> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = t.with_timezone(&Utc);
        return bihuan_domain::time::date_in_range(t.date_naive()).then_some(t);
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M",
        "%Y年%m月%d日 %H:%M:%S",
        "%Y年%m月%d日 %H:%M",
        "%Y年%m月%d日%H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            if !bihuan_domain::time::date_in_range(t.date()) {
                return None;
            }
            return zone
                .from_local_datetime(&t)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            if !bihuan_domain::time::date_in_range(d) {
                return None;
            }
            return zone
                .from_local_datetime(&d.and_hms_opt(9, 0, 0)?)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    None
}

/// Where a row's appeal stands in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Open,
    Dispatched,
    InProgress,
    Replied,
    Closed,
}

const STAGES: &str = "open（待交办）、dispatched（已交办）、in_progress（办理中）、replied（已答复）、closed（已办结）";

fn stage(s: &str) -> Option<Stage> {
    Some(match s.trim().to_lowercase().as_str() {
        "open" | "new" | "pending" | "待交办" | "待受理" | "已受理" => Stage::Open,
        "dispatched" | "assigned" | "已交办" | "已派单" | "待签收" => Stage::Dispatched,
        "in_progress" | "in progress" | "办理中" | "处理中" | "已签收" => {
            Stage::InProgress
        }
        "replied" | "已答复" | "已回复" | "待回访" => Stage::Replied,
        "closed" | "completed" | "已办结" | "已完成" | "已关闭" | "已归档" => {
            Stage::Closed
        }
        _ => return None,
    })
}

const VISITS: &str =
    "满意、基本满意、不满意、未联系上（或 satisfied、basic、unsatisfied、unreached）";

/// A return visit's result: `None` inside: not reached.
fn visit(s: &str) -> Option<Option<Rating>> {
    Some(match s.trim().to_lowercase().as_str() {
        "满意" | "非常满意" | "satisfied" => Some(Rating::Satisfied),
        "基本满意" | "basic" => Some(Rating::Basic),
        "不满意" | "unsatisfied" => Some(Rating::Unsatisfied),
        "未联系上" | "未回访" | "unreached" => None,
        _ => return None,
    })
}

/// A row, checked: what to register and what happened to it.
struct Row {
    line: usize,
    /// Its place in the batch being read (for the refused-rows file).
    pos: usize,
    key: String,
    new: NewAppeal,
    created: Instant,
    stage: Stage,
    lead: Option<UnitId>,
    reply: Option<String>,
    replied: Option<Instant>,
    closed: Option<Instant>,
    visit: Option<Option<Rating>>,
}

struct Checker<'a> {
    mapping: &'a Mapping,
    zone: FixedOffset,
    catalog: &'a bihuan_store::Catalog,
    categories: HashMap<String, Vec<CategoryId>>,
    index: HashMap<&'static str, Vec<usize>>,
    now: Instant,
}

fn accepted<'m>(map: &'m BTreeMap<String, String>, s: &'m str) -> &'m str {
    map.get(s).map(String::as_str).unwrap_or(s)
}

impl Checker<'_> {
    fn cols(&self, field: &'static str) -> &[usize] {
        self.index.get(field).map_or(&[], Vec::as_slice)
    }

    fn value(&self, row: &[String], field: &'static str, sep: &str) -> Option<String> {
        let parts: Vec<&str> = self
            .cols(field)
            .iter()
            .filter_map(|i| row.get(*i).map(|s| s.trim()))
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(sep))
    }

    fn unit_named(&self, s: &str) -> Option<UnitId> {
        self.catalog
            .org
            .find_by_name(s)
            .find(|u| u.kind.can_handle())
            .map(|u| u.id)
    }

    fn check(&self, line: usize, pos: usize, row: &[String]) -> Result<Row, Vec<String>> {
        let m = self.mapping;
        let v = &m.values;
        let mut problems: Vec<String> = Vec::new();
        let time = |field: &'static str,
                    label: &str,
                    problems: &mut Vec<String>|
         -> Option<Instant> {
            let s = self.value(row, field, " ")?;
            match parse_time(&s, self.zone) {
                Some(t) if t <= self.now => Some(t),
                Some(_) => {
                    problems.push(format!("{label}「{s}」晚于现在"));
                    None
                }
                None => {
                    problems.push(format!(
                        "{label}「{s}」无法识别（可写 2026-11-27 09:30:00、2024-04-16T03:03:15.000 或带时区的 2024-04-16T03:03:15+08:00）"
                    ));
                    None
                }
            }
        };
        let created = time("created", "登记时间", &mut problems);
        if created.is_none() && self.value(row, "created", " ").is_none() {
            problems.push("缺少登记时间".into());
        }
        let replied = time("replied", "答复时间", &mut problems);
        let closed = time("closed", "办结时间", &mut problems);
        let content = self.value(row, "content", "：").unwrap_or_default();
        if content.is_empty() {
            problems.push("缺少诉求内容".into());
        }
        let title = self.value(row, "title", " ").unwrap_or_else(|| {
            content
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(30)
                .collect()
        });
        let channel = match self.value(row, "channel", " ") {
            Some(s) => match Channel::parse(accepted(&v.channel, &s)) {
                Some(c) => c,
                None => {
                    let ok: Vec<String> = Channel::ALL
                        .iter()
                        .map(|c| format!("{}（{}）", c.code(), c.label()))
                        .collect();
                    problems.push(format!(
                        "渠道「{s}」不可用：可写 {}，或在映射文件的 [values.channel] 中对照",
                        ok.join("、")
                    ));
                    Channel::Other
                }
            },
            None => Channel::parse(&m.defaults.channel).unwrap_or(Channel::Other),
        };
        let kind = match self.value(row, "kind", " ") {
            Some(s) => match Kind::parse(accepted(&v.kind, &s)) {
                Some(k) => k,
                None => {
                    let ok: Vec<String> = Kind::ALL
                        .iter()
                        .map(|k| format!("{}（{}）", k.code(), k.label()))
                        .collect();
                    problems.push(format!(
                        "诉求类型「{s}」不可用：可写 {}，或在 [values.kind] 中对照",
                        ok.join("、")
                    ));
                    Kind::Help
                }
            },
            None => Kind::parse(&m.defaults.kind).unwrap_or(Kind::Help),
        };
        let category = match self.value(row, "category", " / ") {
            Some(s) => {
                let s = accepted(&v.category, &s).to_string();
                match self.categories.get(&s.replace(' ', "")).map(Vec::as_slice) {
                    Some([one]) => Some(*one),
                    Some(_) => {
                        problems.push(format!(
                            "分类「{s}」有重名：请写完整路径（如 城乡建设 / 市政设施 / 路灯）"
                        ));
                        None
                    }
                    None => {
                        problems.push(format!("没有分类「{s}」：请写分类名称或完整路径，或在 [values.category] 中对照"));
                        None
                    }
                }
            }
            None => None,
        };
        let township = match self.value(row, "township", " ") {
            Some(s) => {
                let s = accepted(&v.township, &s);
                let t = self
                    .catalog
                    .org
                    .find_by_name(s)
                    .find(|u| u.kind == UnitKind::Township)
                    .map(|u| u.id);
                if t.is_none() {
                    problems.push(format!(
                        "没有乡镇（街道）「{s}」：请写名称或别名，或在 [values.township] 中对照"
                    ));
                }
                t
            }
            None => None,
        };
        let stage = match self.value(row, "status", " ") {
            Some(s) => match stage(accepted(&v.status, &s)) {
                Some(st) => st,
                None => {
                    problems.push(format!(
                        "状态「{s}」不可用：可写 {STAGES}，或在 [values.status] 中对照"
                    ));
                    Stage::Open
                }
            },
            None if closed.is_some() => Stage::Closed,
            None => Stage::Open,
        };
        let lead = match self
            .value(row, "lead", " ")
            .or_else(|| m.defaults.lead.clone())
        {
            Some(s) => {
                let s = accepted(&v.lead, &s).to_string();
                let u = self.unit_named(&s);
                if u.is_none() {
                    problems.push(format!(
                        "没有承办单位「{s}」：请写单位名称或别名，或在 [values.lead] 中对照"
                    ));
                }
                u
            }
            None if stage > Stage::Open => {
                problems.push(
                    "已交办的工单须有承办单位：请映射 lead 列，或在 [defaults] 中写 lead".into(),
                );
                None
            }
            None => None,
        };
        let visit_result = match self.value(row, "visit", " ") {
            Some(s) => match visit(accepted(&v.visit, &s)) {
                Some(r) => Some(r),
                None => {
                    problems.push(format!(
                        "回访结果「{s}」不可用：可写 {VISITS}，或在 [values.visit] 中对照"
                    ));
                    None
                }
            },
            None => None,
        };
        if stage == Stage::Closed && closed.is_none() {
            problems.push("已办结的工单须有办结时间（closed 列）".into());
        }
        if let (Some(c), Some(t)) = (created, replied.or(closed)) {
            if t < c {
                problems.push("答复或办结时间早于登记时间".into());
            }
        }
        let phone = match self.value(row, "phone", " ") {
            Some(p) => match Phone::parse(&p) {
                Ok(ph) => Some(ph),
                Err(e) => {
                    problems.push(format!("电话「{p}」无效：{e}"));
                    None
                }
            },
            None => None,
        };
        let coord = |field: &'static str,
                     range: std::ops::RangeInclusive<f64>,
                     problems: &mut Vec<String>|
         -> Option<f64> {
            let s = self.value(row, field, " ")?;
            match s.parse::<f64>() {
                Ok(x) if x.is_finite() && range.contains(&x) => Some(x),
                _ => {
                    problems.push(format!("坐标「{s}」无效"));
                    None
                }
            }
        };
        let lat = coord("lat", -90.0..=90.0, &mut problems);
        let long = coord("long", -180.0..=180.0, &mut problems);
        let source = self.value(row, "source_number", " ");
        if !problems.is_empty() {
            return Err(problems);
        }
        let created = created.unwrap_or(self.now);
        let mut content = content;
        if let Some(n) = &source {
            content.push_str(&format!("\n（原系统工单号：{n}）"));
        }
        let new = NewAppeal {
            accused_units: vec![],
            accused_persons: vec![],
            group: None,
            forwarded_from: None,
            repeat_of: None,
            channel,
            kind,
            urgency: Urgency::Normal,
            category,
            title: title.chars().take(200).collect(),
            content,
            place: Place {
                address: self.value(row, "address", " ").unwrap_or_default(),
                township,
                village: None,
                grid: None,
                // 0,0 is what exports write for "no location".
                coordinates: lat
                    .zip(long)
                    .filter(|(a, b)| *a != 0.0 || *b != 0.0)
                    .map(|(lat, lon)| (lon, lat)),
            },
            citizen: Citizen {
                name: self.value(row, "name", " "),
                phone,
                organisation: None,
            },
        };
        let key = match &source {
            Some(n) => format!("import:{}:{n}", m.options.source),
            // Without a number: the row's meaning, not its spelling (an XLSX date cell and the
            // CSV's text of it are the same row).
            None => {
                let text = serde_json::to_string(&(
                    &new,
                    created,
                    stage as u8,
                    lead.map(|u| u.0),
                    replied,
                    closed,
                ))
                .unwrap_or_default();
                format!(
                    "import:{}",
                    hex::encode(sha2::Sha256::digest(text.as_bytes()))
                )
            }
        };
        Ok(Row {
            line,
            pos,
            key,
            new,
            created,
            stage,
            lead,
            reply: self.value(row, "reply", " "),
            replied,
            closed,
            visit: visit_result,
        })
    }
}

/// The actors an imported history is told by: the importer registers; the source system's
/// dispatch, handling, visit and close are recorded as 历史数据导入 in the roles that did them.
struct Cast {
    registrar: Actor,
    centre: Actor,
    visitor: Actor,
}

impl Cast {
    fn handler(&self, catalog: &bihuan_store::Catalog, unit: UnitId) -> Actor {
        Actor {
            role: Role::Handler,
            unit,
            unit_kind: catalog
                .org
                .get(unit)
                .map_or(UnitKind::Department, |u| u.kind),
            ..self.centre.clone()
        }
    }
}

/// A row's history: registration, then each step its status implies, at the source's times.
fn history(
    row: &Row,
    id: AppealId,
    number: AppealNumber,
    cast: &Cast,
    catalog: &bihuan_store::Catalog,
) -> Result<Vec<EventRecord>, String> {
    let ctx = catalog.ctx();
    let (mut appeal, first) = Appeal::register(
        id,
        number,
        row.new.clone(),
        &cast.registrar,
        row.created,
        ctx,
    )
    .map_err(|e| e.message_zh())?;
    let mut records = vec![first];
    let mut step =
        |appeal: &mut Appeal, cmd: Command, actor: &Actor, at: Instant| -> Result<(), String> {
            let (next, recs) = appeal
                .handle(&cmd, actor, at.max(appeal.last_at), None, ctx)
                .map_err(|e| format!("{}：{}", cmd.name(), e.message_zh()))?;
            *appeal = next;
            records.extend(recs);
            Ok(())
        };
    let Some(lead) = row.lead.filter(|_| row.stage > Stage::Open) else {
        return Ok(records);
    };
    let handler = cast.handler(catalog, lead);
    step(
        &mut appeal,
        Command::Dispatch {
            lead,
            assisting: vec![],
            note: "历史数据导入".into(),
        },
        &cast.centre,
        row.created,
    )?;
    if row.stage >= Stage::InProgress {
        step(
            &mut appeal,
            Command::Sign { owner: None },
            &handler,
            row.created,
        )?;
    }
    if row.stage >= Stage::Replied {
        let at = row.replied.or(row.closed).unwrap_or(row.created);
        let text = row
            .reply
            .clone()
            .unwrap_or_else(|| "（原系统未导出答复内容）".into());
        step(
            &mut appeal,
            Command::Reply(Reply {
                result: ReplyResult::Resolved,
                reason: None,
                text,
                petition_outcome: None,
                attachments: vec![],
            }),
            &handler,
            at,
        )?;
    }
    if row.stage == Stage::Closed {
        let at = row.closed.unwrap_or(row.created);
        if let Some(rating) = row.visit {
            step(
                &mut appeal,
                Command::ReturnVisit(ReturnVisit {
                    contacted: rating.is_some(),
                    resolved: rating.map(|r| r != Rating::Unsatisfied),
                    rating,
                    comment: String::new(),
                }),
                &cast.visitor,
                at,
            )?;
        }
        step(
            &mut appeal,
            Command::Close {
                note: "历史数据导入：原系统已办结".into(),
            },
            &cast.centre,
            at,
        )?;
    }
    Ok(records)
}

/// How many rows are checked, numbered and written together (each batch one transaction).
const BATCH: usize = 5_000;

/// Imports a table into the store as `actor`.
pub async fn import(
    store: &Arc<dyn Store>,
    path: &Path,
    mapping: &Mapping,
    actor: &Actor,
    run: &Run,
    now: Instant,
) -> anyhow::Result<Report> {
    let zone = parse_zone(&mapping.options.timezone).with_context(|| {
        format!(
            "[options] timezone「{}」无效：请写 +08:00、-05:00 或 UTC",
            mapping.options.timezone
        )
    })?;
    Channel::parse(&mapping.defaults.channel)
        .with_context(|| format!("[defaults] channel「{}」不可用", mapping.defaults.channel))?;
    Kind::parse(&mapping.defaults.kind)
        .with_context(|| format!("[defaults] kind「{}」不可用", mapping.defaults.kind))?;
    let (headers, rows) = read_table(path)?;
    let c = &mapping.columns;
    let mut index: HashMap<&'static str, Vec<usize>> = HashMap::new();
    let mut missing = Vec::new();
    {
        let mut add = |field: &'static str, names: Vec<&str>| {
            for name in names {
                match headers.iter().position(|h| h == name) {
                    Some(i) => index.entry(field).or_default().push(i),
                    None => missing.push(name.to_string()),
                }
            }
        };
        fn one(o: &Option<String>) -> Vec<&str> {
            o.iter().map(String::as_str).collect()
        }
        fn many(o: &Option<Cols>) -> Vec<&str> {
            o.as_ref().map(Cols::names).unwrap_or_default()
        }
        add("title", many(&c.title));
        add("content", c.content.names());
        add("created", vec![c.created.as_str()]);
        add("phone", one(&c.phone));
        add("name", one(&c.name));
        add("address", many(&c.address));
        add("channel", one(&c.channel));
        add("kind", one(&c.kind));
        add("category", many(&c.category));
        add("township", one(&c.township));
        add("source_number", one(&c.source_number));
        add("status", one(&c.status));
        add("lead", one(&c.lead));
        add("reply", one(&c.reply));
        add("replied", one(&c.replied));
        add("closed", one(&c.closed));
        add("visit", one(&c.visit));
        add("lat", one(&c.lat));
        add("long", one(&c.long));
    }
    if !missing.is_empty() {
        bail!(
            "文件中没有映射里写的列：{}（文件的列：{}）",
            missing.join("、"),
            headers.join("、")
        );
    }
    let catalog = store.catalog();
    // Categories by name and by path; a name two categories share is ambiguous.
    let mut categories: HashMap<String, Vec<CategoryId>> = HashMap::new();
    for cat in catalog.categories.iter() {
        let path = catalog
            .categories
            .path_name(cat.id)
            .unwrap_or_default()
            .replace(' ', "");
        let mut keys = vec![path];
        if !keys.contains(&cat.name) {
            keys.push(cat.name.clone());
        }
        for k in keys {
            let ids = categories.entry(k).or_default();
            if !ids.contains(&cat.id) {
                ids.push(cat.id);
            }
        }
    }
    let checker = Checker {
        mapping,
        zone,
        catalog: &catalog,
        categories,
        index,
        now,
    };
    let centre = Actor {
        name: "历史数据导入".into(),
        role: Role::Dispatcher,
        ..actor.clone()
    };
    let cast = Cast {
        registrar: actor.clone(),
        visitor: Actor {
            role: Role::ReturnVisitor,
            ..centre.clone()
        },
        centre,
    };
    let bar = if run.progress {
        let b = indicatif::ProgressBar::new(rows.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} 导入 [{bar:40}] {pos}/{len} 行 {per_sec} 剩余 {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut report = Report {
        dry_run: run.dry_run,
        ..Report::default()
    };
    let mut refused: Vec<(usize, &Vec<String>, String)> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    // A bulk load (the rollup sums written once at the end); each chunk is written while the
    // next is checked.
    if !run.dry_run {
        store.begin_bulk().await?;
    }
    let mut writing = std::collections::VecDeque::new();
    let mut next_id = 0u64;
    for chunk in rows.chunks(BATCH) {
        let mut good: Vec<Row> = Vec::new();
        for (pos, (line, row)) in chunk.iter().enumerate() {
            if row.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            match checker.check(*line, pos, row) {
                Ok(r) => {
                    // The same row twice in one file is one appeal.
                    if seen.insert(r.key.clone()) {
                        good.push(r);
                    } else {
                        report.skipped += 1;
                    }
                }
                Err(problems) => refused.push((*line, row, problems.join("；"))),
            }
        }
        let taken = store
            .existing_keys(good.iter().map(|r| r.key.clone()).collect())
            .await?;
        let before = good.len();
        good.retain(|r| !taken.contains(&r.key));
        report.skipped += (before - good.len()) as u64;
        // Numbers of each month in the order the rows were registered.
        good.sort_by_key(|r| r.created);
        let mut per_month: BTreeMap<(i32, u32), u32> = BTreeMap::new();
        for r in &good {
            let d = local_date(r.created);
            *per_month.entry((d.year(), d.month())).or_default() += 1;
        }
        let mut numbers: BTreeMap<(i32, u32), std::vec::IntoIter<u32>> = BTreeMap::new();
        if !run.dry_run {
            for ((y, m), n) in &per_month {
                numbers.insert(
                    (*y, *m),
                    store.allocate_numbers(*y, *m, *n).await?.into_iter(),
                );
            }
        }
        // Above the chunk still being written, too.
        let first_id = store.next_appeal_id().await?.0.max(next_id);
        let mut histories = Vec::with_capacity(good.len());
        for (i, r) in good.iter().enumerate() {
            let d = local_date(r.created);
            let seq = if run.dry_run {
                Some(i as u32 + 1)
            } else {
                numbers
                    .get_mut(&(d.year(), d.month()))
                    .and_then(Iterator::next)
            };
            let number = seq.and_then(|s| AppealNumber::new(d.year() as u16, d.month() as u8, s));
            let Some(number) = number else {
                refused.push((r.line, &chunk[r.pos].1, "本月的工单编号已用完".into()));
                continue;
            };
            match history(
                r,
                AppealId(first_id + histories.len() as u64),
                number,
                &cast,
                &catalog,
            ) {
                Ok(h) => {
                    if r.stage == Stage::Closed {
                        report.closed += 1;
                    }
                    histories.push((h, Some(r.key.clone())));
                }
                Err(m) => refused.push((r.line, &chunk[r.pos].1, m)),
            }
        }
        report.created += histories.len() as u64;
        next_id = first_id + histories.len() as u64;
        if !run.dry_run && !histories.is_empty() {
            // Two in flight: one being checked and encoded while the other is written.
            if writing.len() == 2 {
                let w: tokio::task::JoinHandle<bihuan_store::Result<u64>> =
                    writing.pop_front().expect("two");
                w.await??;
            }
            let s = store.clone();
            writing.push_back(tokio::spawn(
                async move { s.import_histories(histories).await },
            ));
        }
        bar.inc(chunk.len() as u64);
    }
    for w in writing {
        w.await??;
    }
    if !run.dry_run {
        store.finish_bulk().await?;
    }
    bar.finish_and_clear();
    refused.sort_by_key(|(l, _, _)| *l);
    report.errors = refused.iter().map(|(l, _, m)| (*l, m.clone())).collect();
    if !refused.is_empty() {
        let out = run.rejected.clone().unwrap_or_else(|| {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("import");
            path.with_file_name(format!("{stem}.rejected.csv"))
        });
        let mut w = csv::Writer::from_path(&out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        let mut header = vec!["原行号".to_string(), "错误原因".to_string()];
        header.extend(headers.iter().cloned());
        w.write_record(&header)?;
        for (line, row, why) in &refused {
            let mut rec = vec![line.to_string(), why.clone()];
            rec.extend(row.iter().cloned());
            w.write_record(&rec)?;
        }
        w.flush()?;
        report.rejected_file = Some(out);
    }
    Ok(report)
}
