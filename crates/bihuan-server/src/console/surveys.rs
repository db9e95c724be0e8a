//! `/surveys`: 双提升 — each survey's results with its methods card (completes against the
//! target, the AAPOR rates, each indicator unweighted with its Wilson interval and weighted to
//! the frame with its design-based interval), and the CATI screen `/surveys/{id}/call` on which
//! a caller takes the next due number, reads the opening with the approval, records the
//! answers and the outcome. Every form goes through `crate::surveys`, as the API does.

use super::*;
use crate::surveys::{self as uc, SurveyView};
use bihuan_domain::survey::{Answer, Disposition, Estimate, QuestionKind, SurveyStatus};

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.2}%", v * 100.0))
}

fn estimate(e: &Option<Estimate>) -> Markup {
    html! {
        @match e {
            Some(e) => { strong { (pct(Some(e.value))) } " " span.small.muted { "[" (pct(Some(e.low))) "，" (pct(Some(e.high))) "]，n=" (e.n) } }
            None => { "—" }
        }
    }
}

fn survey_panel(s: &SurveyView, c: &Caller) -> Markup {
    let a = &s.aapor;
    html! {
        section.panel {
            h2 { (s.survey.name) " " span class=(if s.survey.status == SurveyStatus::Fielding { "badge running" } else { "badge" }) { (s.status_label) } }
            p.small.muted { (s.survey.conducted_by) " · 表号 " (s.survey.approval.table_no) " · " (s.survey.approval.approval_no) " · 有效期至 " (s.survey.approval.valid_until) }
            div.cards {
                div.card { div.n { (s.completes) } div.l { "完成 / 目标 " (s.survey.target) } }
                div.card { div.n { (s.drawn) } div.l { "样本号码" } }
                div.card { div.n { (pct(a.rr3)) } div.l { "应答率 RR3" } }
                div.card { div.n { (pct(a.coop1)) } div.l { "合作率 COOP1" } }
            }
            div.table-wrap { table.compact {
                thead { tr { th { "指标" } th { "题号" } th { "肯定 / 作答" } th { "未加权（Wilson 95% 区间）" } th { "加权（事后分层，95% 区间）" } } }
                tbody { @for r in &s.results { tr {
                    td { (r.label) } td { (r.question) } td { (r.favourable) " / " (r.answered) }
                    td { (estimate(&r.unweighted)) }
                    td { (estimate(&r.weighted)) @if r.covered < 0.999 { div.small.muted { "覆盖抽样框的 " (format!("{:.0}%", r.covered * 100.0)) } } }
                } } }
            } }
            details { summary { "各层结果（未加权，Wilson 95% 区间）" }
                div.table-wrap { table.compact {
                    thead { tr { th { "层" } th { "占抽样框" } th { "完成 / 配额" } @for r in &s.results { th { (r.label) } } } }
                    tbody { @for (i, st) in s.survey.strata.iter().enumerate() { tr {
                        td { (st.name) }
                        td { (format!("{:.1}%", st.frame as f64 * 100.0 / s.survey.strata.iter().map(|x| x.frame).sum::<u64>().max(1) as f64)) }
                        td { @if let Some(p) = s.progress.get(i) { (p.completes) " / " (p.quota) @if p.quota_met { " " span.badge { "配额已满" } } } }
                        @for r in &s.results { td { (estimate(&r.strata.get(i).and_then(|x| x.estimate))) } }
                    } } }
                } }
            }
            details { summary { "AAPOR 结果与应答率" }
                p.small { "I " (s.outcomes.i) " · P " (s.outcomes.p) " · R " (s.outcomes.r) " · NC " (s.outcomes.nc) " · O " (s.outcomes.o) " · UH " (s.outcomes.uh) " · UO " (s.outcomes.uo) " · NE " (s.outcomes.ne) }
                p.small { "RR1 " (pct(a.rr1)) " · RR2 " (pct(a.rr2)) " · RR3 " (pct(a.rr3)) " · RR4 " (pct(a.rr4)) " · RR5 " (pct(a.rr5)) " · RR6 " (pct(a.rr6))
                    " · COOP1 " (pct(a.coop1)) " · COOP2 " (pct(a.coop2)) " · COOP3 " (pct(a.coop3)) " · COOP4 " (pct(a.coop4))
                    " · REF1 " (pct(a.ref1)) " · REF2 " (pct(a.ref2)) " · REF3 " (pct(a.ref3))
                    " · CON1 " (pct(a.con1)) " · CON2 " (pct(a.con2)) " · CON3 " (pct(a.con3))
                    " · e = " (format!("{:.3}", a.e)) "（按已知资格号码中合格的比例估计）" }
            }
            @if !s.raised.is_empty() {
                p.small { "受访者同意回访的不满意回答已转为诉求（渠道：满意度测评）："
                    @for (k, n) in s.raised.iter().enumerate() { @if k > 0 { "、" } a href=(format!("/appeals/{n}")) { (n) } } }
            }
            p.small.muted.methods { "方法说明：" (s.methods) }
            @if s.survey.status == SurveyStatus::Fielding && bihuan_domain::survey::CALLER_ROLES.contains(&c.user.role) {
                p { a.button.primary href=(format!("/surveys/{}/call", s.id)) { "开始拨打（CATI）" } }
            }
        }
    }
}

pub(super) async fn surveys_page(State(state): State<AppState>, PageUser(c): PageUser) -> Response {
    let list = match uc::surveys(&state, &c).await {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开双提升测评", &e.message, Some(&c)),
    };
    let body = html! {
        h1 { "双提升测评" }
        p.muted { "电话调查依《统计法》进行：开场宣读表号、制定机关、批准文号和有效期；回答依法保密；每次拨打记录 AAPOR 结果代码；号码只在访员当前拨打时完整显示。" }
        @if list.is_empty() { p.muted { "尚无调查。" } }
        @for s in &list { (survey_panel(s, &c)) }
    };
    page("双提升测评", Some(&c), body).into_response()
}

#[derive(Deserialize, Default)]
pub(super) struct CallQuery {
    ok: Option<String>,
}

pub(super) async fn cati_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<CallQuery>,
) -> Response {
    let id = match path_id(&id, "调查", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    cati_render(&state, &c, id, q.ok.as_deref(), None).await
}

async fn cati_render(
    state: &AppState,
    c: &Caller,
    id: u64,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    let current = match uc::next(state, c, id).await {
        Ok(n) => n,
        Err(e) => return error_page(e.status, "无法拨打", &e.message, Some(c)),
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { "电话测评 · 拨打" }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        @match &current {
            None => p.muted { "现在没有到期的号码（未接通的号码按重拨间隔和拨打时段再排入）。" },
            Some(k) => {
                section.panel {
                    h2 { "号码 " span #cati-phone { (k.phone) } }
                    p.small.muted { "样本 " (k.case) " · 层 " (k.stratum) " · 已拨 " (k.attempts.len()) " 次" }
                    p.opening { (k.opening) }
                }
                form.stack.panel #cati method="post" action=(format!("/surveys/{id}/cases/{}/call", k.case)) {
                    (refusal(&refused, "call"))
                    @for q in &k.questions {
                        fieldset {
                            legend { (q.code) " " (q.text) }
                            @let name = format!("q-{}", q.code);
                            @match q.kind {
                                QuestionKind::Open => { input type="text" name=(name) maxlength="1000" value=(typed(&refused, "call", &name)); }
                                QuestionKind::Scale => { @for v in 1..=5 { label.choice { input type="radio" name=(name) value=(v) checked[typed(&refused, "call", &name) == v.to_string()]; " " (v) } } }
                                _ => { @for o in &q.options { label.choice { input type="radio" name=(name) value=(o) checked[typed(&refused, "call", &name) == o]; " " (o) } } }
                            }
                        }
                    }
                    label for="disposition" { "本次结果（AAPOR）" }
                    select #disposition name="disposition" {
                        @for d in Disposition::ALL { option value=(d.code()) selected[typed(&refused, "call", "disposition") == d.code()] { (d.code()) " " (d.label()) } }
                    }
                    label for="callback" { "约定回拨时间（可选）" }
                    input #callback type="datetime-local" name="callback" value=(typed(&refused, "call", "callback"));
                    label.choice { input type="checkbox" name="consent" value="1"; " 受访者同意就不满意的回答接受回访" }
                    label for="note" { "备注" }
                    input #note type="text" name="note" maxlength="500" value=(typed(&refused, "call", "note"));
                    p { button.primary type="submit" { "保存并拨打下一个" } }
                }
            }
        }
        p { a href="/surveys" { "返回双提升测评" } }
    };
    (status, page("电话测评", Some(c), body)).into_response()
}

pub(super) async fn cati_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path((id, case)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let (Ok(id), Ok(case)) = (id.parse::<u64>(), case.parse::<u64>()) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "没有这个样本号码",
            "请从拨打页打开",
            Some(&c),
        );
    };
    let answers: Vec<Answer> = f
        .iter()
        .filter_map(|(k, v)| {
            let q = k.strip_prefix("q-")?;
            (!v.trim().is_empty()).then(|| Answer {
                question: q.to_string(),
                value: v.trim().to_string(),
            })
        })
        .collect();
    let d = field(&f, "disposition");
    let interview = matches!(d, "1.1" | "1.2");
    let callback = match field(&f, "callback").trim() {
        "" => None,
        s => chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|t| t.and_local_timezone(bihuan_domain::time::cst()).single())
            .map(|t| t.with_timezone(&chrono::Utc)),
    };
    let body = uc::CallBody {
        disposition: d.to_string(),
        answers: if interview { answers } else { vec![] },
        consent: field(&f, "consent") == "1",
        callback,
        note: field(&f, "note").into(),
    };
    match uc::call(&state, &c, id, case, body, None).await {
        Ok(v) => Redirect::to(&format!(
            "/surveys/{id}/call?ok={}",
            urlencode(&format!("已记录：{}", v.disposition_label.unwrap_or("—")))
        ))
        .into_response(),
        Err(e) => {
            cati_render(
                &state,
                &c,
                id,
                None,
                Some(Refused {
                    form: "call".into(),
                    message: e.message,
                    values: f,
                }),
            )
            .await
        }
    }
}
