//! `/jobs`: 就业之家 — the township's figures (postings, headcount, referrals, placements,
//! retention at three and six months, loans, placements by tag), the postings waiting for review
//! with what the wording check found, a new posting's form, the follow-ups due, the postings and
//! loans; a posting's page `/jobs/{id}` with the seekers who suit it (and why) and each
//! referral's next step; and the public job page `/board/jobs` for a phone. Every form goes
//! through `crate::jobs`, as the API does.

use super::*;
use crate::jobs::{self as uc, JobFigureQuery, PostingQuery};
use bihuan_domain::jobs::{PostingStatus, ReferralStage};

fn pct(a: u64, b: u64) -> String {
    if b == 0 {
        "—".into()
    } else {
        format!("{:.1}%", a as f64 * 100.0 / b as f64)
    }
}

fn posting_body(f: &Fields) -> Result<uc::PostingBody, String> {
    let num = |name: &str, what: &str| -> Result<u32, String> {
        field(f, name)
            .parse::<u32>()
            .map_err(|_| format!("{what}请填写整数"))
    };
    let expires_on = bihuan_domain::time::parse_date(field(f, "expires_on"))
        .map_err(|_| "截止日期请按 2026-12-31 的格式填写".to_string())?;
    Ok(uc::PostingBody {
        title: field(f, "title").into(),
        employer: field(f, "employer").into(),
        enterprise: None,
        headcount: num("headcount", "招聘人数")?,
        requirements: field(f, "requirements").into(),
        duties: field(f, "duties").into(),
        address: field(f, "address").into(),
        township: None,
        pay_min: num("pay_min", "月薪下限")?,
        pay_max: num("pay_max", "月薪上限")?,
        hours: field(f, "hours").into(),
        expires_on,
        from_demand: None,
        via_chamber: field(f, "via_chamber") == "1",
    })
}

pub(super) async fn jobs_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<super::enterprises::OkParams>,
) -> Response {
    jobs_render(&state, &c, q.ok.as_deref(), None).await
}

async fn jobs_render(
    state: &AppState,
    c: &Caller,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    // An employer's account sees its own postings and the form, nothing of the township's.
    let employer = c.user.role == bihuan_domain::lifecycle::Role::Employer;
    let (figures, postings, referrals, loans) = match if employer {
        (
            Ok(vec![]),
            uc::postings(state, c, &PostingQuery::default()).await,
            Ok(vec![]),
            Ok(vec![]),
        )
    } else {
        (
            uc::figures(state, c, &JobFigureQuery::default()).await,
            uc::postings(state, c, &PostingQuery::default()).await,
            uc::referrals(state, c).await,
            uc::loans(state, c).await,
        )
    } {
        (Ok(f), Ok(p), Ok(r), Ok(l)) => (f, p, r, l),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
            return error_page(e.status, "无法打开就业之家", &e.message, Some(c))
        }
    };
    let t = figures.last().cloned().unwrap_or_default();
    let pending: Vec<_> = postings
        .iter()
        .filter(|p| p.posting.status == PostingStatus::Pending)
        .collect();
    let due: Vec<_> = referrals
        .iter()
        .filter(|r| !r.follow_ups_due.is_empty())
        .collect();
    let today = bihuan_domain::time::local_date(state.clock.now());
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let v = |name: &str| typed(&refused, "posting", name).to_string();
    let body = html! {
        h1 { "就业之家" }
        p.muted { "公共就业服务免费（就业促进法第三十五条）。岗位须写明用人单位、招聘人数、任职要求、岗位职责、工作地点和薪酬（人力资源市场暂行条例第二十四条），经歧视性表述检查和工作人员审核后公开。 " a href="/board/jobs" { "公开的岗位页" } }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        @if employer { p { "本单位的岗位经就业之家审核后公开；推荐来的求职者在岗位页查看。" } }
        @if !employer { div.cards {
            div.card { div.n { (t.published) } div.l { "今年发布岗位（" (t.headcount) " 人）" } }
            div.card { div.n { (t.open_now) } div.l { "正在招聘" } }
            div.card { div.n { (t.referrals) } div.l { "推荐" } }
            div.card.ok { div.n { (t.placements) } div.l { "推荐就业" } }
            div.card { div.n { (pct(t.retained_3, t.followed_3)) } div.l { "3个月在岗（" (t.followed_3) " 人已回访）" } }
            div.card { div.n { (pct(t.retained_6, t.followed_6)) } div.l { "6个月在岗（" (t.followed_6) " 人已回访）" } }
            div.card { div.n { (format!("{:.1}", t.loan_amount as f64 / 10_000.0)) } div.l { "促成贷款（万元，" (t.loans) " 笔）" } }
        } }
        @if !t.placed_by_tag.is_empty() {
            p { "重点人群就业：" @for (k, (tag, n)) in t.placed_by_tag.iter().enumerate() { @if k > 0 { "、" } (tag) " " (n) " 人" } }
        }
        @if figures.len() > 2 {
            details { summary { "各乡镇（街道）" }
                div.table-wrap { table.compact {
                    thead { tr { th { "乡镇" } th { "发布" } th { "人数" } th { "推荐" } th { "就业" } th { "3个月在岗" } th { "6个月在岗" } th { "贷款（万元）" } } }
                    tbody { @for r in &figures { tr { td { (r.name) } td { (r.published) } td { (r.headcount) } td { (r.referrals) } td { (r.placements) } td { (pct(r.retained_3, r.followed_3)) } td { (pct(r.retained_6, r.followed_6)) } td { (format!("{:.1}", r.loan_amount as f64 / 10_000.0)) } } } }
                } }
            }
        }
        section.panel {
            h2 { "待审核（" (pending.len()) "）" }
            @if pending.is_empty() { p.muted { "没有待审核的岗位。" } }
            @for p in &pending {
                @let form = format!("review-{}", p.id);
                div.review {
                    p { a href=(format!("/jobs/{}", p.id)) { (p.posting.facts.title) } " · " (p.posting.facts.employer) " · " (p.posting.facts.headcount) " 人" }
                    @if !p.posting.flags.is_empty() {
                        p.field-error { "检查发现歧视性表述：" @for (k, f) in p.posting.flags.iter().enumerate() { @if k > 0 { "、" } "「" (f.found) "」（" (f.ground.label()) "）" } "，须退回修改。" }
                    }
                    @if !employer { form.inline method="post" action=(format!("/jobs/{}/review", p.id)) {
                        (refusal(&refused, &form))
                        input type="text" name="note" placeholder="退回时写明原因" value=(typed(&refused, &form, "note"));
                        button type="submit" name="approve" value="0" { "退回修改" }
                        @if p.posting.flags.is_empty() { button.primary type="submit" name="approve" value="1" { "审核发布" } }
                    } }
                }
            }
        }
        @if !due.is_empty() {
            section.panel {
                h2 { "到期的就业回访（" (due.len()) "）" }
                ul { @for r in &due { li { a href=(format!("/jobs/{}", r.referral.posting)) { (r.seeker_name) " · " (r.posting_title) } "：录用后第 " (r.follow_ups_due.iter().map(|m| m.to_string()).collect::<Vec<_>>().join("、")) " 个月" } } }
            }
        }
        details.panel open[refused.as_ref().is_some_and(|r| r.form == "posting")] {
            summary { "登记新岗位" }
            form.stack method="post" action="/jobs/new" {
                (refusal(&refused, "posting"))
                label { "岗位名称 " input type="text" name="title" required maxlength="60" value=(v("title")); }
                @if !employer { label { "用人单位 " input type="text" name="employer" required maxlength="100" value=(v("employer")); } }
                label { "招聘人数 " input type="number" name="headcount" min="1" required value=(v("headcount")); }
                label { "任职要求 " textarea name="requirements" rows="2" required { (v("requirements")) } }
                label { "岗位职责 " textarea name="duties" rows="2" required { (v("duties")) } }
                label { "工作地点 " input type="text" name="address" required value=(v("address")); }
                label { "月薪（元） " input type="number" name="pay_min" min="1" required placeholder="下限" value=(v("pay_min")); " 至 " input type="number" name="pay_max" min="1" required placeholder="上限" value=(v("pay_max")); }
                label { "工作时间 " input type="text" name="hours" required value=(v("hours")); }
                label { "截止日期 " input type="date" name="expires_on" required value=(if v("expires_on").is_empty() { (today + chrono::Duration::days(30)).to_string() } else { v("expires_on") }); }
                label.choice { input type="checkbox" name="via_chamber" value="1" checked[v("via_chamber") == "1"]; " 经商会收集的用工需求" }
                button.primary type="submit" { "保存并提交审核" }
            }
        }
        section.panel {
            h2 { "岗位（" (postings.len()) "）" }
            div.table-wrap { table.compact {
                thead { tr { th { "岗位" } th { "用人单位" } th { "人数" } th { "月薪" } th { "截止" } th { "状态" } th { "录用" } } }
                tbody { @for p in postings.iter().take(60) { tr {
                    td { a href=(format!("/jobs/{}", p.id)) { (p.posting.facts.title) } }
                    td { (p.posting.facts.employer) } td { (p.posting.facts.headcount) }
                    td { (p.posting.facts.pay_min) "–" (p.posting.facts.pay_max) }
                    td { (p.posting.facts.expires_on) } td { (p.status_label) } td { (p.posting.hired) }
                } } }
            } }
        }
        @if !employer { section.panel {
            h2 { "贷款（" (loans.len()) "）" }
            div.table-wrap { table.compact {
                thead { tr { th { "申请人" } th { "类型" } th { "金额（万元）" } th { "期限（月）" } th { "银行" } th { "状态" } th { "提示" } } }
                tbody { @for l in &loans { tr {
                    td { (l.loan.applicant) } td { (l.loan.borrower.label()) } td { (format!("{:.1}", l.loan.amount as f64 / 10_000.0)) }
                    td { (l.loan.months) } td { (l.loan.bank) } td { (l.status_label) } td.small { (l.loan.warnings.join("；")) }
                } } }
            } }
        } }
    };
    (status, page("就业之家", Some(c), body)).into_response()
}

pub(super) async fn job_new_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let refuse = |message: String, f: Fields| {
        Some(Refused {
            form: "posting".into(),
            message,
            values: f,
        })
    };
    let body = match posting_body(&f) {
        Ok(b) => b,
        Err(m) => return jobs_render(&state, &c, None, refuse(m, f)).await,
    };
    let p = match uc::new_posting(&state, &c, body).await {
        Ok(p) => p,
        Err(e) => return jobs_render(&state, &c, None, refuse(e.message, f)).await,
    };
    match uc::submit(&state, &c, p.id).await {
        Ok(p) if p.posting.flags.is_empty() => {
            Redirect::to(&format!("/jobs?ok={}", urlencode("已提交审核"))).into_response()
        }
        Ok(_) => Redirect::to(&format!(
            "/jobs?ok={}",
            urlencode("已提交审核，但检查发现歧视性表述，须修改后才能发布")
        ))
        .into_response(),
        Err(e) => jobs_render(&state, &c, None, refuse(e.message, f)).await,
    }
}

pub(super) async fn job_review_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "岗位", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let approve = field(&f, "approve") == "1";
    match uc::review(
        &state,
        &c,
        id,
        uc::ReviewBody {
            approve,
            note: field(&f, "note").into(),
        },
    )
    .await
    {
        Ok(p) => Redirect::to(&format!(
            "/jobs?ok={}",
            urlencode(&format!("{}：{}", p.posting.facts.title, p.status_label))
        ))
        .into_response(),
        Err(e) => {
            jobs_render(
                &state,
                &c,
                None,
                Some(Refused {
                    form: format!("review-{id}"),
                    message: e.message,
                    values: f,
                }),
            )
            .await
        }
    }
}

pub(super) async fn job_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<super::enterprises::OkParams>,
) -> Response {
    let id = match path_id(&id, "岗位", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    job_render(&state, &c, id, q.ok.as_deref(), None).await
}

async fn job_render(
    state: &AppState,
    c: &Caller,
    id: u64,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    let d = match uc::posting(state, c, id).await {
        Ok(d) => d,
        Err(e) => return error_page(e.status, "无法打开这个岗位", &e.message, Some(c)),
    };
    let p = &d.view.posting;
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { (p.facts.title) " " span.badge { (d.view.status_label) } }
        p { a href="/jobs" { "返回就业之家" } }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        section.panel {
            dl.facts {
                dt { "用人单位" } dd { (p.facts.employer) }
                dt { "招聘人数" } dd { (p.facts.headcount) " 人（已录用 " (p.hired) " 人）" }
                dt { "任职要求" } dd { (p.facts.requirements) }
                dt { "岗位职责" } dd { (p.facts.duties) }
                dt { "工作地点" } dd { (p.facts.address) "（" (d.view.township_name) "）" }
                dt { "月薪" } dd { (p.facts.pay_min) " – " (p.facts.pay_max) " 元" }
                dt { "工作时间" } dd { (p.facts.hours) }
                dt { "截止日期" } dd { (p.facts.expires_on) }
            }
            @if !p.flags.is_empty() { p.field-error { "歧视性表述：" @for (k, f) in p.flags.iter().enumerate() { @if k > 0 { "、" } "「" (f.found) "」（" (f.ground.label()) "）" } } }
        }
        @if d.view.open {
            section.panel {
                h2 { "适合的求职者（仅列出同意被推荐的）" }
                (refusal(&refused, "refer"))
                @if d.suggested.is_empty() { p.muted { "暂无合适的求职者。" } }
                ul { @for s in &d.suggested { li {
                    (s.name) @if !s.tags.is_empty() { " " span.badge { (s.tags.join("、")) } } "：" (s.fit.reasons.join("；"))
                    form.inline method="post" action=(format!("/jobs/{id}/refer")) { input type="hidden" name="seeker" value=(s.seeker); button type="submit" { "推荐" } }
                } } }
            }
        }
        section.panel {
            h2 { "推荐记录（" (d.referrals.len()) "）" }
            @for r in &d.referrals {
                @let form = format!("step-{}", r.id);
                div {
                    p { (r.seeker_name) " · " (r.stage_label) " · " (r.referral.referred_on) " 推荐"
                        @if let Some(h) = r.referral.hired_on { " · " (h) " 录用" }
                        @for f in &r.referral.follow_ups { " · 第" (f.months) "个月" (if f.employed { "在岗" } else { "已离职" }) }
                        @if let Some(p) = &r.seeker_phone { " · 电话 " (p) } }
                    (refusal(&refused, &form))
                    @if matches!(r.referral.stage, ReferralStage::Referred | ReferralStage::Interviewed) {
                        form.inline method="post" action=(format!("/jobs/referrals/{}", r.id)) {
                            input type="hidden" name="posting" value=(id);
                            input type="text" name="note" placeholder="说明（未录用时必填）" value=(typed(&refused, &form, "note"));
                            @if r.referral.stage == ReferralStage::Referred { button type="submit" name="step" value="interview" { "已面试" } }
                            button.primary type="submit" name="step" value="hire" { "录用" }
                            button type="submit" name="step" value="reject" { "未录用" }
                        }
                    }
                    @for m in &r.follow_ups_due {
                        form.inline method="post" action=(format!("/jobs/referrals/{}", r.id)) {
                            input type="hidden" name="posting" value=(id);
                            input type="hidden" name="months" value=(m);
                            "第 " (m) " 个月回访："
                            button type="submit" name="step" value="employed" { "仍在岗" }
                            button type="submit" name="step" value="left" { "已离职" }
                        }
                    }
                }
            }
        }
    };
    (status, page(&p.facts.title, Some(c), body)).into_response()
}

pub(super) async fn job_refer_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "岗位", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let Ok(seeker) = field(&f, "seeker").parse::<u64>() else {
        return job_render(
            &state,
            &c,
            id,
            None,
            Some(Refused {
                form: "refer".into(),
                message: "请从列表中选择求职者".into(),
                values: f,
            }),
        )
        .await;
    };
    match uc::refer(
        &state,
        &c,
        uc::ReferBody {
            posting: id,
            seeker,
            note: String::new(),
        },
    )
    .await
    {
        Ok(r) => Redirect::to(&format!(
            "/jobs/{id}?ok={}",
            urlencode(&format!("已推荐 {}", r.seeker_name))
        ))
        .into_response(),
        Err(e) => {
            job_render(
                &state,
                &c,
                id,
                None,
                Some(Refused {
                    form: "refer".into(),
                    message: e.message,
                    values: f,
                }),
            )
            .await
        }
    }
}

pub(super) async fn referral_step_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "推荐", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let posting = field(&f, "posting").parse::<u64>().unwrap_or(0);
    let (step, employed) = match field(&f, "step") {
        "employed" => ("follow_up", Some(true)),
        "left" => ("follow_up", Some(false)),
        s => (s, None),
    };
    let body = uc::StepBody {
        step: step.into(),
        on: None,
        note: field(&f, "note").into(),
        months: field(&f, "months").parse().ok(),
        employed,
    };
    match uc::step(&state, &c, id, body).await {
        Ok(r) => Redirect::to(&format!(
            "/jobs/{posting}?ok={}",
            urlencode(&format!("{}：{}", r.seeker_name, r.stage_label))
        ))
        .into_response(),
        Err(e) => {
            job_render(
                &state,
                &c,
                posting,
                None,
                Some(Refused {
                    form: format!("step-{id}"),
                    message: e.message,
                    values: f,
                }),
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct BoardParams {
    township: Option<String>,
}

/// The public job page: open postings of a township (or the county), nothing personal.
pub(super) async fn public_jobs_page(
    State(state): State<AppState>,
    Query(q): Query<BoardParams>,
) -> Response {
    let cat = state.store.catalog();
    let township = q.township.as_deref().and_then(|t| t.parse::<u32>().ok());
    let list = match uc::public(&state, &uc::PublicQuery { township }).await {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开招聘信息", &e.message, None),
    };
    let townships: Vec<(u32, String)> = cat
        .org
        .units()
        .filter(|u| u.kind == UnitKind::Township)
        .map(|u| (u.id.0, u.name.clone()))
        .collect();
    let body = html! {
        h1 { "就业之家 · 家门口的工作" }
        p.muted { "以下岗位经乡镇（街道）就业之家审核发布。求职免费：带上身份证到就业之家登记，或请村（社区）网格员代为登记，工作人员会为您推荐。" }
        form.filters method="get" action="/board/jobs" {
            label { "乡镇（街道） " select name="township" { option value="" { "全县" } @for (id, name) in &townships { option value=(id) selected[township == Some(*id)] { (name) } } } }
            button type="submit" { "查看" }
        }
        p { "正在招聘 " (list.len()) " 个岗位，共 " (list.iter().map(|p| p.headcount).sum::<u32>()) " 人。" }
        @for p in &list {
            section.panel {
                h2 { (p.title) " · " (p.headcount) " 人" }
                p { strong { (p.pay_min) " – " (p.pay_max) " 元/月" } " · " (p.hours) }
                p.small { (p.employer) " · " (p.address) "（" (p.township) "）" }
                p.small.muted { "要求：" (p.requirements) "；职责：" (p.duties) "。截止 " (p.expires_on) }
            }
        }
    };
    page("就业之家", None, body).into_response()
}
