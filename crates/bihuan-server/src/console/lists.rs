//! `/appeals`: the list with filters, search and paging.

use super::*;

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    status: Option<String>,
    unit: Option<String>,
    township: Option<String>,
    kind: Option<String>,
    regime: Option<String>,
    channel: Option<String>,
    overdue: Option<String>,
    due_soon: Option<String>,
    from: Option<String>,
    to: Option<String>,
    registered_by: Option<u32>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    /// Rows per page: 20, 50 (default) or 100 (anything else reads as 50).
    size: Option<String>,
    /// The page number shown (the cursor decides which rows).
    p: Option<String>,
    /// A drill-down from a figure (see `report::parse_drill`).
    metric: Option<String>,
    part: Option<String>,
    period: Option<String>,
    counted_unit: Option<String>,
    /// After saving the filter failed: why, and the name typed (kept in the form).
    filter_error: Option<String>,
    filter_name: Option<String>,
    /// After saving or removing a filter: what was done.
    filter_done: Option<String>,
}

pub(super) fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
}

pub(super) async fn list_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<PageQuery>,
) -> Response {
    let now = state.clock.now();
    let cat = state.store.catalog();
    let lq = ListQuery {
        status: nonempty(&q.status),
        unit: nonempty(&q.unit).and_then(|s| s.parse().ok()),
        township: nonempty(&q.township).and_then(|s| s.parse().ok()),
        category: None,
        channel: nonempty(&q.channel),
        kind: nonempty(&q.kind),
        regime: nonempty(&q.regime),
        overdue: nonempty(&q.overdue).map(|s| s == "true"),
        due_soon: nonempty(&q.due_soon).map(|s| s == "true"),
        from: nonempty(&q.from),
        to: nonempty(&q.to),
        owner: None,
        phone: None,
        q: nonempty(&q.q),
        sort: nonempty(&q.sort),
        cursor: None,
        limit: None,
        metric: nonempty(&q.metric),
        part: nonempty(&q.part),
        period: nonempty(&q.period),
        counted_unit: nonempty(&q.counted_unit).and_then(|s| s.parse().ok()),
    };
    let mut filter = match filter_from_query(&lq, &c, now) {
        Ok(f) => f,
        Err(e) => return error_page(e.status, "查询条件有误", &e.message, Some(&c)),
    };
    let search = match crate::appeals::apply_search(&state, &c, &lq, &mut filter).await {
        Ok(s) => s,
        Err(e) => return error_page(e.status, "搜索失败", &e.message, Some(&c)),
    };
    // Narrows the list; never widens it (a grid member's scope is its own registrations).
    if let Some(u) = q.registered_by {
        match filter.registered_by {
            Some(own) if own.0 != u => filter.ids = Some(vec![]),
            _ => filter.registered_by = Some(bihuan_domain::UserId(u)),
        }
    }
    let size: u32 = match q.size.as_deref() {
        Some("20") => 20,
        Some("100") => 100,
        _ => 50,
    };
    let page_no: u32 =
        q.p.as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .clamp(1, 1_000_000);
    let total = state.store.count(filter.clone()).await.unwrap_or(0);
    let drill = crate::report::parse_drill(
        lq.metric.as_deref(),
        lq.part.as_deref(),
        lq.period.as_deref(),
        lq.counted_unit,
        now,
    )
    .ok()
    .flatten();
    let drill_facts = match &drill {
        Some(_) => state.store.count_facts(filter.clone()).await.ok().flatten(),
        None => None,
    };
    let pages = total.div_ceil(u64::from(size)).max(1);
    let page_ = match state.store.list(filter, nonempty(&q.cursor), size).await {
        Ok(p) => p,
        Err(e) => {
            let e = ApiError::from(e);
            return error_page(e.status, "查询失败", &e.message, Some(&c));
        }
    };
    // Bulk actions this caller's role may take, and the listed appeals they may take them on
    // now (the domain's guard, as on the detail page).
    let bulk: Vec<Action> = crate::app::BULK_ACTIONS
        .into_iter()
        .filter(|a| a.roles().contains(&c.actor.role))
        .collect();
    let pickable: std::collections::HashSet<bihuan_domain::AppealId> = page_
        .items
        .iter()
        .filter(|a| {
            crate::app::available_actions(&state, &c, a)
                .iter()
                .any(|x| bulk.contains(x))
        })
        .map(|a| a.id)
        .collect();
    let selected = |a: &Option<String>, v: &str| a.as_deref() == Some(v);
    let townships: Vec<_> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Township)
        .collect();
    // Units that can lead an appeal: departments and townships (villages and grids report and
    // assist, they do not lead), each once.
    let mut handlers: Vec<_> = cat
        .org
        .units()
        .filter(|u| matches!(u.kind, UnitKind::Department | UnitKind::Township))
        .collect();
    handlers.sort_by_key(|u| (u.kind != UnitKind::Department, u.id.0));
    handlers.dedup_by_key(|u| u.id);
    let mut next_q = serde_urlencoded_pairs(&q);
    // The export takes the list's own filters (the registrant filter is the console's only).
    let export_q = next_q
        .iter()
        .filter(|(k, _)| k != "registered_by")
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    if size != 50 {
        next_q.push(("size".into(), size.to_string()));
    }
    let first_link = format!(
        "/appeals?{}",
        next_q
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    );
    let next_link = page_.next_cursor.as_ref().map(|cur| {
        next_q.push(("cursor".into(), cur.clone()));
        next_q.push(("p".into(), (page_no + 1).to_string()));
        format!(
            "/appeals?{}",
            next_q
                .iter()
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect::<Vec<_>>()
                .join("&")
        )
    });
    let saved = crate::filters::mine(&state, &c).await.unwrap_or_default();
    // The filter this page shows, as a saved filter keeps it (no paging).
    let current_query = {
        let mut pairs = serde_urlencoded_pairs(&q);
        if size != 50 {
            pairs.push(("size".into(), size.to_string()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    page("工单查询", Some(&c), html! {
        h1 { "工单查询" }
        div.saved-filters #saved-filters {
            strong { "我的筛选：" }
            @if saved.is_empty() { span.muted { "还没有保存的筛选。设好条件查询后，可在下方「保存当前筛选」。" } }
            @for f in &saved {
                span.saved-filter {
                    a href=(f.href) { (f.name) }
                    form.inline method="post" action=(format!("/appeals/filters/{}/remove", f.id)) data-confirm=(format!("删除筛选「{}」？删除后不能恢复到列表中。", f.name)) {
                        button.link type="submit" title=(format!("删除「{}」", f.name)) aria-label=(format!("删除筛选「{}」", f.name)) { "×" }
                    }
                }
            }
            @if let Some(done) = nonempty(&q.filter_done) { span.flash { (done) } }
        }
        form.filters method="get" action="/appeals" {
            label.search { "全文搜索" input type="search" name="q" value=[q.q.as_deref()] placeholder="内容、答复、备注中的词，如： 路灯 人民路" maxlength="100"; }
            label { "状态" select name="status" {
                option value="" { "全部" }
                @for s in Status::ALL { @let code = status_code(*s); option value=(code) selected[selected(&q.status, &code)] { (s.label()) } }
            } }
            label { "类型" select name="kind" {
                option value="" { "全部" }
                @for k in Kind::ALL { option value=(k.code()) selected[selected(&q.kind, k.code())] { (k.label()) } }
            } }
            label { "类别" select name="regime" {
                option value="" { "全部" }
                option value="hotline" selected[selected(&q.regime, "hotline")] { "热线诉求" }
                option value="petition" selected[selected(&q.regime, "petition")] { "信访" }
            } }
            label { "渠道" select name="channel" {
                option value="" { "全部" }
                @for ch in Channel::ALL { option value=(ch.code()) selected[selected(&q.channel, ch.code())] { (ch.label()) } }
            } }
            label { "乡镇" select name="township" {
                option value="" { "全部" }
                @for t in &townships { option value=(t.id.0) selected[selected(&q.township, &t.id.0.to_string())] { (t.name) } }
            } }
            label { "主办单位" select name="unit" {
                option value="" { "全部" }
                @for u in &handlers { option value=(u.id.0) selected[selected(&q.unit, &u.id.0.to_string())] { (u.name) } }
            } }
            label { "期限" select name="overdue" {
                option value="" { "全部" }
                option value="true" selected[selected(&q.overdue, "true")] { "超期" }
            } }
            label { "临期" select name="due_soon" {
                option value="" { "全部" }
                option value="true" selected[selected(&q.due_soon, "true")] { "临期" }
            } }
            label { "登记起" input type="date" name="from" value=[q.from.as_deref()]; }
            label { "登记止" input type="date" name="to" value=[q.to.as_deref()]; }
            label { "排序" select name="sort" {
                option value="newest" { "最新登记" }
                option value="due" selected[selected(&q.sort, "due")] { "期限最近" }
                @for d in bihuan_store::Deadline::ALL {
                    @let v = format!("due:{}", d.code());
                    option value=(v) selected[selected(&q.sort, &v)] { "按" (d.label()) "（计时中）" }
                }
            } }
            label { "每页" select name="size" {
                @for n in [20u32, 50, 100] { option value=(n) selected[n == size] { (n) " 件" } }
            } }
            button.primary type="submit" { "查询" }
        }
        form.filters.save-filter method="post" action="/appeals/filters" {
            input type="hidden" name="query" value=(current_query);
            label { "给当前筛选起个名字" input type="text" name="name" maxlength="30" value=[q.filter_name.as_deref()] placeholder="如：城关镇超期未签收"; }
            button type="submit" { "保存当前筛选" }
            @if let Some(e) = nonempty(&q.filter_error) { div.error role="alert" { (e) } }
        }
        @if let Some((matches, capped)) = search {
            p.muted {
                "全文搜索「" (q.q.as_deref().unwrap_or("")) "」共 " (matches) " 件匹配（未计其他筛选条件）"
                @if capped { "，只列出最新的 " (crate::smart::SEARCH_CAP) " 件，请加词或筛选条件缩小范围" }
            }
        }
        @if let Some(d) = &drill {
            div.drill #drill {
                strong { (d.title()) }
                " · " (crate::report::period_label(&d.period))
                @if let Some(u) = d.unit { " · 计入单位：" (cat.org.get(u).map(|x| x.name.as_str()).unwrap_or("未知单位")) }
                @if let Some(n) = drill_facts { @if n != total { "。本指标计 " strong #drill-facts { (n) } " 件次（一件诉求在期间内两次派单或两轮办理时计两次）" } }
                "。" a href="/appeals" { "清除指标筛选" }
            }
        }
        @if let Some(d) = q.sort.as_deref().and_then(|s| s.strip_prefix("due:")).and_then(bihuan_store::Deadline::parse) {
            p.muted { "按" (d.label()) "排序：只列出" (d.label()) "正在计时的工单，最先到期的在前。" }
        }
        p.total { "共 " strong #list-total { (total) } " 件" @if total > 0 { "，第 " (page_no) " / " (pages) " 页，每页 " (size) " 件" } }
        @if pickable.is_empty() {
            (appeal_rows(&page_.items, &cat, now))
        } @else {
            form #bulk method="post" action="/appeals/bulk" data-confirm="确认对勾选的工单执行批量操作？每件单独判定：已有变动或不符合条件的不执行，结果逐件列出。" {
                input type="hidden" name="back" value=(first_link);
                (appeal_rows_picking(&page_.items, &cat, now, None, Some(&pickable)))
                fieldset.bulk {
                    legend { "批量操作（勾选本页工单，共可选 " (pickable.len()) " 件）" }
                    @if bulk.contains(&Action::Dispatch) {
                        label { "交办给" select name="lead" {
                            option value="" { "请选择主办单位" }
                            @for u in &handlers { option value=(u.id.0) { (u.name) } }
                        } }
                    }
                    @if bulk.contains(&Action::Supervise) {
                        label { "督办类型" select name="reason" {
                            option value="leader_order" { "领导交办" }
                            option value="overdue" { "超期督办" }
                        } }
                    }
                    label { "意见" input type="text" name="note" maxlength="500" placeholder="交办或督办意见（选填）"; }
                    @if bulk.contains(&Action::Dispatch) { button.primary type="submit" name="action" value="dispatch" { "批量交办" } }
                    @if bulk.contains(&Action::Supervise) { button.primary type="submit" name="action" value="supervise" { "批量督办" } }
                }
            }
        }
        div.pager {
            @if page_no > 1 { a.button href=(first_link) { "首页" } }
            @if let Some(l) = next_link { a.button href=(l) { "下一页" } }
            a.button href=(format!("/api/v1/export/appeals.xlsx?{export_q}")) { "导出 Excel" }
            a.button href=(format!("/api/v1/export/appeals.csv?{export_q}")) { "导出 CSV" }
            a.button href=(format!("/appeals/print?{export_q}")) target="_blank" { "批量打印工单" }
        }
    })
    .into_response()
}

pub(super) fn status_code(s: Status) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub(super) fn serde_urlencoded_pairs(q: &PageQuery) -> Vec<(String, String)> {
    let mut v = Vec::new();
    let mut push = |k: &str, x: &Option<String>| {
        if let Some(s) = nonempty(x) {
            v.push((k.to_string(), s));
        }
    };
    push("status", &q.status);
    push("unit", &q.unit);
    push("township", &q.township);
    push("kind", &q.kind);
    push("regime", &q.regime);
    push("channel", &q.channel);
    push("overdue", &q.overdue);
    push("due_soon", &q.due_soon);
    push("from", &q.from);
    push("to", &q.to);
    push("q", &q.q);
    push("sort", &q.sort);
    push("metric", &q.metric);
    push("part", &q.part);
    push("period", &q.period);
    push("counted_unit", &q.counted_unit);
    if let Some(r) = q.registered_by {
        v.push(("registered_by".into(), r.to_string()));
    }
    v
}

/// `POST /appeals/bulk`: the list's bulk form — one action on the ticked appeals through the
/// same use case as the API, then a page with what became of each.
pub(super) async fn bulk_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let action = field(&f, "action").to_string();
    let back = match safe_next(Some(field(&f, "back"))) {
        b if b.starts_with("/appeals") => b,
        _ => "/appeals".to_string(),
    };
    let note = field(&f, "note").trim().to_string();
    let items: Vec<crate::app::BulkItem> = fields_all(&f, "pick")
        .filter_map(|v| {
            let (key, version) = v.rsplit_once(':')?;
            Some(crate::app::BulkItem {
                key: key.to_string(),
                version: version.parse().ok()?,
            })
        })
        .collect();
    let body = match action.as_str() {
        "dispatch" => match field(&f, "lead").parse::<u32>() {
            Ok(lead) => json!({"action": "dispatch", "lead": lead, "assisting": [], "note": note}),
            Err(_) => {
                return bulk_page(
                    &c,
                    &back,
                    &action,
                    Err("请选择交办给哪个主办单位，再点「批量交办」".into()),
                )
            }
        },
        "supervise" => {
            json!({"action": "supervise", "reason": field(&f, "reason"), "note": note})
        }
        other => json!({"action": other}),
    };
    let outcome = crate::app::act_in_bulk(&state, &c, &items, body)
        .await
        .map_err(|e| e.message);
    bulk_page(&c, &back, &action, outcome)
}

fn bulk_page(
    c: &crate::auth::Caller,
    back: &str,
    action: &str,
    outcome: Result<Vec<(String, crate::error::ApiResult<Appeal>)>, String>,
) -> Response {
    let verb = if action == "supervise" {
        "督办"
    } else {
        "交办"
    };
    page(&format!("批量{verb}"), Some(c), html! {
        h1 { "批量" (verb) }
        @match &outcome {
            Err(m) => {
                div.error role="alert" { "未执行任何一件：" (m) }
            }
            Ok(results) => {
                @let done = results.iter().filter(|(_, r)| r.is_ok()).count();
                p.total #bulk-summary { "已" (verb) " " strong { (done) } " 件" @if done < results.len() { "，未执行 " strong { (results.len() - done) } " 件（原因见下表）" } "。" }
                div.table-wrap { table {
                    thead { tr { th { "编号" } th { "结果" } } }
                    tbody {
                        @for (key, r) in results {
                            tr {
                                td.num { a href=(format!("/appeals/{key}")) { (key) } }
                                @match r {
                                    Ok(a) => td { "已" (verb) "，当前状态：" (a.status.label()) },
                                    Err(e) => td.overdue { "未执行：" (e.message) },
                                }
                            }
                        }
                    }
                } }
            }
        }
        p { a.button href=(back) { "返回列表" } }
    })
    .into_response()
}

/// `POST /appeals/filters`: saves the list's current filter under a name, then shows it again.
pub(super) async fn filter_save(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let query = field(&f, "query").to_string();
    let name = field(&f, "name").to_string();
    let back = |extra: String| {
        let sep = if query.is_empty() { "" } else { "&" };
        Redirect::to(&format!("/appeals?{query}{sep}{extra}")).into_response()
    };
    let req = crate::filters::SaveFilter {
        name: name.clone(),
        query: query.clone(),
        id: None,
    };
    match crate::filters::save_filter(&state, &c, req).await {
        Ok(v) => back(format!(
            "filter_done={}",
            urlencode(&format!("已保存筛选「{}」", v.name))
        )),
        Err(e) => back(format!(
            "filter_error={}&filter_name={}",
            urlencode(&e.message),
            urlencode(&name)
        )),
    }
}

/// `POST /appeals/filters/{id}/remove`: removes one of the user's saved filters.
pub(super) async fn filter_remove(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "无法删除",
            "筛选编号无效",
            Some(&c),
        );
    };
    match crate::filters::remove_filter(&state, &c, id).await {
        Ok(()) => Redirect::to(&format!("/appeals?filter_done={}", urlencode("已删除筛选")))
            .into_response(),
        Err(e) => error_page(e.status, "无法删除", &e.message, Some(&c)),
    }
}
