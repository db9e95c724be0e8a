//! The backup archive: one portable file that either store writes and either store restores,
//! so a county on SQLite can also move to PostgreSQL with it.
//!
//! The file is JSON Lines. The first line names the format; then, table by table, a line
//! `{"table": …, "columns": […]}`, one JSON array per row, and `{"end": …, "rows": N}`; the
//! last line holds the row counts and the SHA-256 of every line before it. A restore checks
//! all of it inside its one transaction and keeps nothing unless the whole file is sound, so a
//! truncated or edited archive restores nothing.
//!
//! Each store reads its tables inside one snapshot (SQLite: one read transaction under WAL;
//! PostgreSQL: `REPEATABLE READ`), so the archive is consistent while the servers keep working.

use bihuan_domain::ErrorCode;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

pub const FORMAT: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Int,
    Text,
    Float,
    Bytes,
    /// JSON kept as text in SQLite and as JSONB in PostgreSQL.
    Json,
}

#[derive(Debug)]
pub(crate) struct Table {
    pub name: &'static str,
    pub cols: &'static [(&'static str, Col)],
}

use Col::*;

/// Every table, in restore order. `number_seq` is a table in SQLite and a set of sequences in
/// PostgreSQL; the archive holds it as a table either way.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "meta",
        cols: &[("key", Text), ("value", Text)],
    },
    Table {
        name: "units",
        cols: &[
            ("id", Int),
            ("name", Text),
            ("kind", Text),
            ("parent", Int),
            ("aliases", Text),
        ],
    },
    Table {
        name: "categories",
        cols: &[("id", Int), ("name", Text), ("parent", Int)],
    },
    Table {
        name: "users",
        cols: &[
            ("id", Int),
            ("login", Text),
            ("name", Text),
            ("role", Text),
            ("unit", Int),
            ("password_hash", Text),
            ("active", Int),
            ("created_at", Int),
        ],
    },
    Table {
        name: "credentials",
        cols: &[
            ("token_hash", Text),
            ("user_id", Int),
            ("kind", Text),
            ("name", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
    },
    Table {
        name: "calendar_years",
        cols: &[("year", Int), ("json", Text), ("loaded_at", Int)],
    },
    Table {
        name: "number_seq",
        cols: &[("ym", Text), ("last", Int)],
    },
    Table {
        name: "appeals",
        cols: &[
            ("id", Int),
            ("number", Text),
            ("version", Int),
            ("status", Text),
            ("regime", Text),
            ("kind", Text),
            ("channel", Text),
            ("urgency", Text),
            ("category", Int),
            ("township", Int),
            ("lead", Int),
            ("owner", Int),
            ("registered_at", Int),
            ("registered_by", Int),
            ("citizen_key", Text),
            ("next_due", Int),
            ("due_soon_at", Int),
            ("unsupervised_due", Int),
            ("idempotency_key", Text),
            ("updated_at", Int),
            ("state", Json),
        ],
    },
    Table {
        name: "appeal_units",
        cols: &[("unit_id", Int), ("appeal_id", Int)],
    },
    Table {
        name: "events",
        cols: &[
            ("id", Int),
            ("appeal_id", Int),
            ("version", Int),
            ("at", Int),
            ("actor_user", Int),
            ("type", Text),
            ("body", Json),
        ],
    },
    Table {
        name: "attachments",
        cols: &[
            ("id", Int),
            ("appeal_id", Int),
            ("name", Text),
            ("mime", Text),
            ("size", Int),
            ("sha256", Text),
            ("data", Bytes),
            ("uploaded_by", Int),
            ("at", Int),
        ],
    },
    Table {
        name: "entered_rates",
        cols: &[
            ("id", Int),
            ("period", Text),
            ("name", Text),
            ("value", Float),
            ("source", Text),
            ("entered_by", Int),
            ("at", Int),
        ],
    },
    Table {
        name: "suggestions",
        cols: &[
            ("appeal_id", Int),
            ("stage", Text),
            ("at", Int),
            ("model_version", Int),
            ("units", Text),
            ("categories", Text),
        ],
    },
    Table {
        name: "aggregates",
        cols: &[
            ("kind", Text),
            ("id", Int),
            ("version", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("state", Json),
        ],
    },
    Table {
        name: "aggregate_ids",
        cols: &[("kind", Text), ("last", Int)],
    },
    Table {
        name: "aggregate_events",
        cols: &[
            ("id", Int),
            ("kind", Text),
            ("aggregate", Int),
            ("version", Int),
            ("at", Int),
            ("actor_user", Int),
            ("type", Text),
            ("body", Json),
        ],
    },
    Table {
        name: "audit_log",
        cols: &[
            ("id", Int),
            ("at", Int),
            ("user_id", Int),
            ("login", Text),
            ("action", Text),
            ("target", Text),
            ("address", Text),
            ("detail", Text),
        ],
    },
    Table {
        name: "aggregate_files",
        cols: &[
            ("kind", Text),
            ("aggregate", Int),
            ("sha256", Text),
            ("mime", Text),
            ("size", Int),
            ("data", Bytes),
            ("uploaded_by", Int),
            ("at", Int),
        ],
    },
    Table {
        name: "aggregate_index",
        cols: &[
            ("kind", Text),
            ("key", Text),
            ("value", Text),
            ("aggregate", Int),
        ],
    },
];

/// Keys of `meta` that are each database's own bookkeeping, not data: left out of archives, and
/// set again by the database that restores.
pub(crate) const BOOKKEEPING: &str =
    "('catalog_version', 'revocations', 'rollups_built', 'deadline_columns')";

/// The filter a table's rows are read with.
pub(crate) fn row_filter(t: &Table) -> String {
    if t.name == "meta" {
        // The index versions too: the database that restores rebuilds its index rows once.
        format!("WHERE key NOT IN {BOOKKEEPING} AND key NOT LIKE 'index_version:%'")
    } else {
        String::new()
    }
}

/// The order rows are read in (stable, so two backups of equal data are equal files).
pub(crate) fn order_by(t: &Table) -> &'static str {
    match t.name {
        "meta" => "key",
        "credentials" => "token_hash",
        "calendar_years" => "year",
        "number_seq" => "ym",
        "appeal_units" => "unit_id, appeal_id",
        "suggestions" => "appeal_id, stage",
        "aggregates" => "kind, id",
        "aggregate_ids" => "kind",
        "aggregate_index" => "kind, key, value, aggregate",
        "aggregate_files" => "kind, aggregate, sha256",
        _ => "id",
    }
}

/// What a backup or restore covered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupSummary {
    pub tables: Vec<(String, u64)>,
    pub bytes: u64,
}

impl BackupSummary {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("{}: {e}", path.display()))
}

fn bad_archive(msg: impl Into<String>) -> StoreError {
    StoreError::invalid(ErrorCode::BadBackup, msg)
}

/// Writes an archive to a temporary name and moves it into place when complete.
pub(crate) struct Writer {
    path: PathBuf,
    tmp: PathBuf,
    out: Out,
    hash: Sha256,
    bytes: u64,
    counts: Vec<(String, u64)>,
    current: Option<(&'static str, u64)>,
}

impl Writer {
    pub fn create(path: &Path, source: &str) -> Result<Writer> {
        let tmp = path.with_extension("partial");
        let file = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        let file = BufWriter::with_capacity(1 << 20, file);
        let out = if path.extension().is_some_and(|e| e == "zst") {
            Out::Zstd(zstd::stream::write::Encoder::new(file, 3).map_err(|e| io_err(&tmp, e))?)
        } else {
            Out::Plain(file)
        };
        let mut w = Writer {
            path: path.to_path_buf(),
            tmp,
            out,
            hash: Sha256::new(),
            bytes: 0,
            counts: Vec::new(),
            current: None,
        };
        w.line(&json!({
            "bihuan_backup": FORMAT,
            "source": source,
            "created_at": chrono::Utc::now().to_rfc3339(),
        }))?;
        Ok(w)
    }

    fn line(&mut self, v: &Value) -> Result<()> {
        let mut s = serde_json::to_string(v).map_err(|e| io_err(&self.tmp, e))?;
        s.push('\n');
        self.hash.update(s.as_bytes());
        self.bytes += s.len() as u64;
        self.out
            .write_all(s.as_bytes())
            .map_err(|e| io_err(&self.tmp, e))
    }

    pub fn begin(&mut self, t: &Table) -> Result<()> {
        self.current = Some((t.name, 0));
        let cols: Vec<&str> = t.cols.iter().map(|(c, _)| *c).collect();
        self.line(&json!({"table": t.name, "columns": cols}))
    }

    pub fn row(&mut self, values: Vec<Value>) -> Result<()> {
        if let Some((_, n)) = &mut self.current {
            *n += 1;
        }
        self.line(&Value::Array(values))
    }

    pub fn end(&mut self) -> Result<()> {
        let (name, n) = self
            .current
            .take()
            .ok_or_else(|| StoreError::Internal("end without begin".into()))?;
        self.counts.push((name.to_string(), n));
        self.line(&json!({"end": name, "rows": n}))
    }

    pub fn finish(mut self) -> Result<BackupSummary> {
        let digest = hex::encode(self.hash.clone().finalize());
        let tables: serde_json::Map<String, Value> = self
            .counts
            .iter()
            .map(|(t, n)| (t.clone(), json!(n)))
            .collect();
        let last =
            serde_json::to_string(&json!({"complete": true, "tables": tables, "sha256": digest}))
                .map_err(|e| io_err(&self.tmp, e))?;
        self.out
            .write_all(format!("{last}\n").as_bytes())
            .map_err(|e| io_err(&self.tmp, e))?;
        let out = std::mem::replace(&mut self.out, Out::Done);
        let mut file = out.finish().map_err(|e| io_err(&self.tmp, e))?;
        file.flush().map_err(|e| io_err(&self.tmp, e))?;
        file.get_ref()
            .sync_all()
            .map_err(|e| io_err(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| io_err(&self.path, e))?;
        Ok(BackupSummary {
            tables: std::mem::take(&mut self.counts),
            bytes: self.bytes + last.len() as u64 + 1,
        })
    }
}

/// Where an archive's lines go: the file, or a zstd stream into it (a name ending in `.zst`:
/// the JSON lines compress about tenfold).
enum Out {
    Plain(BufWriter<std::fs::File>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<std::fs::File>>),
    Done,
}

impl Out {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Out::Plain(f) => f.write_all(bytes),
            Out::Zstd(z) => z.write_all(bytes),
            Out::Done => Err(std::io::Error::other("the archive is finished")),
        }
    }

    fn finish(self) -> std::io::Result<BufWriter<std::fs::File>> {
        match self {
            Out::Plain(f) => Ok(f),
            Out::Zstd(z) => z.finish(),
            Out::Done => Err(std::io::Error::other("the archive is finished")),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // An archive that was not finished is not left behind looking like one.
        if self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// One item of an archive, in file order.
#[derive(Debug)]
pub(crate) enum Item {
    Begin(&'static Table),
    Row(Vec<Value>),
    End,
}

/// Reads an archive, checking its structure as it goes and its counts and checksum at the end.
pub(crate) struct Reader {
    lines: std::io::Lines<Box<dyn BufRead + Send>>,
    hash: Sha256,
    counts: Vec<(String, u64)>,
    current: Option<(&'static Table, u64)>,
    done: bool,
    bytes: u64,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader> {
        let file = std::fs::File::open(path).map_err(|e| {
            StoreError::invalid(
                ErrorCode::BackupNotFound,
                format!("无法打开备份文件 {}: {e}", path.display()),
            )
        })?;
        let mut file = std::io::BufReader::with_capacity(1 << 20, file);
        // A zstd frame (an archive named `.zst`) is read through its decoder, whatever its name.
        let zstd = file
            .fill_buf()
            .map(|b| b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]))
            .map_err(|e| io_err(path, e))?;
        let input: Box<dyn BufRead + Send> = if zstd {
            let z = zstd::stream::read::Decoder::with_buffer(file).map_err(|e| io_err(path, e))?;
            Box::new(std::io::BufReader::with_capacity(1 << 20, z))
        } else {
            Box::new(file)
        };
        let mut r = Reader {
            lines: input.lines(),
            hash: Sha256::new(),
            counts: Vec::new(),
            current: None,
            done: false,
            bytes: 0,
        };
        let head = r.raw_line()?.ok_or_else(|| bad_archive("备份文件是空的"))?;
        let format = head.get("bihuan_backup").and_then(Value::as_u64);
        match format {
            Some(FORMAT) => Ok(r),
            Some(other) => Err(bad_archive(format!(
                "备份格式 {other} 不受支持（本程序读格式 {FORMAT}）;请用更新的 bihuan"
            ))),
            None => Err(bad_archive("这不是 bihuan 的备份文件")),
        }
    }

    fn raw_line(&mut self) -> Result<Option<Value>> {
        let Some(line) = self.lines.next() else {
            return Ok(None);
        };
        // A line that cannot be read is a damaged archive (a cut or altered zstd stream says so
        // here), as is one that does not parse.
        let line = line.map_err(|e| {
            bad_archive(format!(
                "备份文件已损坏或无法读取（第 {} 字节附近）: {e}",
                self.bytes
            ))
        })?;
        let v: Value = serde_json::from_str(&line).map_err(|e| {
            bad_archive(format!("备份文件已损坏（第 {} 字节附近）: {e}", self.bytes))
        })?;
        if v.get("complete").is_none() {
            self.hash.update(line.as_bytes());
            self.hash.update(b"\n");
        }
        self.bytes += line.len() as u64 + 1;
        Ok(Some(v))
    }

    /// The next item, or `None` after the trailer has been checked.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        if self.done {
            return Ok(None);
        }
        let v = self
            .raw_line()?
            .ok_or_else(|| bad_archive("备份文件不完整（缺少结尾），未恢复任何数据"))?;
        if let Value::Array(values) = v {
            let (t, n) = self
                .current
                .as_mut()
                .ok_or_else(|| bad_archive("备份文件结构错误：数据行不在表内"))?;
            if values.len() != t.cols.len() {
                return Err(bad_archive(format!("表 {} 的一行列数不对", t.name)));
            }
            *n += 1;
            return Ok(Some(Item::Row(values)));
        }
        if let Some(name) = v.get("table").and_then(Value::as_str) {
            let t = TABLES
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| bad_archive(format!("备份中有未知的表 {name}")))?;
            let cols: Vec<&str> = v["columns"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let want: Vec<&str> = t.cols.iter().map(|(c, _)| *c).collect();
            if cols != want {
                return Err(bad_archive(format!("表 {name} 的列与本程序不符")));
            }
            self.current = Some((t, 0));
            return Ok(Some(Item::Begin(t)));
        }
        if let Some(name) = v.get("end").and_then(Value::as_str) {
            let (t, n) = self
                .current
                .take()
                .ok_or_else(|| bad_archive("备份文件结构错误"))?;
            if t.name != name || v["rows"].as_u64() != Some(n) {
                return Err(bad_archive(format!("表 {name} 的行数与记录不符")));
            }
            self.counts.push((name.to_string(), n));
            return Ok(Some(Item::End));
        }
        if v.get("complete").is_some() {
            let digest = hex::encode(self.hash.clone().finalize());
            if v["sha256"].as_str() != Some(digest.as_str()) {
                return Err(bad_archive(
                    "备份文件校验和不符（文件被改动或损坏），未恢复任何数据",
                ));
            }
            for (t, n) in &self.counts {
                if v["tables"][t].as_u64() != Some(*n) {
                    return Err(bad_archive(format!("表 {t} 的行数与结尾记录不符")));
                }
            }
            self.done = true;
            return Ok(None);
        }
        Err(bad_archive("备份文件中有无法识别的行"))
    }

    pub fn summary(&self) -> BackupSummary {
        BackupSummary {
            tables: self.counts.clone(),
            bytes: self.bytes,
        }
    }
}

/// A value of the archive as an integer (or null).
pub(crate) fn as_int(v: &Value) -> Result<Option<i64>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad_archive("备份中应为整数的值不是整数")),
        _ => Err(bad_archive("备份中应为整数的值不是整数")),
    }
}

/// A JSON column as written to the archive: the JSON itself, with its keys in sorted order, so
/// that text stored by SQLite and JSONB from PostgreSQL give the same lines.
pub(crate) fn json_value(text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("stored JSON is damaged: {e}")))
}

/// A JSON column of the archive as text to store.
pub(crate) fn as_json_text(v: &Value) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::Object(_) | Value::Array(_) => serde_json::to_string(v)
            .map(Some)
            .map_err(|e| bad_archive(format!("备份中的 JSON 无效： {e}"))),
        _ => Err(bad_archive("备份中应为 JSON 对象的值不是对象")),
    }
}

pub(crate) fn as_text(v: &Value) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(bad_archive("备份中应为文本的值不是文本")),
    }
}

pub(crate) fn as_float(v: &Value) -> Result<Option<f64>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        _ => Err(bad_archive("备份中应为数值的值不是数值")),
    }
}

pub(crate) fn as_bytes(v: &Value) -> Result<Option<Vec<u8>>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => hex::decode(s)
            .map(Some)
            .map_err(|_| bad_archive("备份中的文件内容已损坏")),
        _ => Err(bad_archive("备份中的文件内容已损坏")),
    }
}

/// The `number_seq` row for a PostgreSQL month sequence name (`appeal_no_202611` → `2026-11`).
pub(crate) fn ym_of_sequence(name: &str) -> Option<String> {
    let d = name.strip_prefix("appeal_no_")?;
    if d.len() != 6 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{}-{}", &d[..4], &d[4..]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn month_sequences_map_to_months() {
        assert_eq!(
            super::ym_of_sequence("appeal_no_202611").as_deref(),
            Some("2026-11")
        );
        assert_eq!(super::ym_of_sequence("appeal_ids"), None);
        assert_eq!(super::ym_of_sequence("appeal_no_2026x1"), None);
    }
}
