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

/// A table: headers and rows of text.
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub const APPEAL_HEADERS: [&str; 16] = [
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
    "状态",
    "办理期限",
    "答复时间",
    "满意度",
];

pub fn appeal_row(a: &Appeal, cat: &Catalog) -> Vec<String> {
    let unit = |u: Option<bihuan_domain::org::UnitId>| {
        u.and_then(|u| cat.org.get(u))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    vec![
        a.number.to_string(),
        format_local(a.registered_at),
        a.channel.label().into(),
        a.kind.label().into(),
        a.urgency.label().into(),
        a.category
            .and_then(|c| cat.categories.path_name(c))
            .unwrap_or_default(),
        bihuan_domain::appeal::mask_free_text(&a.title).into_owned(),
        bihuan_domain::appeal::mask_free_text(&a.content).into_owned(),
        a.citizen
            .name
            .as_deref()
            .map(bihuan_domain::appeal::mask_name)
            .unwrap_or_default(),
        a.citizen
            .phone
            .as_ref()
            .map(|p| p.masked())
            .unwrap_or_default(),
        unit(a.place.township),
        unit(a.lead),
        a.status.label().into(),
        a.deadlines.reply.map(format_local).unwrap_or_default(),
        a.first_replied_at.map(format_local).unwrap_or_default(),
        a.visit
            .as_ref()
            .and_then(|v| v.rating)
            .map(|r| r.label().to_string())
            .unwrap_or_default(),
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
            w.write_record(r.iter().map(|c| defuse(c)))?;
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
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let name: String = t
        .title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    sheet.set_name(if name.is_empty() { "Sheet1" } else { &name })?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in t.headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, cell(h).as_ref(), &bold)?;
    }
    let mut widths: Vec<f64> = t.headers.iter().map(|h| width(h)).collect();
    for (r, row) in t.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, cell(v).as_ref())?;
            if let Some(w) = widths.get_mut(c) {
                *w = w.max(width(v));
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
        rows.extend(page.items.iter().map(|a| appeal_row(a, &cat)));
        match page.next_cursor {
            Some(c) if rows.len() < 100_000 => cursor = Some(c),
            _ => break,
        }
    }
    let detail = format!(
        "appeals.{format}, {} rows (phones and names masked)",
        rows.len()
    );
    let t = Table {
        title: "工单".into(),
        headers: APPEAL_HEADERS.iter().map(|s| s.to_string()).collect(),
        rows,
    };
    let out = respond(&t, &format, "工单")?;
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

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_default()
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
                .map(|n| n.to_string())
                .unwrap_or_else(|| "不排名".into()),
            g.name.clone(),
            x.volume.to_string(),
            x.visits.visited.to_string(),
            x.composite.map(|v| format!("{v:.1}")).unwrap_or_default(),
            pct(x.response),
            pct(x.resolution),
            pct(x.satisfaction),
            pct(x.timely_acceptance.value()),
            pct(x.on_time_completion.value()),
            pct(x.closed_loop.value()),
            pct(x.one_shot.value()),
            pct(x.return_rate.value()),
            pct(x.redo_rate.value()),
            x.overdue.to_string(),
        ]);
    }
    let t = Table {
        title: format!("排名 {}", r.spec.replace(':', " ")),
        headers: headers.iter().map(|s| s.to_string()).collect(),
        rows,
    };
    let out = respond(&t, &format, &format!("排名-{}", r.spec.replace(':', "-")))?;
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
