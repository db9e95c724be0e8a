//! `/visits`, `/visit-campaigns`, `/cadres`: 入户听诉 at the door in the console.
//!
//! * `/visits` is the cadre's phone page: their tasks, the next due first, with the head's
//!   phone to call; `/visits/record` records a visit. The form keeps a draft on the phone as it
//!   is typed (`visits.js`), so a reload keeps it; sent without a connection it waits in an
//!   outbox and goes when the phone is back online. The draft id travels with it, so a draft
//!   sent twice is one visit. Nothing is forced: no photo, no location, no check-in.
//! * `/visit-campaigns` plans, launches and ends campaigns and shows their coverage by
//!   township, village, grid or cadre, each figure opening the households behind it.
//! * `/cadres` assigns cadres to grids and households (三包).
//!
//! Every form goes through `crate::visits`, as the API does; a refused form comes back with
//! its message and what was typed.

use super::*;
use crate::visits::{self as uc, AssignBody, Level, NeedInput, VisitInput, Which};
use bihuan_domain::visits::{Cadence, CampaignPlan, CampaignStatus, Handling, Outcome, VisitRule};
use chrono::NaiveDate;

pub(super) const VISITS_JS: &[u8] = include_bytes!("../../assets/visits.js");

/// How many needs the visit form offers (a visit records at most ten through the API).
const NEED_ROWS: usize = 3;

fn flash(ok: Option<&str>) -> Markup {
    html! { @if let Some(m) = ok { p.flash.ok role="status" { (m) } } }
}

#[derive(Deserialize, Default)]
pub(super) struct OkQuery {
    ok: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The cadre's tasks

pub(super) async fn tasks_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<OkQuery>,
) -> Response {
    let tasks = match uc::tasks(&state, &c, &uc::TaskQuery::default()).await {
        Ok(t) => t,
        Err(e) => return error_page(e.status, "无法打开走访任务", &e.message, Some(&c)),
    };
    let overdue = tasks.iter().filter(|t| t.overdue).count();
    let body = html! {
        h1 { "我的走访任务" }
        (flash(q.ok.as_deref()))
        p #outbox-status.flash.warn role="status" hidden {}
        @if tasks.is_empty() {
            p.muted { "您目前没有待走访的住户。包户（包片）由乡镇（街道）在「包户干部」中安排；活动启动后任务会出现在这里。" }
        } @else {
            p.muted { "共 " (tasks.len()) " 户待走访" @if overdue > 0 { "，其中 " span.badge.overdue { (overdue) " 户已过完成时限" } } "。按完成时限排列；记录时不要求拍照、定位或打卡。" }
        }
        ul.task-list {
            @for t in &tasks {
                li.panel.task-card {
                    div.task-head {
                        strong { (t.address) }
                        @if t.overdue { " " span.badge.overdue { "已过时限" } }
                        @else if t.task.met { " " span.badge.met { "本轮已走访" } }
                    }
                    div.small {
                        (t.head)
                        @if let Some(p) = &t.phone { " · " a href=(format!("tel:{p}")) { (p) } }
                        " · " (t.grid_name)
                    }
                    div.small.muted {
                        (t.campaign_name) " · 完成时限 "
                        (t.next_due.map(|d| d.to_string()).unwrap_or_else(|| "—".into()))
                        @if t.task.attempts > 0 { " · 已上门 " (t.task.attempts) " 次" }
                    }
                    p { a.button.primary href=(format!("/visits/record?household={}", t.task.household)) { "记录走访" } }
                }
            }
        }
        p.small { a href="/visits/mine" { "我记录过的走访" } }
        script src="/assets/visits.js" {}
    };
    page("我的走访任务", Some(&c), body).into_response()
}

/// `/visits/mine`: the visits the caller recorded, newest first.
pub(super) async fn mine_page(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    let q = uc::VisitQuery {
        limit: Some(500),
        ..Default::default()
    };
    let mut page_ = match uc::visits(&state, &c, &q).await {
        Ok(p) => p,
        Err(e) => return error_page(e.status, "无法打开走访记录", &e.message, Some(&c)),
    };
    page_.items.reverse();
    let body = html! {
        h1 { "我记录过的走访" }
        (visit_table(&page_.items))
        p { a href="/visits" { "返回走访任务" } }
    };
    page("我记录过的走访", Some(&c), body).into_response()
}

fn visit_table(items: &[uc::VisitView]) -> Markup {
    html! {
        @if items.is_empty() { p.muted { "暂无走访记录。" } }
        @else {
            div.table-wrap { table.visits {
                thead { tr { th { "时间" } th { "走访人" } th { "情况" } th { "听诉" } th { "记录" } th { "诉求" } } }
                tbody {
                    @for v in items {
                        tr {
                            td { a href=(format!("/visits/{}", v.id)) { (format_local(v.visit.visited_at)) } }
                            td { (v.visit.cadre_name) }
                            td { (v.outcome_label) }
                            td { (v.visit.heard.join("、")) }
                            td { (v.visit.note) }
                            td {
                                @for n in &v.visit.needs {
                                    div.small {
                                        (n.text) "："
                                        @match (&n.handling, &n.appeal) {
                                            (_, Some(a)) => { "已转工单 " a href=(format!("/appeals/{}", a.number)) { (a.number) } }
                                            (Handling::OnSpot { answer }, _) => { "当场解答（" (answer) "）" }
                                            (Handling::Appeal { .. }, None) => { span.badge.due_soon { "待转工单" } }
                                        }
                                    }
                                }
                                @if v.visit.needs.is_empty() { span.muted { "—" } }
                            }
                        }
                    }
                }
            } }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Recording a visit

#[derive(Deserialize)]
pub(super) struct RecordQuery {
    household: Option<String>,
}

pub(super) async fn record_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<RecordQuery>,
) -> Response {
    let Some(id) = q.household.as_deref().and_then(|h| h.parse::<u64>().ok()) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这一户",
            "请从走访任务中选择住户",
            Some(&c),
        );
    };
    record_form(&state, &c, id, None).await
}

/// The visit form for household `id`: blank with a new draft id, or refused with what was typed.
async fn record_form(
    state: &AppState,
    c: &Caller,
    id: u64,
    refused: Option<(String, Fields)>,
) -> Response {
    let (home, _) = match crate::households::one(state, c, id).await {
        Ok(x) => x,
        Err(e) => return error_page(e.status, "没有这一户", &e.message, Some(c)),
    };
    let running = uc::running(state).await.unwrap_or_default();
    let camp = running
        .iter()
        .find(|x| x.state.plan.covers(&home.household.at));
    let topics: Vec<String> = camp.map_or_else(
        || uc::DEFAULT_TOPICS.iter().map(|t| t.to_string()).collect(),
        |x| x.state.plan.topics.clone(),
    );
    let awaiting = uc::awaiting_return_visit(state, id)
        .await
        .unwrap_or_default();
    let empty = Fields::new();
    let values = refused.as_ref().map_or(&empty, |r| &r.1);
    let val = |name: &str| field(values, name).to_string();
    let draft = if refused.is_some() {
        val("draft")
    } else {
        let nanos = state.clock.now().timestamp_nanos_opt().unwrap_or_default();
        format!("v{}-{id}-{nanos:x}", c.user.id.0)
    };
    let heard: Vec<&str> = values
        .iter()
        .filter(|(k, _)| k == "heard")
        .map(|(_, v)| v.as_str())
        .collect();
    let outcome = val("outcome");
    let classes = uc::classes();
    let f = &home.household.facts;
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "记录走访" }
        div.panel {
            strong { (f.address) } div.small { (f.head) " · " (home.grid_name)
                @if let Some(p) = &f.phone { " · " (p.expose()) } }
            @if let Some(x) = camp { div.small.muted { (x.state.plan.name) } }
        }
        @if let Some((m, _)) = &refused { p.field-error role="alert" { (m) } }
        p #draft-status.small.muted role="status" {}
        form.stack #visit-form method="post" action="/visits/record" data-household=(id) data-server-now=(state.clock.now().to_rfc3339()) data-refused[refused.is_some()] {
            input type="hidden" name="household" value=(id);
            input type="hidden" name="draft" value=(draft);
            input type="hidden" name="visited_at" value=(val("visited_at"));
            fieldset {
                legend { "走访情况" }
                @for o in Outcome::ALL {
                    @let code = outcome_code(o);
                    label.choice { input type="radio" name="outcome" value=(code) required checked[outcome == code || (outcome.is_empty() && o == Outcome::Met)]; " " (o.label()) }
                }
            }
            fieldset {
                legend { "听诉（四听）" }
                @for t in &topics {
                    label.choice { input type="checkbox" name="heard" value=(t) checked[heard.contains(&t.as_str())]; " " (t) }
                }
            }
            label for="note" { "走访记录" }
            textarea #note name="note" rows="3" maxlength="1000" placeholder="如 老人身体尚好，子女在外务工" { (val("note")) }
            @for i in 1..=NEED_ROWS {
                fieldset.need {
                    legend { "诉求 " (i) "（没有可不填）" }
                    textarea name=(format!("need_text_{i}")) rows="2" maxlength="500" placeholder="群众反映的问题或需求" { (val(&format!("need_text_{i}"))) }
                    @let h = val(&format!("need_handling_{i}"));
                    label.choice { input type="radio" name=(format!("need_handling_{i}")) value="on_spot" checked[h == "on_spot" || h.is_empty()]; " 当场解答" }
                    label.choice { input type="radio" name=(format!("need_handling_{i}")) value="appeal" checked[h == "appeal"]; " 转为诉求工单" }
                    input type="text" name=(format!("need_answer_{i}")) maxlength="500" placeholder="当场解答的内容" value=(val(&format!("need_answer_{i}")));
                    span.small.muted { "转为工单时的办理类别（五办）" }
                    select name=(format!("need_class_{i}")) aria-label="办理类别（五办）" {
                        @for k in &classes {
                            @let chosen = val(&format!("need_class_{i}"));
                            option value=(k.code) selected[chosen == k.code || (chosen.is_empty() && k.code == "timed")] { (k.name) "：" (k.note) }
                        }
                    }
                }
            }
            @if !awaiting.is_empty() {
                fieldset #return-visits {
                    legend { "回访（本户此前反映、已办理的诉求）" }
                    p.small.muted { "当面听取住户对办理结果的评价；不回访的可不选。" }
                    @for a in &awaiting {
                        @let n = a.number.to_string();
                        div.panel {
                            strong { a href=(format!("/appeals/{n}")) { (n) } " " (a.title) }
                            div.small.muted { "办理结果：" (a.reply.as_ref().map(|r| r.text.clone()).unwrap_or_default()) }
                            @let chosen = val(&format!("rv_rating_{n}"));
                            @for (code, label) in [("satisfied", "满意"), ("basic", "基本满意"), ("unsatisfied", "不满意")] {
                                label.choice { input type="radio" name=(format!("rv_rating_{n}")) value=(code) checked[chosen == code]; " " (label) }
                            }
                            @let res = val(&format!("rv_resolved_{n}"));
                            label.choice { input type="radio" name=(format!("rv_resolved_{n}")) value="yes" checked[res != "no"]; " 已解决" }
                            label.choice { input type="radio" name=(format!("rv_resolved_{n}")) value="no" checked[res == "no"]; " 未解决" }
                            input type="text" name=(format!("rv_comment_{n}")) maxlength="500" placeholder="住户意见（可不填）" value=(val(&format!("rv_comment_{n}")));
                        }
                    }
                }
            }
            p.small.muted { "照片、定位均不要求。网络不好时可照常提交：记录先保存在本机，联网后自动发送，不会重复。" }
            p { button.primary type="submit" { "提交走访记录" } " " a href="/visits" { "返回" } }
        }
        script src="/assets/visits.js" {}
    };
    (status, page("记录走访", Some(c), body)).into_response()
}

fn outcome_code(o: Outcome) -> &'static str {
    match o {
        Outcome::Met => "met",
        Outcome::NotHome => "not_home",
        Outcome::Refused => "refused",
    }
}

pub(super) async fn record_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let Ok(household) = field(&f, "household").parse::<u64>() else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这一户",
            "请从走访任务中选择住户",
            Some(&c),
        );
    };
    let refuse = |m: String| (m, f.clone());
    let outcome = match field(&f, "outcome") {
        "met" => Outcome::Met,
        "not_home" => Outcome::NotHome,
        "refused" => Outcome::Refused,
        _ => {
            return record_form(&state, &c, household, Some(refuse("请选择走访情况".into()))).await
        }
    };
    let visited_at = match field(&f, "visited_at") {
        "" => None,
        s => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.with_timezone(&chrono::Utc)),
            Err(_) => None,
        },
    };
    let mut needs = Vec::new();
    for i in 1..=NEED_ROWS {
        let text = field(&f, &format!("need_text_{i}"));
        if text.is_empty() {
            continue;
        }
        needs.push(NeedInput {
            text: text.into(),
            handling: match field(&f, &format!("need_handling_{i}")) {
                "appeal" => "appeal".into(),
                _ => "on_spot".into(),
            },
            answer: field(&f, &format!("need_answer_{i}")).into(),
            class: field(&f, &format!("need_class_{i}")).into(),
        });
    }
    // 回访: each appeal shown on the form with its rating chosen.
    let mut return_visits = Vec::new();
    for (k, number) in f.iter().filter(|(k, _)| k.starts_with("rv_rating_")) {
        let appeal = &k["rv_rating_".len()..];
        let rating = match number.as_str() {
            "satisfied" => bihuan_domain::lifecycle::Rating::Satisfied,
            "basic" => bihuan_domain::lifecycle::Rating::Basic,
            "unsatisfied" => bihuan_domain::lifecycle::Rating::Unsatisfied,
            _ => continue,
        };
        return_visits.push(crate::visits::ReturnVisitInput {
            appeal: appeal.to_string(),
            resolved: field(&f, &format!("rv_resolved_{appeal}")) != "no",
            rating,
            comment: field(&f, &format!("rv_comment_{appeal}")).into(),
        });
    }
    let input = VisitInput {
        household,
        campaign: None,
        visited_at,
        outcome,
        heard: f
            .iter()
            .filter(|(k, _)| k == "heard")
            .map(|(_, v)| v.clone())
            .collect(),
        note: field(&f, "note").into(),
        needs,
        return_visits,
        draft: field(&f, "draft").into(),
    };
    match uc::record(&state, &c, input).await {
        Ok(v) => {
            let raised = v.visit.needs.iter().filter(|n| n.appeal.is_some()).count();
            let msg = if v.duplicate {
                "这份走访记录此前已提交，未重复登记".to_string()
            } else if raised > 0 {
                format!("走访已记录，{raised} 条诉求已转为工单")
            } else {
                "走访已记录".to_string()
            };
            Redirect::to(&format!("/visits/{}?ok={}", v.id, urlencode(&msg))).into_response()
        }
        Err(e) => record_form(&state, &c, household, Some(refuse(e.message))).await,
    }
}

pub(super) async fn visit_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<OkQuery>,
) -> Response {
    visit_render(&state, &c, &id, q.ok.as_deref(), None).await
}

async fn visit_render(
    state: &AppState,
    c: &Caller,
    id: &str,
    ok: Option<&str>,
    error: Option<String>,
) -> Response {
    let v = match id.parse::<u64>() {
        Ok(id) => uc::visit(state, c, id).await,
        Err(_) => Err(ApiError::not_found("走访编号无效")),
    };
    let v = match v {
        Ok(v) => v,
        Err(e) => return error_page(e.status, "没有这次走访", &e.message, Some(c)),
    };
    // The needs raised as appeals, with the photos already stored with each (the cadre may
    // add some while the appeal is open; never required).
    let mut raised = Vec::new();
    for (i, n) in v.visit.needs.iter().enumerate() {
        let Some(a) = &n.appeal else { continue };
        let files = state
            .store
            .attachments(bihuan_domain::AppealId(a.id))
            .await
            .unwrap_or_default();
        let open = state
            .store
            .appeal(bihuan_store::AppealRef::Id(bihuan_domain::AppealId(a.id)))
            .await
            .is_ok_and(|x| !x.status.is_terminal());
        raised.push((i + 1, n, a, files.len(), open));
    }
    let mine = v.visit.cadre == c.user.id;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "走访记录" }
        (flash(ok))
        @if let Some(m) = &error { div.error role="alert" { (m) } }
        div.panel {
            dl.facts {
                dt { "住户" } dd { a href=(format!("/households/{}", v.visit.household)) { "住户 " (v.visit.household) } }
                dt { "走访人" } dd { (v.visit.cadre_name) }
                dt { "时间" } dd { (format_local(v.visit.visited_at)) }
                dt { "情况" } dd { (v.outcome_label) }
                dt { "听诉" } dd { @if v.visit.heard.is_empty() { "—" } @else { (v.visit.heard.join("、")) } }
                dt { "记录" } dd { @if v.visit.note.is_empty() { "—" } @else { (v.visit.note) } }
            }
        }
        (visit_table(std::slice::from_ref(&v)))
        @if !raised.is_empty() {
            h2 { "转为工单的诉求" }
            @for (n, need, a, photos, open) in &raised {
                div.panel.need-photos {
                    p { "诉求" (n) "：" (need.text) " → 工单 " a href=(format!("/appeals/{}", a.number)) { (a.number) } }
                    p.small.muted { "现场照片 " (photos) " 张" }
                    @if mine && *open {
                        form.stack method="post" action=(format!("/visits/{}/needs/{}/photos", v.id, n)) enctype="multipart/form-data" {
                            label for=(format!("photo-{n}")) { "补充现场照片（可选，不是必填项）" }
                            input id=(format!("photo-{n}")) type="file" name="file" accept="image/jpeg,image/png,image/gif,image/webp" multiple;
                            p { button type="submit" { "上传照片" } }
                        }
                    }
                }
            }
        }
        p { a href="/visits" { "返回走访任务" } }
    };
    (status, page("走访记录", Some(c), body)).into_response()
}

/// `POST /visits/{id}/needs/{n}/photos`: the photos of the form, stored with the need's appeal.
pub(super) async fn photos_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path((id, need)): Path<(String, String)>,
    mp: axum::extract::Multipart,
) -> Response {
    let (Ok(visit), Some(index)) = (
        id.parse::<u64>(),
        need.parse::<usize>().ok().and_then(|n| n.checked_sub(1)),
    ) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这条诉求",
            "走访或诉求编号无效",
            Some(&c),
        );
    };
    let stored = match crate::attachments::read_files(mp).await {
        Ok(files) if files.is_empty() => {
            Err("请先选择照片；照片是可选的，不上传也不影响走访记录".to_string())
        }
        Ok(files) => uc::attach_photos(&state, &c, visit, index, files)
            .await
            .map_err(|e| e.message),
        Err(e) => Err(e.message),
    };
    match stored {
        Ok(files) => Redirect::to(&format!(
            "/visits/{visit}?ok={}",
            urlencode(&format!("已为诉求{need}补充现场照片 {} 张", files.len()))
        ))
        .into_response(),
        Err(m) => visit_render(&state, &c, &id, None, Some(m)).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Campaigns

pub(super) async fn campaigns_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<OkQuery>,
) -> Response {
    campaigns_render(&state, &c, q.ok.as_deref(), None).await
}

async fn campaigns_render(
    state: &AppState,
    c: &Caller,
    ok: Option<&str>,
    refused: Option<(String, Fields)>,
) -> Response {
    let list = match uc::campaigns(state).await {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开走访活动", &e.message, Some(c)),
    };
    let cat = state.store.catalog();
    let organiser = uc::organiser(c).is_ok();
    let townships: Vec<&bihuan_domain::org::Unit> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Township)
        .filter(|u| c.sees_all() || u.id == c.user.unit)
        .collect();
    let empty = Fields::new();
    let values = refused.as_ref().map_or(&empty, |r| &r.1);
    let val = |n: &str| field(values, n).to_string();
    let year = bihuan_domain::time::local_date(state.clock.now()).format("%Y");
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "入户走访活动" }
        @if organiser { p { a href="/cadres" { "包户干部（三包）" } " · " a href="/visits" { "我的走访任务" } } }
        p.muted { "「入户听诉、诉到速办」：按网格入户走访，听民声、听民意、听民需、听民盼，群众诉求当场解答或转为工单限时办理。覆盖率的分母为活动启动时登记在册的住户，此后新增的住户照常走访、另行统计。" }
        (flash(ok))
        div.table-wrap { table #campaigns {
            thead { tr { th { "活动" } th { "期间" } th { "状态" } th { "应访户数" } } }
            tbody {
                @for x in &list {
                    tr {
                        td { a href=(format!("/visit-campaigns/{}", x.id)) { (x.campaign.plan.name) } }
                        td { (x.campaign.plan.starts) " 至 " (x.campaign.plan.ends) }
                        td { (x.status_label) }
                        td { @if x.campaign.status == CampaignStatus::Draft { "—" } @else { (x.campaign.frozen) } }
                    }
                }
            }
        } }
        @if list.is_empty() { p.muted { "尚未安排走访活动。" } }
        @if organiser {
            h2 { "筹备新活动" }
            form.stack #plan method="post" action="/visit-campaigns" {
                @if let Some((m, _)) = &refused { p.field-error role="alert" { (m) } }
                div { label for="name" { "活动名称" } input #name type="text" name="name" maxlength="40" placeholder=(format!("如 {year}年入户听诉")) value=(val("name")) required; }
                div.row {
                    div { label for="starts" { "开始日期" } input #starts type="date" name="starts" value=(val("starts")) required; }
                    div { label for="ends" { "结束日期" } input #ends type="date" name="ends" value=(val("ends")) required; }
                }
                div { label for="township" { "范围" }
                    select #township name="township" {
                        @if c.sees_all() { option value="" { "全县" } }
                        @for t in &townships { option value=(t.id.0) selected[val("township") == t.id.0.to_string()] { (t.name) } }
                    }
                }
                div.row {
                    div { label for="within" { "每户走访一次，开始后几个工作日内完成" } input #within type="number" name="within" min="1" max="250" value=(if val("within").is_empty() { "40".to_string() } else { val("within") }) required; }
                    div { label for="monthly_tag" { "每月走访的住户标签（可空）" } input #monthly_tag type="text" name="monthly_tag" maxlength="12" placeholder="如 独居老人" value=(val("monthly_tag")); }
                }
                div { label for="topics" { "听诉主题（以顿号分隔）" } input #topics type="text" name="topics" maxlength="200" value=(if val("topics").is_empty() { uc::DEFAULT_TOPICS.join("、") } else { val("topics") }) required; }
                p { button.primary type="submit" { "保存为筹备中的活动" } }
            }
        }
    };
    (status, page("入户走访活动", Some(c), body)).into_response()
}

pub(super) async fn plan_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let date = |n: &str| NaiveDate::parse_from_str(field(&f, n), "%Y-%m-%d").ok();
    let (Some(starts), Some(ends)) = (date("starts"), date("ends")) else {
        let m = "请按 年-月-日 填写开始和结束日期".to_string();
        return campaigns_render(&state, &c, None, Some((m, f.clone()))).await;
    };
    let mut rules = vec![VisitRule {
        tag: None,
        cadence: Cadence::Once,
        within: field(&f, "within").parse().unwrap_or(0),
    }];
    let tag = field(&f, "monthly_tag");
    if !tag.is_empty() {
        rules.push(VisitRule {
            tag: Some(tag.into()),
            cadence: Cadence::Monthly,
            within: 0,
        });
    }
    let plan = CampaignPlan {
        name: field(&f, "name").into(),
        starts,
        ends,
        townships: field(&f, "township")
            .parse::<u32>()
            .ok()
            .map(|t| vec![UnitId(t)])
            .unwrap_or_default(),
        grids: vec![],
        rules,
        topics: field(&f, "topics")
            .split(['、', '，', ',', ';', '；'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
    };
    match uc::plan(&state, &c, plan).await {
        Ok(v) => Redirect::to(&format!(
            "/visit-campaigns/{}?ok={}",
            v.id,
            urlencode("活动已保存，确认无误后点「启动活动」生成走访任务")
        ))
        .into_response(),
        Err(e) => campaigns_render(&state, &c, None, Some((e.message, f))).await,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct CampaignQuery {
    level: Option<String>,
    ok: Option<String>,
}

fn level_of(s: Option<&str>) -> Level {
    match s {
        Some("village") => Level::Village,
        Some("grid") => Level::Grid,
        Some("cadre") => Level::Cadre,
        _ => Level::Township,
    }
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |x| format!("{x:.1}%"))
}

/// A campaign's id from the path, or the page that says there is none.
fn campaign_id(s: &str, c: &Caller) -> Result<u64, Box<Response>> {
    s.parse().map_err(|_| {
        Box::new(error_page(
            StatusCode::NOT_FOUND,
            "没有这次活动",
            "活动编号无效，请从走访活动列表打开",
            Some(c),
        ))
    })
}

pub(super) async fn campaign_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<CampaignQuery>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    campaign_render(&state, &c, id, &q, None).await
}

async fn campaign_render(
    state: &AppState,
    c: &Caller,
    id: u64,
    q: &CampaignQuery,
    refused: Option<String>,
) -> Response {
    let level = level_of(q.level.as_deref());
    let camp = match uc::campaign(state, id).await {
        Ok(x) => x,
        Err(e) => return error_page(e.status, "没有这次活动", &e.message, Some(c)),
    };
    let table = match uc::coverage(state, c, id, level).await {
        Ok(t) => Some(t),
        Err(e) if e.status == StatusCode::FORBIDDEN => None,
        Err(e) => return error_page(e.status, "无法统计覆盖率", &e.message, Some(c)),
    };
    let p = &camp.state.plan;
    let cat = state.store.catalog();
    let area = if p.townships.is_empty() && p.grids.is_empty() {
        "全县".to_string()
    } else {
        p.townships
            .iter()
            .chain(&p.grids)
            .map(|u| unit_name(&cat, Some(*u)))
            .collect::<Vec<_>>()
            .join("、")
    };
    let organiser = uc::organiser(c).is_ok();
    let prefix = match level {
        Level::Township => "t",
        Level::Village => "v",
        Level::Grid => "g",
        Level::Cadre => "c",
    };
    let drill = |unit: &str, which: &str| {
        format!("/visit-campaigns/{id}/households?unit={unit}&which={which}")
    };
    let chart = table.as_ref().filter(|_| level != Level::Cadre).map(|t| {
        json!({
            "names": t.rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
            "rates": t.rows.iter().map(|r| r.rate.map(|x| (x * 10.0).round() / 10.0)).collect::<Vec<_>>(),
        })
    });
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { (p.name) " " span.badge { (camp.state.status.label()) } }
        (flash(q.ok.as_deref()))
        @if let Some(m) = &refused { p.field-error role="alert" { (m) } }
        div.panel {
            dl.facts {
                dt { "期间" } dd { (p.starts) " 至 " (p.ends) }
                dt { "范围" } dd { (area) }
                dt { "走访频次" } dd {
                    @for r in &p.rules {
                        div { (r.tag.clone().unwrap_or_else(|| "全部住户".into())) "：" (r.cadence.label())
                            @if r.cadence == Cadence::Once { "，开始后 " (r.within) " 个工作日内" } @else { "，每月最后一个工作日前" } }
                    }
                }
                dt { "听诉主题" } dd { (p.topics.join("、")) }
                @if camp.state.status != CampaignStatus::Draft {
                    dt { "应访户数" } dd { (camp.state.frozen) "（启动时冻结）" }
                }
                @if let Some(at) = camp.state.launched_at { dt { "启动时间" } dd { (format_local(at)) } }
                @if let Some(r) = &camp.state.ended_reason { dt { "结束原因" } dd { (r) } }
            }
            @if organiser && matches!(camp.state.status, CampaignStatus::Draft | CampaignStatus::Generating) {
                form.inline method="post" action=(format!("/visit-campaigns/{id}/launch")) data-confirm="确认启动？将为范围内每户生成走访任务，并以此刻在册户数作为覆盖率的分母，启动后不能再修改方案。" {
                    button.primary type="submit" { @if camp.state.status == CampaignStatus::Generating { "继续生成任务" } @else { "启动活动" } }
                }
            }
            @if organiser && camp.state.status == CampaignStatus::Running {
                form.inline method="post" action=(format!("/visit-campaigns/{id}/end")) data-confirm="确认结束这次活动？结束后不再出现在干部的走访任务中，记录全部保留。" {
                    input type="text" name="reason" maxlength="200" placeholder="结束原因，如 活动期满" required;
                    button.danger type="submit" { "结束活动" }
                }
            }
        }
        @if let Some(t) = &table {
            @if camp.state.status != CampaignStatus::Draft {
                h2 { "走访覆盖" }
                div.cards {
                    div.card { div.small.muted { "走访覆盖率" } strong { (pct(t.total.rate)) } div.small { (t.total.coverage.visited) " / " (t.total.coverage.households) " 户" } }
                    div.card { div.small.muted { "未走访" } strong { a href=(drill("a", "not_visited")) { (t.total.coverage.households - t.total.coverage.visited) } } div.small { "户（应访）" } }
                    div.card { div.small.muted { "期间新增住户" } strong { (t.total.coverage.added) } div.small { "已走访 " (t.total.coverage.added_visited) " 户，不计入分母" } }
                    div.card { div.small.muted { "发现诉求" } strong { (t.total.coverage.needs) } div.small { "当场解答 " (t.total.coverage.answered) "，转为工单 " (t.total.coverage.raised) } }
                    div.card { div.small.muted { "入户诉求办结率" } strong { (pct(t.appeals_closed_rate)) } div.small { (t.appeals_closed) " / " (t.appeals) " 件（本次活动转办的工单）" } }
                }
                nav.tabs {
                    @for (code, label) in [("township", "按乡镇"), ("village", "按村（社区）"), ("grid", "按网格"), ("cadre", "按干部")] {
                        @if level_of(Some(code)) == level { strong { (label) } } @else { a href=(format!("/visit-campaigns/{id}?level={code}")) { (label) } }
                        " "
                    }
                }
                @if level != Level::Cadre { div #coverage-chart.chart-360 {} }
                div.table-wrap { table #coverage {
                    thead { tr { th { "单位" } th { "应访户数" } th { "已走访" } th { "覆盖率" } th { "未走访" } th { "新增户（已访）" } th { "发现诉求" } th { "当场解答" } th { "转为工单" } } }
                    tbody {
                        @for r in &t.rows {
                            @let unit = format!("{prefix}{}", r.id);
                            tr {
                                td { (r.name) }
                                td { (r.coverage.households) }
                                td { a href=(drill(&unit, "visited")) { (r.coverage.visited) } }
                                td { (pct(r.rate)) }
                                td { a href=(drill(&unit, "not_visited")) { (r.coverage.households - r.coverage.visited) } }
                                td { a href=(drill(&unit, "added_not_visited")) { (r.coverage.added) } "（" (r.coverage.added_visited) "）" }
                                td { (r.coverage.needs) }
                                td { (r.coverage.answered) }
                                td { (r.coverage.raised) }
                            }
                        }
                    }
                } }
                p.small.muted { "覆盖率 = 已见面走访的应访户 ÷ 启动时在册的应访户；不在家、拒访不计为已走访。"
                    @if level == Level::Cadre { "干部按姓名排列，不作排名（国务院办公厅关于政务应用程序不搞积分排名的要求）。" } @else { "按覆盖率由低到高排列，便于督促。" } }
                @if let Some(chart) = &chart { script type="application/json" #coverage-data { (maud::PreEscaped(chart.to_string().replace("</", "<\\/"))) } }
                script src="/assets/echarts.min.js" {}
                script src="/assets/visits.js" {}
            }
        } @else {
            p.muted { "覆盖率由乡镇（街道）、村（社区）、网格和中心查看。" }
        }
        p { a href="/visit-campaigns" { "返回走访活动" } }
    };
    (status, page(&p.name, Some(c), body)).into_response()
}

pub(super) async fn launch_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    match uc::launch(&state, &c, id).await {
        Ok(v) => Redirect::to(&format!(
            "/visit-campaigns/{id}?ok={}",
            urlencode(&format!(
                "活动已启动：生成走访任务 {} 户",
                v.campaign.frozen
            ))
        ))
        .into_response(),
        Err(e) => campaign_render(&state, &c, id, &CampaignQuery::default(), Some(e.message)).await,
    }
}

pub(super) async fn end_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    match uc::end(&state, &c, id, field(&f, "reason").into()).await {
        Ok(_) => Redirect::to(&format!(
            "/visit-campaigns/{id}?ok={}",
            urlencode("活动已结束")
        ))
        .into_response(),
        Err(e) => campaign_render(&state, &c, id, &CampaignQuery::default(), Some(e.message)).await,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct DrillPageQuery {
    unit: Option<String>,
    which: Option<String>,
    after: Option<u64>,
}

pub(super) async fn drill_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<DrillPageQuery>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(page) => return *page,
    };
    let which = match q.which.as_deref() {
        Some("visited") => Which::Visited,
        Some("added_not_visited") => Which::AddedNotVisited,
        Some("added_visited") => Which::AddedVisited,
        _ => Which::NotVisited,
    };
    let dq = uc::DrillQuery {
        unit: q.unit.clone(),
        which: Some(which),
        after: q.after,
        limit: Some(200),
    };
    let page_ = match uc::drill(&state, &c, id, &dq).await {
        Ok(p) => p,
        Err(e) => return error_page(e.status, "无法打开住户名单", &e.message, Some(&c)),
    };
    let title = match which {
        Which::NotVisited => "未走访的应访户",
        Which::Visited => "已走访的应访户",
        Which::AddedNotVisited => "期间新增、未走访的住户",
        Which::AddedVisited => "期间新增、已走访的住户",
    };
    let body = html! {
        h1 { (title) }
        p.muted { "户主姓名和电话已脱敏；打开住户可查看走访记录。" }
        div.table-wrap { table #drill {
            thead { tr { th { "住址" } th { "户主" } th { "网格" } th { "包户干部" } th { "完成时限" } th { "上门次数" } } }
            tbody {
                @for t in &page_.items {
                    tr {
                        td { a href=(format!("/households/{}", t.task.household)) { (t.address) } }
                        td { (t.head) }
                        td { (t.grid_name) }
                        td { (t.cadre_name.clone().unwrap_or_else(|| "未安排".into())) }
                        td { (t.next_due.map(|d| d.to_string()).unwrap_or_else(|| "—".into())) @if t.overdue { " " span.badge.overdue { "已过" } } }
                        td { (t.task.attempts) }
                    }
                }
            }
        } }
        @if page_.items.is_empty() { p.muted { "没有这样的住户。" } }
        @if let Some(a) = page_.next_after {
            p { a href=(format!("/visit-campaigns/{id}/households?unit={}&which={}&after={a}", urlencode(q.unit.as_deref().unwrap_or("a")), urlencode(q.which.as_deref().unwrap_or("not_visited")))) { "下一页" } }
        }
        p { a href=(format!("/visit-campaigns/{id}")) { "返回活动" } }
    };
    page(title, Some(&c), body).into_response()
}

// ---------------------------------------------------------------------------------------------
// Cadres (三包)

#[derive(Deserialize, Default)]
pub(super) struct CadresQuery {
    ok: Option<String>,
    edit: Option<u32>,
}

pub(super) async fn cadres_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<CadresQuery>,
) -> Response {
    // 调整: the form filled with the cadre's current assignment.
    let editing = match q.edit {
        Some(id) => uc::cadres(&state, &c)
            .await
            .unwrap_or_default()
            .into_iter()
            .find(|a| a.assignment.cadre.0 == id)
            .map(|a| {
                let mut f: Fields = vec![("cadre".into(), id.to_string())];
                if a.assignment.party_member {
                    f.push(("party_member".into(), "1".into()));
                }
                f.extend(
                    a.assignment
                        .grids
                        .iter()
                        .map(|g| ("grids".into(), g.0.to_string())),
                );
                let hs: Vec<String> = a.assignment.households.iter().map(u64::to_string).collect();
                f.push(("households".into(), hs.join(", ")));
                f
            }),
        None => None,
    };
    cadres_render(&state, &c, q.ok.as_deref(), None, editing).await
}

async fn cadres_render(
    state: &AppState,
    c: &Caller,
    ok: Option<&str>,
    refused: Option<(String, Fields)>,
    editing: Option<Fields>,
) -> Response {
    let list = match uc::cadres(state, c).await {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开包户干部", &e.message, Some(c)),
    };
    let cat = state.store.catalog();
    let reach = crate::households::Reach::of(c).ok();
    let grids: Vec<&bihuan_domain::org::Unit> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Grid)
        .filter(|u| {
            crate::households::locate(&cat, u.id.0)
                .is_ok_and(|at| reach.is_some_and(|r| r.covers(&at)))
        })
        .collect();
    let users: Vec<bihuan_store::User> = state
        .store
        .users()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.active && !matches!(u.role, Role::System))
        .collect();
    let empty = editing.unwrap_or_default();
    let values = refused.as_ref().map_or(&empty, |r| &r.1);
    let chosen: Vec<&str> = values
        .iter()
        .filter(|(k, _)| k == "grids")
        .map(|(_, v)| v.as_str())
        .collect();
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "包户干部（三包）" }
        p.muted { "党员干部包片（整个网格）或包户（指定住户）。一户由包户的干部走访；没有包户的，由包片的干部走访。" }
        (flash(ok))
        div.table-wrap { table #cadres {
            thead { tr { th { "干部" } th { "单位" } th { "党员" } th { "包片网格" } th { "包户" } th {} } }
            tbody {
                @for a in &list {
                    tr {
                        td { (a.assignment.name) }
                        td { (a.unit_name) }
                        td { @if a.assignment.party_member { "是" } @else { "—" } }
                        td { (a.grid_names.join("、")) }
                        td { (a.assignment.households.len()) " 户" }
                        td { a href=(format!("/cadres?edit={}#assign", a.assignment.cadre.0)) { "调整" } }
                    }
                }
            }
        } }
        @if list.is_empty() { p.muted { "尚未安排包户干部。" } }
        h2 { "安排包户" }
        form.stack #assign method="post" action="/cadres" {
            @if let Some((m, _)) = &refused { p.field-error role="alert" { (m) } }
            div { label for="cadre" { "干部" }
                select #cadre name="cadre" required {
                    option value="" { "请选择干部" }
                    @for u in &users {
                        option value=(u.id.0) selected[field(values, "cadre") == u.id.0.to_string()] { (u.name) "（" (unit_name(&cat, Some(u.unit))) "）" }
                    }
                }
            }
            label.choice { input type="checkbox" name="party_member" value="1" checked[!field(values, "party_member").is_empty()]; " 党员" }
            fieldset { legend { "包片网格" }
                @for g in &grids { label.choice { input type="checkbox" name="grids" value=(g.id.0) checked[chosen.contains(&g.id.0.to_string().as_str())]; " " (g.name) } }
            }
            div { label for="households" { "包户（住户编号，以逗号或空格分隔）" } input #households type="text" name="households" value=(field(values, "households")) placeholder="如 12, 15, 31"; }
            p.small.muted { "再次为同一名干部提交即整体替换其包片、包户；都不选即解除安排。历史保留。" }
            p { button.primary type="submit" { "保存" } }
        }
    };
    (status, page("包户干部", Some(c), body)).into_response()
}

pub(super) async fn assign_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let mut households = Vec::new();
    for part in field(&f, "households").split([',', '，', ' ', '、', ';', '；']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.parse::<u64>() {
            Ok(h) => households.push(h),
            Err(_) => {
                let m = format!("住户编号「{part}」不是数字");
                return cadres_render(&state, &c, None, Some((m, f.clone())), None).await;
            }
        }
    }
    let b = AssignBody {
        cadre: field(&f, "cadre").parse().unwrap_or(0),
        party_member: !field(&f, "party_member").is_empty(),
        grids: f
            .iter()
            .filter(|(k, _)| k == "grids")
            .filter_map(|(_, v)| v.parse().ok())
            .collect(),
        households,
    };
    match uc::assign(&state, &c, b).await {
        Ok(a) => Redirect::to(&format!(
            "/cadres?ok={}",
            urlencode(&format!("已为{}安排包户", a.state.name))
        ))
        .into_response(),
        Err(e) => cadres_render(&state, &c, None, Some((e.message, f)), None).await,
    }
}

/// The household page's 入户听诉 part: its cadre, its tasks, its visits and the appeals raised.
pub(super) async fn household_section(state: &AppState, c: &Caller, id: u64) -> Markup {
    let q = uc::VisitQuery {
        household: Some(id),
        limit: Some(500),
        after: None,
    };
    let Ok(mut visits) = uc::visits(state, c, &q).await else {
        return html! {};
    };
    visits.items.reverse();
    let home = bihuan_store::aggregates::load::<bihuan_domain::household::Household>(
        state.store.as_ref(),
        id,
    )
    .await
    .ok();
    let cadre = match &home {
        Some(h) => uc::cadre_of(state, id, &h.state.at).await.ok().flatten(),
        None => None,
    };
    let cadre_name = match cadre {
        Some(u) => state
            .store
            .users()
            .await
            .unwrap_or_default()
            .into_iter()
            .find(|x| x.id == u)
            .map(|x| x.name),
        None => None,
    };
    html! {
        div.panel #household-visits {
            h2 { "入户走访" }
            p { "包户干部：" (cadre_name.unwrap_or_else(|| "未安排".into()))
                " · " a href=(format!("/visits/record?household={id}")) { "记录走访" } }
            (visit_table(&visits.items))
        }
    }
}
