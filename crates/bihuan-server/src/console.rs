//! The web console: server-rendered Chinese pages for every role, with every asset embedded in
//! the binary (it must work on an offline government network). Pages are built with `maud`,
//! which escapes everything interpolated — text citizens wrote is always shown escaped.
//!
//! Every page goes through the same store calls and domain commands as the JSON API; an action
//! form posts the same fields an API client would send.

use bihuan_domain::ErrorCode;
use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bihuan_domain::appeal::{mask_name, Phone};
use bihuan_domain::lifecycle::{Action, Appeal, Role, Status};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::policy::DeadlineState;
use bihuan_domain::time::{format_local, Instant};
use bihuan_domain::{Channel, Kind, Urgency};
use bihuan_store::{AppealFilter, Catalog, Sort, StoreError};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::appeals::{can_see, filter_from_query, parse_ref, sees_personal_data, ListQuery};
use crate::auth::{Caller, SESSION_COOKIE};
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/appeals", get(list_page))
        .route("/appeals/new", get(new_page).post(new_submit))
        .route("/appeals/{key}", get(detail_page))
        .route("/appeals/{key}/act", post(act_submit))
        .route("/appeals/{key}/preview", get(dispatch_preview))
        .route(
            "/appeals/{key}/attachments",
            post(upload_submit).layer(axum::extract::DefaultBodyLimit::max(
                crate::attachments::UPLOAD_LIMIT,
            )),
        )
        .route("/console/caller", get(caller_history))
        .route("/console/suggest", get(intake_suggestions))
        .route("/queue/dispatch", get(dispatch_queue))
        .route("/queue/inbox", get(inbox))
        .route("/queue/visits", get(visits_queue))
        .route("/queue/supervision", get(supervision))
        .route("/admin", get(admin_page))
        .route("/admin/users", post(admin_create_user))
        .route("/admin/calendar", post(admin_load_calendar))
        .route("/admin/units", post(admin_put_unit))
        .route("/admin/categories", post(admin_put_category))
        .route("/admin/policies", post(admin_put_policies))
        .route("/admin/dispatch-rules", post(admin_dispatch_rules))
        .route("/admin/train", post(admin_train))
        .route("/admin/rates", post(admin_enter_rate))
        .route("/assets/{file}", get(asset))
}

// ---------------------------------------------------------------------------------------------
// Assets

const HTMX: &[u8] = include_bytes!("../assets/htmx.min.js");
const ECHARTS: &[u8] = include_bytes!("../assets/echarts.min.js");
const CSS: &[u8] = include_bytes!("../assets/app.css");
const JS: &[u8] = include_bytes!("../assets/app.js");
const DASHBOARD_JS: &[u8] = include_bytes!("../assets/dashboard.js");

async fn asset(Path(file): Path<String>) -> Response {
    let (body, ty) = match file.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "echarts.min.js" => (ECHARTS, "text/javascript; charset=utf-8"),
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        "dashboard.js" => (DASHBOARD_JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// The signed-in user of a page; without a session, the browser goes to the login page.

pub struct PageUser(pub Caller);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Caller::from_request_parts(parts, state).await {
            Ok(c) => Ok(PageUser(c)),
            Err(_) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let target = format!("/login?next={}", urlencode(next));
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Only same-origin relative paths are followed after login: one leading `/`, then printable
/// ASCII without `\\`. Browsers drop tabs and newlines from a URL (`/\t/evil.example` becomes
/// `//evil.example`, another host) and a control character cannot go into a `Location`
/// header at all, so anything else goes to the home page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_string()
        }
        _ => "/".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Layout and small pieces

fn nav(c: &Caller) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("/", "首页")];
    match c.user.role {
        Role::Operator | Role::GridMember => v.push(("/appeals/new", "登记诉求")),
        Role::Dispatcher => {
            v.push(("/queue/dispatch", "分流交办"));
            v.push(("/dashboard", "驾驶舱"));
            v.push(("/appeals/new", "登记诉求"));
        }
        Role::Handler | Role::UnitLeader => v.push(("/queue/inbox", "承办")),
        Role::ReturnVisitor => v.push(("/queue/visits", "回访")),
        Role::Supervisor | Role::Leader => {
            v.push(("/dashboard", "驾驶舱"));
            v.push(("/queue/supervision", "督办"));
        }
        Role::Admin => v.push(("/admin", "系统管理")),
        Role::System => {}
    }
    v.push(("/appeals", "工单查询"));
    v
}

fn page(title: &str, c: Option<&Caller>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // htmx would add a <style> element, which the content security policy refuses.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
                title { (title) " · 闭环" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/htmx.min.js" defer {}
                script src="/assets/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "闭环 · 群众诉求办理" }
                    @if let Some(c) = c {
                        nav { @for (href, label) in nav(c) { a href=(href) { (label) } } }
                        div.me {
                            span { (c.user.name) " · " (c.user.role.label()) }
                            form method="post" action="/logout" { button type="submit" { "退出" } }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string())
}

pub(crate) fn page_pub(title: &str, c: Option<&Caller>, body: Markup) -> Html<String> {
    page(title, c, body)
}

pub(crate) fn error_page_pub(
    status: StatusCode,
    title: &str,
    message: &str,
    c: Option<&Caller>,
) -> Response {
    error_page(status, title, message, c)
}

fn error_page(status: StatusCode, title: &str, message: &str, c: Option<&Caller>) -> Response {
    (
        status,
        page(
            title,
            c,
            html! { h1 { (title) } div.error { (message) } p { a href="/" { "返回首页" } } },
        ),
    )
        .into_response()
}

fn unit_name(cat: &Catalog, u: Option<UnitId>) -> String {
    u.and_then(|u| cat.org.get(u))
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "—".into())
}

fn state_code(s: Option<DeadlineState>) -> &'static str {
    match s {
        Some(DeadlineState::DueSoon) => "due_soon",
        Some(DeadlineState::Overdue) => "overdue",
        Some(DeadlineState::Running) => "running",
        Some(DeadlineState::Met) => "met",
        Some(DeadlineState::MetLate) => "met_late",
        None => "",
    }
}

fn deadline_badge(s: Option<DeadlineState>) -> Markup {
    html! {
        @if let Some(st) = s { span class=(format!("badge {}", state_code(s))) { (st.label()) } }
    }
}

fn appeal_rows(items: &[Appeal], cat: &Catalog, now: Instant) -> Markup {
    html! {
        div.table-wrap.cards-on-phone {
            table {
                thead { tr { th { "编号" } th { "登记时间" } th { "类型" } th { "标题" } th { "乡镇" } th { "主办单位" } th { "状态" } th { "最近期限" } } }
                tbody {
                    @for a in items {
                        @let st = a.deadline_state(now);
                        tr class=(state_code(st)) {
                            td.num data-label="编号" { a href=(format!("/appeals/{}", a.number)) { (a.number) } }
                            td.num.small data-label="登记" { (format_local(a.registered_at)) }
                            td data-label="类型" { (a.kind.label()) @if a.urgency != Urgency::Normal { " " span.badge.overdue { (a.urgency.label()) } } }
                            // Lists mask personal data for everyone, numbers typed into a title too.
                            td data-label="标题" { (bihuan_domain::appeal::mask_free_text(&a.title)) }
                            td data-label="乡镇" { (unit_name(cat, a.place.township)) }
                            td data-label="主办" { (unit_name(cat, a.lead)) }
                            td data-label="状态" { span.badge { (a.status.label()) } }
                            td.small data-label="期限" {
                                @if let Some((_, due)) = a.next_deadline() { (format_local(due)) " " (deadline_badge(st)) } @else { span.muted { "—" } }
                            }
                        }
                    }
                    @if items.is_empty() { tr { td colspan="8" .muted { "没有工单" } } }
                }
            }
        }
    }
}

async fn count(state: &AppState, f: AppealFilter) -> u64 {
    state.store.count(f).await.unwrap_or(0)
}

fn scoped(c: &Caller, now: Instant) -> AppealFilter {
    let mut f = AppealFilter {
        now: Some(now),
        ..Default::default()
    };
    c.scope(&mut f);
    f
}

fn card(href: &str, n: u64, label: &str, class: &str) -> Markup {
    html! { a class=(format!("card {class}")) href=(href) { div.n { (n) } div.l { (label) } } }
}

// ---------------------------------------------------------------------------------------------
// Login

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_form(state: &AppState, next: &str, error: Option<&str>) -> Html<String> {
    let demo = &state.config.demo_logins;
    page(
        "登录",
        None,
        html! {
            div.login.panel {
                h1 { "登录" }
                @if let Some(e) = error { div.error { (e) } }
                form.stack method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label for="login" { "登录名" }
                    input #login type="text" name="login" autocomplete="username" required autofocus;
                    label for="password" { "密码" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    p { button.primary type="submit" { "登录" } }
                }
            }
            @if !demo.is_empty() {
                div.panel {
                    h2 { "演示账号" }
                    p.muted.small { "这是演示县「云溪县」,数据均为虚构。" }
                    div.table-wrap { table {
                        thead { tr { th { "角色" } th { "登录名" } th { "密码" } } }
                        tbody { @for (login, pw, who) in demo { tr { td { (who) } td { code { (login) } } td { code { (pw) } } } } }
                    } }
                }
            }
        },
    )
}

async fn login_page(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Html<String> {
    login_form(&state, &safe_next(q.next.as_deref()), None)
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    addr: crate::security::ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    match crate::admin::check_login(&state, &f.login, &f.password, addr.0).await {
        Ok(user) => match crate::admin::open_session(&state, &user, &headers).await {
            Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
            Err(e) => (e.status, login_form(&state, &next, Some(&e.message))).into_response(),
        },
        Err(e) => {
            let mut resp = (e.status, login_form(&state, &next, Some(&e.message))).into_response();
            if let Some(secs) = e.retry_after {
                resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
            }
            resp
        }
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string());
    if let Some(t) = token {
        let _ = state
            .store
            .delete_credential(&crate::auth::token_hash(&t))
            .await;
        state.credentials.clear();
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response()
}

// ---------------------------------------------------------------------------------------------
// Home: each role's work, with counts and deadline colours

async fn home(State(state): State<AppState>, PageUser(c): PageUser) -> Html<String> {
    let now = state.clock.now();
    let cat = state.store.catalog();
    let base = scoped(&c, now);
    let with = |status: &[Status], overdue: Option<bool>, due_soon: Option<bool>| AppealFilter {
        status: status.to_vec(),
        overdue,
        due_soon,
        ..base.clone()
    };
    let open = [
        Status::PendingDispatch,
        Status::Dispatched,
        Status::Returned,
        Status::InProgress,
    ];
    let mut cards = Vec::new();
    let q = |s: &str| format!("/appeals?{s}");
    match c.user.role {
        Role::Operator | Role::GridMember => {
            let mine = AppealFilter {
                registered_by: Some(c.user.id),
                ..base.clone()
            };
            cards.push(card(
                &q(&format!("registered_by={}", c.user.id.0)),
                count(&state, mine).await,
                "我登记的",
                "",
            ));
        }
        Role::Dispatcher | Role::Admin => {
            cards.push(card(
                "/queue/dispatch",
                count(&state, with(&[Status::PendingDispatch], None, None)).await,
                "待交办",
                "",
            ));
            cards.push(card(
                "/queue/dispatch",
                count(&state, with(&[Status::Returned], None, None)).await,
                "退单待审",
                "warn",
            ));
        }
        Role::Handler | Role::UnitLeader => {
            cards.push(card(
                "/queue/inbox",
                count(&state, with(&[Status::Dispatched], None, None)).await,
                "待签收",
                "",
            ));
            cards.push(card(
                "/queue/inbox",
                count(&state, with(&[Status::InProgress], None, None)).await,
                "办理中",
                "",
            ));
        }
        Role::ReturnVisitor => {
            cards.push(card(
                "/queue/visits",
                count(&state, with(&[Status::Replied], None, None)).await,
                "待回访",
                "",
            ));
            cards.push(card(
                &q("status=visited"),
                count(&state, with(&[Status::Visited], None, None)).await,
                "待办结",
                "",
            ));
        }
        Role::Supervisor | Role::Leader | Role::System => {}
    }
    cards.push(card(
        &q("due_soon=true&sort=due"),
        count(&state, with(&open, None, Some(true))).await,
        "临期",
        "warn",
    ));
    cards.push(card(
        &q("overdue=true&sort=due"),
        count(&state, with(&open, Some(true), None)).await,
        "超期",
        "bad",
    ));
    let urgent = state
        .store
        .list(
            AppealFilter {
                status: open.to_vec(),
                sort: Sort::DueFirst,
                ..base.clone()
            },
            None,
            15,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    page(
        "首页",
        Some(&c),
        html! {
            h1 { "您好," (c.user.name) }
            p.muted { (unit_name(&cat, Some(c.user.unit))) " · " (c.user.role.label()) " · " (format_local(now)) }
            div.cards { @for m in &cards { (m) } }
            @if matches!(c.user.role, Role::Operator | Role::Dispatcher | Role::GridMember) {
                p { a.button.primary href="/appeals/new" accesskey="n" { "登记新诉求 (Alt+N)" } }
            }
            h2 { "期限最近的在办工单" }
            (appeal_rows(&urgent, &cat, now))
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Deserialize, Default)]
struct PageQuery {
    status: Option<String>,
    unit: Option<String>,
    township: Option<String>,
    kind: Option<String>,
    channel: Option<String>,
    overdue: Option<String>,
    due_soon: Option<String>,
    from: Option<String>,
    to: Option<String>,
    registered_by: Option<u32>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
}

async fn list_page(
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
    let page_ = match state.store.list(filter, nonempty(&q.cursor), 50).await {
        Ok(p) => p,
        Err(e) => {
            let e = ApiError::from(e);
            return error_page(e.status, "查询失败", &e.message, Some(&c));
        }
    };
    let selected = |a: &Option<String>, v: &str| a.as_deref() == Some(v);
    let townships: Vec<_> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Township)
        .collect();
    let handlers: Vec<_> = cat.org.units().filter(|u| u.kind.can_handle()).collect();
    let mut next_q = serde_urlencoded_pairs(&q);
    // The export takes the list's own filters (the registrant filter is the console's only).
    let export_q = next_q
        .iter()
        .filter(|(k, _)| k != "registered_by")
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let next_link = page_.next_cursor.as_ref().map(|cur| {
        next_q.push(("cursor".into(), cur.clone()));
        format!(
            "/appeals?{}",
            next_q
                .iter()
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect::<Vec<_>>()
                .join("&")
        )
    });
    page("工单查询", Some(&c), html! {
        h1 { "工单查询" }
        form.filters method="get" action="/appeals" {
            label.search { "全文搜索" input type="search" name="q" value=[q.q.as_deref()] placeholder="内容、答复、备注中的词,如: 路灯 人民路" maxlength="100"; }
            label { "状态" select name="status" {
                option value="" { "全部" }
                @for s in Status::ALL { @let code = status_code(*s); option value=(code) selected[selected(&q.status, &code)] { (s.label()) } }
            } }
            label { "类型" select name="kind" {
                option value="" { "全部" }
                @for k in Kind::ALL { option value=(k.code()) selected[selected(&q.kind, k.code())] { (k.label()) } }
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
            } }
            button.primary type="submit" { "查询" }
        }
        @if let Some((matches, capped)) = search {
            p.muted {
                "全文搜索「" (q.q.as_deref().unwrap_or("")) "」共 " (matches) " 件匹配(未计其他筛选条件)"
                @if capped { ",只列出最新的 " (crate::smart::SEARCH_CAP) " 件,请加词或筛选条件缩小范围" }
            }
        }
        (appeal_rows(&page_.items, &cat, now))
        div.pager {
            @if let Some(l) = next_link { a.button href=(l) { "下一页" } }
            a.button href=(format!("/api/v1/export/appeals.xlsx?{export_q}")) { "导出 Excel" }
            a.button href=(format!("/api/v1/export/appeals.csv?{export_q}")) { "导出 CSV" }
        }
    })
    .into_response()
}

fn status_code(s: Status) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn serde_urlencoded_pairs(q: &PageQuery) -> Vec<(String, String)> {
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
    push("channel", &q.channel);
    push("overdue", &q.overdue);
    push("due_soon", &q.due_soon);
    push("from", &q.from);
    push("to", &q.to);
    push("q", &q.q);
    push("sort", &q.sort);
    if let Some(r) = q.registered_by {
        v.push(("registered_by".into(), r.to_string()));
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Intake

type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

fn fields_all<'a>(f: &'a Fields, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    f.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A fresh key for one registration form.
fn new_submission() -> String {
    crate::auth::new_token().0
}

fn new_form(
    state: &AppState,
    c: &Caller,
    values: &Fields,
    errors: &BTreeMap<String, String>,
    top: Option<&str>,
) -> Html<String> {
    let cat = state.store.catalog();
    let v = |k: &str| field(values, k).to_string();
    let err = |k: &str| errors.get(k).cloned();
    let inv = |k: &str| {
        if errors.contains_key(k) {
            "invalid"
        } else {
            ""
        }
    };
    let leaves: Vec<(u32, String)> = cat
        .categories
        .iter()
        .filter(|x| cat.categories.iter().all(|y| y.parent != Some(x.id)))
        .filter_map(|x| Some((x.id.0, cat.categories.path_name(x.id)?)))
        .collect();
    let townships: Vec<_> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Township)
        .collect();
    let kind_default = if v("kind").is_empty() {
        "complaint".to_string()
    } else {
        v("kind")
    };
    let channel_default = if v("channel").is_empty() {
        if c.user.role == Role::GridMember {
            "grid_report".to_string()
        } else {
            "hotline".to_string()
        }
    } else {
        v("channel")
    };
    page(
        "登记诉求",
        Some(c),
        html! {
            h1 { "登记诉求" }
            @if let Some(t) = top { div.error { (t) } }
            form.stack.panel method="post" action="/appeals/new" {
                // One key per form: a double click or a resent form registers one appeal.
                input type="hidden" name="submission" value=(if v("submission").is_empty() { new_submission() } else { v("submission") });
                div.row {
                    div { label for="kind" { "诉求类型" } select #kind name="kind" autofocus {
                        @for k in Kind::ALL { option value=(k.code()) selected[kind_default == k.code()] { (k.label()) } }
                    } }
                    div { label for="channel" { "来源渠道" } select #channel name="channel" {
                        @for ch in Channel::ALL { option value=(ch.code()) selected[channel_default == ch.code()] { (ch.label()) } }
                    } }
                    div { label for="urgency" { "紧急程度" } select #urgency name="urgency" {
                        @for u in [Urgency::Normal, Urgency::Urgent, Urgency::Critical] { option value=(u.code()) selected[v("urgency") == u.code()] { (u.label()) } }
                    } }
                }
                label for="category_text" { "分类(输入关键字搜索)" }
                input #category_text type="search" name="category_text" list="categories" data-picker="category" value=(v("category_text")) class=(inv("category")) placeholder="如:路灯";
                input #category type="hidden" name="category" value=(v("category"));
                datalist #categories { @for (id, path) in &leaves { option value=(path) data-id=(id) {} } }
                @if let Some(e) = err("category") { span.field-error { (e) } }
                label for="title" { "标题" }
                input #title type="text" name="title" value=(v("title")) class=(inv("title")) maxlength="200";
                @if let Some(e) = err("title") { span.field-error { (e) } }
                label for="content" { "诉求内容" }
                textarea #content name="content" class=(inv("content"))
                    hx-get="/console/suggest" hx-trigger="input changed delay:700ms, change" hx-target="#suggestions" hx-include="#title, #content, #address, #township, #phone" { (v("content")) }
                @if let Some(e) = err("content") { span.field-error { (e) } }
                div #suggestions {}
                div.row {
                    div { label for="township" { "乡镇(街道)" } select #township name="township" class=(inv("place.township")) {
                        option value="" { "未知" }
                        @for t in &townships { option value=(t.id.0) selected[v("township") == t.id.0.to_string()] { (t.name) } }
                    } }
                    div { label for="address" { "详细地址" } input #address type="text" name="address" value=(v("address")) class=(inv("place.address")); }
                }
                @if let Some(e) = err("place.township").or(err("place.address")) { span.field-error { (e) } }
                div.row {
                    div { label for="citizen_name" { "诉求人" } input #citizen_name type="text" name="citizen_name" value=(v("citizen_name")) class=(inv("citizen.name")); }
                    div {
                        label for="phone" { "联系电话" }
                        input #phone type="tel" name="phone" value=(v("phone")) class=(inv("phone"))
                            hx-get="/console/caller" hx-trigger="change, keyup delay:600ms" hx-target="#caller-history" hx-include="#phone";
                    }
                }
                @if let Some(e) = err("phone").or(err("citizen.name")) { span.field-error { (e) } }
                div #caller-history {}
                @if matches!(c.user.role, Role::Operator | Role::Dispatcher) {
                    label for="answer" { "当场答复(仅咨询类;填写后直接答复,不再交办)" }
                    textarea #answer name="answer" class=(inv("answer")) { (v("answer")) }
                    @if let Some(e) = err("answer") { span.field-error { (e) } }
                }
                p { button.primary type="submit" accesskey="s" { "登记 (Ctrl+Enter)" } }
            }
        },
    )
}

async fn new_page(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(
        c.user.role,
        Role::Operator | Role::Dispatcher | Role::GridMember | Role::Admin
    ) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权登记",
            "当前角色不能登记诉求",
            Some(&c),
        );
    }
    new_form(&state, &c, &vec![], &BTreeMap::new(), None).into_response()
}

async fn new_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let mut errors = BTreeMap::new();
    let kind = Kind::parse(field(&f, "kind"));
    let channel = Channel::parse(field(&f, "channel"));
    let urgency = Urgency::parse(field(&f, "urgency")).unwrap_or(Urgency::Normal);
    if kind.is_none() {
        errors.insert("kind".into(), "请选择诉求类型".into());
    }
    let category = match field(&f, "category") {
        "" if field(&f, "category_text").is_empty() => None,
        "" => {
            errors.insert("category".into(), "请从列表中选择分类".into());
            None
        }
        s => s.parse().ok().map(bihuan_domain::category::CategoryId),
    };
    let phone = match field(&f, "phone") {
        "" => None,
        p => match Phone::parse(p) {
            Ok(p) => Some(p),
            Err(m) => {
                errors.insert("phone".into(), m);
                None
            }
        },
    };
    if field(&f, "title").is_empty() {
        errors.insert("title".into(), "请填写标题".into());
    }
    if field(&f, "content").is_empty() {
        errors.insert("content".into(), "请填写诉求内容".into());
    }
    let answer = field(&f, "answer").to_string();
    if !answer.is_empty() && kind != Some(Kind::Consultation) {
        errors.insert("answer".into(), "只有咨询类诉求可以当场答复".into());
    }
    if !errors.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            new_form(&state, &c, &f, &errors, Some("请修改标红的内容后再提交")),
        )
            .into_response();
    }
    let township = field(&f, "township").parse().ok().map(UnitId);
    let body = json!({
        "channel": channel.unwrap_or(Channel::Hotline),
        "kind": kind,
        "urgency": urgency,
        "category": category,
        "title": field(&f, "title"),
        "content": field(&f, "content"),
        "place": {"address": field(&f, "address"), "township": township},
        "citizen": {"name": Some(field(&f, "citizen_name")).filter(|s| !s.is_empty()), "phone": phone},
    });
    let new = match serde_json::from_value(body) {
        Ok(n) => n,
        Err(e) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                new_form(&state, &c, &f, &errors, Some(&format!("内容有误:{e}"))),
            )
                .into_response()
        }
    };
    let key = match field(&f, "submission") {
        "" => None,
        k => match crate::app::idempotency_key(&c, k) {
            Ok(k) => Some(k),
            Err(e) => {
                return (
                    e.status,
                    new_form(&state, &c, &f, &errors, Some("表单已失效,请重新提交")),
                )
                    .into_response()
            }
        },
    };
    let r = match crate::app::register(&state, &c, new, key).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(field_name) = e
                .extra
                .as_ref()
                .and_then(|x| x.get("field"))
                .and_then(Value::as_str)
            {
                errors.insert(field_name.to_string(), e.message.clone());
            }
            return (
                e.status,
                new_form(&state, &c, &f, &errors, Some(&e.message)),
            )
                .into_response();
        }
    };
    if !r.created {
        // The same form sent again (a double click, a resend): the appeal it made.
        return Redirect::to(&format!("/appeals/{}?ok=registered", r.appeal.number))
            .into_response();
    }
    let number = r.appeal.number;
    if !answer.is_empty() {
        let cmd = bihuan_domain::Command::AnswerAtIntake { answer };
        let key = r.appeal.number.to_string();
        if let Err(e) = crate::app::act(&state, &c, &key, cmd, r.appeal.version).await {
            return Redirect::to(&format!(
                "/appeals/{number}?error={}",
                urlencode(&e.message)
            ))
            .into_response();
        }
    }
    Redirect::to(&format!("/appeals/{number}?ok=registered")).into_response()
}

#[derive(Deserialize)]
struct PhoneQuery {
    phone: Option<String>,
}

/// The caller's earlier appeals, shown while the operator types the number.
#[derive(Deserialize)]
struct IntakeQuery {
    #[serde(default)]
    title: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    township: String,
    #[serde(default)]
    phone: String,
}

/// While the operator types: the likely category and lead units, the place, and open appeals
/// about the same matter.
async fn intake_suggestions(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<IntakeQuery>,
) -> Html<String> {
    if !crate::smart::INTAKE.contains(&c.user.role)
        || q.content.trim().chars().count() < 4
        || q.content.chars().count() > 5000
    {
        return Html(String::new());
    }
    let text = crate::smart::NewText {
        title: q.title.chars().take(200).collect(),
        content: q.content,
        address: q.address.chars().take(500).collect(),
        category: None,
        township: q.township.parse().ok().map(UnitId),
        citizen: Phone::parse(q.phone.trim()).ok().map(|p| p.identity()),
    };
    let v = crate::smart::for_text(&state, &c, &text).await;
    let pct = |v: &Value| format!("{:.0}%", v.as_f64().unwrap_or(0.0) * 100.0);
    let list = |key: &str, name: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|xs| {
                xs.iter()
                    .map(|x| {
                        format!(
                            "{} {}",
                            x[name].as_str().unwrap_or(""),
                            pct(&x["confidence"])
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (cats, units) = (list("categories", "path"), list("units", "name"));
    let dups = v["duplicates"].as_array().cloned().unwrap_or_default();
    Html(
        html! {
            div.hint.small {
                @if !cats.is_empty() { p { "建议分类:" (cats.join(";")) } }
                @if !units.is_empty() { p { "建议主办:" (units.join(";")) } }
                @if let Some(p) = v["place"].as_object() {
                    p { "识别地点:" (p.get("township_name").and_then(|x| x.as_str()).unwrap_or("")) " " (p.get("village_name").and_then(|x| x.as_str()).unwrap_or("")) }
                }
                @if !dups.is_empty() {
                    p.warn { "可能重复的在办工单:" }
                    ul { @for d in &dups { li {
                        a href=(format!("/appeals/{}", d["number"].as_str().unwrap_or(""))) target="_blank" { (d["number"].as_str().unwrap_or("")) }
                        " " (d["title"].as_str().unwrap_or("")) " · " (d["status_label"].as_str().unwrap_or("")) " · 相似度 " (pct(&d["similarity"]))
                        @if d["same_caller"].as_bool() == Some(true) { strong { " · 同一诉求人重复反映" } }
                    } } }
                }
            }
        }
        .into_string(),
    )
}

async fn caller_history(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<PhoneQuery>,
) -> Html<String> {
    let Some(phone) = q.phone.as_deref().and_then(|p| Phone::parse(p).ok()) else {
        return Html(String::new());
    };
    if !matches!(
        c.user.role,
        Role::Operator | Role::Dispatcher | Role::ReturnVisitor
    ) {
        return Html(String::new());
    }
    let now = state.clock.now();
    let f = AppealFilter {
        citizen: Some(phone.identity()),
        now: Some(now),
        ..Default::default()
    };
    let items = state
        .store
        .list(f, None, 10)
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let cat = state.store.catalog();
    Html(
        html! {
            @if items.is_empty() { p.muted.small { "该号码没有历史诉求" } }
            @else {
                p.small { "该号码的历史诉求(最近 " (items.len()) " 件):" }
                (appeal_rows(&items, &cat, now))
            }
        }
        .into_string(),
    )
}

// ---------------------------------------------------------------------------------------------
// Detail with timeline and the actions this user can take

#[derive(Deserialize, Default)]
struct DetailQuery {
    ok: Option<String>,
    error: Option<String>,
}

fn ok_message(code: &str) -> &'static str {
    match code {
        "registered" => "已登记",
        "dispatch" => "已交办",
        "sign" => "已签收",
        "reply" => "已答复",
        "return_visit" => "已记录回访",
        "close" => "已办结",
        "return" => "已申请退单",
        "decide_return" => "已处理退单",
        "request_extension" => "已申请延期",
        "decide_extension" => "已处理延期申请",
        "whistle" => "已吹哨",
        "report_in" => "已报到",
        "redo" => "已退回重办",
        "merge" => "已合并",
        "supervise" => "已督办",
        "comment" => "已添加备注",
        "contact" => "已记录联系",
        "commit" => "已记录承诺",
        "answer_at_intake" => "已当场答复",
        _ => "操作成功",
    }
}

fn unit_options(cat: &Catalog, exclude: Option<UnitId>) -> Markup {
    html! {
        optgroup label="部门" { @for u in cat.org.units().filter(|u| u.kind == UnitKind::Department && Some(u.id) != exclude) { option value=(u.id.0) { (u.name) } } }
        optgroup label="乡镇(街道)" { @for u in cat.org.units().filter(|u| u.kind == UnitKind::Township && Some(u.id) != exclude) { option value=(u.id.0) { (u.name) } } }
    }
}

fn action_form(
    action: Action,
    a: &Appeal,
    cat: &Catalog,
    c: &Caller,
    open: bool,
    files: &[bihuan_store::Attachment],
    owners: &[bihuan_store::User],
) -> Markup {
    let title = match action {
        Action::AnswerAtIntake => "当场答复",
        Action::Dispatch => "交办",
        Action::Sign => "签收",
        Action::SetOwner => "更换首席服务官",
        Action::Return => "申请退单",
        Action::DecideReturn => "审核退单",
        Action::Contact => "联系群众",
        Action::Commit => "双向承诺",
        Action::RequestExtension => "申请延期",
        Action::DecideExtension => "审批延期",
        Action::Whistle => "吹哨",
        Action::ReportIn => "报到",
        Action::Reply => "答复",
        Action::ReturnVisit => "回访",
        Action::Close => "办结",
        Action::Redo => "退回重办",
        Action::Merge => "合并到主工单",
        Action::LinkDuplicate => "关联重复件",
        Action::Supervise => "督办",
        Action::Comment => "备注",
    };
    let confirm = match action {
        Action::Close => Some("确认办结?办结后不能再办理。"),
        Action::Merge => Some("确认合并?合并后本工单不再单独办理。"),
        Action::Return => Some("确认退单?"),
        Action::Redo => Some("确认退回重办?"),
        _ => None,
    };
    let pending_whistles: Vec<u32> = a
        .whistles
        .iter()
        .filter(|w| {
            w.targets
                .iter()
                .any(|t| t.unit == c.user.unit && t.reported_at.is_none())
        })
        .map(|w| w.no)
        .collect();
    html! {
        details open[open] {
            summary { (title) }
            form.stack method="post" action=(format!("/appeals/{}/act", a.number)) data-confirm=[confirm] {
                input type="hidden" name="action" value=(action.name());
                input type="hidden" name="version" value=(a.version);
                @match action {
                    Action::AnswerAtIntake => { label { "答复内容" } textarea name="answer" required {} }
                    Action::Dispatch => {
                        label { "主办单位" }
                        select name="lead" required hx-get=(format!("/appeals/{}/preview", a.number)) hx-trigger="change" hx-target="next .preview" {
                            option value="" { "请选择" } (unit_options(cat, None))
                        }
                        div.preview.small.muted { "选择主办单位后显示将产生的办理期限" }
                        label { "协办单位(可多选)" }
                        select name="assisting" multiple { (unit_options(cat, None)) }
                        label { "交办意见" } input type="text" name="note";
                    }
                    Action::Sign => { p.small.muted { "签收后由您担任首席服务官,并开始计算办理期限。" } }
                    Action::Return => {
                        @if let Some(by) = a.deadlines.return_by { p.small.muted { "退单时限:" (format_local(by)) } }
                        label { "退单理由" } textarea name="reason" required {}
                    }
                    Action::DecideReturn => {
                        @if let Some(p) = &a.pending_return { p { "退单单位:" (unit_name(cat, Some(p.unit))) " · 理由:" (p.reason) } }
                        label { "处理" } select name="decision" { option value="accept" { "同意退单" } option value="refuse" { "驳回(由原单位继续办理)" } }
                        label { "同意时改派给(可不选,回到待交办)" } select name="redispatch" { option value="" { "暂不改派" } (unit_options(cat, a.lead)) }
                        label { "意见(驳回时必填)" } input type="text" name="note";
                    }
                    Action::Contact => { label { "联系情况" } textarea name="note" required {} }
                    Action::Commit => {
                        label { "承诺事项" } input type="text" name="what" required;
                        label { "承诺完成日期" } input type="date" name="by" required;
                        label { "群众配合事项(可选)" } input type="text" name="citizen_part";
                    }
                    Action::RequestExtension => {
                        @if let Some(d) = a.deadlines.reply { p.small.muted { "当前答复期限:" (format_local(d)) } }
                        div.row {
                            div { label { "延期时长" } input type="number" name="amount" min="1" max="60" required; }
                            div { label { "单位" } select name="unit" { option value="working_days" { "工作日" } option value="calendar_days" { "日" } option value="hours" { "小时" } } }
                        }
                        label { "延期理由" } textarea name="reason" required {}
                    }
                    Action::DecideExtension => {
                        @if let Some(x) = &a.extension { p { "申请延至 " (format_local(x.proposed_due)) " · 理由:" (x.reason) } }
                        label { "处理" } select name="decision" { option value="approve" { "批准" } option value="refuse" { "驳回" } }
                        label { "意见(驳回时必填)" } input type="text" name="note";
                    }
                    Action::Whistle => {
                        label { "需要报到的部门(可多选)" } select name="units" multiple required { (unit_options(cat, Some(c.user.unit))) }
                        label { "事项" } textarea name="matter" required {}
                    }
                    Action::ReportIn => {
                        label { "吹哨" } select name="whistle" { @for n in &pending_whistles { option value=(n) { "第 " (n) " 次吹哨" } } }
                        label { "报到情况" } input type="text" name="note";
                    }
                    Action::Reply => {
                        label { "办理结果" } select name="result" { option value="resolved" { "已解决" } option value="partly_resolved" { "部分解决" } option value="unresolvable" { "无法解决" } }
                        label { "未解决的原因(部分解决或无法解决时必填)" } input type="text" name="reason";
                        @if a.regime == bihuan_domain::Regime::Petition {
                            label { "处理意见" } select name="petition_outcome" { option value="support" { "支持" } option value="explain" { "解释说明" } option value="not_supported" { "不予支持" } }
                        }
                        label { "答复内容" } textarea name="text" required {}
                        @if !files.is_empty() {
                            label { "随答复提交的附件" }
                            @for f in files { label.small { input type="checkbox" name="attachments" value=(format!("#{} {}", f.id, f.name)) checked; " " (f.name) } }
                        }
                    }
                    Action::ReturnVisit => {
                        label { "是否联系上" } select name="contacted" { option value="yes" { "已联系上" } option value="no" { "未联系上" } }
                        label { "问题是否解决(联系上时填写)" } select name="resolved" { option value="" { "—" } option value="yes" { "已解决" } option value="no" { "未解决" } }
                        label { "满意度(联系上时填写)" } select name="rating" { option value="" { "—" } option value="satisfied" { "满意" } option value="basic" { "基本满意" } option value="unsatisfied" { "不满意" } }
                        label { "回访记录" } input type="text" name="comment";
                    }
                    Action::Close => {
                        label { "办结说明" @if a.status == Status::Replied { "(未回访直接办结时必填)" } } input type="text" name="note";
                    }
                    Action::Redo => {
                        label { "原因" } select name="cause" {
                            @if a.visit.as_ref().and_then(|v| v.rating) == Some(bihuan_domain::lifecycle::Rating::Unsatisfied) { option value="unsatisfied" { "群众不满意" } }
                            option value="reply_rejected" { "答复审核不通过" }
                        }
                        label { "说明" } textarea name="reason" required {}
                    }
                    Action::Merge => { label { "主工单编号" } input type="text" name="master" placeholder="2026-11-000123" required; }
                    Action::Supervise => {
                        label { "督办类型" } select name="reason" { option value="leader_order" { "领导交办" } option value="overdue" { "超期督办" } }
                        label { "督办意见" } textarea name="note" {}
                    }
                    Action::SetOwner => {
                        @if let Some(o) = &a.owner { p.small.muted { "当前首席服务官:" (o.name) } }
                        label { "新的首席服务官(主办单位人员)" }
                        select name="owner" required {
                            option value="" { "请选择" }
                            @for u in owners { option value=(u.id.0) { (u.name) "(" (u.role.label()) ")" } }
                        }
                    }
                    Action::Comment | Action::LinkDuplicate => { label { "备注" } textarea name="text" required {} }
                }
                p { button type="submit" class=(if confirm.is_some() { "danger" } else { "primary" }) { (title) } }
            }
        }
    }
}

fn timeline_item(r: &bihuan_domain::EventRecord, cat: &Catalog) -> Markup {
    use bihuan_domain::Event as E;
    let detail: Option<String> = match &r.event {
        E::Dispatched {
            lead,
            assisting,
            note,
            ..
        } => Some(format!(
            "主办:{}{}{}",
            unit_name(cat, Some(*lead)),
            if assisting.is_empty() {
                String::new()
            } else {
                format!(
                    ";协办:{}",
                    assisting
                        .iter()
                        .map(|u| unit_name(cat, Some(*u)))
                        .collect::<Vec<_>>()
                        .join("、")
                )
            },
            if note.is_empty() {
                String::new()
            } else {
                format!(";{note}")
            }
        )),
        E::ReturnRequested { reason, .. } => Some(reason.clone()),
        E::ReturnAccepted { note }
        | E::ReturnRefused { note }
        | E::ExtensionRefused { note }
        | E::Closed { note, .. }
        | E::Contacted { note } => Some(note.clone()).filter(|s| !s.is_empty()),
        E::ExtensionRequested {
            reason,
            proposed_due,
            ..
        } => Some(format!("延至 {};{reason}", format_local(*proposed_due))),
        E::ExtensionApproved { new_due, .. } => Some(format!("新期限 {}", format_local(*new_due))),
        E::Whistled {
            units,
            matter,
            report_by,
            ..
        } => Some(format!(
            "报到单位:{};{matter};报到期限 {}",
            units
                .iter()
                .map(|u| unit_name(cat, Some(*u)))
                .collect::<Vec<_>>()
                .join("、"),
            format_local(*report_by)
        )),
        E::ReportedIn {
            unit, note, late, ..
        } => Some(format!(
            "{}{}{}",
            unit_name(cat, Some(*unit)),
            if *late { "(超时报到)" } else { "" },
            if note.is_empty() {
                String::new()
            } else {
                format!(":{note}")
            }
        )),
        E::Replied { reply, late, .. } => Some(format!(
            "{}{}:{}",
            reply.result.label(),
            if *late { "(超期答复)" } else { "" },
            reply.text
        )),
        E::AnsweredAtIntake { answer } => Some(answer.clone()),
        E::Visited { visit } => Some(format!(
            "{}{}{}",
            if visit.contacted {
                "已联系上"
            } else {
                "未联系上"
            },
            visit
                .rating
                .map(|r| format!(",{}", r.label()))
                .unwrap_or_default(),
            if visit.comment.is_empty() {
                String::new()
            } else {
                format!(";{}", visit.comment)
            }
        )),
        E::RedoOrdered {
            cause,
            reason,
            reply_due,
        } => Some(format!(
            "{}:{reason};新答复期限 {}",
            cause.label(),
            format_local(*reply_due)
        )),
        E::Committed { commitment } => {
            Some(format!("{}(承诺于 {} 前)", commitment.what, commitment.by))
        }
        E::Supervised { reason, note, .. } => Some(format!(
            "{}{}",
            reason.label(),
            if note.is_empty() {
                String::new()
            } else {
                format!(":{note}")
            }
        )),
        E::Commented { text } => Some(text.clone()),
        E::MergedInto { number, .. } => Some(format!("主工单 {number}")),
        E::DuplicateLinked { number, .. } => Some(format!("重复工单 {number}")),
        E::Signed { owner, .. } | E::OwnerChanged { owner } => {
            Some(format!("首席服务官:{}", owner.name))
        }
        E::Registered { .. } => None,
    };
    html! {
        li {
            strong { (r.event.label()) } " "
            span.muted.small { (format_local(r.at)) " · " (r.actor.name) " · " (r.actor.role.label()) " · " (unit_name(cat, Some(r.actor.unit))) }
            @if let Some(d) = detail { div.content { (d) } }
        }
    }
}

async fn render_detail(
    state: &AppState,
    c: &Caller,
    key: &str,
    flash: Option<String>,
    error: Option<(String, String)>,
) -> Response {
    let r = match parse_ref(key) {
        Ok(r) => r,
        Err(e) => return error_page(e.status, "工单编号有误", &e.message, Some(c)),
    };
    let a = match state.store.appeal(r).await {
        Ok(a) => a,
        Err(StoreError::NotFound { .. }) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "未找到工单",
                "没有这个工单,请检查编号",
                Some(c),
            )
        }
        Err(e) => {
            let e = ApiError::from(e);
            return error_page(e.status, "读取失败", &e.message, Some(c));
        }
    };
    if !can_see(c, &a) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权查看",
            "该工单不属于本单位,无权查看",
            Some(c),
        );
    }
    let history = state.store.history(a.id).await.unwrap_or_default();
    let files = state.store.attachments(a.id).await.unwrap_or_default();
    let cat = state.store.catalog();
    let now = state.clock.now();
    let full = sees_personal_data(c, &a, false);
    // Phone and ID numbers typed into the texts are masked like the citizen's own fields.
    let (a, history) = if full {
        (a, history)
    } else {
        (
            crate::appeals::masked_appeal(&a),
            crate::appeals::masked_records(history),
        )
    };
    let (name, phone) = if full {
        (
            a.citizen.name.clone().unwrap_or_default(),
            a.citizen
                .phone
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default(),
        )
    } else {
        (
            a.citizen.name.as_deref().map(mask_name).unwrap_or_default(),
            a.citizen
                .phone
                .as_ref()
                .map(|p| p.masked())
                .unwrap_or_default(),
        )
    };
    let running = a.running_deadlines();
    let d = &a.deadlines;
    // (step, clock start, due, done)
    type Row<'a> = (&'a str, Option<Instant>, Option<Instant>, Option<Instant>);
    let deadline_rows: Vec<Row> = vec![
        (
            "交办",
            Some(a.registered_at),
            d.dispatch,
            a.dispatched_at.or(if a.answered_at_intake {
                a.replied_at
            } else {
                None
            }),
        ),
        ("签收", a.dispatched_at, d.sign, a.signed_at),
        (
            "首次联系",
            a.dispatched_at,
            d.first_contact,
            a.first_contact_at,
        ),
        (
            "答复",
            d.reply_started,
            d.reply,
            a.replied_at
                .filter(|_| !matches!(a.status, Status::InProgress | Status::Dispatched)),
        ),
    ];
    let (error_action, error_message) = match &error {
        Some((act, msg)) => (Some(act.as_str()), Some(msg.as_str())),
        None => (None, None),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Exactly what the domain would accept from this user now (its own guard).
    let offered = crate::app::available_actions(state, c, &a);
    let owners: Vec<bihuan_store::User> = if offered.contains(&Action::SetOwner) {
        let mut v: Vec<_> = state
            .store
            .users()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|u| {
                u.active
                    && Some(u.unit) == a.lead
                    && matches!(u.role, Role::Handler | Role::UnitLeader)
            })
            .collect();
        v.sort_by_key(|u| u.id.0);
        v
    } else {
        vec![]
    };
    // Smart dispatch: for the centre while the appeal awaits dispatch, and duplicates for
    // whoever sees the whole county while it is open.
    let smart = if (a.status == Status::PendingDispatch
        && matches!(c.user.role, Role::Dispatcher | Role::Admin))
        || (c.sees_all() && !a.status.is_terminal())
    {
        Some(crate::smart::suggestions_for(state, c, &a).await)
    } else {
        None
    };
    let can_direct = a.status == Status::PendingDispatch && c.user.role == Role::Dispatcher;
    let body = html! {
        h1 { "工单 " (a.number) " " span.badge { (a.status.label()) } " " (deadline_badge(a.deadline_state(now))) }
        @if let Some(f) = &flash { div.flash { (f) } }
        @if let Some(m) = error_message { div.error { (m) } }
        div.panel {
            h2 { (a.title) }
            p.content { (a.content) }
            dl.facts {
                dt { "类型" } dd { (a.kind.label()) " · " (a.regime.label()) " · " (a.urgency.label()) }
                dt { "渠道" } dd { (a.channel.label()) }
                dt { "分类" } dd { (a.category.and_then(|x| cat.categories.path_name(x)).unwrap_or_else(|| "—".into())) }
                dt { "地点" } dd { (unit_name(&cat, a.place.township)) " " (a.place.address) }
                dt { "诉求人" } dd { (name) " " (phone) @if let Some(o) = &a.citizen.organisation { " · " (o) } }
                dt { "登记" } dd { (format_local(a.registered_at)) }
                dt { "主办单位" } dd { (unit_name(&cat, a.lead)) }
                @if !a.assisting.is_empty() { dt { "协办单位" } dd { (a.assisting.iter().map(|u| unit_name(&cat, Some(*u))).collect::<Vec<_>>().join("、")) } }
                dt { "首席服务官" } dd { (a.owner.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| "—".into())) }
                @if let Some(cm) = &a.commitment { dt { "双向承诺" } dd { (cm.what) "(" (cm.by) " 前)" @if let Some(p) = &cm.citizen_part { ";群众:" (p) } } }
                @if let Some(r) = &a.reply { dt { "答复" } dd { (r.result.label()) ":" (r.text) } }
                @if let Some(v) = &a.visit { dt { "回访" } dd { (if v.contacted { "已联系上" } else { "未联系上" }) @if let Some(r) = v.rating { "," (r.label()) } } }
                @if let Some((_, n)) = &a.merged_into { dt { "已合并到" } dd { a href=(format!("/appeals/{n}")) { (n) } } }
                @if !a.duplicates.is_empty() { dt { "重复工单" } dd { @for (_, n) in &a.duplicates { a href=(format!("/appeals/{n}")) { (n) } " " } } }
            }
        }
        @if let Some(s) = &smart { (smart_panel(s, &a, can_direct)) }
        div.panel {
            h2 { "办理期限" }
            div.table-wrap { table {
                thead { tr { th { "环节" } th { "期限" } th { "完成时间" } th { "状态" } } }
                tbody {
                    @for (label, start, due, done) in &deadline_rows {
                        @if let Some(due) = due {
                            @let st = if running.iter().any(|r| r.2 == *due) || done.is_some() { Some(DeadlineState::at(start.unwrap_or(a.registered_at), *due, *done, now, a.policy.due_soon_percent)) } else { None };
                            tr { td { (label) } td { (format_local(*due)) } td { (done.map(format_local).unwrap_or_else(|| "—".into())) } td { (deadline_badge(st)) } }
                        }
                    }
                }
            } }
            @if !a.whistles.is_empty() {
                h2 { "吹哨报到" }
                @for w in &a.whistles {
                    p { "第 " (w.no) " 次 · " (w.matter) " · 报到期限 " (format_local(w.report_by)) }
                    ul { @for t in &w.targets { li { (unit_name(&cat, Some(t.unit))) ":" @match t.reported_at { Some(at) => { "已报到 " (format_local(at)) @if at > w.report_by { " " span.badge.overdue { "超时" } } }, None => { span.badge.due_soon { "未报到" } } } } } }
                }
            }
        }
        div.panel {
            h2 { "附件 (" (files.len()) ")" }
            @if files.is_empty() { p.muted.small { "暂无附件" } }
            ul { @for f in &files { li { a href=(format!("/api/v1/attachments/{}", f.id)) { (f.name) } " " span.muted.small { (format!("{:.1} KB", f.size as f64 / 1024.0)) " · " (format_local(f.at)) } } } }
            @if crate::attachments::may_upload(c, &a) {
                form method="post" action=(format!("/appeals/{}/attachments", a.number)) enctype="multipart/form-data" {
                    input type="file" name="file" multiple accept="image/jpeg,image/png,image/gif,image/webp,application/pdf,.docx,.xlsx,.pptx";
                    " " button type="submit" { "上传附件" }
                    span.muted.small { " 图片、PDF 或 Office 文档,每个不超过 10 MB" }
                }
            }
        }
        @if !offered.is_empty() {
            h2 { "办理" }
            div.actions { @for act in &offered { (action_form(*act, &a, &cat, c, error_action == Some(act.name()) || offered.len() <= 2, &files, &owners)) } }
        }
        div.panel {
            h2 { "全程留痕" }
            ol.timeline { @for r in &history { (timeline_item(r, &cat)) } }
        }
    };
    (status, page(&format!("工单 {}", a.number), Some(c), body)).into_response()
}

async fn detail_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let flash = q.ok.as_deref().map(|s| match s.strip_prefix("upload:") {
        Some(n) => format!("已上传 {} 个附件", n.parse::<u32>().unwrap_or(0)),
        None => ok_message(s).to_string(),
    });
    let error = q.error.map(|m| (String::new(), m));
    render_detail(&state, &c, &key, flash, error).await
}

fn yes_no(s: &str) -> Option<bool> {
    match s {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// Turns an action form into the API's action body.
fn form_to_body(f: &Fields) -> Result<Value, String> {
    let action = field(f, "action");
    let version: u64 = field(f, "version")
        .parse()
        .map_err(|_| "缺少版本号,请刷新页面后重试".to_string())?;
    let num = |name: &str, label: &str| -> Result<u32, String> {
        field(f, name).parse().map_err(|_| format!("请选择{label}"))
    };
    let nums =
        |name: &str| -> Vec<u32> { fields_all(f, name).filter_map(|s| s.parse().ok()).collect() };
    let text = |name: &str| field(f, name).to_string();
    let mut body = match action {
        "answer_at_intake" => json!({"answer": text("answer")}),
        "dispatch" => {
            json!({"lead": num("lead", "主办单位")?, "assisting": nums("assisting"), "note": text("note")})
        }
        "sign" => json!({}),
        "set_owner" => json!({"owner": num("owner", "首席服务官")?}),
        "contact" => json!({"note": text("note")}),
        "commit" => {
            json!({"commitment": {"what": text("what"), "by": text("by"), "citizen_part": Some(text("citizen_part")).filter(|s| !s.is_empty())}})
        }
        "return" => json!({"reason": text("reason")}),
        "decide_return" => {
            let accept = field(f, "decision") == "accept";
            let redispatch = if accept {
                field(f, "redispatch")
                    .parse::<u32>()
                    .ok()
                    .map(|u| json!([u, []]))
            } else {
                None
            };
            json!({"accept": accept, "note": text("note"), "redispatch": redispatch})
        }
        "request_extension" => {
            let amount = num("amount", "延期时长")?;
            let unit = match field(f, "unit") {
                "calendar_days" => "calendar_days",
                "hours" => "hours",
                _ => "working_days",
            };
            json!({"limit": {unit: amount}, "reason": text("reason")})
        }
        "decide_extension" => {
            json!({"approve": field(f, "decision") == "approve", "note": text("note")})
        }
        "whistle" => json!({"units": nums("units"), "matter": text("matter")}),
        "report_in" => json!({"whistle": num("whistle", "吹哨")?, "note": text("note")}),
        "reply" => json!({
            "result": text("result"),
            "reason": Some(text("reason")).filter(|s| !s.is_empty()),
            "text": text("text"),
            "petition_outcome": Some(text("petition_outcome")).filter(|s| !s.is_empty()),
            "attachments": fields_all(f, "attachments").collect::<Vec<_>>(),
        }),
        "return_visit" => json!({
            "contacted": yes_no(field(f, "contacted")).unwrap_or(false),
            "resolved": yes_no(field(f, "resolved")),
            "rating": Some(text("rating")).filter(|s| !s.is_empty()),
            "comment": text("comment"),
        }),
        "close" => json!({"note": text("note")}),
        "redo" => json!({"cause": text("cause"), "reason": text("reason")}),
        "merge" => json!({"master": text("master")}),
        "supervise" => json!({"reason": text("reason"), "note": text("note")}),
        "comment" => json!({"text": text("text")}),
        _ => return Err("未知的操作".into()),
    };
    body["action"] = json!(action);
    body["version"] = json!(version);
    Ok(body)
}

async fn act_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let action = field(&f, "action").to_string();
    let fail = |msg: String| (action.clone(), msg);
    let body = match form_to_body(&f) {
        Ok(b) => b,
        Err(m) => return render_detail(&state, &c, &key, None, Some(fail(m))).await,
    };
    match crate::app::act_on_body(&state, &c, &key, body).await {
        Ok(next) => Redirect::to(&format!(
            "/appeals/{}?ok={}",
            next.number,
            urlencode(&action)
        ))
        .into_response(),
        // Not this user's appeal, or no such appeal: a page that says so, not the form.
        Err(e) if matches!(e.code, ErrorCode::NotYourUnit | ErrorCode::BadAppealKey) => {
            error_page(e.status, "无法操作", &e.message, Some(&c))
        }
        Err(e) => render_detail(&state, &c, &key, None, Some(fail(e.message))).await,
    }
}

async fn upload_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    mp: axum::extract::Multipart,
) -> Response {
    let a = match parse_ref(&key) {
        Ok(r) => match state.store.appeal(r).await {
            Ok(a) => a,
            Err(e) => {
                let e = ApiError::from(e);
                return error_page(e.status, "读取失败", &e.message, Some(&c));
            }
        },
        Err(e) => return error_page(e.status, "工单编号有误", &e.message, Some(&c)),
    };
    if !can_see(&c, &a) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权操作",
            "该工单不属于本单位,无权操作",
            Some(&c),
        );
    }
    let result = match crate::attachments::read_files(mp).await {
        Ok(files) => crate::attachments::store_files(&state, &c, &a, files).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(stored) => Redirect::to(&format!(
            "/appeals/{}?ok={}",
            a.number,
            urlencode(&format!("upload:{}", stored.len()))
        ))
        .into_response(),
        Err(e) => Redirect::to(&format!(
            "/appeals/{}?error={}",
            a.number,
            urlencode(&e.message)
        ))
        .into_response(),
    }
}

#[derive(Deserialize)]
struct PreviewQuery {
    lead: Option<String>,
}

/// The deadlines a dispatch would set, shown before the dispatcher confirms.
async fn dispatch_preview(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let refused = || (StatusCode::FORBIDDEN, Html("无权查看该工单".to_string())).into_response();
    // Only those who dispatch see what dispatching would do, and only for appeals they may see.
    if !matches!(c.user.role, Role::Dispatcher | Role::Admin) {
        return refused();
    }
    let Ok(r) = parse_ref(&key) else {
        return Html(String::new()).into_response();
    };
    let Ok(a) = state.store.appeal(r).await else {
        return Html(String::new()).into_response();
    };
    if !can_see(&c, &a) {
        return refused();
    }
    if q.lead.as_deref().unwrap_or("").is_empty() {
        return Html("选择主办单位后显示将产生的办理期限".to_string()).into_response();
    }
    let cat = state.store.catalog();
    let now = state.clock.now();
    let p = &a.policy;
    let due = |l: bihuan_domain::Limit| {
        l.due_from(&cat.calendar, now)
            .map(format_local)
            .unwrap_or_else(|e| bihuan_domain::DomainError::from(e).message_zh())
    };
    let reply = match p.reply_from {
        bihuan_domain::policy::ReplyClock::Dispatch => due(p.reply),
        bihuan_domain::policy::ReplyClock::Sign => format!("签收后 {}", p.reply),
    };
    Html(html! {
        "若现在交办:签收期限 " strong { (due(p.sign)) } ";答复期限 " strong { (reply) } ";退单须在 " strong { (due(p.return_window)) } " 前"
    }.into_string())
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Queues

async fn queue_page(
    state: &AppState,
    c: &Caller,
    title: &str,
    intro: &str,
    sections: Vec<(&str, AppealFilter)>,
) -> Html<String> {
    let cat = state.store.catalog();
    let now = state.clock.now();
    let mut parts = Vec::new();
    for (heading, f) in sections {
        let items = state
            .store
            .list(f, None, 100)
            .await
            .map(|p| p.items)
            .unwrap_or_default();
        parts.push((heading.to_string(), items));
    }
    page(
        title,
        Some(c),
        html! {
            h1 { (title) }
            p.muted { (intro) }
            @for (h, items) in &parts {
                h2 { (h) " (" (items.len()) @if items.len() == 100 { "+" } ")" }
                (appeal_rows(items, &cat, now))
            }
        },
    )
}

async fn dispatch_queue(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(c.user.role, Role::Dispatcher | Role::Admin) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "分流交办仅限派单员",
            Some(&c),
        );
    }
    let now = state.clock.now();
    let base = AppealFilter {
        now: Some(now),
        sort: Sort::DueFirst,
        ..Default::default()
    };
    let ext: Vec<Appeal> = state
        .store
        .list(
            AppealFilter {
                status: vec![Status::InProgress],
                ..base.clone()
            },
            None,
            500,
        )
        .await
        .map(|p| {
            p.items
                .into_iter()
                .filter(|a| a.extension.is_some())
                .collect()
        })
        .unwrap_or_default();
    let cat = state.store.catalog();
    let page_ = queue_page(
        &state,
        &c,
        "分流交办",
        "按期限排序:最急的在前。点击编号进入工单交办、审核退单或审批延期。",
        vec![
            (
                "待交办",
                AppealFilter {
                    status: vec![Status::PendingDispatch],
                    ..base.clone()
                },
            ),
            (
                "退单待审",
                AppealFilter {
                    status: vec![Status::Returned],
                    ..base.clone()
                },
            ),
        ],
    )
    .await;
    let extra = html! { h2 { "延期待审批 (" (ext.len()) ")" } (appeal_rows(&ext, &cat, now)) };
    let html_ = page_
        .0
        .replace("</main>", &format!("{}</main>", extra.into_string()));
    Html(html_).into_response()
}

async fn inbox(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(c.user.role, Role::Handler | Role::UnitLeader) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "承办页面仅限承办单位",
            Some(&c),
        );
    }
    let now = state.clock.now();
    let base = AppealFilter {
        now: Some(now),
        sort: Sort::DueFirst,
        involving: Some(vec![c.user.unit]),
        ..Default::default()
    };
    let lead = |s: Status| AppealFilter {
        status: vec![s],
        lead: Some(c.user.unit),
        ..base.clone()
    };
    let calls: Vec<Appeal> = state
        .store
        .list(
            AppealFilter {
                status: vec![Status::InProgress, Status::Replied, Status::Dispatched],
                ..base.clone()
            },
            None,
            500,
        )
        .await
        .map(|p| {
            p.items
                .into_iter()
                .filter(|a| {
                    a.whistles.iter().any(|w| {
                        w.targets
                            .iter()
                            .any(|t| t.unit == c.user.unit && t.reported_at.is_none())
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let cat = state.store.catalog();
    let page_ = queue_page(
        &state,
        &c,
        "承办",
        "本单位的工单,按期限排序。",
        vec![
            ("待签收", lead(Status::Dispatched)),
            ("办理中", lead(Status::InProgress)),
        ],
    )
    .await;
    let extra = html! { h2 { "吹哨待报到 (" (calls.len()) ")" } (appeal_rows(&calls, &cat, now)) };
    Html(
        page_
            .0
            .replace("</main>", &format!("{}</main>", extra.into_string())),
    )
    .into_response()
}

async fn visits_queue(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(c.user.role, Role::ReturnVisitor | Role::Dispatcher) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "回访页面仅限回访员",
            Some(&c),
        );
    }
    let now = state.clock.now();
    let base = AppealFilter {
        now: Some(now),
        ..Default::default()
    };
    queue_page(
        &state,
        &c,
        "回访",
        "已答复待回访的工单;不满意的可退回重办。",
        vec![
            (
                "待回访",
                AppealFilter {
                    status: vec![Status::Replied],
                    ..base.clone()
                },
            ),
            (
                "已回访待办结",
                AppealFilter {
                    status: vec![Status::Visited],
                    ..base
                },
            ),
        ],
    )
    .await
    .into_response()
}

async fn supervision(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if !matches!(
        c.user.role,
        Role::Supervisor | Role::Leader | Role::Admin | Role::Dispatcher
    ) {
        return error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "督办页面仅限督办员和领导",
            Some(&c),
        );
    }
    let now = state.clock.now();
    let cat = state.store.catalog();
    let base = AppealFilter {
        now: Some(now),
        sort: Sort::DueFirst,
        ..Default::default()
    };
    let overdue = state
        .store
        .list(
            AppealFilter {
                overdue: Some(true),
                ..base.clone()
            },
            None,
            500,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let soon = state
        .store
        .list(
            AppealFilter {
                due_soon: Some(true),
                ..base.clone()
            },
            None,
            500,
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let mut by_unit: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for a in &overdue {
        by_unit
            .entry(unit_name(&cat, a.lead.or(Some(cat.org.root().id))))
            .or_default()
            .0 += 1;
    }
    for a in &soon {
        by_unit
            .entry(unit_name(&cat, a.lead.or(Some(cat.org.root().id))))
            .or_default()
            .1 += 1;
    }
    let mut rows: Vec<_> = by_unit.into_iter().collect();
    rows.sort_by(|a, b| (b.1).0.cmp(&(a.1).0).then((b.1).1.cmp(&(a.1).1)));
    page("督办", Some(&c), html! {
        h1 { "督办" }
        div.cards { (card("/appeals?overdue=true&sort=due", overdue.len() as u64, "超期", "bad")) (card("/appeals?due_soon=true&sort=due", soon.len() as u64, "临期", "warn")) }
        h2 { "按单位" }
        div.table-wrap { table {
            thead { tr { th { "单位(主办)" } th { "超期" } th { "临期" } } }
            tbody { @for (u, (o, s)) in &rows { tr { td { (u) } td { @if *o > 0 { span.badge.overdue { (o) } } @else { "0" } } td { @if *s > 0 { span.badge.due_soon { (s) } } @else { "0" } } } } }
        } }
        h2 { "超期工单" }
        (appeal_rows(&overdue.iter().take(100).cloned().collect::<Vec<_>>(), &cat, now))
        h2 { "临期工单" }
        (appeal_rows(&soon.iter().take(100).cloned().collect::<Vec<_>>(), &cat, now))
    })
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Admin

/// The refusal a non-administrator gets on an admin page.
fn admin_only(c: &Caller) -> Option<Response> {
    (c.user.role != Role::Admin).then(|| {
        error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "系统管理仅限管理员",
            Some(c),
        )
    })
}

async fn admin_page(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    admin_render(&state, &c, None, None).await
}

async fn admin_render(
    state: &AppState,
    c: &Caller,
    flash: Option<&str>,
    error: Option<&str>,
) -> Response {
    if let Some(refused) = admin_only(c) {
        return refused;
    }
    let cat = state.store.catalog();
    let users = state.store.users().await.unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, page("系统管理", Some(c), html! {
        h1 { "系统管理" }
        @if let Some(f) = flash { div.flash { (f) } }
        @if let Some(e) = error { div.error { (e) } }
        h2 { "用户 (" (users.len()) ")" }
        div.table-wrap { table {
            thead { tr { th { "ID" } th { "登录名" } th { "姓名" } th { "角色" } th { "单位" } th { "状态" } } }
            tbody { @for u in &users { tr { td { (u.id.0) } td { (u.login) } td { (u.name) } td { (u.role.label()) } td { (unit_name(&cat, Some(u.unit))) } td { (if u.active { "正常" } else { "停用" }) } } } }
        } }
        details.panel {
            summary { "新增用户" }
            form.stack method="post" action="/admin/users" {
                div.row {
                    div { label { "登录名" } input type="text" name="login" required; }
                    div { label { "姓名" } input type="text" name="name" required; }
                }
                div.row {
                    div { label { "角色" } select name="role" { @for r in Role::ALL.iter().filter(|r| **r != Role::System) { option value=(serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) { (r.label()) } } } }
                    div { label { "单位" } select name="unit" { @for u in cat.org.units() { option value=(u.id.0) { (cat.org.path_name(u.id).unwrap_or_default()) } } } }
                }
                label { "初始密码(至少8位,含字母和数字)" } input type="password" name="password" required;
                p { button.primary type="submit" { "新增" } }
            }
        }
        h2 { "单位 (" (cat.org.units().count()) ")" }
        details.panel {
            summary { "展开单位树" }
            ul { @for u in cat.org.units().filter(|u| matches!(u.kind, UnitKind::Department | UnitKind::Township)) {
                li { (u.name) " " span.muted.small { (u.kind.label()) @if !u.aliases.is_empty() { " · 别名:" (u.aliases.join("、")) } }
                    @let kids: Vec<_> = cat.org.children(u.id).collect();
                    @if !kids.is_empty() { ul { @for v in kids { li { (v.name) " " span.muted.small { (v.kind.label()) " · " (cat.org.children(v.id).count()) " 个网格" } } } } }
                }
            } }
        }
        details.panel {
            summary { "新增或修改单位" }
            form.stack method="post" action="/admin/units" {
                div.row {
                    div { label { "单位(选择已有单位即修改;留空为新增)" } select name="id" { option value="" { "新增单位" } @for u in cat.org.units() { option value=(u.id.0) { (cat.org.path_name(u.id).unwrap_or_default()) } } } }
                    div { label { "名称" } input type="text" name="name" required; }
                }
                div.row {
                    div { label { "类型" } select name="kind" { @for k in [UnitKind::Department, UnitKind::Township, UnitKind::Village, UnitKind::Grid, UnitKind::County] { option value=(kind_code(k)) { (k.label()) } } } }
                    div { label { "上级" } select name="parent" { option value="" { "无(县本级)" } @for u in cat.org.units().filter(|u| !matches!(u.kind, UnitKind::Grid | UnitKind::Department)) { option value=(u.id.0) { (cat.org.path_name(u.id).unwrap_or_default()) } } } }
                }
                label { "别名(用顿号或逗号分隔,用于地址匹配)" } input type="text" name="aliases";
                p { button.primary type="submit" { "保存单位" } }
            }
        }
        h2 { "分类 (" (cat.categories.iter().count()) ")" }
        details.panel {
            summary { "新增分类" }
            form.stack method="post" action="/admin/categories" {
                div.row {
                    div { label { "名称" } input type="text" name="name" required; }
                    div { label { "上级分类(最多三级)" } select name="parent" { option value="" { "无(一级分类)" } @for x in cat.categories.iter().filter(|x| cat.categories.level(x.id).unwrap_or(3) < 3) { option value=(x.id.0) { (cat.categories.path_name(x.id).unwrap_or_default()) } } } }
                }
                p { button.primary type="submit" { "新增分类" } }
            }
        }
        details.panel { summary { "展开分类树" } ul { @for x in cat.categories.iter().filter(|x| x.parent.is_none()) {
            li { (x.name) ul { @for y in cat.categories.iter().filter(|y| y.parent == Some(x.id)) { li { (y.name) ":" (cat.categories.iter().filter(|z| z.parent == Some(y.id)).map(|z| z.name.clone()).collect::<Vec<_>>().join("、")) } } } }
        } } }
        h2 { "派单目录 (" (cat.rules.len()) ")" }
        p.small.muted { "智能派单按派单目录、地点和历史办理模型给出建议;把握达到 " (format!("{:.0}%", state.smart.direct_confidence * 100.0)) " 的可一键直派。" }
        div.table-wrap { table {
            thead { tr { th { "编号" } th { "分类" } th { "关键词" } th { "主办单位" } th { "备注" } th {} } }
            tbody { @for r in &cat.rules { tr {
                td { (r.id) }
                td { (r.category.and_then(|x| cat.categories.path_name(x)).unwrap_or_else(|| "—".into())) }
                td { (if r.keywords.is_empty() { "—".to_string() } else { r.keywords.join("、") }) }
                td { (unit_name(&cat, Some(r.unit))) }
                td { (r.note) }
                td { form method="post" action="/admin/dispatch-rules" data-confirm=(format!("确认删除派单目录第 {} 条?", r.id)) {
                    input type="hidden" name="delete" value=(r.id);
                    button type="submit" { "删除" }
                } }
            } } }
        } }
        details.panel {
            summary { "新增派单目录规则" }
            form.stack method="post" action="/admin/dispatch-rules" {
                div.row {
                    div { label { "分类(含下级)" } select name="category" { option value="" { "不限分类" } @for x in cat.categories.iter() { option value=(x.id.0) { (cat.categories.path_name(x.id).unwrap_or_default()) } } } }
                    div { label { "主办单位" } select name="unit" required { @for u in cat.org.units().filter(|u| u.kind.can_handle()) { option value=(u.id.0) { (cat.org.path_name(u.id).unwrap_or_default()) } } } }
                }
                label { "关键词(用逗号或空格分隔;与分类同时填写时须同时满足)" } input type="text" name="keywords" maxlength="500";
                label { "备注" } input type="text" name="note" maxlength="200";
                p { button.primary type="submit" { "新增规则" } }
            }
        }
        h2 { "派单模型" }
        @let models = state.store.models().await.unwrap_or_default();
        @if models.is_empty() { p.muted { "尚未训练(已办结诉求不足,或服务器刚启动)。" } }
        @else {
            div.table-wrap { table {
                thead { tr { th { "版本" } th { "用途" } th { "训练时间" } th { "训练量" } th { "类别数" } th { "留出集准确率" } } }
                tbody { @for m in models.iter().take(6) { tr {
                    td { "v" (m.version) }
                    td { (if m.kind == "unit" { "主办单位" } else { "分类" }) }
                    td { (format_local(m.created_at)) }
                    td { (m.meta["texts"]) }
                    td { (m.meta["classes"]) }
                    td { (m.meta["holdout_accuracy"].as_f64().map(|a| format!("{:.1}%", a * 100.0)).unwrap_or_else(|| "—".into())) }
                } } }
            } }
        }
        @let now = state.clock.now();
        @let acc = crate::smart::accuracy_of(&state.store.suggestion_outcomes(now - chrono::Duration::days(30), now + chrono::Duration::seconds(1)).await.unwrap_or_default(), state.smart.direct_confidence);
        h3 { "近30天建议准确率" }
        @if acc.is_empty() { p.muted { "近30天没有记录到建议(登记和派单时的建议会自动记录)。" } }
        @else {
            @let pct = |a: u64, b: u64| if b == 0 { "—".to_string() } else { format!("{:.1}%", a as f64 * 100.0 / b as f64) };
            div.table-wrap { table {
                thead { tr { th { "环节" } th { "建议数" } th { "已确定主办" } th { "首选命中" } th { "前三命中" } th { "可直派" } th { "直派命中" } th { "分类命中" } } }
                tbody { @for a in &acc { tr {
                    td { (if a.stage == "intake" { "登记" } else { "派单" }) }
                    td { (a.suggested) }
                    td { (a.judged) }
                    td { (pct(a.unit_top1, a.judged)) }
                    td { (pct(a.unit_top3, a.judged)) }
                    td { (a.direct) }
                    td { (pct(a.direct_right, a.direct)) }
                    td { (pct(a.category_top1, a.category_judged)) }
                } } }
            } }
        }
        form method="post" action="/admin/train" data-confirm="用最新的已办结诉求重新训练派单模型?训练期间建议照常可用,约需数秒至一分钟。" {
            button type="submit" { "立即重新训练" }
        }
        h2 { "期限规则" }
        div.table-wrap { table {
            thead { tr { th { "适用" } th { "交办" } th { "签收" } th { "首次联系" } th { "答复" } th { "最长延期" } th { "退单时限" } th { "吹哨报到" } th { "重办答复" } th { "临期" } } }
            tbody { @for p in cat.policies.rows() { tr {
                td { (p.regime.label()) @if let Some(k) = p.kind { " · " (k.label()) } @if let Some(u) = p.urgency { " · " (u.label()) } }
                td { (p.dispatch) } td { (p.sign) } td { (p.first_contact) } td { (p.reply) @if p.reply_from == bihuan_domain::policy::ReplyClock::Sign { "(自签收)" } }
                td { (p.max_extension) } td { (p.return_window) } td { (p.report_in) } td { (p.redo_reply) } td { (p.due_soon_percent) "%" }
            } } }
        } }
        details.panel {
            summary { "修改期限规则" }
            p.small.muted { "修改只影响此后登记的工单;在办工单沿用登记时的规则。每条规则的期限写作 {\"working_days\": N}(工作日)、{\"calendar_days\": N}(日)或 {\"hours\": N}(小时)。" }
            form.stack method="post" action="/admin/policies" data-confirm="确认保存新的期限规则?" {
                textarea.code name="json" { (serde_json::to_string_pretty(cat.policies.rows()).unwrap_or_default()) }
                p { button.primary type="submit" { "保存期限规则" } }
            }
        }
        h2 { "五率录入" }
        details.panel {
            summary { "录入政策知晓率、行政审批效率、公众安全感满意率、干部好评率" }
            p.small.muted { "这四项来自调查和审批模块,按期录入并注明来源;驾驶舱如实显示,不做计算。诉求办理闭环率由平台计算。" }
            form.stack method="post" action="/admin/rates" {
                div.row {
                    div { label { "期间" } select name="period" { @for (spec, label) in rate_periods(state.clock.now()) { option value=(spec) { (label) } } } }
                    div { label { "指标" } select name="name" { @for n in bihuan_store::RateName::ALL { option value=(n.code()) { (n.label()) } } } }
                    div { label { "数值(%)" } input type="number" name="percent" step="0.01" min="0" max="100" required; }
                }
                label { "数据来源" } input type="text" name="source" required placeholder="如:第三方AI测评,完成1232个完整测评电话";
                p { button.primary type="submit" { "录入" } }
            }
        }
        h2 { "节假日年份" }
        p { @for y in cat.calendar.loaded_years() { span.badge { (y) } " " } }
        details.panel {
            summary { "导入新一年的节假日安排" }
            form.stack method="post" action="/admin/calendar" {
                label { "国务院办公厅通知整理成的 JSON(holiday-cn 格式)" }
                textarea name="json" required placeholder=r#"{"year": 2027, "papers": [...], "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}, ...]}"# {}
                p { button.primary type="submit" { "导入" } }
            }
        }
    })).into_response()
}

async fn admin_create_user(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let role: Option<Role> = serde_json::from_value(json!(field(&f, "role"))).ok();
    let (Some(role), Ok(unit)) = (role, field(&f, "unit").parse::<u32>()) else {
        return admin_render(&state, &c, None, Some("请选择角色和单位")).await;
    };
    match crate::admin::add_user(
        &state,
        field(&f, "login"),
        field(&f, "name"),
        role,
        UnitId(unit),
        field(&f, "password"),
    )
    .await
    {
        Ok(u) => admin_render(&state, &c, Some(&format!("已新增用户 {}", u.login)), None).await,
        Err(e) => admin_render(&state, &c, None, Some(&e.message)).await,
    }
}

fn rate_periods(now: Instant) -> Vec<(String, String)> {
    use chrono::Datelike;
    let d = bihuan_domain::time::local_date(now);
    let mut v = Vec::new();
    for back in 0..6 {
        if let Some(m) = d.checked_sub_months(chrono::Months::new(back)) {
            v.push((
                format!("month:{}-{:02}", m.year(), m.month()),
                format!("{}年{}月", m.year(), m.month()),
            ));
        }
    }
    let q = (d.month() - 1) / 3 + 1;
    v.push((
        format!("quarter:{}-{q}", d.year()),
        format!("{}年第{q}季度", d.year()),
    ));
    v.push((
        format!("half:{}-{}", d.year(), if d.month() <= 6 { 1 } else { 2 }),
        format!(
            "{}年{}半年",
            d.year(),
            if d.month() <= 6 { "上" } else { "下" }
        ),
    ));
    v.push((format!("year:{}", d.year()), format!("{}年", d.year())));
    v
}

async fn admin_enter_rate(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let Ok(percent) = field(&f, "percent").parse::<f64>() else {
        return admin_render(&state, &c, None, Some("请填写数值(百分数,如 99.59)")).await;
    };
    let body = crate::report::RateBody {
        period: field(&f, "period").into(),
        name: field(&f, "name").into(),
        value: percent / 100.0,
        source: field(&f, "source").into(),
    };
    match crate::report::enter_rate(&state, &c, body).await {
        Ok(r) => {
            admin_render(
                &state,
                &c,
                Some(&format!(
                    "已录入 {} {}:{:.2}%",
                    r.period,
                    r.name.label(),
                    r.value * 100.0
                )),
                None,
            )
            .await
        }
        Err(e) => admin_render(&state, &c, None, Some(&e.message)).await,
    }
}

fn kind_code(k: UnitKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn admin_put_unit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let cat = state.store.catalog();
    let id = match field(&f, "id").parse::<u32>() {
        Ok(id) => id,
        Err(_) => cat.org.units().map(|u| u.id.0).max().unwrap_or(0) + 1,
    };
    let Ok(kind) = serde_json::from_value::<UnitKind>(json!(field(&f, "kind"))) else {
        return admin_render(&state, &c, None, Some("请选择单位类型")).await;
    };
    let name = field(&f, "name").to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return admin_render(&state, &c, None, Some("单位名称须为1到100个字")).await;
    }
    let aliases: Vec<String> = field(&f, "aliases")
        .split(['、', ',', ','])
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let unit = bihuan_domain::org::Unit {
        id: UnitId(id),
        name: name.clone(),
        kind,
        parent: field(&f, "parent").parse().ok().map(UnitId),
        aliases,
    };
    match state.store.put_units(vec![unit]).await {
        Ok(()) => admin_render(&state, &c, Some(&format!("已保存单位「{name}」")), None).await,
        Err(e) => admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await,
    }
}

async fn admin_put_category(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let cat = state.store.catalog();
    let name = field(&f, "name").to_string();
    if name.is_empty() || name.chars().count() > 50 {
        return admin_render(&state, &c, None, Some("分类名称须为1到50个字")).await;
    }
    let id = cat.categories.iter().map(|x| x.id.0).max().unwrap_or(0) + 1;
    let parent = field(&f, "parent")
        .parse()
        .ok()
        .map(bihuan_domain::category::CategoryId);
    let item = bihuan_domain::category::Category {
        id: bihuan_domain::category::CategoryId(id),
        name: name.clone(),
        parent,
    };
    match state.store.put_categories(vec![item]).await {
        Ok(()) => admin_render(&state, &c, Some(&format!("已新增分类「{name}」")), None).await,
        Err(e) => admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await,
    }
}

/// Adds a catalogue rule, or deletes one (`delete=ID`).
async fn admin_dispatch_rules(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let cat = state.store.catalog();
    let mut rules = cat.rules.clone();
    let flash;
    if let Ok(id) = field(&f, "delete").parse::<u32>() {
        let before = rules.len();
        rules.retain(|r| r.id != id);
        if rules.len() == before {
            return admin_render(&state, &c, None, Some("没有这条规则,可能已被删除")).await;
        }
        flash = format!("已删除派单目录第 {id} 条");
    } else {
        let keywords: Vec<String> = field(&f, "keywords")
            .split(|ch: char| ch == ',' || ch == '，' || ch == '、' || ch.is_whitespace())
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        let rule = bihuan_domain::catalogue::Rule {
            id: rules.iter().map(|r| r.id).max().unwrap_or(0) + 1,
            unit: match field(&f, "unit").parse() {
                Ok(u) => UnitId(u),
                Err(_) => return admin_render(&state, &c, None, Some("请选择主办单位")).await,
            },
            category: field(&f, "category")
                .parse()
                .ok()
                .map(bihuan_domain::category::CategoryId),
            keywords,
            note: field(&f, "note").trim().to_string(),
        };
        if let Err(m) = rule.validate(&cat.org, &cat.categories) {
            return admin_render(&state, &c, None, Some(&m)).await;
        }
        flash = format!("已新增派单目录第 {} 条", rule.id);
        rules.push(rule);
    }
    if let Err(e) = state.store.put_dispatch_rules(rules).await {
        return admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await;
    }
    let _ = state.smart.refresh(&state.store).await;
    admin_render(&state, &c, Some(&flash), None).await
}

async fn admin_train(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    match crate::smart::train(&state.store, state.clock.now()).await {
        Ok(r) => {
            let _ = state.smart.refresh(&state.store).await;
            admin_render(&state, &c, Some(&r.describe()), None).await
        }
        Err(e) => {
            tracing::error!(error = %e, "training from the console failed");
            admin_render(&state, &c, None, Some("训练失败,请查看服务器日志后重试")).await
        }
    }
}

async fn admin_put_policies(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    let rows: Vec<bihuan_domain::DeadlinePolicy> = match serde_json::from_str(field(&f, "json")) {
        Ok(r) => r,
        Err(e) => {
            return admin_render(
                &state,
                &c,
                None,
                Some(&format!(
                    "期限规则格式有误(第 {} 行第 {} 列):{e}",
                    e.line(),
                    e.column()
                )),
            )
            .await
        }
    };
    let table = match bihuan_domain::PolicyTable::new(rows) {
        Ok(t) => t,
        Err(e) => {
            return admin_render(
                &state,
                &c,
                None,
                Some(&format!("期限规则无效:{}", e.message_zh())),
            )
            .await
        }
    };
    match state.store.put_policies(table).await {
        Ok(()) => {
            admin_render(
                &state,
                &c,
                Some("已保存期限规则,将用于此后登记的工单"),
                None,
            )
            .await
        }
        Err(e) => admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await,
    }
}

async fn admin_load_calendar(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = admin_only(&c) {
        return refused;
    }
    match state
        .store
        .put_calendar_year(field(&f, "json").to_string())
        .await
    {
        Ok(n) => {
            admin_render(
                &state,
                &c,
                Some(&format!(
                    "已导入 {} 年(共 {} 个调整日)",
                    n.year,
                    n.days.len()
                )),
                None,
            )
            .await
        }
        Err(e) => admin_render(&state, &c, None, Some(&ApiError::from(e).message)).await,
    }
}

/// The suggestions panel of an appeal: lead units with their reasons (and 直派 above the
/// threshold), categories when none is set, and open appeals about the same matter.
fn smart_panel(s: &Value, a: &Appeal, can_direct: bool) -> Markup {
    let pct = |v: &Value| format!("{:.0}%", v.as_f64().unwrap_or(0.0) * 100.0);
    let units = s["units"].as_array().cloned().unwrap_or_default();
    let cats = s["categories"].as_array().cloned().unwrap_or_default();
    let dups = s["duplicates"].as_array().cloned().unwrap_or_default();
    let threshold = s["direct_dispatch_confidence"].as_f64().unwrap_or(1.0);
    let pending = a.status == Status::PendingDispatch;
    if !pending && dups.is_empty() {
        return html! {};
    }
    html! {
        div.panel.smart {
            h2 { (if pending { "智能派单建议" } else { "可能重复的在办工单" }) }
            @if a.status == Status::PendingDispatch {
                @if units.is_empty() {
                    p.muted { "暂无建议:派单目录和历史模型都没有匹配,请人工选择主办单位。" }
                } @else {
                    div.table-wrap { table {
                        thead { tr { th { "建议主办单位" } th { "把握" } th { "依据" } th {} } }
                        tbody { @for u in &units {
                            tr {
                                td { (u["name"].as_str().unwrap_or("")) }
                                td { (pct(&u["confidence"])) }
                                td.small { (u["reasons"].as_array().map(|r| r.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(";")).unwrap_or_default()) }
                                td {
                                    @if can_direct && u["direct"].as_bool() == Some(true) {
                                        form method="post" action=(format!("/appeals/{}/act", a.number)) data-confirm=(format!("确认直派给「{}」?交办后开始计算签收和办理期限。", u["name"].as_str().unwrap_or(""))) {
                                            input type="hidden" name="action" value="dispatch";
                                            input type="hidden" name="version" value=(a.version);
                                            input type="hidden" name="lead" value=(u["unit"]);
                                            input type="hidden" name="note" value="直派(智能派单建议)";
                                            button.primary type="submit" { "直派" }
                                        }
                                    }
                                }
                            }
                        } }
                    } }
                    p.small.muted { "把握达到 " (format!("{:.0}%", threshold * 100.0)) " 的建议可一键直派;其余请在下方「交办」中选择。建议与最终交办单位都会记录,用于统计建议准确率。" }
                }
                @if a.category.is_none() && !cats.is_empty() {
                    p { "建议分类:" @for c in &cats { span.badge { (c["path"].as_str().unwrap_or("")) " " (pct(&c["confidence"])) } " " } }
                }
            }
            @if !dups.is_empty() {
                @if pending { h3 { "可能重复的在办工单" } }
                ul { @for d in &dups {
                    li {
                        a href=(format!("/appeals/{}", d["number"].as_str().unwrap_or(""))) { (d["number"].as_str().unwrap_or("")) }
                        " " (d["title"].as_str().unwrap_or("")) " · " (d["status_label"].as_str().unwrap_or(""))
                        " · 相似度 " (pct(&d["similarity"]))
                        @if d["same_caller"].as_bool() == Some(true) { strong { " · 同一诉求人重复反映" } }
                        @if d["same_township"].as_bool() == Some(true) { " · 同一乡镇" }
                    }
                } }
                p.small.muted { "如确为同一事项,可用下方「合并」将本工单并入主工单;同一诉求人的重复诉求计入一次性化解率。" }
            } @else if s["duplicates_ready"].as_bool() == Some(false) {
                p.small.muted { "重复诉求索引正在建立,稍后刷新可见。" }
            }
        }
    }
}
