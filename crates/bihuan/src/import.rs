//! Import of appeals from a 12345 system's CSV or XLSX export.
//!
//! A small TOML file maps the export's column headers to our fields:
//!
//! ```toml
//! [columns]
//! title = "标题"          # required
//! content = "诉求内容"    # required
//! created = "来电时间"    # required: when the appeal was registered
//! phone = "来电号码"
//! name = "来电人"
//! address = "地址"
//! channel = "渠道"        # a code or Chinese label (12345热线, 网站 …)
//! kind = "诉求类型"       # 咨询, 求助, 投诉 …
//! category = "分类"       # a category name or path (城乡建设 / 市政设施 / 路灯)
//! township = "乡镇"       # a township name or alias
//!
//! [defaults]
//! channel = "hotline"
//! kind = "help"
//! ```
//!
//! Each row is registered through the store like any other appeal, with an idempotency key made
//! from the row's content, so importing the same file twice creates nothing new. A bad row is
//! reported with its line number and the reason; good rows are kept.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use bihuan_domain::appeal::{Citizen, Phone, Place};
use bihuan_domain::lifecycle::{Actor, NewAppeal};
use bihuan_domain::org::UnitKind;
use bihuan_domain::time::{cst, Instant};
use bihuan_domain::{Channel, Kind, Urgency};
use bihuan_store::{Store, StoreError};
use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use sha2::Digest;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub columns: Columns,
    #[serde(default)]
    pub defaults: Defaults,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub title: String,
    pub content: String,
    pub created: String,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub channel: Option<String>,
    pub kind: Option<String>,
    pub category: Option<String>,
    pub township: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    pub channel: String,
    pub kind: String,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            channel: "hotline".into(),
            kind: "help".into(),
        }
    }
}

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct Report {
    pub created: u64,
    /// Rows already imported before (same content).
    pub skipped: u64,
    /// (line in the file, reason)
    pub errors: Vec<(usize, String)>,
}

/// A header row and data rows with their line numbers.
pub type Table = (Vec<String>, Vec<(usize, Vec<String>)>);

/// Reads a table: header row, then data rows, with their line numbers (1-based, header = 1).
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
            for rec in reader.records() {
                let rec = rec.context("CSV 文件格式有误")?;
                let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
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

/// Parses the time formats 12345 exports use, as China local time.
pub fn parse_time(s: &str) -> Option<Instant> {
    let s = s.trim();
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M",
        "%Y年%m月%d日 %H:%M:%S",
        "%Y年%m月%d日 %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            if !bihuan_domain::time::date_in_range(t.date()) {
                return None;
            }
            return cst()
                .from_local_datetime(&t)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            if !bihuan_domain::time::date_in_range(d) {
                return None;
            }
            return Some(bihuan_domain::time::start_of_day(d) + chrono::Duration::hours(9));
        }
    }
    None
}

/// Imports a table into the store as `actor`.
pub async fn import(
    store: &Arc<dyn Store>,
    path: &Path,
    mapping: &Mapping,
    actor: &Actor,
) -> anyhow::Result<Report> {
    let (headers, rows) = read_table(path)?;
    let col = |name: &str| -> anyhow::Result<usize> {
        headers.iter().position(|h| h == name).with_context(|| {
            format!(
                "the file has no column {name:?} (its columns: {})",
                headers.join(", ")
            )
        })
    };
    let opt = |name: &Option<String>| -> anyhow::Result<Option<usize>> {
        name.as_deref().map(col).transpose()
    };
    let c = &mapping.columns;
    let (i_title, i_content, i_created) = (col(&c.title)?, col(&c.content)?, col(&c.created)?);
    let (i_phone, i_name, i_addr) = (opt(&c.phone)?, opt(&c.name)?, opt(&c.address)?);
    let (i_channel, i_kind, i_cat, i_town) = (
        opt(&c.channel)?,
        opt(&c.kind)?,
        opt(&c.category)?,
        opt(&c.township)?,
    );
    let default_channel = Channel::parse(&mapping.defaults.channel)
        .with_context(|| format!("unknown default channel {:?}", mapping.defaults.channel))?;
    let default_kind = Kind::parse(&mapping.defaults.kind)
        .with_context(|| format!("unknown default kind {:?}", mapping.defaults.kind))?;

    let catalog = store.catalog();
    // Category look-up by leaf name and by full path.
    let mut categories: BTreeMap<String, Option<bihuan_domain::category::CategoryId>> =
        BTreeMap::new();
    for cat in catalog.categories.iter() {
        let path = catalog.categories.path_name(cat.id).unwrap_or_default();
        categories.insert(path.replace(' ', ""), Some(cat.id));
        // A leaf name shared by two categories is ambiguous: only the path matches then.
        categories
            .entry(cat.name.clone())
            .and_modify(|v| *v = None)
            .or_insert(Some(cat.id));
    }

    let mut report = Report::default();
    for (line, row) in rows {
        let get = |i: usize| row.get(i).map(|s| s.trim()).unwrap_or("");
        let getopt = |i: Option<usize>| i.map(get).filter(|s| !s.is_empty());
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let result: Result<(NewAppeal, Instant), String> = (|| {
            let at = parse_time(get(i_created)).ok_or_else(|| {
                format!(
                    "时间「{}」无法识别（例:2026-11-27 09:30:00）",
                    get(i_created)
                )
            })?;
            let channel = match getopt(i_channel) {
                Some(s) => Channel::parse(s).ok_or_else(|| format!("未知的渠道「{s}」"))?,
                None => default_channel,
            };
            let kind = match getopt(i_kind) {
                Some(s) => Kind::parse(s).ok_or_else(|| format!("未知的诉求类型「{s}」"))?,
                None => default_kind,
            };
            let category = match getopt(i_cat) {
                Some(s) => match categories.get(&s.replace(' ', "")) {
                    Some(Some(id)) => Some(*id),
                    Some(None) => return Err(format!("分类「{s}」有重名，请写完整路径")),
                    None => return Err(format!("未知的分类「{s}」")),
                },
                None => None,
            };
            let township = match getopt(i_town) {
                Some(s) => Some(
                    catalog
                        .org
                        .find_by_name(s)
                        .find(|u| u.kind == UnitKind::Township)
                        .map(|u| u.id)
                        .ok_or_else(|| format!("未知的乡镇「{s}」"))?,
                ),
                None => None,
            };
            let phone = match getopt(i_phone) {
                Some(p) => Some(Phone::parse(p).map_err(|m| format!("电话「{p}」无效：{m}"))?),
                None => None,
            };
            Ok((
                NewAppeal {
                    accused_units: vec![],
                    accused_persons: vec![],
                    group: None,
                    forwarded_from: None,
                    repeat_of: None,
                    channel,
                    kind,
                    urgency: Urgency::Normal,
                    category,
                    title: get(i_title).chars().take(200).collect(),
                    content: get(i_content).to_string(),
                    place: Place {
                        address: getopt(i_addr).unwrap_or("").to_string(),
                        township,
                        ..Default::default()
                    },
                    citizen: Citizen {
                        name: getopt(i_name).map(str::to_string),
                        phone,
                        organisation: None,
                    },
                },
                at,
            ))
        })();
        let (new, at) = match result {
            Ok(n) => n,
            Err(reason) => {
                report.errors.push((line, reason));
                continue;
            }
        };
        let key = format!(
            "import:{}",
            hex::encode(sha2::Sha256::digest(row.join("\u{1f}").as_bytes()))
        );
        match store.register(new, actor.clone(), at, Some(key)).await {
            Ok(r) if r.created => report.created += 1,
            Ok(_) => report.skipped += 1,
            Err(StoreError::Domain(e)) => report.errors.push((line, e.message_zh())),
            Err(StoreError::Invalid { message, .. }) => report.errors.push((line, message)),
            Err(e) => return Err(anyhow::anyhow!("第 {line} 行：{e}")),
        }
    }
    Ok(report)
}
