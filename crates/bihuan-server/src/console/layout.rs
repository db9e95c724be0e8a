//! The frame of every page: assets, the signed-in user, the layout, and the small pieces pages share.

use super::*;

// ---------------------------------------------------------------------------------------------
// Assets

pub(super) const HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");
pub(super) const ECHARTS: &[u8] = include_bytes!("../../assets/echarts.min.js");
pub(super) const CSS: &[u8] = include_bytes!("../../assets/app.css");
pub(super) const PRINT_CSS: &[u8] = include_bytes!("../../assets/print.css");
pub(super) const JS: &[u8] = include_bytes!("../../assets/app.js");
pub(super) const DASHBOARD_JS: &[u8] = include_bytes!("../../assets/dashboard.js");

pub(super) async fn asset(Path(file): Path<String>) -> Response {
    let (body, ty) = match file.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "echarts.min.js" => (ECHARTS, "text/javascript; charset=utf-8"),
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "print.css" => (PRINT_CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        "dashboard.js" => (DASHBOARD_JS, "text/javascript; charset=utf-8"),
        "visits.js" => (super::visits::VISITS_JS, "text/javascript; charset=utf-8"),
        "campaigns.js" => (
            super::campaigns::CAMPAIGNS_JS,
            "text/javascript; charset=utf-8",
        ),
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

pub(super) fn urlencode(s: &str) -> String {
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

pub(super) fn nav(c: &Caller) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("/", "首页")];
    match c.user.role {
        Role::Operator => {
            v.push(("/appeals/new", "登记诉求"));
            v.push(("/approvals", "一件事"));
        }
        Role::GridMember => {
            v.push(("/visits", "入户走访"));
            v.push(("/appeals/new", "登记诉求"));
            v.push(("/households", "住户台账"));
            v.push(("/enterprises", "楼格格"));
            v.push(("/jobs", "就业之家"));
        }
        Role::Dispatcher => {
            v.push(("/queue/dispatch", "分流交办"));
            v.push(("/dashboard", "驾驶舱"));
            v.push(("/appeals/new", "登记诉求"));
            v.push(("/leaders", "接访包案"));
            v.push(("/visit-campaigns", "入户听诉"));
            v.push(("/approvals", "一件事"));
            v.push(("/campaigns", "攻坚调度"));
            v.push(("/evaluations", "四比"));
            v.push(("/surveys", "双提升"));
            v.push(("/enterprises", "楼格格"));
            v.push(("/jobs", "就业之家"));
        }
        Role::Handler | Role::UnitLeader => {
            v.push(("/queue/inbox", "承办"));
            if c.unit_kind == UnitKind::Department {
                v.push(("/approvals", "一件事审批"));
            }
            if matches!(c.unit_kind, UnitKind::Township | UnitKind::Village) {
                v.push(("/households", "住户台账"));
                v.push(("/visit-campaigns", "入户听诉"));
                v.push(("/jobs", "就业之家"));
            }
            // Any unit's cadre may carry households (三包).
            v.push(("/visits", "入户走访"));
            v.push(("/campaigns", "攻坚清单"));
            v.push(("/enterprises", "楼格格"));
        }
        Role::ReturnVisitor => {
            v.push(("/queue/visits", "回访"));
            v.push(("/surveys", "电话测评"));
        }
        Role::Supervisor | Role::Leader => {
            v.push(("/dashboard", "驾驶舱"));
            v.push(("/queue/supervision", "督办"));
            v.push(("/leaders", "接访包案"));
            v.push(("/visit-campaigns", "入户听诉"));
            v.push(("/approvals", "一件事"));
            v.push(("/campaigns", "攻坚调度"));
            v.push(("/evaluations", "四比"));
            v.push(("/surveys", "双提升"));
            v.push(("/enterprises", "楼格格"));
            v.push(("/jobs", "就业之家"));
        }
        Role::Admin => {
            v.push(("/admin", "系统管理"));
            v.push(("/approvals", "一件事"));
            v.push(("/campaigns", "攻坚调度"));
            v.push(("/evaluations", "四比"));
        }
        Role::Employer => {
            v.push(("/jobs", "招聘岗位"));
            return v;
        }
        Role::System => {}
    }
    v.push(("/appeals", "工单查询"));
    if c.user.role != Role::System {
        v.push(("/notices", "通知"));
    }
    v
}

pub(super) fn page(title: &str, c: Option<&Caller>, body: Markup) -> Html<String> {
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

pub(super) fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    c: Option<&Caller>,
) -> Response {
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

pub(super) fn unit_name(cat: &Catalog, u: Option<UnitId>) -> String {
    u.and_then(|u| cat.org.get(u))
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "—".into())
}

pub(super) fn state_code(s: Option<DeadlineState>) -> &'static str {
    match s {
        Some(DeadlineState::DueSoon) => "due_soon",
        Some(DeadlineState::Overdue) => "overdue",
        Some(DeadlineState::Running) => "running",
        Some(DeadlineState::Met) => "met",
        Some(DeadlineState::MetLate) => "met_late",
        None => "",
    }
}

pub(super) fn deadline_badge(s: Option<DeadlineState>) -> Markup {
    html! {
        @if let Some(st) = s { span class=(format!("badge {}", state_code(s))) { (st.label()) } }
    }
}

pub(super) fn appeal_rows(items: &[Appeal], cat: &Catalog, now: Instant) -> Markup {
    appeal_rows_for(items, cat, now, None)
}

/// The name of a deadline, as [`Appeal::deadline_for`] and [`Appeal::running_deadlines`] call
/// them.
pub(super) fn deadline_label(what: &str) -> &'static str {
    match what {
        "dispatch" => "交办",
        "sign" => "签收",
        "first_contact" => "首次联系",
        "reply" => "答复",
        "report_in" => "报到",
        "assist" => "协办意见",
        _ => "期限",
    }
}

/// 预计 beside a deadline that falls in a year whose holiday notice is not loaded yet (see
/// `Calendar::is_provisional`); nothing otherwise.
pub(super) fn provisional_mark(cal: &bihuan_domain::Calendar, due: Instant) -> Markup {
    html! {
        @if cal.is_provisional_at(due) {
            " " span.badge.provisional title="该年国务院放假通知尚未导入：按周末和法定节假日预计，导入通知后重新计算" { "预计" }
        }
    }
}

/// The time left to a deadline in working days (剩 2.5 个工作日), or how long it has been past
/// (已超 1.2 个工作日); the colour comes from the deadline's state.
pub(super) fn countdown(cal: &bihuan_domain::Calendar, now: Instant, due: Instant) -> String {
    let (left, past) = if due >= now {
        (cal.working_time_between(now, due), false)
    } else {
        (cal.working_time_between(due, now), true)
    };
    match (left, past) {
        (Ok(d), false) if d < 0.05 => "即将到期".into(),
        (Ok(d), false) => format!("剩 {d:.1} 个工作日"),
        (Ok(d), true) => format!("已超 {d:.1} 个工作日"),
        (Err(_), _) => String::new(),
    }
}

/// A list of appeals. For a unit's inbox (`unit`), the deadline shown is the one that unit must
/// meet — the report-in for a called unit, the opinion for an assisting one — and an appeal
/// under supervision is marked 督办.
pub(super) fn appeal_rows_for(
    items: &[Appeal],
    cat: &Catalog,
    now: Instant,
    unit: Option<UnitId>,
) -> Markup {
    appeal_rows_picking(items, cat, now, unit, None)
}

/// [`appeal_rows_for`] with a first column of checkboxes (`pick` = `number:version`) for the
/// appeals in `pickable` (a bulk action's form around the table sends them).
pub(super) fn appeal_rows_picking(
    items: &[Appeal],
    cat: &Catalog,
    now: Instant,
    unit: Option<UnitId>,
    pickable: Option<&std::collections::HashSet<bihuan_domain::AppealId>>,
) -> Markup {
    html! {
        div.table-wrap.cards-on-phone {
            table {
                thead { tr { @if pickable.is_some() { th { "选择" } } th { "编号" } th { "登记时间" } th { "类型" } th { "标题" } th { "乡镇" } th { "主办单位" } th { "状态" } th { (if unit.is_some() { "本单位期限" } else { "最近期限" }) } } }
                tbody {
                    @for a in items {
                        @let mine = match unit { Some(u) => a.deadline_for(u), None => a.running_deadlines().into_iter().next() };
                        @let st = mine.map(|(_, start, due)| DeadlineState::at(start, due, None, now, a.policy.due_soon_percent));
                        tr class=(state_code(st)) {
                            @if let Some(p) = pickable {
                                td data-label="选择" {
                                    @if p.contains(&a.id) {
                                        input type="checkbox" name="pick" value=(format!("{}:{}", a.number, a.version)) aria-label=(format!("选择 {}", a.number));
                                    }
                                }
                            }
                            td.num data-label="编号" { a href=(format!("/appeals/{}", a.number)) { (a.number) } }
                            td.num.small data-label="登记" { (format_local(a.registered_at)) }
                            td data-label="类型" { (a.kind.label()) @if a.urgency != Urgency::Normal { " " span.badge.urgent { (a.urgency.label()) } } }
                            // Lists mask personal data for everyone, numbers typed into a title too.
                            td data-label="标题" {
                                (bihuan_domain::appeal::mask_free_text(&a.title))
                                @if unit.is_some() && a.supervision_count > 0 && !a.status.is_terminal() { " " span.badge.overdue title=(format!("已督办 {} 次", a.supervision_count)) { "督办" } }
                            }
                            td data-label="乡镇" { (unit_name(cat, a.place.township)) }
                            td data-label="主办" { (unit_name(cat, a.lead)) }
                            td data-label="状态" { span.badge { (a.status.label()) } }
                            td.small data-label="期限" {
                                @if let Some((what, _, due)) = mine {
                                    (deadline_label(what)) " " (format_local(due)) (provisional_mark(&cat.calendar, due)) " " (deadline_badge(st))
                                    " " span.countdown { (countdown(&cat.calendar, now, due)) }
                                } @else { span.muted { "—" } }
                            }
                        }
                    }
                    @if items.is_empty() { tr { td colspan=(if pickable.is_some() { "9" } else { "8" }) .muted { "没有工单" } } }
                }
            }
        }
    }
}

/// The appeal `key` names if the caller may see it, or the page that says why not (a bad
/// number, no such appeal, another unit's appeal). `what` names the refused act (查看, 打印, 操作).
pub(super) async fn visible_appeal(
    state: &AppState,
    c: &Caller,
    key: &str,
    what: &str,
) -> Result<Appeal, Response> {
    let r =
        parse_ref(key).map_err(|e| error_page(e.status, "工单编号有误", &e.message, Some(c)))?;
    let a = match state.store.appeal(r).await {
        Ok(a) => a,
        Err(StoreError::NotFound { .. }) => {
            return Err(error_page(
                StatusCode::NOT_FOUND,
                "未找到工单",
                "没有这个工单，请检查编号",
                Some(c),
            ))
        }
        Err(e) => {
            let e = ApiError::from(e);
            return Err(error_page(e.status, "读取失败", &e.message, Some(c)));
        }
    };
    if !can_see(c, &a) {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            &format!("无权{what}"),
            &format!("该工单不属于本单位，无权{what}"),
            Some(c),
        ));
    }
    Ok(a)
}

pub(super) async fn count(state: &AppState, f: AppealFilter) -> u64 {
    state.store.count(f).await.unwrap_or(0)
}

pub(super) fn scoped(c: &Caller, now: Instant) -> AppealFilter {
    let mut f = AppealFilter {
        now: Some(now),
        ..Default::default()
    };
    c.scope(&mut f);
    f
}

pub(super) fn card(href: &str, n: u64, label: &str, class: &str) -> Markup {
    html! { a class=(format!("card {class}")) href=(href) { div.n { (n) } div.l { (label) } } }
}

// ---------------------------------------------------------------------------------------------
// Form fields

pub(super) type Fields = Vec<(String, String)>;

pub(super) fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

pub(super) fn fields_all<'a>(f: &'a Fields, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    f.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A refused form: which one, why, and what was typed — the page is shown again with the
/// message beside that form and every field as it was typed.
pub(super) struct Refused {
    pub form: String,
    pub message: String,
    pub values: Fields,
}

/// What was typed into field `name` of `form`, if that form was the one refused.
pub(super) fn typed_in<'a>(r: &'a Option<Refused>, form: &str, name: &str) -> Option<&'a str> {
    match r {
        Some(r) if r.form == form => Some(field(&r.values, name)),
        _ => None,
    }
}

/// [`typed_in`], or nothing typed.
pub(super) fn typed<'a>(r: &'a Option<Refused>, form: &str, name: &str) -> &'a str {
    typed_in(r, form, name).unwrap_or("")
}

/// The refusal's message, beside the form it refused.
pub(super) fn refusal(r: &Option<Refused>, form: &str) -> Markup {
    html! {
        @if let Some(r) = r.as_ref().filter(|r| r.form == form) {
            p.field-error role="alert" { (r.message) }
        }
    }
}

/// An id from a page's path, or the page that says there is no such `what`.
pub(super) fn path_id(id: &str, what: &str, c: &Caller) -> Result<u64, Box<Response>> {
    id.parse::<u64>().map_err(|_| {
        Box::new(error_page(
            StatusCode::NOT_FOUND,
            &format!("没有这个{what}"),
            &format!("{what}编号无效，请从列表中打开"),
            Some(c),
        ))
    })
}
