//! `/evaluations`: 四比 — the schemes with their versioned formulas, each period's standings
//! (live until published), publishing (公开晾晒, with a confirmation: it cannot be undone), and
//! the public board `/board/evaluations` that shows only what was published, without personal
//! data and without a login. Every form goes through `crate::evaluations`, as the API does.

use super::*;
use crate::evaluations::{self as uc, EvaluationView, PublicEvaluation};
use bihuan_domain::evaluation::{
    Award, Board, Cadence, Formula, FormulaDraft, Indicator, Standing, Term, TermScore,
};
use chrono::NaiveDate;

fn score_text(s: Option<f64>) -> String {
    s.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into())
}

fn term_text(t: &TermScore) -> Markup {
    html! {
        @match t.value {
            Some(x) => { (format!("{:.1}%", x * 100.0)) }
            None => { "—" }
        }
        span.small.muted { "（" (t.volume) (t.indicator.volume_label()) @if !t.counted { "，不计" } "）" }
    }
}

fn board_badge(s: &Standing) -> Markup {
    html! {
        @match s.board {
            Some(Board::Red) => span.badge.red { "红榜" },
            Some(Board::Grey) => span.badge.grey { "灰榜" },
            None => {}
        }
        @for a in &s.awards { " " span.badge.award { (a) } }
    }
}

/// The standings table (the console's and the public board's).
fn standings_table(formula: &Formula, standings: &[Standing]) -> Markup {
    html! {
        div.table-wrap { table #standings {
            thead { tr { th { "名次" } th { "单位" } th { "得分" }
                @for t in &formula.terms { th { (t.indicator.label()) } }
                th { "榜单与奖项" } } }
            tbody { @for s in standings { tr {
                td { (s.rank.map(|r| r.to_string()).unwrap_or_else(|| "—".into())) }
                td { (s.name) }
                td { strong { (score_text(s.score)) } }
                @for t in &s.terms { td { (term_text(t)) } }
                td { (board_badge(s)) @if !s.note.is_empty() { span.small.muted { (s.note) } } }
            } } }
        } }
    }
}

fn boards(standings: &[Standing]) -> Markup {
    let red: Vec<&Standing> = standings
        .iter()
        .filter(|s| s.board == Some(Board::Red))
        .collect();
    let grey: Vec<&Standing> = standings
        .iter()
        .filter(|s| s.board == Some(Board::Grey))
        .collect();
    let mut awards: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in standings {
        for a in &s.awards {
            awards.entry(a.as_str()).or_default().push(s.name.as_str());
        }
    }
    html! {
        div.grid2 {
            div.panel.board-red { h2 { "红榜" }
                @if red.is_empty() { p.muted { "无。" } }
                ol { @for s in &red { li { (s.name) " · " (score_text(s.score)) " 分" } } } }
            div.panel.board-grey { h2 { "灰榜" }
                @if grey.is_empty() { p.muted { "无。" } }
                ol { @for s in &grey { li { (s.name) " · " (score_text(s.score)) " 分" } } } }
        }
        @if !awards.is_empty() {
            div.panel { h2 { "奖项" }
                ul { @for (a, who) in &awards { li { strong { (a) } "：" (who.join("、")) } } } }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The console

#[derive(Deserialize, Default)]
pub(super) struct OkQuery {
    ok: Option<String>,
}

pub(super) async fn evaluations_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<OkQuery>,
) -> Response {
    list_render(&state, &c, q.ok.as_deref(), None).await
}

fn formula_form(
    action: &str,
    form: &str,
    current: Option<&Formula>,
    refused: &Option<Refused>,
    with_name: bool,
) -> Markup {
    let weight = |i: Indicator| -> String {
        typed_in(refused, form, &format!("w-{}", i.code()))
            .map(str::to_string)
            .or_else(|| {
                current
                    .and_then(|f| f.terms.iter().find(|t| t.indicator == i))
                    .map(|t| crate::campaigns::num(t.weight))
            })
            .unwrap_or_default()
    };
    let min = |i: Indicator| -> String {
        typed_in(refused, form, &format!("m-{}", i.code()))
            .map(str::to_string)
            .or_else(|| {
                current
                    .and_then(|f| f.terms.iter().find(|t| t.indicator == i))
                    .map(|t| t.min_volume.to_string())
            })
            .unwrap_or_default()
    };
    let other = |name: &str, f: &dyn Fn(&Formula) -> String, default: &str| -> String {
        typed_in(refused, form, name)
            .map(str::to_string)
            .or_else(|| current.map(f))
            .unwrap_or_else(|| default.to_string())
    };
    let awards = other(
        "awards",
        &|f| {
            f.awards
                .iter()
                .map(|a| {
                    format!(
                        "{}|{}{}",
                        a.name,
                        a.places,
                        a.by.map(|b| format!("|{}", b.label())).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        "",
    );
    html! {
        form.stack.panel method="post" action=(action) {
            (refusal(refused, form))
            @if with_name {
                div.row {
                    div { label for="s-name" { "方案名称" } input #s-name type="text" name="name" maxlength="40" placeholder="如 季度「红灰台」" value=(typed_in(refused, form, "name").unwrap_or("")) required; }
                    div { label for="s-cadence" { "周期" } select #s-cadence name="cadence" {
                        @for c in Cadence::ALL { option value=(c.code()) selected[typed_in(refused, form, "cadence") == Some(c.code())] { (c.label()) } } } }
                }
            }
            table.compact {
                thead { tr { th { "指标" } th { "权重（留空不用）" } th { "最低样本量" } } }
                tbody { @for i in Indicator::ALL { tr {
                    td { (i.label()) }
                    td { input type="text" inputmode="decimal" name=(format!("w-{}", i.code())) value=(weight(i)) size="6"; }
                    td { input type="number" min="0" name=(format!("m-{}", i.code())) value=(min(i)) size="6"; " " span.small.muted { (i.volume_label()) } }
                } } }
            }
            div.row {
                div { label { "红榜名次" } input type="number" min="0" max="50" name="red" value=(other("red", &|f| f.red.to_string(), "3")); }
                div { label { "灰榜名次" } input type="number" min="0" max="50" name="grey" value=(other("grey", &|f| f.grey.to_string(), "3")); }
                div { label { "参评所需权重占比（%）" } input type="number" min="0" max="100" name="min_share" value=(other("min_share", &|f| format!("{:.0}", f.min_share * 100.0), "50")); }
            }
            label { "奖项（每行一个：名称|名额|按哪项指标，可省略则按总分）" }
            textarea name="awards" rows="2" placeholder="为民服务奖|3" { (awards) }
            label { "说明" }
            input type="text" name="note" maxlength="1000" value=(other("note", &|f| f.note.clone(), ""));
            p { button.primary type="submit" { @if with_name { "设立方案" } @else { "保存为新版本" } } }
        }
    }
}

fn formula_of(f: &Fields) -> Result<FormulaDraft, ApiError> {
    let bad = |field: &'static str, m: String| {
        ApiError::from(bihuan_domain::DomainError::invalid(field, m))
    };
    let mut terms = Vec::new();
    for i in Indicator::ALL {
        let w = field(f, &format!("w-{}", i.code())).trim();
        if w.is_empty() {
            continue;
        }
        let weight: f64 = w
            .parse()
            .map_err(|_| bad("terms", format!("「{}」的权重「{w}」不是数字", i.label())))?;
        let m = field(f, &format!("m-{}", i.code())).trim();
        let min_volume: u64 = if m.is_empty() {
            0
        } else {
            m.parse()
                .map_err(|_| bad("terms", format!("「{}」的最低样本量须为整数", i.label())))?
        };
        terms.push(Term {
            indicator: i,
            weight,
            min_volume,
        });
    }
    let int = |name: &'static str, what: &str| -> Result<u32, ApiError> {
        field(f, name)
            .trim()
            .parse()
            .map_err(|_| bad(name, format!("{what}须为整数")))
    };
    let mut awards = Vec::new();
    for l in field(f, "awards")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let mut p = l.split(['|', '｜']).map(str::trim);
        let name = p.next().unwrap_or("").to_string();
        let places = p
            .next()
            .and_then(|x| x.parse().ok())
            .ok_or_else(|| bad("awards", format!("奖项「{l}」须写成 名称|名额")))?;
        let by = match p.next().filter(|x| !x.is_empty()) {
            None => None,
            Some(x) => Some(Indicator::parse(x).ok_or_else(|| {
                bad(
                    "awards",
                    format!(
                        "奖项「{name}」的指标「{x}」无效，可用：{}",
                        Indicator::ALL.map(|i| i.label()).join("、")
                    ),
                )
            })?),
        };
        awards.push(Award { name, places, by });
    }
    Ok(FormulaDraft {
        terms,
        min_share: int("min_share", "参评所需权重占比")? as f64 / 100.0,
        red: int("red", "红榜名次")?,
        grey: int("grey", "灰榜名次")?,
        awards,
        note: field(f, "note").into(),
    })
}

async fn list_render(
    state: &AppState,
    c: &Caller,
    ok: Option<&str>,
    refused: Option<Refused>,
) -> Response {
    let (schemes, evaluations) = match (
        uc::schemes(state, c).await,
        uc::evaluations(state, c, None).await,
    ) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => {
            return error_page(e.status, "无法打开四比", &e.message, Some(c))
        }
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let centre = uc::configures(c);
    let body = html! {
        h1 { "四比 · 全过程量化评价" }
        p.muted { "月度调研提示比、季度「红灰台」比、半年「两奖一杯」比、全年「标杆奖」比：每期按方案的加权指标计算，期满后公开晾晒，发布时的结果和公式冻结保存。 " a href="/board/evaluations" { "公开晾晒栏" } }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        h2 { "各期评比" }
        @if evaluations.is_empty() { p.muted { "尚未建立评比。" } }
        div.table-wrap { table #evaluations {
            thead { tr { th { "期间" } th { "方案" } th { "周期" } th { "状态" } } }
            tbody { @for e in &evaluations { tr {
                td { a href=(format!("/evaluations/{}", e.id)) { (e.period) } }
                td { (e.scheme_name) } td { (e.cadence_label) }
                td { @if e.published { span.badge.met { "已公开" } " " (e.published_at.map(format_local).unwrap_or_default()) } @else { span.badge.running { "计算中" } } }
            } } }
        } }
        @if centre && !schemes.is_empty() {
            form.stack.panel #open method="post" action="/evaluations" {
                h2 { "建立一期评比" }
                (refusal(&refused, "open"))
                div.row {
                    div { label for="scheme" { "方案" } select #scheme name="scheme" { @for s in &schemes { option value=(s.id) selected[typed_in(&refused, "open", "scheme") == Some(&s.id.to_string())] { (s.name) "（" (s.cadence_label) "）" } } } }
                    div { label for="first" { "期间第一天" } input #first type="date" name="first" value=(typed_in(&refused, "open", "first").unwrap_or("")) required; }
                }
                p.small.muted { "月度从某月1日、季度从1、4、7、10月1日、半年从1月或7月1日、全年从1月1日开始。" }
                p { button.primary type="submit" { "建立" } }
            }
        }
        h2 { "评比方案" }
        @for s in &schemes {
            section.panel {
                h3 { (s.name) " " span.badge { (s.cadence_label) } " " span.small.muted { "公式第 " (s.formula.version) " 版" } }
                p { (s.formula_text) }
                p.small.muted { "红榜 " (s.formula.red) " 名，灰榜 " (s.formula.grey) " 名"
                    @for a in &s.formula.awards { "；" (a.name) " " (a.places) " 名" @if let Some(b) = a.by { "（按" (b.label()) "）" } } }
                @if s.formulas.len() > 1 {
                    details { summary { "历次版本" }
                        ul { @for f in s.formulas.iter().rev().skip(1) { li { "第 " (f.version) " 版（" (format_local(f.at)) "）：" (f.describe()) } } } }
                }
                @if centre {
                    details open[refused.as_ref().is_some_and(|r| r.form == format!("revise-{}", s.id))] { summary { "修订公式（生成新版本，已公开的结果不变）" }
                        (formula_form(&format!("/evaluations/schemes/{}", s.id), &format!("revise-{}", s.id), Some(&s.formula), &refused, false)) }
                }
            }
        }
        @if centre {
            h2 { "设立评比方案" }
            details open[refused.as_ref().is_some_and(|r| r.form == "scheme")] { summary { "填写新方案的指标、权重和榜单" }
                (formula_form("/evaluations/schemes", "scheme", None, &refused, true)) }
        }
    };
    (status, page("四比", Some(c), body)).into_response()
}

async fn refused_list(
    state: &AppState,
    c: &Caller,
    form: String,
    f: Fields,
    e: ApiError,
) -> Response {
    list_render(
        state,
        c,
        None,
        Some(Refused {
            form,
            message: e.message,
            values: f,
        }),
    )
    .await
}

pub(super) async fn scheme_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let r = async {
        let formula = formula_of(&f)?;
        let cadence = Cadence::parse(field(&f, "cadence")).unwrap_or(Cadence::Quarterly);
        uc::create_scheme(
            &state,
            &c,
            uc::NewScheme {
                name: field(&f, "name").into(),
                cadence,
                formula,
            },
        )
        .await
    }
    .await;
    match r {
        Ok(_) => Redirect::to(&format!("/evaluations?ok={}", urlencode("评比方案已设立")))
            .into_response(),
        Err(e) => refused_list(&state, &c, "scheme".into(), f, e).await,
    }
}

pub(super) async fn scheme_revise_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "评比方案", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    let r = async { uc::revise(&state, &c, id, formula_of(&f)?).await }.await;
    match r {
        Ok(s) => Redirect::to(&format!(
            "/evaluations?ok={}",
            urlencode(&format!("公式已保存为第 {} 版", s.formula.version))
        ))
        .into_response(),
        Err(e) => refused_list(&state, &c, format!("revise-{id}"), f, e).await,
    }
}

pub(super) async fn evaluation_open_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Form(f): Form<Fields>,
) -> Response {
    let r = async {
        let first =
            NaiveDate::parse_from_str(field(&f, "first").trim(), "%Y-%m-%d").map_err(|_| {
                ApiError::from(bihuan_domain::DomainError::invalid(
                    "period",
                    "请按 年-月-日 填写期间第一天，如 2026-10-01",
                ))
            })?;
        let scheme = field(&f, "scheme").parse().unwrap_or(0);
        uc::open(&state, &c, uc::OpenEvaluation { scheme, first }).await
    }
    .await;
    match r {
        Ok(e) => Redirect::to(&format!("/evaluations/{}", e.id)).into_response(),
        Err(e) => refused_list(&state, &c, "open".into(), f, e).await,
    }
}

pub(super) async fn evaluation_page(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Query(q): Query<OkQuery>,
) -> Response {
    let id = match path_id(&id, "评比", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    render(&state, &c, id, q.ok.as_deref(), None).await
}

async fn render(
    state: &AppState,
    c: &Caller,
    id: u64,
    ok: Option<&str>,
    error: Option<String>,
) -> Response {
    let e: EvaluationView = match uc::evaluation(state, c, id).await {
        Ok(e) => e,
        Err(e) => return error_page(e.status, "无法打开评比", &e.message, Some(c)),
    };
    let today = bihuan_domain::time::local_date(state.clock.now());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        h1 { (e.period) " · " (e.scheme_name) }
        p.muted { (e.cadence_label) " · " (e.first) " 至 " (e.last)
            @if e.published { " · 已于 " (e.published_at.map(format_local).unwrap_or_default()) " 公开晾晒" @if let Some(by) = &e.published_by { "（" (by) "）" } " · " a href=(format!("/board/evaluations/{}", e.id)) { "查看公开页" } } }
        @if let Some(m) = ok { p.flash.ok role="status" { (m) } }
        @if e.live { p.flash.warn { "尚未公开：以下结果按方案现行公式（第 " (e.formula.version) " 版）实时计算，数据变化时随之变化。" } }
        div.panel { h2 { "评分公式（第 " (e.formula.version) " 版）" } p { (e.formula_text) } @if !e.formula.note.is_empty() { p.small.muted { (e.formula.note) } } }
        (boards(&e.standings))
        h2 { "全部单位" }
        (standings_table(&e.formula, &e.standings))
        @if !e.note.is_empty() { p { "发布说明：" (e.note) } }
        @if !e.published && uc::configures(c) {
            @if today > e.last {
                form.stack.panel #publish method="post" action=(format!("/evaluations/{id}/publish")) data-confirm="确认公开晾晒？发布后结果和公式冻结，不能撤回或修改。" {
                    h2 { "公开晾晒" }
                    @if let Some(m) = &error { p.field-error role="alert" { (m) } }
                    label for="note" { "发布说明（可选）" }
                    input #note type="text" name="note" maxlength="1000";
                    p { button.primary type="submit" { "公开晾晒" } }
                }
            } @else {
                p.muted { "本期到 " (e.last) " 结束，期满后才能公开晾晒。" }
            }
        }
        p { a href="/evaluations" { "返回四比" } }
    };
    (
        status,
        page(&format!("{} {}", e.period, e.scheme_name), Some(c), body),
    )
        .into_response()
}

pub(super) async fn evaluation_publish_submit(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match path_id(&id, "评比", &c) {
        Ok(id) => id,
        Err(p) => return *p,
    };
    match uc::publish(&state, &c, id, field(&f, "note").into()).await {
        Ok(_) => Redirect::to(&format!("/evaluations/{id}?ok={}", urlencode("已公开晾晒")))
            .into_response(),
        Err(e) => render(&state, &c, id, None, Some(e.message)).await,
    }
}

// ---------------------------------------------------------------------------------------------
// The public board

pub(super) async fn public_evaluations_page(State(state): State<AppState>) -> Response {
    let list = match uc::published(&state).await {
        Ok(l) => l,
        Err(e) => return error_page(e.status, "无法打开公开晾晒栏", &e.message, None),
    };
    let body = html! {
        h1 { "公开晾晒 · 四比结果" }
        p.muted { "县委、县政府对各部门和乡镇（街道）工作的量化评价，按发布时的数据和公式冻结公布；不含任何个人信息。 " a href="/board" { "诉求办理红灰榜" } }
        @if list.is_empty() { p.muted { "暂无已公开的评比结果。" } }
        @for e in &list { (public_card(e)) }
    };
    page("公开晾晒", None, body).into_response()
}

fn public_card(e: &PublicEvaluation) -> Markup {
    let on = |b: Board| -> Vec<&Standing> {
        e.standings.iter().filter(|s| s.board == Some(b)).collect()
    };
    let (top, bottom) = (on(Board::Red), on(Board::Grey));
    html! {
        section.panel {
            h2 { a href=(format!("/board/evaluations/{}", e.id)) { (e.period) " · " (e.scheme_name) } }
            p.small.muted { (e.cadence_label) " · " (e.first) " 至 " (e.last) " · " (format_local(e.published_at)) " 发布" }
            @if !top.is_empty() { p { "红榜：" (top.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("、")) } }
            @if !bottom.is_empty() { p { "灰榜：" (bottom.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("、")) } }
        }
    }
}

pub(super) async fn public_evaluation_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let e = match id.parse::<u64>() {
        Ok(id) => uc::published_one(&state, id).await,
        Err(_) => Err(ApiError::not_found("没有这次已公开的评比结果")),
    };
    let e = match e {
        Ok(e) => e,
        Err(e) => return error_page(e.status, "没有这次评比结果", &e.message, None),
    };
    let formula_terms: Vec<Term> = e
        .standings
        .first()
        .map(|s| {
            s.terms
                .iter()
                .map(|t| Term {
                    indicator: t.indicator,
                    weight: 0.0,
                    min_volume: 0,
                })
                .collect()
        })
        .unwrap_or_default();
    let header = Formula {
        version: e.formula_version,
        terms: formula_terms,
        min_share: 0.0,
        red: 0,
        grey: 0,
        awards: vec![],
        note: String::new(),
        at: e.published_at,
    };
    let body = html! {
        h1 { (e.period) " · " (e.scheme_name) }
        p { (e.cadence_label) " · 统计期间 " (e.first) " 至 " (e.last) " · " (format_local(e.published_at)) " 发布"
            " " button.no-print type="button" data-print="1" { "打印张贴" } }
        div.panel { h2 { "评分方法（第 " (e.formula_version) " 版）" } p { (e.formula_text) } }
        (boards(&e.standings))
        h2 { "全部单位" }
        (standings_table(&header, &e.standings))
        @if !e.note.is_empty() { p { "说明：" (e.note) } }
        p.small.muted { "本结果在发布时冻结，此后数据的变化不改变已公布的结果。数据来自群众诉求办理、攻坚清单和入户走访平台。" }
        p.no-print { a href="/board/evaluations" { "全部公开结果" } }
    };
    page(&format!("{} {}", e.period, e.scheme_name), None, body).into_response()
}
