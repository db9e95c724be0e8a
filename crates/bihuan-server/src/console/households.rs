//! `/households`: 入户听诉's household registry in the console — the caller's households by
//! grid and tag, one household with its history, and the CSV import with its report of bad
//! rows. Every page goes through `crate::households`, as the API does.

use super::*;
use crate::households::{self as uc, HouseholdQuery};

#[derive(Deserialize, Default)]
pub(super) struct HouseholdsPageQuery {
    grid: Option<String>,
    tag: Option<String>,
    q: Option<String>,
    after: Option<u64>,
}

pub(super) async fn households_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<HouseholdsPageQuery>,
) -> Response {
    render(&state, &c, &q, None).await
}

async fn render(
    state: &AppState,
    c: &Caller,
    q: &HouseholdsPageQuery,
    report: Option<Result<uc::Imported, String>>,
) -> Response {
    let reach = match uc::Reach::of(c) {
        Ok(r) => r,
        Err(e) => return error_page(e.status, "无权查看住户台账", &e.message, Some(c)),
    };
    let cat = state.store.catalog();
    let grid = q.grid.as_deref().and_then(|g| g.parse::<u32>().ok());
    let tag = q.tag.clone().filter(|t| !t.trim().is_empty());
    let text = q.q.clone().filter(|t| !t.trim().is_empty());
    let query = HouseholdQuery {
        grid,
        tag: tag.clone(),
        q: text.clone(),
        after: q.after,
        limit: Some(100),
        ..Default::default()
    };
    // A search too short is said beside the box, which keeps what was typed.
    let (page_, search_error) = match uc::list(state, c, &query).await {
        Ok(p) => (p, None),
        Err(e) if e.status == StatusCode::BAD_REQUEST => (
            uc::HouseholdPage {
                items: vec![],
                next_after: None,
            },
            Some(e.message),
        ),
        Err(e) => return error_page(e.status, "无法打开住户台账", &e.message, Some(c)),
    };
    // The grids within the caller's reach, for the filter and the import's example.
    let grids: Vec<&bihuan_domain::org::Unit> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Grid)
        .filter(|u| uc::locate(&cat, u.id.0).is_ok_and(|at| reach.covers(&at)))
        .collect();
    let next = page_.next_after.map(|a| {
        let mut s = format!("/households?after={a}");
        if let Some(g) = grid {
            s.push_str(&format!("&grid={g}"));
        }
        if let Some(t) = &tag {
            s.push_str(&format!("&tag={}", urlencode(t)));
        }
        if let Some(t) = &text {
            s.push_str(&format!("&q={}", urlencode(t)));
        }
        s
    });
    let status = match (&report, &search_error) {
        (Some(Err(_)), _) => StatusCode::UNPROCESSABLE_ENTITY,
        (_, Some(_)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let body = html! {
        h1 { "住户台账" }
        p.muted { "入户听诉的基础：按乡镇（街道）、村（社区）、网格登记住户，户主电话等个人信息在列表中脱敏显示。" }
        @match &report {
            Some(Ok(r)) => {
                div.flash role="status" {
                    "导入完成：新登记 " strong { (r.imported) } " 户，重复跳过 " (r.duplicates) " 户，有误 " (r.bad_rows.len()) " 行。"
                }
                @if !r.bad_rows.is_empty() {
                    div.table-wrap { table #bad-rows {
                        thead { tr { th { "行号" } th { "原因" } } }
                        tbody { @for b in r.bad_rows.iter().take(500) { tr { td { (b.line) } td { (b.reason) } } } }
                    } }
                    @if r.bad_rows.len() > 500 { p.muted { "只列出前500行，请修改后重新导入（已登记的住户会自动跳过）。" } }
                }
            }
            Some(Err(m)) => { div.error role="alert" { (m) } }
            None => {}
        }
        form.inline method="get" action="/households" {
            label for="grid" { "网格" }
            select #grid name="grid" {
                option value="" { "全部" }
                @for g in &grids { option value=(g.id.0) selected[grid == Some(g.id.0)] { (g.name) } }
            }
            label for="tag" { "标签" }
            input #tag type="text" name="tag" placeholder="如 独居老人" value=(tag.clone().unwrap_or_default());
            label for="q" { "搜索" }
            input #q type="search" name="q" placeholder="住址或户主姓名，如 3组12号" maxlength="50" value=(text.clone().unwrap_or_default()) aria-describedby="q-error";
            button type="submit" { "筛选" }
        }
        @if let Some(m) = &search_error { p #q-error .error role="alert" { (m) } }
        div.table-wrap { table #households {
            thead { tr { th { "住址" } th { "户主" } th { "电话" } th { "人口" } th { "标签" } th { "网格" } } }
            tbody {
                @for h in &page_.items {
                    tr {
                        td { a href=(format!("/households/{}", h.id)) { (h.household.facts.address) } }
                        td { (h.household.facts.head) }
                        td { (h.household.facts.phone.as_ref().map(|p| p.expose().to_string()).unwrap_or_default()) }
                        td { (h.household.facts.members) }
                        td { @for t in &h.household.facts.tags { span.badge { (t) } " " } }
                        td { (h.grid_name) }
                    }
                }
            }
        } }
        @if page_.items.is_empty() && search_error.is_none() { p.muted { "没有符合条件的住户。" } }
        @if let Some(n) = next { p { a href=(n) { "下一页" } } }
        h2 { "导入住户" }
        form.stack method="post" action="/households/import" enctype="multipart/form-data" {
            p.small.muted { "CSV（UTF-8）或 Excel（.xlsx，第一张工作表）文件，第一行为表头：网格、住址、户主、人口，可选 电话、标签；网格写名称或编号，多个标签用顿号分隔。同一网格同一住址和户主的住户已登记的自动跳过，有误的行列出行号和原因。" }
            p.small.muted { "例：" code { (format!("网格,住址,户主,电话,人口,标签 / {},东门社区3栋101,王秀英,139…,1,独居老人、低保户", grids.first().map(|g| g.name.as_str()).unwrap_or("第一网格"))) } }
            input type="file" name="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required;
            p { button.primary type="submit" { "导入" } }
        }
    };
    (status, page("住户台账", Some(c), body)).into_response()
}

/// `POST /households/import`: the CSV file of the form, then the page with the report.
pub(super) async fn households_import(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    mp: axum::extract::Multipart,
) -> Response {
    let q = HouseholdsPageQuery::default();
    let files = match crate::attachments::read_files(mp).await {
        Ok(f) => f,
        Err(e) => return render(&state, &c, &q, Some(Err(e.message))).await,
    };
    let Some((_, bytes)) = files.into_iter().next() else {
        return render(
            &state,
            &c,
            &q,
            Some(Err("请选择要导入的 CSV 或 XLSX 文件".into())),
        )
        .await;
    };
    let r = uc::import(&state, &c, &bytes).await.map_err(|e| e.message);
    render(&state, &c, &q, Some(r)).await
}

/// `/households/{id}`: one household with its history.
pub(super) async fn household_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这一户",
            "住户编号无效",
            Some(&c),
        );
    };
    let (h, history) = match uc::one(&state, &c, id).await {
        Ok(x) => x,
        Err(e) => return error_page(e.status, "没有这一户", &e.message, Some(&c)),
    };
    let f = &h.household.facts;
    let body = html! {
        h1 { (f.address) @if h.household.removed.is_some() { " " span.badge { "已移出台账" } } }
        div.panel {
            dl.facts {
                dt { "户主" } dd { (f.head) }
                dt { "电话" } dd { (f.phone.as_ref().map(|p| p.expose().to_string()).unwrap_or_else(|| "—".into())) }
                dt { "家庭人口" } dd { (f.members) }
                dt { "标签" } dd { @for t in &f.tags { span.badge { (t) } " " } @if f.tags.is_empty() { "—" } }
                dt { "网格" } dd { (h.township_name) " / " (h.village_name.clone().unwrap_or_default()) " / " (h.grid_name) }
                @if let Some(r) = &h.household.removed { dt { "移出原因" } dd { (r) } }
            }
        }
        (super::visits::household_section(&state, &c, id).await)
        div.panel {
            h2 { "全程留痕" }
            ol.timeline { @for e in &history { li { strong { (e.what) } " " span.muted.small { (format_local(e.at)) " · " (e.by) } } } }
        }
        p { a href="/households" { "返回住户台账" } }
    };
    page("住户", Some(&c), body).into_response()
}
