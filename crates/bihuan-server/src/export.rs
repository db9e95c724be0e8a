//! Tables and lists to CSV (UTF-8 with a BOM, so Excel opens Chinese text) and XLSX (with
//! column widths fitted to Chinese text), produced on request. Citizens' names and phones are
//! always masked: an export leaves the system.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bihuan_domain::lifecycle::Appeal;
use bihuan_domain::time::format_local;
use bihuan_domain::ErrorCode;
use bihuan_store::Catalog;

use crate::appeals::{apply_search, filter_from_query, ListQuery};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, PathParams, QueryParams};
use crate::report::{self, MetricsQuery};
use crate::AppState;

/// One cell: text, or a number, a share or an instant that a spreadsheet keeps as such (XLSX
/// writes numbers, percentages and dates Excel can sum, sort and filter; CSV writes their text).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A number shown with one decimal.
    Decimal(f64),
    /// A share, 0–1, shown as a percentage.
    Share(f64),
    /// An instant, in China time.
    Time(bihuan_domain::time::Instant),
    Empty,
}

impl Cell {
    /// The text a CSV (or a reader of text) gets.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Decimal(x) => format!("{x:.1}"),
            Cell::Share(x) => format!("{:.1}%", x * 100.0),
            Cell::Time(t) => format_local(*t),
            Cell::Empty => String::new(),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

fn time(t: Option<bihuan_domain::time::Instant>) -> Cell {
    t.map_or(Cell::Empty, Cell::Time)
}

fn share(v: Option<f64>) -> Cell {
    v.map_or(Cell::Empty, Cell::Share)
}

fn yes_no(b: bool) -> Cell {
    Cell::Text(if b { "是" } else { "否" }.into())
}

/// A table: headers and rows of cells.
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

pub const APPEAL_HEADERS: [&str; 28] = [
    "工单编号",
    "登记时间",
    "渠道",
    "类型",
    "紧急程度",
    "分类",
    "标题",
    "诉求内容",
    "诉求人",
    "联系电话",
    "所属乡镇",
    "主办单位",
    "协办单位",
    "状态",
    "交办期限",
    "交办时间",
    "签收期限",
    "签收时间",
    "答复期限",
    "答复时间",
    "是否超期答复",
    "当前是否超期",
    "办理结果",
    "答复内容",
    "回访时间",
    "满意度",
    "办结时间",
    "预计期限",
];

/// One appeal as a row of [`APPEAL_HEADERS`]; `now` decides 当前是否超期.
pub fn appeal_row(a: &Appeal, cat: &Catalog, now: bihuan_domain::time::Instant) -> Vec<Cell> {
    let unit = |u: Option<bihuan_domain::org::UnitId>| {
        u.and_then(|u| cat.org.get(u))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let mask = |s: &str| bihuan_domain::appeal::mask_free_text(s).into_owned();
    let late_reply = a.reply_rounds.iter().any(|r| {
        r.replied_at.is_some_and(|t| t > r.due) || (r.replied_at.is_none() && now > r.due)
    });
    vec![
        Cell::Text(a.number.to_string()),
        Cell::Time(a.registered_at),
        a.channel.label().into(),
        a.kind.label().into(),
        a.urgency.label().into(),
        Cell::Text(
            a.category
                .and_then(|c| cat.categories.path_name(c))
                .unwrap_or_default(),
        ),
        Cell::Text(mask(&a.title)),
        Cell::Text(mask(&a.content)),
        Cell::Text(
            a.citizen
                .name
                .as_deref()
                .map(bihuan_domain::appeal::mask_name)
                .unwrap_or_default(),
        ),
        Cell::Text(
            a.citizen
                .phone
                .as_ref()
                .map(|p| p.masked())
                .unwrap_or_default(),
        ),
        Cell::Text(unit(a.place.township)),
        Cell::Text(unit(a.lead)),
        Cell::Text(
            a.assisting
                .iter()
                .map(|u| unit(Some(*u)))
                .collect::<Vec<_>>()
                .join("、"),
        ),
        a.status.label().into(),
        time(a.deadlines.dispatch),
        time(a.dispatched_at),
        time(a.dispatch_rounds.last().map(|d| d.sign_due)),
        time(a.signed_at),
        time(a.deadlines.reply.or(a.reply_rounds.last().map(|r| r.due))),
        time(a.first_replied_at),
        yes_no(late_reply),
        yes_no(!a.status.is_terminal() && !a.overdue_deadlines(now).is_empty()),
        Cell::Text(
            a.reply
                .as_ref()
                .map(|r| r.result.label().to_string())
                .unwrap_or_default(),
        ),
        Cell::Text(a.reply.as_ref().map(|r| mask(&r.text)).unwrap_or_default()),
        time(a.visited_at),
        Cell::Text(
            a.visit
                .as_ref()
                .and_then(|v| v.rating)
                .map(|r| r.label().to_string())
                .unwrap_or_default(),
        ),
        time(a.closed_at),
        // Running deadlines in a year whose holiday notice is not loaded (predicted).
        Cell::Text(
            a.running_deadlines()
                .into_iter()
                .filter(|(_, _, due)| cat.calendar.is_provisional_at(*due))
                .filter_map(|(name, _, _)| bihuan_store::Deadline::parse(name).map(|d| d.label()))
                .collect::<Vec<_>>()
                .join("、"),
        ),
    ]
}

/// Cells that a spreadsheet would run as formulas are prefixed so they stay text: a cell whose
/// first character is `=`, `+`, `-`, `@` (or their full-width forms), a tab or a carriage
/// return, or whose first character after leading blanks is one of the formula signs (some
/// spreadsheets trim before they look).
pub fn defuse(s: &str) -> String {
    const SIGNS: [char; 8] = ['=', '+', '-', '@', '＝', '＋', '－', '＠'];
    let trimmed = s.trim_start_matches([' ', '\t', '\r', '\n', '\u{3000}']);
    if s.starts_with(['\t', '\r']) || trimmed.starts_with(SIGNS) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

pub fn to_csv(t: &Table) -> anyhow::Result<Vec<u8>> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(&t.headers)?;
        for r in &t.rows {
            w.write_record(r.iter().map(|c| defuse(&c.text())))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// Display width of text in Excel's units: CJK characters count double.
fn width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) > 0x2E80 { 2.0 } else { 1.0 })
        .sum()
}

/// The most characters an Excel cell holds.
const XLSX_CELL_MAX: usize = 32_767;

/// `v` cut to what a cell holds, marked where cut (CSV keeps everything).
fn cell(v: &str) -> std::borrow::Cow<'_, str> {
    if v.chars().count() <= XLSX_CELL_MAX {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut cut: String = v.chars().take(XLSX_CELL_MAX - 10).collect();
    cut.push_str("…（已截断）");
    std::borrow::Cow::Owned(cut)
}

pub fn to_xlsx(t: &Table) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format};
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let name: String = t
        .title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    sheet.set_name(if name.is_empty() { "Sheet1" } else { &name })?;
    let bold = Format::new().set_bold();
    let decimal = Format::new().set_num_format("0.0");
    let percent = Format::new().set_num_format("0.0%");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    for (c, h) in t.headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, cell(h).as_ref(), &bold)?;
    }
    let mut widths: Vec<f64> = t.headers.iter().map(|h| width(h)).collect();
    for (r, row) in t.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let col = c as u16;
            let shown = match v {
                Cell::Text(s) => {
                    sheet.write_string(r, col, cell(s).as_ref())?;
                    width(s)
                }
                Cell::Int(n) => {
                    sheet.write_number(r, col, *n as f64)?;
                    n.to_string().len() as f64
                }
                Cell::Decimal(x) => {
                    sheet.write_number_with_format(r, col, *x, &decimal)?;
                    6.0
                }
                Cell::Share(x) => {
                    sheet.write_number_with_format(r, col, *x, &percent)?;
                    7.0
                }
                Cell::Time(t) => {
                    // Excel has no time zones: the China wall-clock time.
                    use chrono::{Datelike, Timelike};
                    let l = t.with_timezone(&bihuan_domain::time::cst());
                    let dt =
                        ExcelDateTime::from_ymd(l.year() as u16, l.month() as u8, l.day() as u8)
                            .and_then(|d| d.and_hms(l.hour() as u16, l.minute() as u8, l.second()));
                    match dt {
                        Ok(dt) => {
                            sheet.write_datetime_with_format(r, col, &dt, &datetime)?;
                        }
                        Err(_) => {
                            sheet.write_string(r, col, format_local(*t))?;
                        }
                    }
                    19.0
                }
                Cell::Empty => 0.0,
            };
            if let Some(w) = widths.get_mut(c) {
                *w = w.max(shown);
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, (w + 2.0).clamp(6.0, 60.0))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(wb.save_to_buffer()?)
}

fn respond(t: &Table, format: &str, file: &str) -> ApiResult<Response> {
    let internal = |e: anyhow::Error| {
        tracing::error!(error = %e, "export failed");
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "导出失败，请稍后重试",
        )
    };
    let (body, ty) = match format {
        "csv" => (to_csv(t).map_err(internal)?, "text/csv; charset=utf-8"),
        "xlsx" => (
            to_xlsx(t).map_err(internal)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        other => {
            return Err(ApiError::bad_request(
                ErrorCode::BadFormat,
                format!("不支持的格式「{other}」，可用 csv 或 xlsx"),
            ))
        }
    };
    let encoded: String = format!("{file}.{format}")
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, ty.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{encoded}"),
            ),
        ],
        body,
    )
        .into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/export/appeals.{format}", get(export_appeals))
        .route("/api/v1/export/ranking.{format}", get(export_ranking))
}

/// The list behind any filter, as the caller may see it, up to 100,000 rows.
async fn export_appeals(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(format): PathParams<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let mut filter = filter_from_query(&q, &caller, now)?;
    apply_search(&state, &caller, &q, &mut filter).await?;
    let cat = state.store.catalog();
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let page = state.store.list(filter.clone(), cursor, 500).await?;
        rows.extend(page.items.iter().map(|a| appeal_row(a, &cat, now)));
        match page.next_cursor {
            Some(c) if rows.len() < 100_000 => cursor = Some(c),
            _ => break,
        }
    }
    let detail = format!(
        "appeals.{format}, {} rows (phones and names masked)",
        rows.len()
    );
    let n = rows.len() as u64;
    let t = Table {
        title: "工单".into(),
        headers: APPEAL_HEADERS.iter().map(|s| s.to_string()).collect(),
        rows,
    };
    let out = respond(&t, &format, "工单")?;
    state
        .ops
        .exports
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    state
        .ops
        .export_rows
        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    crate::audit::record(
        &state,
        Some(&caller),
        &caller.user.login,
        "export",
        "appeals",
        "",
        detail,
    )
    .await;
    Ok(out)
}

/// A period in words for a sheet's name: 2026-11-01至2026-11-30.
fn period_title(p: &bihuan_domain::metrics::Period) -> String {
    use bihuan_domain::time::local_date;
    format!(
        "{}至{}",
        local_date(p.start),
        local_date(p.end - chrono::Duration::seconds(1))
    )
}

/// The ranking table of the dashboard for a period and grouping.
async fn export_ranking(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(format): PathParams<String>,
    QueryParams(q): QueryParams<MetricsQuery>,
) -> ApiResult<Response> {
    caller.require(report::READERS)?;
    let r = report::build(&state, &q).await?;
    let headers = [
        "名次",
        "名称",
        "受理量",
        "回访量",
        "综合得分",
        "响应率",
        "解决率",
        "满意率",
        "及时受理率",
        "按期办结率",
        "闭环率",
        "一次性化解率",
        "退单率",
        "重办率",
        "超期",
    ];
    let mut rows = Vec::new();
    for e in &r.ranking.entries {
        let Some(g) = r.groups.iter().find(|g| g.key == e.key) else {
            continue;
        };
        let x = &g.rates;
        rows.push(vec![
            e.rank
                .map(|n| Cell::Int(i64::from(n)))
                .unwrap_or_else(|| "不排名".into()),
            Cell::Text(g.name.clone()),
            Cell::Int(x.volume as i64),
            Cell::Int(x.visits.visited as i64),
            x.composite.map_or(Cell::Empty, Cell::Decimal),
            share(x.response),
            share(x.resolution),
            share(x.satisfaction),
            share(x.timely_acceptance.value()),
            share(x.on_time_completion.value()),
            share(x.closed_loop.value()),
            share(x.one_shot.value()),
            share(x.return_rate.value()),
            share(x.redo_rate.value()),
            Cell::Int(x.overdue as i64),
        ]);
    }
    let t = Table {
        title: format!("排名 {}", period_title(&r.period)),
        headers: headers.iter().map(|s| s.to_string()).collect(),
        rows,
    };
    let out = respond(&t, &format, &format!("排名-{}", r.spec.replace(':', "-")))?;
    state
        .ops
        .exports
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let detail = format!("ranking.{format}, {}", r.spec);
    crate::audit::record(
        &state,
        Some(&caller),
        &caller.user.login,
        "export",
        "ranking",
        "",
        detail,
    )
    .await;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_even_behind_blanks() {
        for s in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "\t=1+1",
            "  =cmd|' /C calc'!A0",
            "\r=1",
            "＝1+1",
            "\u{3000}=1",
        ] {
            assert!(defuse(s).starts_with('\''), "{s:?}");
        }
        for s in ["路灯不亮", "12345", "a=1", ""] {
            assert_eq!(defuse(s), s);
        }
    }
}
