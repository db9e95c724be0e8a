//! `/enterprises`: 楼格格 + e见帮办 — the figures of the reader's scope (buildings covered,
//! enterprises visited, demands found and solved by type, satisfaction, financing) by team,
//! building and township, each row opening its enterprises; the enterprise list; one
//! enterprise's page (its stays, its demands with where each stands, the policies it may apply
//! for and why, financing) with the forms to record a demand and a bank matchmaking; and the
//! public policy finder `/board/policies`. Every form goes through `crate::enterprises`.

use super::*;
use crate::enterprises::{self as uc, EnterpriseQuery, FigureQuery, FigureRow};
use bihuan_domain::enterprise::{DemandKind, DemandState, Size};

fn yuan(n: u64) -> String {
    if n >= 10_000 {
        format!("{:.1} 万元", n as f64 / 10_000.0)
    } else {
        format!("{n} 元")
    }
}

fn pct(a: u64, b: u64) -> String {
    if b == 0 {
        "—".into()
    } else {
        format!("{:.1}%", a as f64 * 100.0 / b as f64)
    }
}

#[derive(Deserialize, Default)]
pub(super) struct FigureParams {
    from: Option<String>,
    to: Option<String>,
}

fn rows_table(title: &str, rows: &[FigureRow], link: &str) -> Markup {
    html! {
        details open[rows.len() <= 40] {
            summary { (title) "（" (rows.len()) "）" }
            div.table-wrap { table.compact {
                thead { tr { th { "名称" } th { "楼宇（覆盖）" } th { "企业" } th { "走访企业" } th { "走访次数" } th { "需求" } th { "已解决" } th { "办理中" } th { "满意度" } th { "融资（笔／金额）" } } }
                tbody { @for r in rows { tr {
                    td { @if link == "team" { a href=(format!("/enterprises/teams/{}", r.key)) { (r.name) } } @else if link.is_empty() { (r.name) } @else { a href=(format!("/enterprises/list?{link}={}", r.key)) { (r.name) } } }
                    td { (r.buildings) "（" (r.buildings_covered) "）" }
                    td { @if link.is_empty() { (r.enterprises) } @else { a href=(format!("/enterprises/list?{link}={}", r.key)) { (r.enterprises) } } } td { (r.visited) } td { (r.visits) }
                    td { (r.demands) } td { (r.solved) } td { (r.open) }
                    td { (pct(r.satisfied, r.rated)) }
                    td { (r.financed) " ／ " (yuan(r.financed_amount)) }
                } } }
            } }
        }
    }
}

pub(super) async fn enterprises_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(p): Query<FigureParams>,
) -> Response {
    let date = |s: &Option<String>| {
        s.as_deref()
            .filter(|s| !s.is_empty())
            .map(bihuan_domain::time::parse_date)
    };
    let (from, to) = match (date(&p.from).transpose(), date(&p.to).transpose()) {
        (Ok(f), Ok(t)) => (f, t),
        _ => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "日期无效",
                "请按 2026-01-01 的格式填写起止日期",
                Some(&c),
            )
        }
    };
    let f = match uc::figures(&state, &c, &FigureQuery { from, to }).await {
        Ok(f) => f,
        Err(e) => return error_page(e.status, "无法打开企业服务", &e.message, Some(&c)),
    };
    let t = &f.total;
    let body = html! {
        h1 { "楼格格 · e见帮办" }
        p.muted { "楼宇＋网格＋格外用心服务：服务队定期进楼宇、进企业问需求、送服务；企业的需求作为“企业服务”渠道的诉求进入闭环办理，办结且企业满意（含基本满意）才算解决。" }
        form.filters method="get" action="/enterprises" {
            label { "自 " input type="date" name="from" value=(f.from.to_string()); }
            label { " 至 " input type="date" name="to" value=(f.to.to_string()); }
            button type="submit" { "查看" }
            " " a href="/enterprises/list" { "企业台账" } " · " a href="/board/policies" { "惠企政策直达" }
        }
        div.cards {
            (card("/enterprises/list", t.buildings_covered, &format!("覆盖楼宇 / 共 {}", t.buildings), ""))
            div.card { div.n { (f.teams_count) } div.l { "服务队" } }
            (card("/enterprises/list", t.enterprises, "在册企业", ""))
            div.card { div.n { (t.visited) } div.l { "走访企业（" (t.visits) " 次）" } }
            div.card { div.n { (t.demands) } div.l { "收集需求" } }
            div.card.ok { div.n { (t.solved) } div.l { "已解决（企业满意）" } }
            div.card { div.n { (pct(t.satisfied, t.rated)) } div.l { "满意度（" (t.rated) " 件已回访）" } }
            div.card { div.n { (t.financed) } div.l { "融资对接成功 · " (yuan(t.financed_amount)) } }
        }
        section.panel {
            h2 { "需求按类型" }
            div.table-wrap { table.compact {
                thead { tr { th { "类型" } th { "收集" } th { "已解决" } th { "解决率" } } }
                tbody { @for k in DemandKind::ALL { @if let Some((n, s)) = t.by_kind.get(k.label()) { tr {
                    td { (k.label()) } td { (n) } td { (s) } td { (pct(*s, *n)) }
                } } } }
            } }
        }
        (rows_table("按服务队", &f.teams, "team"))
        (rows_table("按楼宇", &f.buildings, "building"))
        (rows_table("按乡镇（街道）", &f.townships, "township"))
    };
    page("楼格格", Some(&c), body).into_response()
}

#[derive(Deserialize, Default)]
pub(super) struct ListParams {
    building: Option<String>,
    team: Option<String>,
    township: Option<String>,
    q: Option<String>,
}

pub(super) async fn enterprise_list_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(p): Query<ListParams>,
) -> Response {
    let num = |s: &Option<String>| s.as_deref().and_then(|s| s.trim().parse::<u64>().ok());
    let q = EnterpriseQuery {
        building: num(&p.building),
        team: num(&p.team),
        township: num(&p.township).and_then(|t| u32::try_from(t).ok()),
        q: p.q.clone(),
    };
    let list = match uc::enterprises(&state, &c, &q).await {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开企业台账", &e.message, Some(&c)),
    };
    let body = html! {
        h1 { "企业台账" }
        p { a href="/enterprises" { "返回楼格格" } }
        form.filters method="get" action="/enterprises/list" {
            @if let Some(b) = &p.building { input type="hidden" name="building" value=(b); }
            @if let Some(t) = &p.team { input type="hidden" name="team" value=(t); }
            @if let Some(t) = &p.township { input type="hidden" name="township" value=(t); }
            label { "名称或信用代码 " input type="search" name="q" value=(p.q.clone().unwrap_or_default()); }
            button type="submit" { "查找" }
        }
        p.small.muted { "共 " (list.len()) " 家。联系人和电话只对服务这家企业的人员完整显示。" }
        @if list.is_empty() { p.muted { "没有企业（或不在您的服务范围内）。" } }
        div.table-wrap { table.compact {
            thead { tr { th { "企业" } th { "统一社会信用代码" } th { "行业" } th { "规模" } th { "所在" } th { "联系人" } th { "挂点干部" } th { "需求" } } }
            tbody { @for e in &list { tr {
                td { a href=(format!("/enterprises/{}", e.id)) { (e.enterprise.facts.name) } }
                td.small { (e.enterprise.code.as_str()) }
                td { (e.enterprise.facts.industry) } td { (e.size_label) } td { (e.place) }
                td { (e.enterprise.facts.contact) " " span.small.muted { (e.enterprise.facts.phone.as_ref().map(|p| p.expose().to_string()).unwrap_or_default()) } }
                td { (e.enterprise.liaison.as_ref().map(|l| l.name.clone()).unwrap_or_default()) }
                td { (e.enterprise.demands.len()) }
            } } }
        } }
    };
    page("企业台账", Some(&c), body).into_response()
}

#[derive(Deserialize, Default)]
pub(super) struct OkParams {
    pub(super) ok: Option<String>,
}

pub(super) async fn enterprise_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<OkParams>,
) -> Response {
    let id = match path_id(&id, "企业", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    enterprise_render(&state, &c, id, q.ok.as_deref(), None).await
}

async fn enterprise_render(
    state: &AppState,
    c: &Caller,
    id: u64,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    let d = match uc::enterprise(state, c, id).await {
        Ok(d) => d,
        Err(e) => return error_page(e.status, "无法打开这家企业", &e.message, Some(c)),
    };
    let e = &d.view.enterprise;
    let cat = state.store.catalog();
    let names = uc::building_names(state).await.unwrap_or_default();
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let keeps = bihuan_domain::enterprise::KEEPERS.contains(&c.user.role);
    let body = html! {
        h1 { (e.facts.name) }
        p { a href="/enterprises/list" { "返回企业台账" } }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        section.panel {
            dl.facts {
                dt { "统一社会信用代码" } dd { (e.code.as_str()) }
                dt { "行业 · 规模" } dd { (e.facts.industry) " · " (d.view.size_label) }
                dt { "成立日期" } dd { (e.facts.founded) }
                dt { "所在" } dd { (d.view.place) @if let Some(t) = &d.view.township_name { "（" (t) "）" } }
                dt { "联系人" } dd { (e.facts.contact) " " (e.facts.phone.as_ref().map(|p| p.expose().to_string()).unwrap_or_default()) @if !d.view.contact_full { span.small.muted { "（已脱敏）" } } }
                dt { "挂点干部" } dd { (e.liaison.as_ref().map(|l| format!("{}（{} 起）", l.name, l.since)).unwrap_or_else(|| "未指定".into())) }
            }
            details { summary { "入驻记录（" (e.stays.len()) "）" }
                ul { @for s in &e.stays { li {
                    (uc::place_of(&cat, &names, &Some(s.premises.clone()))) "：" (s.from) " 至 " (s.until.map(|u| u.to_string()).unwrap_or_else(|| "今".into()))
                    @if !s.reason.is_empty() { "（" (s.reason) "）" }
                } } }
            }
        }
        section.panel {
            h2 { "需求（e见帮办）" }
            @if d.demands.is_empty() { p.muted { "尚无需求。" } }
            div.table-wrap { table.compact {
                thead { tr { th { "类型" } th { "工单" } th { "标题" } th { "办理状态" } th { "结果" } } }
                tbody { @for x in &d.demands { tr class=(if x.state == DemandState::Solved { "ok" } else { "" }) {
                    td { (x.kind_label) } td { a href=(format!("/appeals/{}", x.link.appeal)) { (x.link.appeal) } }
                    td { (x.title) } td { (x.status_label) } td { (x.state_label) }
                } } }
            } }
            @if keeps || d.view.contact_full {
                form.stack method="post" action=(format!("/enterprises/{id}/demands")) data-confirm="登记后将作为企业服务诉求交中心分流，确定登记？" {
                    (refusal(&refused, "demand"))
                    label { "需求类型 " select id="demand-kind" name="kind" required {
                        @for k in DemandKind::ALL { option value=(k.code()) selected[typed(&refused, "demand", "kind") == k.code()] { (k.label()) } }
                    } }
                    label { "需求内容 " textarea id="demand-text" name="text" rows="3" maxlength="500" required placeholder="如：申请流动资金贷款50万元，用于购置设备" { (typed(&refused, "demand", "text")) } }
                    p.small.muted { "拖欠账款投诉按《保障中小企业款项支付条例》第二十五条计时：10个工作日内转交，30日内答复。" }
                    button.primary type="submit" { "登记需求" }
                }
            }
        }
        section.panel {
            h2 { "可申请的惠企政策" }
            @if d.policies.is_empty() { p.muted { "目前没有有效的惠企政策。" } }
            @for p in &d.policies {
                details open[p.matched.eligible] {
                    summary { (p.name) " " @if p.matched.eligible { span.badge.ok { "符合条件" } } @else { span.badge { "不符合" } } }
                    p { (p.benefit) }
                    p.small.muted { "依据：" (p.source) @if !p.how_to_apply.is_empty() { " · 申请：" (p.how_to_apply) } }
                    ul.small { @for (ok, why) in &p.matched.reasons { li { (if *ok { "✓ " } else { "✗ " }) (why) } } }
                }
            }
            @if !e.applications.is_empty() {
                h3 { "申请与兑现" }
                ul { @for a in &e.applications { li {
                    (a.policy_name) "：" (a.applied_on) " 申请，"
                    (match a.granted { None => "审核中".to_string(), Some(true) => format!("已兑现 {}", yuan(a.amount)), Some(false) => "未获批".to_string() })
                } } }
            }
        }
        section.panel {
            h2 { "融资对接" }
            @if e.financing.is_empty() { p.muted { "尚无融资对接记录。" } }
            ul { @for f in &e.financing { li {
                (f.bank) "：" (f.asked_on) " 申请 " (yuan(f.asked)) "，"
                (match f.granted { None => "审批中".to_string(), Some(0) => "未获批".to_string(), Some(g) => format!("{} 获批 {}", f.decided_on.map(|d| d.to_string()).unwrap_or_default(), yuan(g)) })
            } } }
            @if keeps {
                form.stack method="post" action=(format!("/enterprises/{id}/financing")) {
                    (refusal(&refused, "financing"))
                    label { "银行 " input type="text" name="bank" required maxlength="60" value=(typed(&refused, "financing", "bank")); }
                    label { "申请金额（元） " input name="asked" type="number" min="1" required value=(typed(&refused, "financing", "asked")); }
                    button type="submit" { "记录对接" }
                }
            }
        }
    };
    (status, page(&e.facts.name, Some(c), body)).into_response()
}

pub(super) async fn enterprise_demand_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "企业", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let body = uc::DemandBody {
        kind: field(&f, "kind").into(),
        text: field(&f, "text").into(),
    };
    match uc::demand(&state, &c, id, body).await {
        Ok(r) => Redirect::to(&format!(
            "/enterprises/{id}?ok={}",
            urlencode(&format!("已登记为诉求 {}，等待中心分流", r.appeal))
        ))
        .into_response(),
        Err(e) => {
            enterprise_render(
                &state,
                &c,
                id,
                None,
                Some(Refused {
                    form: "demand".into(),
                    message: e.message,
                    values: f,
                }),
            )
            .await
        }
    }
}

pub(super) async fn enterprise_financing_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "企业", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let refuse = |message: String, f: Fields| Refused {
        form: "financing".into(),
        message,
        values: f,
    };
    let Ok(asked) = field(&f, "asked").parse::<u64>() else {
        let r = refuse("申请金额请填写整数（单位：元）".into(), f);
        return enterprise_render(&state, &c, id, None, Some(r)).await;
    };
    let body = uc::FinanceBody {
        bank: field(&f, "bank").into(),
        asked,
        on: None,
        team: None,
        note: String::new(),
    };
    match uc::finance(&state, &c, id, body).await {
        Ok(_) => Redirect::to(&format!(
            "/enterprises/{id}?ok={}",
            urlencode("已记录融资对接")
        ))
        .into_response(),
        Err(e) => enterprise_render(&state, &c, id, None, Some(refuse(e.message, f))).await,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct FinderParams {
    industry: Option<String>,
    size: Option<String>,
    township: Option<String>,
    founded: Option<String>,
}

/// 惠企政策直达: anyone (an enterprise on a phone) types its industry, size, township and
/// founding date and sees the policies in force, each with whether it qualifies and why.
pub(super) async fn policy_finder_page(
    State(state): State<AppState>,
    Query(p): Query<FinderParams>,
) -> Response {
    let cat = state.store.catalog();
    let townships: Vec<(u32, String)> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Township)
        .map(|u| (u.id.0, u.name.clone()))
        .collect();
    let asked = p.industry.as_deref().is_some_and(|s| !s.trim().is_empty());
    let mut error = None;
    let mut found = Vec::new();
    if asked {
        match p.founded.as_deref().map(bihuan_domain::time::parse_date) {
            Some(Ok(founded)) => {
                let q = uc::MatchQuery {
                    industry: p.industry.clone().unwrap_or_default(),
                    size: p.size.clone().unwrap_or_default(),
                    township: p.township.as_deref().and_then(|t| t.parse().ok()),
                    founded,
                };
                match uc::match_policies(&state, &q).await {
                    Ok(f) => found = f,
                    Err(e) => error = Some(e.message),
                }
            }
            _ => error = Some("请按 2024-03-15 的格式填写成立日期".into()),
        }
    }
    let v = |s: &Option<String>| s.clone().unwrap_or_default();
    let body = html! {
        h1 { "惠企政策直达" }
        p.muted { "填写企业的行业、规模、所在乡镇（街道）和成立日期，查看现在可以申请的惠企政策及条件。无需登录，不收集企业信息。" }
        form.stack method="get" action="/board/policies" {
            @if let Some(m) = &error { p.field-error role="alert" { (m) } }
            label { "行业 " input type="text" name="industry" required placeholder="如：制造业" value=(v(&p.industry)); }
            label { "规模 " select name="size" { @for s in Size::ALL { option value=(s.code()) selected[v(&p.size) == s.code()] { (s.label()) } } } }
            label { "所在乡镇（街道） " select name="township" { option value="" { "—" } @for (id, name) in &townships { option value=(id) selected[v(&p.township) == id.to_string()] { (name) } } } }
            label { "成立日期 " input type="date" name="founded" required value=(v(&p.founded)); }
            button.primary type="submit" { "查看可申请的政策" }
        }
        @if asked && error.is_none() {
            p { "共 " (found.iter().filter(|m| m.matched.eligible).count()) " 项符合条件（" (found.len()) " 项有效政策）。" }
            @for m in &found {
                section.panel {
                    h2 { (m.name) " " @if m.matched.eligible { span.badge.ok { "符合条件" } } @else { span.badge { "不符合" } } }
                    p { (m.benefit) }
                    p.small.muted { "依据：" (m.source) }
                    @if !m.how_to_apply.is_empty() { p { "如何申请：" (m.how_to_apply) } }
                    ul.small { @for (ok, why) in &m.matched.reasons { li { (if *ok { "✓ " } else { "✗ " }) (why) } } }
                }
            }
        }
    };
    page("惠企政策直达", None, body).into_response()
}

/// A team's page: its members and buildings, its visits, and the forms to plan a visit and to
/// record one (the services offered, a demand found) — what a team member does after a visit.
pub(super) async fn team_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<OkParams>,
) -> Response {
    let id = match path_id(&id, "服务队", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    team_render(&state, &c, id, q.ok.as_deref(), None).await
}

async fn team_render(
    state: &AppState,
    c: &Caller,
    id: u64,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    let teams = match uc::teams(state, c).await {
        Ok(t) => t,
        Err(e) => return error_page(e.status, "无法打开服务队", &e.message, Some(c)),
    };
    let Some(t) = teams.into_iter().find(|t| t.id == id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这支服务队",
            "服务队不存在，或不在您的服务范围内",
            Some(c),
        );
    };
    let visits = match uc::visits(state, c, &uc::VisitQuery { team: Some(id) }).await {
        Ok(v) => v,
        Err(e) => return error_page(e.status, "无法打开走访记录", &e.message, Some(c)),
    };
    let services = uc::services(state);
    let today = bihuan_domain::time::local_date(state.clock.now());
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let member =
        t.team.has_member(c.user.id) || bihuan_domain::enterprise::KEEPERS.contains(&c.user.role);
    let planned: Vec<_> = visits
        .iter()
        .filter(|v| v.visit.done.is_none() && v.visit.cancelled.is_none())
        .collect();
    let body = html! {
        h1 { (t.team.name) }
        p { a href="/enterprises" { "返回楼格格" } " · " (t.unit_name) }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        section.panel {
            h2 { "队员与楼宇" }
            p { @for (k, m) in t.team.members.iter().enumerate() { @if k > 0 { "、" } (m.name) "（" (m.duty) "）" } }
            p { @for (k, (b, name)) in t.team.buildings.iter().zip(&t.building_names).enumerate() { @if k > 0 { "、" } a href=(format!("/enterprises/list?building={b}")) { (name) } } }
        }
        @if member && !t.team.buildings.is_empty() {
            section.panel {
                h2 { "安排走访" }
                form.stack method="post" action=(format!("/enterprises/teams/{id}/visits")) {
                    (refusal(&refused, "plan"))
                    label { "楼宇 " select name="building" {
                        @for (b, name) in t.team.buildings.iter().zip(&t.building_names) { option value=(b) selected[typed(&refused, "plan", "building") == b.to_string()] { (name) } }
                    } }
                    label { "日期 " input type="date" name="on" required value=(typed_in(&refused, "plan", "on").map(str::to_string).unwrap_or_else(|| today.to_string())); }
                    button type="submit" { "安排" }
                }
            }
        }
        @for v in &planned {
            section.panel {
                h2 { "待记录的走访：" (v.building_name.clone().unwrap_or_default()) " · " (v.visit.planned_on) }
                p.small.muted { "企业：" (v.enterprise_names.join("、")) }
                @if member {
                    @let form = format!("record-{}", v.id);
                    form.stack method="post" action=(format!("/enterprises/visits/{}", v.id)) {
                        (refusal(&refused, &form))
                        fieldset { legend { "提供的服务" }
                            @for s in &services { label.choice { input type="checkbox" name="offered" value=(s) checked[refused.as_ref().is_some_and(|r| r.form == form && r.values.iter().any(|(k, x)| k == "offered" && x == s))]; " " (s) } }
                        }
                        label { "情况记录 " textarea name="note" rows="2" maxlength="1000" { (typed(&refused, &form, "note")) } }
                        fieldset { legend { "收集到的需求（可不填）" }
                            label { "企业 " select name="enterprise" { option value="" { "—" } @for (e, name) in v.visit.enterprises.iter().zip(&v.enterprise_names) { option value=(e) selected[typed(&refused, &form, "enterprise") == e.to_string()] { (name) } } } }
                            label { "类型 " select name="kind" { @for k in DemandKind::ALL { option value=(k.code()) selected[typed(&refused, &form, "kind") == k.code()] { (k.label()) } } } }
                            label { "内容 " textarea name="text" rows="2" maxlength="500" { (typed(&refused, &form, "text")) } }
                        }
                        button.primary type="submit" { "记录走访" }
                    }
                }
            }
        }
        section.panel {
            h2 { "走访记录（" (visits.len()) "）" }
            div.table-wrap { table.compact {
                thead { tr { th { "日期" } th { "楼宇" } th { "企业数" } th { "提供的服务" } th { "需求" } th { "状态" } } }
                tbody { @for v in &visits { tr {
                    td { (v.visit.planned_on) } td { (v.building_name.clone().unwrap_or_default()) } td { (v.visit.enterprises.len()) }
                    td { (v.visit.done.as_ref().map(|d| d.offered.join("、")).unwrap_or_default()) }
                    td { @for d in &v.visit.demands { @if let Some(a) = &d.appeal { a href=(format!("/appeals/{a}")) { (d.kind.label()) } " " } } }
                    td { @if v.visit.cancelled.is_some() { "已取消" } @else if v.visit.done.is_some() { "已走访" } @else { "待走访" } }
                } } }
            } }
        }
    };
    (status, page(&t.team.name, Some(c), body)).into_response()
}

pub(super) async fn team_plan_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "服务队", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let refuse = |message: String, f: Fields| {
        Some(Refused {
            form: "plan".into(),
            message,
            values: f,
        })
    };
    let (Ok(building), Ok(on)) = (
        field(&f, "building").parse::<u64>(),
        bihuan_domain::time::parse_date(field(&f, "on")),
    ) else {
        return team_render(
            &state,
            &c,
            id,
            None,
            refuse("请选择楼宇并按 2026-01-01 的格式填写日期".into(), f),
        )
        .await;
    };
    match uc::plan(
        &state,
        &c,
        uc::PlanBody {
            team: id,
            building: Some(building),
            enterprises: vec![],
            on,
        },
    )
    .await
    {
        Ok(v) => Redirect::to(&format!(
            "/enterprises/teams/{id}?ok={}",
            urlencode(&format!(
                "已安排 {on} 走访{}",
                v.building_name.unwrap_or_default()
            ))
        ))
        .into_response(),
        Err(e) => team_render(&state, &c, id, None, refuse(e.message, f)).await,
    }
}

pub(super) async fn visit_record_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "走访", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let team = match bihuan_store::aggregates::load::<bihuan_domain::enterprise::ServiceVisit>(
        state.store.as_ref(),
        id,
    )
    .await
    {
        Ok(v) => v.state.team,
        Err(_) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "没有这次走访",
                "请从服务队页面打开",
                Some(&c),
            )
        }
    };
    let form = format!("record-{id}");
    let mut demands = Vec::new();
    let text = field(&f, "text");
    if !text.is_empty() || !field(&f, "enterprise").is_empty() {
        let Ok(enterprise) = field(&f, "enterprise").parse::<u64>() else {
            let r = Refused {
                form,
                message: "记录需求时请选择是哪家企业".into(),
                values: f,
            };
            return team_render(&state, &c, team, None, Some(r)).await;
        };
        demands.push(uc::DemandInput {
            enterprise,
            kind: field(&f, "kind").into(),
            text: text.into(),
        });
    }
    let body = uc::RecordBody {
        offered: fields_all(&f, "offered").map(str::to_string).collect(),
        note: field(&f, "note").into(),
        demands,
        cancel: None,
    };
    match uc::record(&state, &c, id, body).await {
        Ok(v) => {
            let raised: Vec<&str> = v
                .visit
                .demands
                .iter()
                .filter_map(|d| d.appeal.as_deref())
                .collect();
            let msg = if raised.is_empty() {
                "已记录走访".to_string()
            } else {
                format!("已记录走访，需求已登记为诉求 {}", raised.join("、"))
            };
            Redirect::to(&format!("/enterprises/teams/{team}?ok={}", urlencode(&msg)))
                .into_response()
        }
        Err(e) => {
            team_render(
                &state,
                &c,
                team,
                None,
                Some(Refused {
                    form,
                    message: e.message,
                    values: f,
                }),
            )
            .await
        }
    }
}
