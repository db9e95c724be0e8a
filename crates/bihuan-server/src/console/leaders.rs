//! `/leaders`: 领导接访与包案 (信访工作条例 Art 18) — the reception days with the petitions
//! received at them, the 包案 ledger of each leader's cases and their state, and the forms
//! that schedule, record and close them. Every form goes through `crate::leaders`, as the API
//! does; a refused form comes back with its message and what was typed.

use super::*;
use crate::leaders::{self as uc, LeaderCaseView, ReceptionView};
use bihuan_domain::leaders::{LeaderCaseCommand, ReceptionCommand, ReceptionStatus};
use chrono::NaiveDate;

#[derive(Deserialize, Default)]
pub(super) struct LeadersQuery {
    ok: Option<String>,
}

pub(super) async fn leaders_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<LeadersQuery>,
) -> Response {
    render(&state, &c, q.ok.as_deref(), None).await
}

async fn render(
    state: &AppState,
    c: &Caller,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    let (receptions, cases) = match (
        uc::receptions(state, c).await,
        uc::ledger(state, c, None).await,
    ) {
        (Ok(r), Ok(l)) => (r, l),
        (Err(e), _) | (_, Err(e)) => {
            return error_page(e.status, "无法打开领导接访与包案", &e.message, Some(c))
        }
    };
    let now = state.clock.now();
    let leaders: Vec<bihuan_store::User> = state
        .store
        .users()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.role == Role::Leader && u.active)
        .collect();
    let may_schedule = matches!(c.user.role, Role::Admin | Role::Dispatcher | Role::Leader);
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut by_leader: BTreeMap<String, Vec<&LeaderCaseView>> = BTreeMap::new();
    for k in &cases {
        by_leader
            .entry(k.case.leader_name.clone())
            .or_default()
            .push(k);
    }
    let body = html! {
        h1 { "领导接访与包案" }
        p.muted { "依据《信访工作条例》第十八条：领导干部定期接待群众来访，对重大、复杂、疑难信访事项包案化解，直至办结。" }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        h2 { "包案台账（" (cases.len()) " 件在办）" }
        @if cases.is_empty() {
            p.muted { "暂无领导包案。领导可在信访事项详情页「领导包案」中接下。" }
        }
        @for (leader, list) in &by_leader {
            h3 { (leader) "（" (list.len()) " 件，超期 " (list.iter().filter(|k| k.overdue).count()) " 件）" }
            div.table-wrap { table #ledger {
                thead { tr { th { "编号" } th { "事项" } th { "状态" } th { "答复期限" } th { "包案时间" } th { "包案措施" } th { "最近记录" } } }
                tbody {
                    @for k in list {
                        tr {
                            td { a href={"/appeals/" (k.case.number)} { (k.case.number) } }
                            td { (k.title) }
                            td { (k.status_label) @if k.overdue { " " span.badge.overdue { "超期" } } }
                            td { (k.reply_due.map(format_local).unwrap_or_else(|| "—".into())) }
                            td { (format_local(k.case.taken_at)) }
                            td { (k.case.plan) }
                            td {
                                @if let Some(e) = k.case.entries.last() { (format_local(e.at)) "：" (e.text) } @else { span.muted { "—" } }
                                @if k.case.leader == c.user.id {
                                    form.inline method="post" action=(format!("/leaders/cases/{}/notes", k.id)) {
                                        input type="text" name="text" maxlength="2000" placeholder="记录批示、约访、现场办公" value=(typed(&refused, &format!("note-{}", k.id), "text")) required;
                                        button type="submit" { "记录" }
                                    }
                                    (refusal(&refused, &format!("note-{}", k.id)))
                                }
                                @if k.case.leader == c.user.id || c.user.role == Role::Admin {
                                    form.inline method="post" action=(format!("/leaders/cases/{}/release", k.id)) data-confirm="确认交回这件包案？交回后台账不再列出，记录保留。" {
                                        input type="text" name="text" maxlength="500" placeholder="交回原因" value=(typed(&refused, &format!("release-{}", k.id), "text")) required;
                                        button.danger type="submit" { "交回" }
                                    }
                                    (refusal(&refused, &format!("release-{}", k.id)))
                                }
                            }
                        }
                    }
                }
            } }
        }
        h2 { "领导接访日" }
        @if receptions.is_empty() { p.muted { "尚未安排领导接访日。" } }
        div.table-wrap { table #receptions {
            thead { tr { th { "日期" } th { "接访领导" } th { "地点" } th { "接访事项" } th { "状态" } th { "接访登记的信访事项" } } }
            tbody {
                @for r in &receptions {
                    @let rid = r.id;
                    tr {
                        td { (r.reception.on) }
                        td { (r.reception.leader_name) "（" (r.reception.post) "）" }
                        td { (r.reception.place) }
                        td { (r.reception.topics) }
                        td {
                            (r.status_label)
                            @if let Some(s) = &r.reception.summary { div.small { (s) } }
                            @if let Some(s) = &r.reception.cancel_reason { div.small.muted { "取消原因：" (s) } }
                        }
                        td {
                            @for x in &r.reception.received { a href={"/appeals/" (x.number)} { (x.number) } " " }
                            @if r.reception.received.is_empty() { span.muted { "—" } }
                            (reception_forms(r, c, now, &refused))
                        }
                    }
                    @let _ = rid;
                }
            }
        } }
        @if may_schedule {
            h2 { "安排接访日" }
            form.stack #schedule method="post" action="/leaders/receptions" {
                (refusal(&refused, "schedule"))
                div.row {
                    div { label for="leader" { "接访领导" }
                        select #leader name="leader" required {
                            @for u in &leaders {
                                @if c.user.role != Role::Leader || u.id == c.user.id {
                                    option value=(u.id.0) selected[typed(&refused, "schedule", "leader") == u.id.0.to_string()] { (u.name) }
                                }
                            }
                        }
                    }
                    div { label for="post" { "职务" } input #post type="text" name="post" maxlength="30" placeholder="如 县委副书记" value=(typed(&refused, "schedule", "post")) required; }
                    div { label for="on" { "接访日期" } input #on type="date" name="on" value=(typed(&refused, "schedule", "on")) required; }
                }
                div { label for="place" { "接访地点" } input #place type="text" name="place" maxlength="100" placeholder="如 县信访局接待大厅" value=(typed(&refused, "schedule", "place")) required; }
                div { label for="topics" { "接访事项" } input #topics type="text" name="topics" maxlength="500" placeholder="如 征地拆迁、农民工工资、教育医疗" value=(typed(&refused, "schedule", "topics")) required; }
                p { button.primary type="submit" { "安排接访日" } }
            }
        }
    };
    (status, page("领导接访与包案", Some(c), body)).into_response()
}

fn reception_forms(
    r: &ReceptionView,
    c: &Caller,
    now: Instant,
    refused: &Option<Refused>,
) -> Markup {
    let id = r.id;
    let scheduled = r.reception.status == ReceptionStatus::Scheduled;
    let staff = matches!(
        c.user.role,
        Role::Admin | Role::Dispatcher | Role::Operator | Role::Leader
    );
    html! {
        @if staff && uc::open_for(r, now) {
            form.inline method="post" action=(format!("/leaders/receptions/{id}/petitions")) {
                input type="text" name="appeal" placeholder="信访事项编号" value=(typed(refused, &format!("receive-{id}"), "appeal")) required;
                button type="submit" { "登记接访事项" }
            }
            (refusal(refused, &format!("receive-{id}")))
            " " a.small href="/appeals/new?channel=in_person" { "先登记新的来访" }
        }
        @if scheduled && matches!(c.user.role, Role::Admin | Role::Dispatcher | Role::Leader) {
            @if bihuan_domain::time::local_date(now) >= r.reception.on {
                form.inline method="post" action=(format!("/leaders/receptions/{id}/close")) data-confirm="确认结束这次接访？结束后不能再登记接访事项。" {
                    input type="text" name="text" maxlength="2000" placeholder="接访情况，如 接待群众3批7人次" value=(typed(refused, &format!("close-{id}"), "text")) required;
                    button type="submit" { "结束接访" }
                }
                (refusal(refused, &format!("close-{id}")))
            }
            @if r.reception.received.is_empty() {
                form.inline method="post" action=(format!("/leaders/receptions/{id}/cancel")) data-confirm="确认取消这个接访日？" {
                    input type="text" name="text" maxlength="500" placeholder="取消原因" value=(typed(refused, &format!("cancel-{id}"), "text")) required;
                    button.danger type="submit" { "取消" }
                }
                (refusal(refused, &format!("cancel-{id}")))
            }
        }
    }
}

/// After a form: back to the page with its message, or the page again with the refusal.
async fn after<T>(
    state: &AppState,
    c: &Caller,
    form: String,
    values: Fields,
    done: &str,
    r: Result<T, ApiError>,
) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/leaders?ok={}", urlencode(done))).into_response(),
        Err(e) => {
            render(
                state,
                c,
                None,
                Some(Refused {
                    form,
                    message: e.message,
                    values,
                }),
            )
            .await
        }
    }
}

fn id_of(s: &str) -> Option<u64> {
    s.parse().ok()
}

/// A reception day's id from the path, or the page that says there is none.
fn reception_id(s: &str, c: &Caller) -> Result<u64, Box<Response>> {
    id_of(s).ok_or_else(|| {
        Box::new(error_page(
            StatusCode::NOT_FOUND,
            "没有这个接访日",
            "请从领导接访页打开",
            Some(c),
        ))
    })
}

/// A leader case's id from the path, or the page that says there is none.
fn case_id(s: &str, c: &Caller) -> Result<u64, Box<Response>> {
    id_of(s).ok_or_else(|| {
        Box::new(error_page(
            StatusCode::NOT_FOUND,
            "没有这个包案",
            "请从包案台账打开",
            Some(c),
        ))
    })
}

pub(super) async fn schedule_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let on = match NaiveDate::parse_from_str(field(&f, "on").trim(), "%Y-%m-%d") {
        Ok(d) => d,
        Err(_) => {
            let e = ApiError::from(bihuan_domain::DomainError::invalid(
                "on",
                "请按 年-月-日 填写接访日期，如 2026-12-09",
            ));
            return after::<()>(&state, &c, "schedule".into(), f, "", Err(e)).await;
        }
    };
    let req = uc::ScheduleReception {
        leader: field(&f, "leader").parse().unwrap_or(0),
        post: field(&f, "post").into(),
        on,
        place: field(&f, "place").into(),
        topics: field(&f, "topics").into(),
    };
    let r = uc::schedule(&state, &c, req).await;
    after(&state, &c, "schedule".into(), f, "已安排接访日", r).await
}

pub(super) async fn receive_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match reception_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let r = uc::receive(&state, &c, id, field(&f, "appeal")).await;
    after(&state, &c, format!("receive-{id}"), f, "已登记接访事项", r).await
}

pub(super) async fn close_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match reception_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let cmd = ReceptionCommand::Close {
        summary: field(&f, "text").into(),
    };
    let r = uc::end_reception(&state, &c, id, cmd).await;
    after(&state, &c, format!("close-{id}"), f, "接访已结束", r).await
}

pub(super) async fn cancel_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match reception_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let cmd = ReceptionCommand::Cancel {
        reason: field(&f, "text").into(),
    };
    let r = uc::end_reception(&state, &c, id, cmd).await;
    after(&state, &c, format!("cancel-{id}"), f, "接访日已取消", r).await
}

pub(super) async fn note_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match case_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let cmd = LeaderCaseCommand::Note {
        text: field(&f, "text").into(),
    };
    let r = uc::on_case(&state, &c, id, cmd).await;
    after(&state, &c, format!("note-{id}"), f, "已记录", r).await
}

pub(super) async fn release_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match case_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let cmd = LeaderCaseCommand::Release {
        reason: field(&f, "text").into(),
    };
    let r = uc::on_case(&state, &c, id, cmd).await;
    after(&state, &c, format!("release-{id}"), f, "包案已交回", r).await
}

/// `POST /appeals/{key}/leader-case`: the acting leader takes the petition; back to its page.
pub(super) async fn take_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(key): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let req = uc::TakeCase {
        plan: field(&f, "plan").into(),
        reception: id_of(field(&f, "reception")),
    };
    match uc::take(&state, &c, &key, req).await {
        Ok(k) => {
            Redirect::to(&format!("/appeals/{}?ok=leader_case", k.case.number)).into_response()
        }
        Err(e) => Redirect::to(&format!(
            "/appeals/{key}?leader_case_error={}&plan={}",
            urlencode(&e.message),
            urlencode(field(&f, "plan"))
        ))
        .into_response(),
    }
}

/// The detail page's 领导包案 section of a petition: the case if a leader has it, else the
/// take form for a leader.
pub(super) fn case_section(
    a: &Appeal,
    case: Option<&LeaderCaseView>,
    c: &Caller,
    error: Option<&str>,
    plan: &str,
) -> Markup {
    html! {
        @if a.regime == bihuan_domain::Regime::Petition && (case.is_some() || (c.user.role == Role::Leader && !a.status.is_terminal())) {
            section.panel #leader-case {
                h2 { "领导包案" }
                @if let Some(k) = case {
                    p { "包案领导：" strong { (k.case.leader_name) } "，" (format_local(k.case.taken_at)) " 接下。" " " a href="/leaders" { "包案台账" } }
                    p { "包案措施：" (k.case.plan) }
                    @if !k.case.entries.is_empty() {
                        ul { @for e in &k.case.entries { li { (format_local(e.at)) "：" (e.text) } } }
                    }
                } @else {
                    form.stack method="post" action=(format!("/appeals/{}/leader-case", a.number)) data-confirm="确认由您本人包案这件信访事项？包案后列入您的包案台账，直至办结。" {
                        @if let Some(e) = error { p.field-error role="alert" { (e) } }
                        label for="plan" { "包案措施" }
                        textarea #plan name="plan" rows="2" maxlength="1000" placeholder="如：约见信访人，协调住建局一周内拿出解决方案" required { (plan) }
                        p { button.primary type="submit" { "我来包案" } }
                    }
                }
            }
        }
    }
}
