//! `/campaigns`: 战役化推进、清单化落责、图表化调度 — the campaigns with their battles and
//! checklists, the charts the leaders steer by (progress by battle and by unit, the burn-down
//! of open items, a timeline of deadlines and milestones), each item's page with its reports
//! and the forms that report, confirm, revise and withdraw, and the printable weekly view for
//! the scheduling meeting. Every form goes through `crate::campaigns`, as the API does; a
//! refused form comes back with its message and what was typed.

use super::*;
use crate::campaigns::{self as uc, CampaignView, ItemView, ItemsImported, ReportFile};
use bihuan_domain::campaign::{CampaignKind, CampaignStatus, Due, ItemStatus, Measure, NewItem};
use chrono::NaiveDate;

pub(super) const CAMPAIGNS_JS: &[u8] = include_bytes!("../../assets/campaigns.js");

fn pct(p: f64) -> String {
    format!("{:.0}%", p * 100.0)
}

fn value(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) => format!("{}{unit}", uc::num(v)),
        None => "—".into(),
    }
}

fn status_badge(s: ItemStatus) -> Markup {
    let class = match s {
        ItemStatus::Done => "badge met",
        ItemStatus::Overdue => "badge overdue",
        ItemStatus::Active => "badge running",
        ItemStatus::NotStarted => "badge",
        ItemStatus::Withdrawn => "badge closed",
    };
    html! { span class=(class) { (s.label()) } }
}

fn bar(p: f64) -> Markup {
    html! {
        span.progress title=(pct(p)) { span style=(format!("width:{:.0}%", (p * 100.0).clamp(0.0, 100.0))) {} }
        " " (pct(p))
    }
}

fn campaign_id(s: &str, c: &Caller) -> Result<u64, Box<Response>> {
    path_id(s, "攻坚活动", c)
}

fn item_no(s: &str, c: &Caller) -> Result<u32, Box<Response>> {
    s.parse().map_err(|_| {
        Box::new(error_page(
            StatusCode::NOT_FOUND,
            "没有这个事项",
            "请从活动的清单打开",
            Some(c),
        ))
    })
}

/// A campaign's id and an item's number from the path, or the page that says there is none.
fn item_ids(id: &str, no: &str, c: &Caller) -> Result<(u64, u32), Box<Response>> {
    Ok((campaign_id(id, c)?, item_no(no, c)?))
}

// ---------------------------------------------------------------------------------------------
// The list

#[derive(Deserialize, Default)]
pub(super) struct OkQuery {
    ok: Option<String>,
}

pub(super) async fn campaigns_list_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<OkQuery>,
) -> Response {
    list_render(&state, &c, q.ok.as_deref(), None).await
}

async fn list_render(
    state: &AppState,
    c: &Caller,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    let list = match uc::campaigns(state, c).await {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开攻坚调度", &e.message, Some(c)),
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "攻坚调度" }
        p.muted { "战役化推进、清单化落责、图表化调度、全过程量化评价。事项的完成值能由平台数据算出的自动计算（问题清仓、纠纷排查），其余由责任单位填报、领导确认；照片不作为完成的依据。" }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        @if list.is_empty() { p.muted { "还没有攻坚活动。" } }
        @for s in &list {
            section.panel {
                h2 { a href=(format!("/campaigns/{}", s.id)) { (s.name) } " " span.badge { (s.kind_label) } " " span class=(if s.status == CampaignStatus::Running { "badge running" } else { "badge closed" }) { (s.status_label) } }
                p.small.muted { (s.starts) " 至 " (s.ends) " · 牵头：" (s.lead)
                    @if s.mine > 0 { " · " strong { "本单位事项 " (s.mine) " 项" } }
                    @if s.pending > 0 { " · 待领导确认 " (s.pending) " 条" } }
                p { "总体进度 " (bar(s.progress)) " · "
                    @for x in &s.counts { @if x.count > 0 { (x.label) " " (x.count) "　" } } }
                div.table-wrap { table.compact {
                    thead { tr { th { "战役" } th { "事项" } th { "已完成" } th { "已逾期" } th { "进度" } } }
                    tbody { @for b in &s.battles { tr {
                        td { a href=(format!("/campaigns/{}?battle={}", s.id, b.key)) { (b.name) } }
                        td { (b.items) } td { (b.done) }
                        td { @if b.overdue > 0 { span.badge.overdue { (b.overdue) } } @else { "0" } }
                        td { (bar(b.progress)) }
                    } } }
                } }
            }
        }
        @if uc::configures(c) {
            h2 { "设立攻坚活动" }
            form.stack #new-campaign method="post" action="/campaigns" {
                (refusal(&refused, "create"))
                div.row {
                    div { label for="name" { "活动名称" } input #name type="text" name="name" maxlength="60" placeholder="如 2026年三大会战" value=(typed(&refused, "create", "name")) required; }
                    div { label for="kind" { "类型" } select #kind name="kind" {
                        @for k in CampaignKind::ALL { option value=(k.code()) selected[typed(&refused, "create", "kind") == k.code()] { (k.label()) } } } }
                    div { label for="lead" { "总指挥 / 牵头领导" } input #lead type="text" name="lead" maxlength="40" value=(typed(&refused, "create", "lead")) required; }
                }
                div.row {
                    div { label for="starts" { "开始日期" } input #starts type="date" name="starts" value=(typed(&refused, "create", "starts")) required; }
                    div { label for="ends" { "结束日期" } input #ends type="date" name="ends" value=(typed(&refused, "create", "ends")) required; }
                }
                label for="battles" { "战役（每行一个：名称|牵头领导|目标）" }
                textarea #battles name="battles" rows="4" placeholder="问题清仓|李明|积案、超期工单全部清零" required { (typed(&refused, "create", "battles")) }
                label for="note" { "说明" }
                textarea #note name="note" rows="2" maxlength="2000" { (typed(&refused, "create", "note")) }
                p { button.primary type="submit" { "设立活动" } }
            }
        }
    };
    (status, page("攻坚调度", Some(c), body)).into_response()
}

fn date_field(f: &Fields, name: &'static str, what: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(field(f, name).trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::from(bihuan_domain::DomainError::invalid(
            name,
            format!("请按 年-月-日 填写{what}，如 2026-12-31"),
        ))
    })
}

pub(super) async fn campaign_create_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let r = async {
        let starts = date_field(&f, "starts", "开始日期")?;
        let ends = date_field(&f, "ends", "结束日期")?;
        let kind = CampaignKind::parse(field(&f, "kind")).unwrap_or(CampaignKind::Battle);
        let battles = field(&f, "battles")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut p = l.split(['|', '｜']).map(str::trim);
                bihuan_domain::campaign::NewBattle {
                    name: p.next().unwrap_or("").into(),
                    leader: p.next().unwrap_or("").into(),
                    goal: p.next().unwrap_or("").into(),
                }
            })
            .collect();
        uc::create(
            &state,
            &c,
            uc::NewCampaign {
                name: field(&f, "name").into(),
                kind,
                starts,
                ends,
                lead: field(&f, "lead").into(),
                note: field(&f, "note").into(),
                battles,
            },
        )
        .await
    }
    .await;
    match r {
        Ok(v) => Redirect::to(&format!(
            "/campaigns/{}?ok={}",
            v.id,
            urlencode("活动已设立：请添加或导入清单事项")
        ))
        .into_response(),
        Err(e) => {
            list_render(
                &state,
                &c,
                None,
                Some(Refused {
                    form: "create".into(),
                    message: e.message,
                    values: f,
                }),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A campaign

#[derive(Deserialize, Default)]
pub(super) struct CampaignQuery {
    ok: Option<String>,
    battle: Option<String>,
    status: Option<String>,
    owner: Option<String>,
}

pub(super) async fn campaign_detail_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<CampaignQuery>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    render(&state, &c, id, &q, None, None).await
}

/// The chart data the page's script draws.
fn charts(v: &CampaignView) -> Value {
    let gantt: Vec<&ItemView> = v
        .items
        .iter()
        .filter(|i| i.status != ItemStatus::Withdrawn)
        .take(60)
        .collect();
    let marks: Vec<Value> = gantt
        .iter()
        .enumerate()
        .flat_map(|(row, i)| {
            i.item.milestones.iter().map(move |m| {
                let state = if i.item.milestone_done(m.no, v.as_of).is_some() {
                    "done"
                } else if i.late_milestones.contains(&m.no) {
                    "late"
                } else {
                    "open"
                };
                json!([row, m.due.to_string(), state, m.title])
            })
        })
        .collect();
    json!({
        "battles": {"names": v.battles.iter().map(|b| b.name.clone()).collect::<Vec<_>>(),
                    "progress": v.battles.iter().map(|b| (b.progress * 1000.0).round() / 10.0).collect::<Vec<_>>()},
        "owners": {"names": v.owners.iter().map(|b| b.name.clone()).collect::<Vec<_>>(),
                   "progress": v.owners.iter().map(|b| (b.progress * 1000.0).round() / 10.0).collect::<Vec<_>>()},
        "burn": {"days": v.burn_down.iter().map(|p| p.day.to_string()).collect::<Vec<_>>(),
                 "open": v.burn_down.iter().map(|p| p.open).collect::<Vec<_>>(),
                 "ideal": v.burn_down.iter().map(|p| (p.ideal * 10.0).round() / 10.0).collect::<Vec<_>>()},
        "gantt": {"start": v.starts.to_string(), "end": v.ends.to_string(),
                  "today": bihuan_domain::time::local_date(v.as_of).to_string(),
                  "rows": gantt.iter().map(|i| json!([format!("{}. {}", i.item.no, i.item.title), v.starts.to_string(), i.item.due.to_string(), i.status.code()])).collect::<Vec<_>>(),
                  "marks": marks}
    })
}

async fn render(
    state: &AppState,
    c: &Caller,
    id: u64,
    q: &CampaignQuery,
    refused: Option<Refused>,
    imported: Option<ItemsImported>,
) -> Response {
    let v = match uc::campaign(state, c, id).await {
        Ok(v) => v,
        Err(e) => return error_page(e.status, "无法打开攻坚活动", &e.message, Some(c)),
    };
    let cat = state.store.catalog();
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let battle: Option<u32> = q.battle.as_deref().and_then(|b| b.parse().ok());
    let st = q.status.as_deref().and_then(ItemStatus::parse);
    let owner: Option<u32> = q.owner.as_deref().and_then(|b| b.parse().ok());
    let shown: Vec<&ItemView> = v
        .items
        .iter()
        .filter(|i| battle.is_none_or(|b| i.item.battle == b))
        .filter(|i| st.is_none_or(|s| i.status == s))
        .filter(|i| owner.is_none_or(|o| i.item.owner.0 == o))
        .collect();
    let running = v.status == CampaignStatus::Running;
    let configures = uc::configures(c) && running;
    let owners: Vec<&bihuan_domain::org::Unit> = cat
        .org
        .units()
        .filter(|u| u.kind.can_handle() && u.kind != UnitKind::Village)
        .collect();
    let link = |b: Option<u32>, s: Option<ItemStatus>| {
        let mut p = vec![];
        if let Some(b) = b {
            p.push(format!("battle={b}"));
        }
        if let Some(s) = s {
            p.push(format!("status={}", s.code()));
        }
        format!("/campaigns/{id}?{}", p.join("&"))
    };
    let chart = charts(&v);
    let body = html! {
        h1 { (v.name) " " span.badge { (v.kind_label) } " " span class=(if running { "badge running" } else { "badge closed" }) { (v.status_label) } }
        p.muted { (v.starts) " 至 " (v.ends) " · 总指挥：" (v.lead) " · 数据截至 " (format_local(v.as_of))
            " · " a href=(format!("/campaigns/{id}/weekly")) { "周调度（可打印）" } }
        @if !v.note.is_empty() { p { (v.note) } }
        @if let Some(s) = &v.summary { p.flash { "收官总结：" (s) } }
        @if let Some(m) = &q.ok { p.flash.ok role="status" { (m) } }
        div.cards {
            div.card { div.n { (pct(v.progress)) } div.l { "总体进度" } }
            @for x in &v.counts {
                a.card href=(link(battle, Some(x.status))) { div.n { (x.count) } div.l { (x.label) } }
            }
        }
        div.grid2 {
            div.panel { h2 { "各战役进度" } div #battle-chart.chart-360 {} }
            div.panel { h2 { "开放事项燃尽图" } div #burn-chart.chart-360 {} p.small.muted { "每周末尚未完成的事项数；虚线为按期匀速完成的理想线。" } }
        }
        div.panel { h2 { "各责任单位进度（由低到高）" } div #owner-chart.chart-360 {} }
        div.panel { h2 { "时间轴：完成时限与节点" } div #gantt-chart.chart-420 {} p.small.muted { "横条为事项的期限（自活动开始至完成时限），颜色表示状态；菱形为节点：绿色已确认完成，红色已过期未完成，灰色未到期。" } }
        h2 { "清单（" (shown.len()) " 项）" }
        nav.tabs {
            a href=(link(None, st)) { "全部战役" } " · "
            @for b in &v.battles { a href=(link(Some(b.key), st)) { (b.name) } " · " }
            a href=(link(battle, None)) { "全部状态" }
        }
        div.table-wrap { table #items {
            thead { tr { th { "编号" } th { "战役" } th { "事项" } th { "责任单位" } th { "责任领导" } th { "完成时限" } th { "计量" } th { "基数→目标" } th { "完成值" } th { "进度" } th { "状态" } } }
            tbody {
                @for i in &shown {
                    tr class=(if i.status == ItemStatus::Overdue { "overdue" } else { "" }) {
                        td { (i.item.no) }
                        td { (i.battle_name) }
                        td { a href=(format!("/campaigns/{id}/items/{}", i.item.no)) { (i.item.title) }
                            @if i.pending > 0 { " " span.badge.due_soon { "待确认 " (i.pending) } }
                            @if !i.late_milestones.is_empty() { " " span.badge.overdue { "节点滞后 " (i.late_milestones.len()) } } }
                        td { (i.item.owner_name) }
                        td { (i.item.leader) }
                        td { (i.item.due) @if let Some(n) = i.item.due_working_days { div.small.muted { "（" (n) " 个工作日）" } } }
                        td { (i.measure_label) }
                        td { (uc::num(i.item.start())) " → " (uc::num(i.goal)) (i.item.unit) }
                        td { (value(i.actual, &i.item.unit))
                            @if let Some(e) = i.evidence { div.small.muted { (e.done) " / " (e.of) } }
                            @if i.self_reported && i.actual.is_some() { div.small.muted { "自报·已确认" } } }
                        td { (bar(i.progress)) }
                        td { (status_badge(i.status)) }
                    }
                }
            }
        } }
        @if let Some(r) = &imported {
            section.panel #import-result {
                h2 { @if r.dry_run { "导入检查结果（未写入）" } @else { "导入结果" } }
                p { @if r.dry_run { "可导入 " } @else { "已导入 " } strong { (r.imported) } " 项；有问题的行 " strong { (r.bad_rows.len()) } " 行。" }
                @if !r.bad_rows.is_empty() {
                    table.compact { thead { tr { th { "行号" } th { "问题" } } }
                        tbody { @for b in &r.bad_rows { tr { td { (b.line) } td { (b.reason) } } } } }
                    p.small.muted { "请在表格中改正这些行后，只导入这些行（已导入的事项再次导入会被判为重复）。" }
                }
            }
        }
        @if configures {
            div.grid2.no-print {
                form.stack.panel #add-item method="post" action=(format!("/campaigns/{id}/items")) {
                    h2 { "添加事项" }
                    (refusal(&refused, "item"))
                    label for="battle" { "战役" }
                    select #battle name="battle" { @for b in &v.battles { option value=(b.key) selected[typed(&refused, "item", "battle") == b.key.to_string()] { (b.name) } } }
                    label for="title" { "事项名称" }
                    input #title type="text" name="title" maxlength="200" value=(typed(&refused, "item", "title")) required;
                    label for="owner" { "责任单位" }
                    select #owner name="owner" { @for u in &owners { option value=(u.id.0) selected[typed(&refused, "item", "owner") == u.id.0.to_string()] { (u.name) } } }
                    label for="leader" { "责任领导" }
                    input #leader type="text" name="leader" maxlength="40" value=(typed(&refused, "item", "leader")) required;
                    div.row {
                        div { label for="due" { "完成时限（日期）" } input #due type="date" name="due" value=(typed(&refused, "item", "due")); }
                        div { label for="due_days" { "或：开始后工作日数" } input #due_days type="number" min="1" name="due_days" value=(typed(&refused, "item", "due_days")); }
                    }
                    label for="measure" { "计量方式" }
                    select #measure name="measure" {
                        @for (code, label) in [("reported", "单位自报（领导确认后计入）"), ("milestones", "节点推进"), ("backlog", "问题清仓（平台计算：开始时超期的工单办结率）"), ("disputes", "纠纷排查（平台计算：入户发现的矛盾纠纷化解率）")] {
                            option value=(code) selected[typed(&refused, "item", "measure") == code] { (label) }
                        }
                    }
                    div.row {
                        div { label for="unit" { "计量单位" } input #unit type="text" name="unit" maxlength="10" placeholder="件、个、公里" value=(typed(&refused, "item", "unit")); }
                        div { label for="baseline" { "基数" } input #baseline type="text" inputmode="decimal" name="baseline" value=(typed(&refused, "item", "baseline")); }
                        div { label for="target" { "目标值" } input #target type="text" inputmode="decimal" name="target" placeholder="平台计算的填百分比，如 100" value=(typed(&refused, "item", "target")); }
                    }
                    label for="milestones" { "节点（每行一个：名称:日期）" }
                    textarea #milestones name="milestones" rows="3" placeholder="完成设计:2026-04-30" { (typed(&refused, "item", "milestones")) }
                    p { button.primary type="submit" { "添加事项" } }
                }
                div {
                    form.stack.panel #import method="post" action=(format!("/campaigns/{id}/import")) enctype="multipart/form-data" {
                        h2 { "从表格导入清单" }
                        (refusal(&refused, "import"))
                        p.small.muted { "XLSX 或 CSV（UTF-8）。表头：战役、事项、责任单位、责任领导、完成时限（日期或「20个工作日」）；可选：计量方式（自报、节点、问题清仓、纠纷排查）、计量单位、基数、目标值、节点（名称:日期，用；分隔）。" }
                        input type="file" name="file" accept=".xlsx,.csv" required;
                        label.choice { input type="checkbox" name="dry_run" value="1" checked; " 只检查，不写入" }
                        p { button type="submit" { "导入" } }
                    }
                    form.stack.panel #add-battle method="post" action=(format!("/campaigns/{id}/battles")) {
                        h2 { "增设战役" }
                        (refusal(&refused, "battle"))
                        div.row {
                            div { label for="b-name" { "名称" } input #b-name type="text" name="name" maxlength="40" value=(typed(&refused, "battle", "name")) required; }
                            div { label for="b-leader" { "牵头领导" } input #b-leader type="text" name="leader" maxlength="40" value=(typed(&refused, "battle", "leader")) required; }
                        }
                        label for="b-goal" { "目标" } input #b-goal type="text" name="goal" maxlength="500" value=(typed(&refused, "battle", "goal"));
                        p { button type="submit" { "增设战役" } }
                    }
                    form.stack.panel #conclude method="post" action=(format!("/campaigns/{id}/conclude")) data-confirm="确认收官？收官后清单不能再修改，数据按结束日冻结展示。" {
                        h2 { "收官" }
                        (refusal(&refused, "conclude"))
                        textarea name="summary" rows="2" maxlength="4000" placeholder="收官总结" required { (typed(&refused, "conclude", "summary")) }
                        p { button.danger type="submit" { "收官" } }
                    }
                }
            }
        }
        script type="application/json" #campaign-data { (maud::PreEscaped(chart.to_string().replace("</", "<\\/"))) }
        script src="/assets/echarts.min.js" {}
        script src="/assets/campaigns.js" {}
        p.no-print { a href="/campaigns" { "返回攻坚调度" } }
    };
    (status, page(&v.name, Some(c), body)).into_response()
}

async fn refused_page(
    state: &AppState,
    c: &Caller,
    id: u64,
    form: &'static str,
    values: Fields,
    e: ApiError,
) -> Response {
    render(
        state,
        c,
        id,
        &CampaignQuery::default(),
        Some(Refused {
            form: form.into(),
            message: e.message,
            values,
        }),
        None,
    )
    .await
}

fn number(f: &Fields, name: &'static str, what: &str) -> Result<f64, ApiError> {
    let s = field(f, name).trim();
    if s.is_empty() {
        return Ok(0.0);
    }
    s.parse::<f64>().map_err(|_| {
        ApiError::from(bihuan_domain::DomainError::invalid(
            name,
            format!("{what}「{s}」不是数字"),
        ))
    })
}

pub(super) async fn campaign_item_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let r = async {
        let due = match (field(&f, "due").trim(), field(&f, "due_days").trim()) {
            ("", "") => {
                return Err(ApiError::from(bihuan_domain::DomainError::invalid(
                    "due",
                    "请填写完成时限（日期，或自活动开始起的工作日数）",
                )))
            }
            (_, d) if !d.is_empty() => Due::WorkingDays(d.parse().map_err(|_| {
                ApiError::from(bihuan_domain::DomainError::invalid(
                    "due",
                    "工作日数须为正整数",
                ))
            })?),
            _ => Due::Date(date_field(&f, "due", "完成时限")?),
        };
        let measure = match field(&f, "measure") {
            "milestones" => Measure::Milestones,
            "backlog" => Measure::Backlog,
            "disputes" => Measure::Disputes {
                words: bihuan_domain::campaign::dispute_words(),
            },
            _ => Measure::Reported,
        };
        let mut milestones = Vec::new();
        for l in field(&f, "milestones")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let Some((t, d)) = l.rsplit_once([':', '：']) else {
                return Err(ApiError::from(bihuan_domain::DomainError::invalid(
                    "milestones",
                    format!("节点「{l}」须写成 名称:日期"),
                )));
            };
            milestones.push(bihuan_domain::campaign::NewMilestone {
                title: t.trim().into(),
                due: NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                    ApiError::from(bihuan_domain::DomainError::invalid(
                        "milestones",
                        format!("节点「{}」的日期「{}」不是 年-月-日", t.trim(), d.trim()),
                    ))
                })?,
            });
        }
        let computed = measure.computed();
        let target_text = field(&f, "target").trim();
        let n = NewItem {
            battle: field(&f, "battle").parse().unwrap_or(0),
            title: field(&f, "title").into(),
            owner: UnitId(field(&f, "owner").parse().unwrap_or(0)),
            owner_name: String::new(),
            leader: field(&f, "leader").into(),
            due,
            measure,
            unit: field(&f, "unit").into(),
            baseline: number(&f, "baseline", "基数")?,
            target: if computed && target_text.is_empty() {
                100.0
            } else {
                number(&f, "target", "目标值")?
            },
            milestones,
        };
        uc::add_items(&state, &c, id, vec![n]).await
    }
    .await;
    match r {
        Ok(_) => {
            Redirect::to(&format!("/campaigns/{id}?ok={}", urlencode("事项已添加"))).into_response()
        }
        Err(e) => refused_page(&state, &c, id, "item", f, e).await,
    }
}

pub(super) async fn campaign_import_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    mp: axum::extract::Multipart,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let (f, files) = match crate::approvals::read_form(mp).await {
        Ok(x) => x,
        Err(e) => return refused_page(&state, &c, id, "import", vec![], e).await,
    };
    let Some((_, _, data)) = files.into_iter().next() else {
        let e = ApiError::bad_request(ErrorCode::NoFile, "请选择要导入的 XLSX 或 CSV 文件");
        return refused_page(&state, &c, id, "import", f, e).await;
    };
    let dry_run = field(&f, "dry_run") == "1";
    match uc::import(&state, &c, id, &data, dry_run).await {
        Ok(r) => render(&state, &c, id, &CampaignQuery::default(), None, Some(r)).await,
        Err(e) => refused_page(&state, &c, id, "import", f, e).await,
    }
}

pub(super) async fn campaign_battle_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let b = bihuan_domain::campaign::NewBattle {
        name: field(&f, "name").into(),
        leader: field(&f, "leader").into(),
        goal: field(&f, "goal").into(),
    };
    match uc::add_battle(&state, &c, id, b).await {
        Ok(_) => {
            Redirect::to(&format!("/campaigns/{id}?ok={}", urlencode("战役已增设"))).into_response()
        }
        Err(e) => refused_page(&state, &c, id, "battle", f, e).await,
    }
}

pub(super) async fn campaign_conclude_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    match uc::conclude(&state, &c, id, field(&f, "summary").into()).await {
        Ok(_) => {
            Redirect::to(&format!("/campaigns/{id}?ok={}", urlencode("活动已收官"))).into_response()
        }
        Err(e) => refused_page(&state, &c, id, "conclude", f, e).await,
    }
}

// ---------------------------------------------------------------------------------------------
// An item

pub(super) async fn campaign_item_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path((id, no)): Path<(String, String)>,
    Query(q): Query<OkQuery>,
) -> Response {
    let (id, no) = match item_ids(&id, &no, &c) {
        Ok(ids) => ids,
        Err(p) => return *p,
    };
    item_render(&state, &c, id, no, q.ok.as_deref(), None).await
}

async fn item_render(
    state: &AppState,
    c: &Caller,
    id: u64,
    no: u32,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    let v = match uc::campaign(state, c, id).await {
        Ok(v) => v,
        Err(e) => return error_page(e.status, "无法打开攻坚活动", &e.message, Some(c)),
    };
    let Some(i) = v.item(no) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这个事项",
            "请从活动的清单打开",
            Some(c),
        );
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let running = v.status == CampaignStatus::Running && i.status != ItemStatus::Withdrawn;
    let owner = uc::reports_item(c, &i.item) && running;
    let leader = uc::confirms(c) && running;
    let centre = uc::configures(c) && running;
    let it = &i.item;
    let open_milestones: Vec<&bihuan_domain::campaign::Milestone> = it
        .milestones
        .iter()
        .filter(|m| {
            it.milestone_done(m.no, v.as_of).is_none()
                && !it.pending().any(|r| r.milestone == Some(m.no))
        })
        .collect();
    let value_pending = it.pending().any(|r| r.value.is_some());
    let body = html! {
        h1 { (it.title) " " (status_badge(i.status)) }
        p.muted { a href=(format!("/campaigns/{id}")) { (v.name) } " · " (i.battle_name) " · 第 " (it.no) " 项" }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        dl.facts {
            dt { "责任单位" } dd { (it.owner_name) }
            dt { "责任领导" } dd { (it.leader) }
            dt { "完成时限" } dd { (it.due) @if let Some(n) = it.due_working_days { "（活动开始后 " (n) " 个工作日）" } }
            dt { "计量方式" } dd { (i.measure_label)
                @if let Measure::Disputes { words } = &it.measure { "（诉求内容含「" (words.join("」或「")) "」）" } }
            dt { "基数 → 目标" } dd { (uc::num(it.start())) " → " (uc::num(i.goal)) (it.unit) }
            dt { "完成值" } dd { (value(i.actual, &it.unit)) " · " (bar(i.progress))
                @if let Some(e) = i.evidence { "（" (e.done) " / " (e.of) "）" }
                @if i.self_reported { " " span.small.muted { "单位自报，领导确认后计入" } } }
            @if let Some(t) = i.completed_at { dt { "完成于" } dd { (format_local(t)) } }
            @if let Some(w) = &it.withdrawn { dt { "已撤销" } dd { (format_local(w.at)) " " (w.by) "：" (w.reason) } }
        }
        @match &it.measure {
            Measure::Backlog => p.small.muted { "平台计算：活动开始时（" (v.starts) "）本单位主办、已超过答复期限而未答复的工单共 " (i.evidence.map_or(0, |e| e.of)) " 件，其中已办结的占比。无需填报。" },
            Measure::Disputes { .. } => p.small.muted { "平台计算：活动开始以来本乡镇入户走访发现的矛盾纠纷，当场化解或转办后已办结的占比。无需填报。" },
            _ => {}
        }
        @if !it.milestones.is_empty() {
            h2 { "节点" }
            table.compact { thead { tr { th { "节点" } th { "日期" } th { "状态" } } }
                tbody { @for m in &it.milestones {
                    tr class=(if i.late_milestones.contains(&m.no) { "overdue" } else { "" }) {
                        td { (m.title) } td { (m.due) }
                        td { @if let Some(t) = it.milestone_done(m.no, v.as_of) { span.badge.met { "已完成" } " " (format_local(t)) }
                             @else if it.pending().any(|r| r.milestone == Some(m.no)) { span.badge.due_soon { "已报告，待确认" } }
                             @else if i.late_milestones.contains(&m.no) { span.badge.overdue { "已过期" } }
                             @else { span.badge { "未到期" } } }
                    }
                } } }
        }
        h2 { "报告与确认" }
        @if it.reports.is_empty() { p.muted { "尚无报告。" } }
        @for r in it.reports.iter().rev() {
            div.panel {
                p { strong { "第 " (r.no) " 次报告" } " · " (format_local(r.at)) " · " (r.by) "："
                    @if let Some(m) = r.milestone.and_then(|m| it.milestones.iter().find(|x| x.no == m)) { "节点「" (m.title) "」已完成" }
                    @if let Some(x) = r.value { "完成值 " (uc::num(x)) (it.unit) } }
                @if !r.note.is_empty() { p { (r.note) } }
                @if !r.files.is_empty() { ul { @for f in &r.files { li { a href=(format!("/api/v1/campaigns/{id}/items/{no}/files/{}", f.sha256)) { (f.name) } " " span.small.muted { (format!("{:.0} KB", f.size as f64 / 1024.0)) } } } } }
                @match &r.review {
                    Some(rv) if rv.confirmed => p { span.badge.met { "已确认" } " " (rv.by) " " (format_local(rv.at)) @if !rv.note.is_empty() { "：" (rv.note) } },
                    Some(rv) => p { span.badge.overdue { "已退回" } " " (rv.by) " " (format_local(rv.at)) "：" (rv.note) },
                    None => {
                        p { span.badge.due_soon { "待领导确认" } }
                        @if leader {
                            @let form = format!("review-{}", r.no);
                            form.inline method="post" action=(format!("/campaigns/{id}/items/{no}/review")) {
                                input type="hidden" name="report" value=(r.no);
                                input type="hidden" name="confirmed" value="1";
                                button.primary type="submit" { "确认" }
                            }
                            " "
                            form.inline method="post" action=(format!("/campaigns/{id}/items/{no}/review")) {
                                input type="hidden" name="report" value=(r.no);
                                input type="hidden" name="confirmed" value="0";
                                input type="text" name="note" maxlength="1000" placeholder="退回原因" value=(typed(&refused, "review", "note")) required;
                                button.danger type="submit" { "退回" }
                            }
                            @if refused.as_ref().is_some_and(|x| x.form == "review" && field(&x.values, "report") == r.no.to_string()) { (refusal(&refused, "review")) }
                            @let _ = form;
                        }
                    }
                }
            }
        }
        @if owner && (!open_milestones.is_empty() || (it.measure == Measure::Reported && !value_pending)) {
            form.stack.panel #report method="post" action=(format!("/campaigns/{id}/items/{no}/report")) enctype="multipart/form-data" {
                h2 { "填报进展" }
                (refusal(&refused, "report"))
                @if it.measure == Measure::Reported && !value_pending {
                    label for="value" { "当前完成值（" (it.unit) "）" }
                    input #value type="text" inputmode="decimal" name="value" value=(typed(&refused, "report", "value"));
                }
                @if !open_milestones.is_empty() {
                    label for="milestone" { @if it.measure == Measure::Reported { "或：完成的节点" } @else { "完成的节点" } }
                    select #milestone name="milestone" {
                        @if it.measure == Measure::Reported { option value="" { "（不报节点）" } }
                        @for m in &open_milestones { option value=(m.no) selected[typed(&refused, "report", "milestone") == m.no.to_string()] { (m.title) "（" (m.due) "）" } }
                    }
                }
                label for="note" { "情况说明" }
                textarea #note name="note" rows="3" maxlength="2000" { (typed(&refused, "report", "note")) }
                label for="files" { "附件（可选，如验收单、批复；照片不作为完成的依据）" }
                input #files type="file" name="files" multiple accept="image/*,.pdf,.docx,.xlsx";
                p { button.primary type="submit" { "提交，等待领导确认" } }
            }
        } @else if owner && value_pending {
            p.muted { "上一次填报正等待领导确认。" }
        }
        @if centre {
            div.grid2.no-print {
                form.stack.panel #revise method="post" action=(format!("/campaigns/{id}/items/{no}/revise")) {
                    h2 { "调整事项" }
                    (refusal(&refused, "revise"))
                    div.row {
                        div { label for="r-due" { "完成时限" } input #r-due type="date" name="due" value=(if refused.as_ref().is_some_and(|r| r.form == "revise") { typed(&refused, "revise", "due").to_string() } else { it.due.to_string() }); }
                        @if it.measure != Measure::Milestones {
                            div { label for="r-target" { "目标值" } input #r-target type="text" inputmode="decimal" name="target" value=(if refused.as_ref().is_some_and(|r| r.form == "revise") { typed(&refused, "revise", "target").to_string() } else { uc::num(it.target) }); }
                        }
                        div { label for="r-leader" { "责任领导" } input #r-leader type="text" name="leader" maxlength="40" value=(if refused.as_ref().is_some_and(|r| r.form == "revise") { typed(&refused, "revise", "leader").to_string() } else { it.leader.clone() }); }
                    }
                    label for="r-reason" { "调整原因" }
                    input #r-reason type="text" name="reason" maxlength="500" value=(typed(&refused, "revise", "reason")) required;
                    p { button type="submit" { "调整" } }
                }
                form.stack.panel #withdraw method="post" action=(format!("/campaigns/{id}/items/{no}/withdraw")) data-confirm="确认撤销这个事项？撤销后不再计入进度，记录保留。" {
                    h2 { "撤销事项" }
                    (refusal(&refused, "withdraw"))
                    input type="text" name="reason" maxlength="500" placeholder="撤销原因" value=(typed(&refused, "withdraw", "reason")) required;
                    p { button.danger type="submit" { "撤销" } }
                }
            }
        }
        @if !it.revisions.is_empty() {
            h2 { "调整记录" }
            ul { @for r in &it.revisions { li { (format_local(r.at)) " " (r.by) "：" (r.change) "（" (r.reason) "）" } } }
        }
        p { a href=(format!("/campaigns/{id}")) { "返回清单" } }
    };
    (status, page(&it.title, Some(c), body)).into_response()
}

async fn item_refused(
    state: &AppState,
    c: &Caller,
    id: u64,
    no: u32,
    form: &'static str,
    values: Fields,
    e: ApiError,
) -> Response {
    item_render(
        state,
        c,
        id,
        no,
        None,
        Some(Refused {
            form: form.into(),
            message: e.message,
            values,
        }),
    )
    .await
}

fn back(id: u64, no: u32, done: &str) -> Response {
    Redirect::to(&format!(
        "/campaigns/{id}/items/{no}?ok={}",
        urlencode(done)
    ))
    .into_response()
}

pub(super) async fn campaign_report_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path((id, no)): Path<(String, String)>,
    mp: axum::extract::Multipart,
) -> Response {
    let (id, no) = match item_ids(&id, &no, &c) {
        Ok(ids) => ids,
        Err(p) => return *p,
    };
    let (f, files) = match crate::approvals::read_form(mp).await {
        Ok(x) => x,
        Err(e) => return item_refused(&state, &c, id, no, "report", vec![], e).await,
    };
    let value = match field(&f, "value").trim() {
        "" => None,
        s => match s.parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                let e = ApiError::from(bihuan_domain::DomainError::invalid(
                    "value",
                    format!("完成值「{s}」不是数字"),
                ));
                return item_refused(&state, &c, id, no, "report", f, e).await;
            }
        },
    };
    let milestone = field(&f, "milestone").parse().ok();
    let body = uc::ReportBody {
        milestone,
        value,
        note: field(&f, "note").into(),
    };
    let files = files
        .into_iter()
        .map(|(_, name, data)| ReportFile { name, data })
        .collect();
    match uc::report(&state, &c, id, no, body, files).await {
        Ok(_) => back(id, no, "已提交，等待领导确认"),
        Err(e) => item_refused(&state, &c, id, no, "report", f, e).await,
    }
}

pub(super) async fn campaign_review_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path((id, no)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let (id, no) = match item_ids(&id, &no, &c) {
        Ok(ids) => ids,
        Err(p) => return *p,
    };
    let confirmed = field(&f, "confirmed") == "1";
    let body = uc::ReviewBody {
        confirmed,
        note: field(&f, "note").into(),
    };
    let report = field(&f, "report").parse().unwrap_or(0);
    match uc::review(&state, &c, id, no, report, body).await {
        Ok(_) => back(id, no, if confirmed { "已确认" } else { "已退回" }),
        Err(e) => item_refused(&state, &c, id, no, "review", f, e).await,
    }
}

pub(super) async fn campaign_revise_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path((id, no)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let (id, no) = match item_ids(&id, &no, &c) {
        Ok(ids) => ids,
        Err(p) => return *p,
    };
    let r = async {
        let due = match field(&f, "due").trim() {
            "" => None,
            _ => Some(date_field(&f, "due", "完成时限")?),
        };
        let target = match field(&f, "target").trim() {
            "" => None,
            _ => Some(number(&f, "target", "目标值")?),
        };
        let leader = Some(field(&f, "leader").to_string()).filter(|l| !l.trim().is_empty());
        uc::revise(
            &state,
            &c,
            id,
            no,
            uc::ReviseBody {
                due,
                target,
                leader,
                reason: field(&f, "reason").into(),
            },
        )
        .await
    }
    .await;
    match r {
        Ok(_) => back(id, no, "事项已调整"),
        Err(e) => item_refused(&state, &c, id, no, "revise", f, e).await,
    }
}

pub(super) async fn campaign_withdraw_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path((id, no)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let (id, no) = match item_ids(&id, &no, &c) {
        Ok(ids) => ids,
        Err(p) => return *p,
    };
    match uc::withdraw(&state, &c, id, no, field(&f, "reason").into()).await {
        Ok(_) => back(id, no, "事项已撤销"),
        Err(e) => item_refused(&state, &c, id, no, "withdraw", f, e).await,
    }
}

// ---------------------------------------------------------------------------------------------
// The weekly view

#[derive(Deserialize, Default)]
pub(super) struct WeekQuery {
    week: Option<String>,
}

pub(super) async fn campaign_weekly_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<WeekQuery>,
) -> Response {
    let id = match campaign_id(&id, &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let week = match uc::parse_week(q.week.as_deref()) {
        Ok(w) => w,
        Err(e) => return error_page(e.status, "周次有误", &e.message, Some(&c)),
    };
    let w = match uc::weekly(&state, &c, id, week).await {
        Ok(w) => w,
        Err(e) => return error_page(e.status, "无法打开周调度", &e.message, Some(&c)),
    };
    let lines = |title: &str, rows: &[uc::WeeklyLine], late: bool| {
        html! {
            h2 { (title) "（" (rows.len()) "）" }
            @if rows.is_empty() { p.muted { "无。" } } @else {
                div.table-wrap { table.compact {
                    thead { tr { th { "事项" } th { "战役" } th { "内容" } th { "日期" } @if late { th { "滞后" } } th { "责任单位" } th { "责任领导" } th { "进度" } } }
                    tbody { @for l in rows { tr {
                        td { a href=(format!("/campaigns/{id}/items/{}", l.item)) { (l.item) ". " (l.title) } }
                        td { (l.battle) } td { (l.what) } td { (l.due) }
                        @if late { td { (l.days_late) " 天" } }
                        td { (l.owner) } td { (l.leader) } td { (pct(l.progress)) }
                    } } }
                } }
            }
        }
    };
    let prev = w.week - chrono::Duration::days(7);
    let next = w.week + chrono::Duration::days(7);
    let body = html! {
        h1 { (w.name) " · 周调度" }
        p { (w.week) " 至 " (w.week_end) " · 总体进度 " (pct(w.progress)) }
        p.no-print {
            a href=(format!("/campaigns/{id}/weekly?week={prev}")) { "上一周" } " · "
            a href=(format!("/campaigns/{id}/weekly?week={next}")) { "下一周" } " · "
            button type="button" data-print="1" { "打印" } " · "
            a href=(format!("/campaigns/{id}")) { "返回活动" }
        }
        (lines("滞后事项和节点（谁负责）", &w.slipped, true))
        (lines("下周到期", &w.coming, false))
        (lines("本周完成", &w.finished, false))
        (lines("待领导确认的报告", &w.pending, false))
        p.small.muted { "滞后：本周末已过完成时限或节点日期而未完成；平台计算的事项按平台数据判断，自报事项以领导确认的为准。" }
    };
    page(&format!("{} 周调度", w.name), Some(&c), body).into_response()
}
