//! The leader dashboard (领导驾驶舱) and the public board (公开晾晒): headline rates with their
//! change, trends, breakdowns and the red and grey boards, drawn with the embedded ECharts.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bihuan_domain::metrics::{self, Period, Rate, ScoreWeights};
use bihuan_domain::time::{format_local, local_date};
use bihuan_domain::Channel;
use chrono::{Datelike, Months};
use maud::{html, Markup, PreEscaped};
use serde_json::json;

use crate::console::PageUser;
use crate::report::{self, By, MetricsQuery};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/board", get(board))
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn rate(r: Rate) -> String {
    pct(r.value())
}

fn change(v: Option<f64>, label: &str) -> Markup {
    html! {
        @match v {
            Some(x) => span.small.muted { (label) " " (if x >= 0.0 { "↑" } else { "↓" }) (format!("{:.1}%", x.abs() * 100.0)) },
            None => span.small.muted { (label) " —" },
        }
    }
}

/// What the changes beside the figures compare with, in words.
fn basis_note(r: &report::Report) -> Markup {
    let span = |p: &Period| {
        format!(
            "{} 至 {}",
            local_date(p.start),
            local_date(p.end - chrono::Duration::seconds(1))
        )
    };
    html! {
        p.small.muted.basis {
            @match r.same_span {
                Some(days) => {
                    "本期尚未结束（已过 " (days) " 天）：环比与上期同期（" (span(&r.previous_period)) "）相比，同比与上年同期（" (span(&r.year_earlier_period)) "）相比。"
                }
                None => {
                    "环比与上期（" (span(&r.previous_period)) "）相比，同比与上年同期（" (span(&r.year_earlier_period)) "）相比。"
                }
            }
        }
    }
}

/// The units with repeat or over-level petitions in the period, most first.
fn petition_units(groups: &[report::Group]) -> Vec<&report::Group> {
    let mut v: Vec<&report::Group> = groups
        .iter()
        .filter(|g| g.rates.repeat_petitions + g.rates.over_level_petitions > 0)
        .collect();
    v.sort_by_key(|g| {
        std::cmp::Reverse((
            g.rates.repeat_petitions + g.rates.over_level_petitions,
            g.rates.repeat_petitions,
        ))
    });
    v
}

fn kpi(label: &str, value: String, href: &str, extra: Markup) -> Markup {
    html! { a.card href=(href) { div.n { (value) } div.l { (label) } div { (extra) } } }
}

/// A rate's card: the rate opens the appeals of its denominator, and the two counts under it
/// open the numerator's and the denominator's appeals.
fn rate_card(label: &str, r: Rate, code: &str, spec: &str, extra: Markup) -> Markup {
    rate_card_of(label, r, code, spec, "", extra)
}

/// [`rate_card`] for a part of the appeals (`filter`, e.g. `regime=petition`), whose links
/// carry the same filter.
fn rate_card_of(
    label: &str,
    r: Rate,
    code: &str,
    spec: &str,
    filter: &str,
    extra: Markup,
) -> Markup {
    let den = report::drill_href(code, "den", spec, None, filter);
    let num = report::drill_href(code, "num", spec, None, filter);
    let id = if filter.is_empty() {
        code.to_string()
    } else {
        format!("{code}:{filter}")
    };
    html! {
        div.card data-metric=(id) {
            a.n href=(den) { (rate(r)) }
            div.l { (label) }
            div.small { a.num href=(num) { (r.num) } " / " a.den href=(den) { (r.den) } }
            div { (extra) }
        }
    }
}

/// A rate in a table cell, opening the appeals of a unit's denominator; the counts open its
/// numerator and denominator.
fn rate_cell(r: Rate, code: &str, spec: &str, unit: &str) -> Markup {
    let den = report::drill_href(code, "den", spec, Some(unit), "");
    let num = report::drill_href(code, "num", spec, Some(unit), "");
    html! {
        @if r.den == 0 { "—" } @else {
            a href=(den) { (rate(r)) } " " span.small.muted { a href=(num) { (r.num) } "/" a href=(den) { (r.den) } }
        }
    }
}

/// Monthly series for the last twelve months up to the period's month, from the rollups.
async fn trend(
    state: &AppState,
    end: &Period,
    now: bihuan_domain::time::Instant,
    w: &ScoreWeights,
) -> Result<serde_json::Value, crate::error::ApiError> {
    use bihuan_domain::rollup::{Metric, Sums};
    let last = local_date(end.start);
    let mut months = Vec::new();
    for back in (0..12).rev() {
        if let Some(d) = last
            .with_day(1)
            .and_then(|d| d.checked_sub_months(Months::new(back)))
        {
            if let Some(p) = Period::month(d.year(), d.month()) {
                months.push((format!("{}-{:02}", d.year(), d.month()), p));
            }
        }
    }
    let mut by_channel = Vec::new();
    for (_, p) in &months {
        by_channel.push(report::sums(state, p, bihuan_store::rollups::Dim::Channel, now).await?);
    }
    let labels: Vec<&str> = months.iter().map(|m| m.0.as_str()).collect();
    let series: Vec<serde_json::Value> = Channel::ALL
        .iter()
        .map(|ch| {
            let data: Vec<u64> = by_channel
                .iter()
                .map(|m| m.get(ch.code()).map(|s| s.count(Metric::Vol)).unwrap_or(0))
                .collect();
            json!({"name": ch.label(), "type": "bar", "stack": "v", "data": data})
        })
        .collect();
    let totals: Vec<Sums> = by_channel
        .iter()
        .map(|m| {
            let mut t = Sums::default();
            for s in m.values() {
                t.merge(s);
            }
            t
        })
        .collect();
    let round = |x: f64| (x * 1000.0).round() / 10.0;
    let closed: Vec<Option<f64>> = totals
        .iter()
        .map(|t| t.rate(Metric::Cl).value().map(round))
        .collect();
    let sat: Vec<Option<f64>> = totals
        .iter()
        .map(|t| t.visits().satisfaction(w.basic_weight).map(round))
        .collect();
    let ontime: Vec<Option<f64>> = totals
        .iter()
        .map(|t| t.rate(Metric::Otc).value().map(round))
        .collect();
    Ok(
        json!({"months": labels, "volume": series, "closed_loop": closed, "satisfaction": sat, "on_time": ontime}),
    )
}

async fn dashboard(
    State(state): State<AppState>,
    PageUser(c): PageUser,
    Query(q): Query<MetricsQuery>,
) -> Response {
    if !report::READERS.contains(&c.user.role) {
        return crate::console::error_page_pub(
            StatusCode::FORBIDDEN,
            "无权访问",
            "驾驶舱仅限领导、督办、中心和回访人员",
            Some(&c),
        );
    }
    let units = match report::build(
        &state,
        &MetricsQuery {
            by: Some("unit".into()),
            ..q_clone(&q)
        },
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            return crate::console::error_page_pub(e.status, "期间有误", &e.message, Some(&c))
        }
    };
    let now = state.clock.now();
    let cat = state.store.catalog();
    let w = cat.weights;
    let parts = async {
        let towns = report::breakdown(&state, By::Township, &units.period, now, &cat, &w).await?;
        let cats = report::breakdown(&state, By::Category, &units.period, now, &cat, &w).await?;
        let trend = trend(&state, &units.period, now, &w).await?;
        // 信访: the petition kinds' own rates, and the volume a year earlier (same span).
        let pet = report::petition_total(&state, &units.period, now).await?;
        let pet_before = report::petition_total(&state, &units.year_earlier_period, now).await?;
        Ok::<_, crate::error::ApiError>((towns, cats, trend, (pet, pet_before)))
    };
    let (towns, cats, trend, (pet, pet_before)) = match parts.await {
        Ok(p) => p,
        Err(e) => {
            return crate::console::error_page_pub(e.status, "统计暂不可用", &e.message, Some(&c))
        }
    };
    let h = &units.headline;
    let from = local_date(units.period.start);
    let to = local_date(units.period.end - chrono::Duration::seconds(1));
    let spec = units.spec.as_str();
    let running = units.period.end > now;
    let town_scores: Vec<_> = {
        let mut v: Vec<_> = towns
            .iter()
            .filter(|t| t.key != "none")
            .map(|t| {
                (
                    t.name.clone(),
                    t.rates.composite.map(|x| (x * 10.0).round() / 10.0),
                    t.rates.visits.visited,
                )
            })
            .collect();
        v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        v
    };
    let mut overdue_by_unit: Vec<(String, u64)> = units
        .groups
        .iter()
        .map(|g| (g.name.clone(), g.rates.overdue))
        .filter(|x| x.1 > 0)
        .collect();
    overdue_by_unit.sort_by_key(|x| std::cmp::Reverse(x.1));
    overdue_by_unit.truncate(12);
    let data = json!({
        "trend": trend,
        "towns": {"names": town_scores.iter().map(|t| t.0.clone()).collect::<Vec<_>>(), "scores": town_scores.iter().map(|t| t.1).collect::<Vec<_>>()},
        "overdue": {"names": overdue_by_unit.iter().map(|t| t.0.clone()).collect::<Vec<_>>(), "counts": overdue_by_unit.iter().map(|t| t.1).collect::<Vec<_>>()},
        "categories": cats.iter().filter(|g| g.rates.volume > 0).map(|g| json!({"name": g.name, "value": g.rates.volume})).collect::<Vec<_>>(),
    });
    let entered = state
        .store
        .entered_rates(&units.spec)
        .await
        .unwrap_or_default();
    let approvals = crate::approvals::county_efficiency(&state, units.period)
        .await
        .ok();
    let last = local_date(units.period.end - chrono::Duration::seconds(1));
    let surveyed = crate::surveys::headline(&state, last)
        .await
        .unwrap_or_default();
    let five = report::five_rates_json(&units, &entered, approvals.as_ref(), &surveyed);
    let name_of = |k: &String| {
        units
            .groups
            .iter()
            .find(|g| &g.key == k)
            .map(|g| g.name.clone())
            .unwrap_or_default()
    };
    let body = html! {
        h1 { "领导驾驶舱 · " (from) " 至 " (to) }
        p.small.muted.no-print { "点击任一数字可查看它计入的诉求：比率看分母，其下的两个数分别是分子和分母。" }
        (period_form("/dashboard", now, &units.spec, html! {}))
        h2 { "五率" }
        div.cards {
            @for f in five.as_array().into_iter().flatten() {
                @let computed = f["source"].as_str().is_some_and(|s| s.starts_with("平台计算"));
                div.card {
                    div.n { (f["value"].as_f64().map(|v| format!("{:.2}%", v * 100.0)).unwrap_or_else(|| if computed { "—".into() } else { "待录入".into() })) }
                    div.l {
                        @if f["name"] == "approval_efficiency" { a href=(format!("/approvals?period={}", units.spec)) { (f["label"].as_str().unwrap_or_default()) } }
                        @else { (f["label"].as_str().unwrap_or_default()) }
                    }
                    div.small.muted { (f["source"].as_str().unwrap_or("由管理员按期录入")) }
                }
            }
        }
        h2 { "诉求办理" }
        (basis_note(&units))
        div.cards {
            (kpi("受理量", h.volume.to_string(), &report::drill_href("volume", "den", spec, None, ""), html! { (change(metrics::change(h.volume as f64, units.year_earlier.volume as f64), "同比")) br; (change(metrics::change(h.volume as f64, units.previous.volume as f64), "环比")) }))
            (rate_card("及时受理率", h.timely_acceptance, "timely_acceptance", spec, html! {}))
            (rate_card("按期办结率", h.on_time_completion, "on_time_completion", spec, html! {}))
            (rate_card("闭环率", h.closed_loop, "closed_loop", spec, html! { (change(h.closed_loop.value().zip(units.previous.closed_loop.value()).and_then(|(a, b)| metrics::change(a, b)), "环比")) }))
            (rate_card("一次性化解率", h.one_shot, "one_shot", spec, html! {}))
            div.card data-metric="satisfied" {
                a.n href=(report::drill_href("response", "den", spec, None, "")) { (pct(h.satisfaction)) }
                div.l { "满意率" }
                div.small {
                    "满意 " a.num href=(report::drill_href("satisfied", "num", spec, None, "")) { (h.visits.satisfied) }
                    " 基本满意 " a href=(report::drill_href("basic", "num", spec, None, "")) { (h.visits.basic) }
                    " / 回访 " a.den href=(report::drill_href("response", "den", spec, None, "")) { (h.visits.visited) }
                }
                div { (change(h.satisfaction.zip(units.previous.satisfaction).and_then(|(a, b)| metrics::change(a, b)), "环比")) }
            }
            (kpi("综合得分", h.composite.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into()), &report::drill_href("response", "den", spec, None, ""), html! { span.small.muted { "响应10%+解决50%+满意40%" } }))
            a.card.bad #overdue-card href=(report::drill_href("overdue", "den", spec, None, "sort=due")) {
                div.n { (h.overdue) }
                div.l { @if running { "当前超期" } @else { "期末超期" } }
                div.small.muted { @if running { "现在仍在超期的诉求" } @else { "期末时办理期限已过仍未答复" } }
            }
        }
        h2 { "信访事项 " a.small href=(format!("/reports/petitions/{}", bihuan_domain::time::local_date(units.period.start).year())) target="_blank" { "信访工作年度报告" } }
        @let p = report::rates_from_sums(&pet, false, &w);
        @let p_before = report::rates_from_sums(&pet_before, false, &w);
        div.cards #petition-cards {
            (kpi("信访量（件次）", p.volume.to_string(), &report::drill_href("volume", "den", spec, None, "regime=petition"), html! { (change(metrics::change(p.volume as f64, p_before.volume as f64), "同比")) }))
            (rate_card_of("信访事项及时受理率", p.timely_acceptance, "timely_acceptance", spec, "regime=petition", html! {}))
            (rate_card_of("信访按期办结率", p.on_time_completion, "on_time_completion", spec, "regime=petition", html! {}))
            (rate_card_of("初次信访一次性化解率", p.one_shot, "one_shot", spec, "regime=petition", html! { span.small.muted { "办结后未重办、未请求复查复核、未重复信访" } }))
            (kpi("重复信访（件）", p.repeat_petitions.to_string(), &report::drill_href("repeat", "den", spec, None, ""), html! { (change(metrics::change(p.repeat_petitions as f64, p_before.repeat_petitions as f64), "同比")) " " span.small.muted { "就已受理的同一事项再次信访" } }))
            (kpi("越级信访（件）", p.over_level_petitions.to_string(), &report::drill_href("over_level", "den", spec, None, ""), html! { (change(metrics::change(p.over_level_petitions as f64, p_before.over_level_petitions as f64), "同比")) " " span.small.muted { "向省级或国家信访局提出" } }))
        }
        @let pet_units = petition_units(&units.groups);
        @if !pet_units.is_empty() {
            details.panel #petition-units {
                summary { "重复信访、越级信访较多的单位（按主办单位，" (pet_units.len()) " 个）" }
                div.table-wrap { table {
                    thead { tr { th { "单位" } th { "重复信访" } th { "越级信访" } } }
                    tbody {
                        @for g in pet_units.iter().take(10) {
                            tr {
                                td { (g.name) }
                                td { a href=(report::drill_href("repeat", "den", spec, Some(&g.key), "")) { (g.rates.repeat_petitions) } }
                                td { a href=(report::drill_href("over_level", "den", spec, Some(&g.key), "")) { (g.rates.over_level_petitions) } }
                            }
                        }
                    }
                } }
            }
        }
        (door_to_door(&state, &c).await)
        div.panel { h2 { "近12个月受理量（按渠道）与闭环率、满意率、按期办结率" } div #trend.chart-360 {} }
        div.row {
            div.panel { h2 { "乡镇综合得分" } div #towns.chart-420 {} }
            div.panel { h2 { "超期工单（按主办单位）" } div #overdue.chart-420 {} }
        }
        div.row {
            div.panel {
                h2 { "红榜（部门与乡镇，综合得分最高）" }
                ol { @for k in &units.ranking.red { li { a href=(report::drill_href("volume", "den", spec, Some(k), "")) { (name_of(k)) } } } }
                h2 { "灰榜（综合得分最低）" }
                ol { @for k in &units.ranking.grey { li { a href=(report::drill_href("volume", "den", spec, Some(k), "")) { (name_of(k)) } } } }
                p.small.muted { "回访量少于 " (units.ranking.min_volume) " 件的单位只列示、不排名。" }
            }
            div.panel { h2 { "受理量（按一级分类）" } div #cats.chart-360 {} }
        }
        h2 { "双考核（吹哨报到）" }
        div.row {
            div.panel {
                h2 { "协同红榜" }
                ol { @for k in &units.coordination_ranking.red { li { a href=(report::drill_href("volume", "den", spec, Some(k), "")) { (name_of(k)) } } } }
                h2 { "协同灰榜" }
                ol { @for k in &units.coordination_ranking.grey { li { a href=(report::drill_href("volume", "den", spec, Some(k), "")) { (name_of(k)) } } } }
                p.small.muted {
                    "双考核得分 = 报到及时率×" (format!("{:.0}%", w.coordination.report_in * 100.0))
                    " + 协办意见及时率×" (format!("{:.0}%", w.coordination.assist * 100.0))
                    " + 吹哨解决率×" (format!("{:.0}%", w.coordination.whistle * 100.0))
                    "（单位没有的项目不计，其余按权重折算）；已知结果少于 " (units.coordination_ranking.min_volume) " 项的单位只列示、不排名。"
                    @if w.coordination_share > 0.0 { "在单位排名中占 " (format!("{:.0}%", w.coordination_share * 100.0)) "。" } @else { "目前不计入单位综合排名（管理员可设置占比）。" }
                }
            }
            div.panel {
                div.cards {
                    (rate_card("报到及时率", h.report_in, "report_in", spec, html! { span.small.muted { "被吹哨单位按时报到 / 应报到" } }))
                    (rate_card("协办意见及时率", h.assist, "assist", spec, html! { span.small.muted { "协办单位按时提交 / 应提交" } }))
                    (rate_card("吹哨解决率", h.whistle, "whistle", spec, html! { span.small.muted { "吹哨后解决 / 吹哨后答复" } }))
                }
            }
        }
        div.table-wrap { table {
            thead { tr { th { "名次" } th { "单位" } th { "双考核得分" } th { "报到及时率" } th { "协办意见及时率" } th { "吹哨解决率" } } }
            tbody {
                @for e in &units.coordination_ranking.entries {
                    @if let Some(g) = units.groups.iter().find(|g| g.key == e.key) {
                        @if g.rates.coordination_volume() > 0 {
                            tr {
                                td { (e.rank.map(|r| r.to_string()).unwrap_or_else(|| "不排名".into())) }
                                td { a href=(report::drill_href("volume", "den", spec, Some(&g.key), "")) { (g.name) } }
                                td { (g.rates.coordination.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())) }
                                td { (rate_cell(g.rates.report_in, "report_in", spec, &g.key)) }
                                td { (rate_cell(g.rates.assist, "assist", spec, &g.key)) }
                                td { (rate_cell(g.rates.whistle, "whistle", spec, &g.key)) }
                            }
                        }
                    }
                }
            }
        } }
        h2 { "单位排名 " a.small href=(format!("/api/v1/export/ranking.xlsx?period={}&by=unit", units.spec)) { "导出 Excel" } " " a.small href=(format!("/api/v1/export/ranking.csv?period={}&by=unit", units.spec)) { "CSV" } }
        div.table-wrap { table {
            thead { tr { th { "名次" } th { "单位" } th { "回访量" } th { "综合得分" } th { "满意率" } th { "解决率" } th { "按期办结率" } th { "及时受理率" } th { "退单率" } th { "超期" } } }
            tbody {
                @for e in &units.ranking.entries {
                    @if let Some(g) = units.groups.iter().find(|g| g.key == e.key) {
                        @if g.rates.visits.visited > 0 || g.rates.overdue > 0 {
                            tr {
                                td { (e.rank.map(|r| r.to_string()).unwrap_or_else(|| "不排名".into())) }
                                td { a href=(report::drill_href("volume", "den", spec, Some(&g.key), "")) { (g.name) } }
                                td { a href=(report::drill_href("response", "den", spec, Some(&g.key), "")) { (g.rates.visits.visited) } }
                                td { (g.rates.composite.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())) }
                                td { a href=(report::drill_href("satisfied", "num", spec, Some(&g.key), "")) { (pct(g.rates.satisfaction)) } }
                                td { (rate_cell(Rate::new(g.rates.visits.resolved, g.rates.visits.visited), "resolution", spec, &g.key)) }
                                td { (rate_cell(g.rates.on_time_completion, "on_time_completion", spec, &g.key)) }
                                td { (rate_cell(g.rates.timely_acceptance, "timely_acceptance", spec, &g.key)) }
                                td { (rate_cell(g.rates.return_rate, "return_rate", spec, &g.key)) }
                                td { @if g.rates.overdue > 0 { a href=(report::drill_href("overdue", "den", spec, Some(&g.key), "")) { span.badge.overdue { (g.rates.overdue) } } } @else { "0" } }
                            }
                        }
                    }
                }
            }
        } }
        p.small.muted { "口径见 docs/metrics.md。数据截至 " (format_local(now)) "（每件诉求办理时同步汇总，随时最新）。" }
        script type="application/json" #dashboard-data { (PreEscaped(data.to_string().replace("</", "<\\/"))) }
        script src="/assets/echarts.min.js" {}
        script src="/assets/dashboard.js" {}
    };
    crate::console::page_pub("领导驾驶舱", Some(&c), body).into_response()
}

/// 入户听诉 on the dashboard: each running campaign's coverage and needs, and its townships
/// with the lowest coverage, each opening the campaign's own page.
async fn door_to_door(state: &AppState, c: &crate::auth::Caller) -> maud::Markup {
    let running = crate::visits::running(state).await.unwrap_or_default();
    let mut tables = Vec::new();
    for camp in running.iter().take(3) {
        if let Ok(t) =
            crate::visits::coverage(state, c, camp.id, crate::visits::Level::Township).await
        {
            tables.push(t);
        }
    }
    let pct = |r: Option<f64>| r.map_or_else(|| "—".to_string(), |x| format!("{x:.1}%"));
    html! {
        @for t in &tables {
            @let id = t.campaign.id;
            h2 { "入户听诉 " a.small href=(format!("/visit-campaigns/{id}")) { (t.campaign.campaign.plan.name) } }
            div.cards #visit-cards {
                a.card href=(format!("/visit-campaigns/{id}")) { div.small.muted { "走访覆盖率" } strong { (pct(t.total.rate)) } div.small { (t.total.coverage.visited) " / " (t.total.coverage.households) " 户（启动时在册）" } }
                a.card href=(format!("/visit-campaigns/{id}/households?unit=a&which=not_visited")) { div.small.muted { "未走访" } strong { (t.total.coverage.households - t.total.coverage.visited) } div.small { "户，可查看名单和包户干部" } }
                a.card href=(format!("/visit-campaigns/{id}")) { div.small.muted { "发现诉求" } strong { (t.total.coverage.needs) } div.small { "当场解答 " (t.total.coverage.answered) "，转为工单 " (t.total.coverage.raised) } }
                a.card href=(format!("/visit-campaigns/{id}")) { div.small.muted { "入户诉求办结率" } strong { (pct(t.appeals_closed_rate)) } div.small { (t.appeals_closed) " / " (t.appeals) " 件" } }
            }
            @if !t.rows.is_empty() {
                details.panel {
                    summary { "覆盖率最低的乡镇（街道）" }
                    div.table-wrap { table {
                        thead { tr { th { "乡镇（街道）" } th { "应访户数" } th { "已走访" } th { "覆盖率" } th { "未走访" } } }
                        tbody {
                            @for r in t.rows.iter().take(5) {
                                tr {
                                    td { (r.name) }
                                    td { (r.coverage.households) }
                                    td { (r.coverage.visited) }
                                    td { (pct(r.rate)) }
                                    td { a href=(format!("/visit-campaigns/{id}/households?unit=t{}&which=not_visited", r.id)) { (r.coverage.households - r.coverage.visited) } }
                                }
                            }
                        }
                    } }
                }
            }
        }
    }
}

fn q_clone(q: &MetricsQuery) -> MetricsQuery {
    MetricsQuery {
        period: q.period.clone(),
        by: q.by.clone(),
        min_volume: q.min_volume,
        board: q.board,
        coordination_min_volume: q.coordination_min_volume,
        from: q.from.clone(),
        to: q.to.clone(),
    }
}

/// The periods of 四比 to choose from: the last 24 months, the last 12 assessment months (19th
/// to 18th), the last 8 quarters, the last 4 half-years and the last 3 years. Any other period,
/// a custom range included, is given by its spec (`days:2026-11-01:2026-11-15`) or `from`/`to`.
fn period_choices(now: bihuan_domain::time::Instant) -> Vec<(String, String)> {
    let d = local_date(now);
    let mut v = Vec::new();
    for back in 0..24 {
        if let Some(m) = d.checked_sub_months(Months::new(back)) {
            v.push((
                format!("month:{}-{:02}", m.year(), m.month()),
                format!("{}年{}月", m.year(), m.month()),
            ));
        }
    }
    for back in 0..12 {
        if let Some(m) = d.checked_sub_months(Months::new(back)) {
            v.push((
                format!("assess:{}-{:02}", m.year(), m.month()),
                format!("{}年{}月考核期（上月19日至本月18日）", m.year(), m.month()),
            ));
        }
    }
    let (mut y, mut q) = (d.year(), (d.month() - 1) / 3 + 1);
    for _ in 0..8 {
        v.push((format!("quarter:{y}-{q}"), format!("{y}年第{q}季度")));
        if q == 1 {
            y -= 1;
            q = 4;
        } else {
            q -= 1;
        }
    }
    let (mut y, mut h) = (d.year(), if d.month() <= 6 { 1 } else { 2 });
    for _ in 0..4 {
        v.push((
            format!("half:{y}-{h}"),
            format!("{y}年{}", if h == 1 { "上半年" } else { "下半年" }),
        ));
        if h == 1 {
            y -= 1;
            h = 2;
        } else {
            h = 1;
        }
    }
    for back in 0..3 {
        let y = d.year() - back;
        v.push((format!("year:{y}"), format!("{y}年全年")));
    }
    v
}

/// The period selector of the dashboard and the board: the choices above, the period in force if
/// it is none of them, and a custom range.
fn period_form(
    action: &str,
    now: bihuan_domain::time::Instant,
    spec: &str,
    extra: Markup,
) -> Markup {
    let choices = period_choices(now);
    let (from, to) = spec
        .strip_prefix("days:")
        .and_then(|r| r.split_once(':'))
        .unwrap_or(("", ""));
    html! {
        form.filters.no-print method="get" action=(action) {
            label { "期间" select name="period" {
                @for (value, label) in &choices { option value=(value) selected[value == spec] { (label) } }
                @if !choices.iter().any(|(v, _)| v == spec) { option value=(spec) selected { (spec) } }
            } }
            label { "或自定义起" input type="date" name="from" value=(from); }
            label { "止" input type="date" name="to" value=(to); }
            button.primary type="submit" { "查看" }
            (extra)
        }
    }
}

/// The spec of the last complete month before `now`.
fn last_complete_month(now: bihuan_domain::time::Instant) -> String {
    let d = local_date(now)
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(1)))
        .unwrap_or_else(|| local_date(now));
    format!("month:{}-{:02}", d.year(), d.month())
}

/// Why an entry has no rank, in words a citizen reads.
fn unranked_reason(volume: u64, score: Option<f64>, min_volume: u64) -> String {
    if volume == 0 {
        "本期没有回访，不排名".to_string()
    } else if volume < min_volume {
        format!("回访量 {volume} 件，不足 {min_volume} 件，不排名")
    } else if score.is_none() {
        "没有可计算的得分，不排名".to_string()
    } else {
        String::new()
    }
}

/// The link of a board row's figure: a unit's own work, or everything in a township.
fn row_href(code: &str, part: &str, spec: &str, key: &str, by_unit: bool) -> Option<String> {
    // The group of appeals with no unit or no township has no list of its own.
    key.parse::<u32>().ok()?;
    Some(if by_unit {
        report::drill_href(code, part, spec, Some(key), "")
    } else {
        report::drill_href(code, part, spec, None, &format!("township={key}"))
    })
}

fn board_table(r: &report::Report, by_unit: bool) -> Markup {
    let spec = r.spec.as_str();
    html! {
        div.table-wrap { table {
            thead { tr { th { "名次" } th { "名称" } th { "回访量" } th { "综合得分" } th { "满意率" } th { "解决率" } th { "按期办结率" } } }
            tbody {
                @for e in &r.ranking.entries {
                    @if let Some(g) = r.groups.iter().find(|g| g.key == e.key) {
                        tr {
                            td { @match e.rank { Some(n) => { (n) }, None => { span.muted.small { (unranked_reason(e.volume, e.score, r.ranking.min_volume)) } } } }
                            td { (g.name) }
                            td { a href=[row_href("response", "den", spec, &g.key, by_unit)] { (e.volume) } }
                            td { (g.rates.composite.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())) }
                            td { a href=[row_href("satisfied", "num", spec, &g.key, by_unit)] { (pct(g.rates.satisfaction)) } }
                            td { a href=[row_href("resolution", "num", spec, &g.key, by_unit)] { (pct(g.rates.resolution)) } }
                            td { a href=[row_href("on_time_completion", "den", spec, &g.key, by_unit)] { (rate(g.rates.on_time_completion)) } }
                        }
                    }
                }
            }
        } }
    }
}

/// The public board (公开晾晒): red and grey boards of departments and of townships for a period
/// (the last complete month unless one is chosen), with how they are scored and why a unit is
/// not ranked; no personal data, no login; prints for posting.
async fn board(State(state): State<AppState>, Query(q): Query<MetricsQuery>) -> Response {
    let now = state.clock.now();
    let spec = report::spec_of(&q).unwrap_or_else(|| last_complete_month(now));
    let query = |by: &str| MetricsQuery {
        period: Some(spec.clone()),
        by: Some(by.into()),
        ..q_clone(&q)
    };
    let units = match report::build(&state, &query("unit")).await {
        Ok(r) => r,
        Err(e) => return crate::console::error_page_pub(e.status, "期间有误", &e.message, None),
    };
    let towns = match report::build(&state, &query("township")).await {
        Ok(r) => r,
        Err(e) => return crate::console::error_page_pub(e.status, "期间有误", &e.message, None),
    };
    let from = local_date(units.period.start);
    let to = local_date(units.period.end - chrono::Duration::seconds(1));
    let name_of = |r: &report::Report, k: &String| {
        r.groups
            .iter()
            .find(|g| &g.key == k)
            .map(|g| g.name.clone())
            .unwrap_or_default()
    };
    let score_of = |r: &report::Report, k: &String| {
        r.groups
            .iter()
            .find(|g| &g.key == k)
            .and_then(|g| g.rates.composite)
            .map(|x| format!("{x:.1}"))
            .unwrap_or_default()
    };
    let w = state.store.catalog().weights;
    let boards = |r: &report::Report, what: &str| {
        html! {
            div.row {
                div.panel { h2 { (what) "红榜" }
                    @if r.ranking.red.is_empty() { p.muted { "本期没有达到排名条件的" (what) "。" } }
                    ol { @for k in &r.ranking.red { li { (name_of(r, k)) " · " (score_of(r, k)) " 分" } } } }
                div.panel { h2 { (what) "灰榜" }
                    @if r.ranking.grey.is_empty() { p.muted { "参与排名的" (what) "不足，暂无灰榜。" } }
                    ol { @for k in &r.ranking.grey { li { (name_of(r, k)) " · " (score_of(r, k)) " 分" } } } }
            }
        }
    };
    let body = html! {
        h1 { "诉求办理红灰榜 · " (from) " 至 " (to) }
        p.no-print { a href="/board/evaluations" { "四比评比结果（公开晾晒）" } }
        (period_form("/board", now, &spec, html! { button type="button" data-print="1" { "打印张贴" } }))
        @if units.same_span.is_some() { p.small.muted { "本期尚未结束，榜单随回访结果变化；默认显示上一个完整月。" } }
        p.muted {
            "依据回访结果计算：综合得分 = 响应率×" (format!("{:.0}%", w.response * 100.0)) " + 解决率×" (format!("{:.0}%", w.resolution * 100.0)) " + 满意率×" (format!("{:.0}%", w.satisfaction * 100.0))
            "（基本满意按 " (format!("{:.0}%", w.basic_weight * 100.0)) " 计）。回访量少于 " (units.ranking.min_volume) " 件的单位只列示、不排名，以免一两件诉求决定名次。"
        }
        div.cards {
            a.card href=(report::drill_href("volume", "den", &spec, None, "")) { div.n { (units.headline.volume) } div.l { "受理量" } }
            a.card href=(report::drill_href("closed_loop", "den", &spec, None, "")) { div.n { (rate(units.headline.closed_loop)) } div.l { "闭环率" } }
            a.card href=(report::drill_href("response", "den", &spec, None, "")) { div.n { (pct(units.headline.satisfaction)) } div.l { "满意率" } }
            a.card href=(report::drill_href("on_time_completion", "den", &spec, None, "")) { div.n { (rate(units.headline.on_time_completion)) } div.l { "按期办结率" } }
        }
        p.small.muted.no-print { "工作人员登录后，点击数字可查看其计入的诉求。" }
        (boards(&units, "部门和乡镇"))
        p.small.muted { "部门和乡镇榜按主办单位统计各单位办理的诉求；乡镇（街道）榜按诉求发生地统计该乡镇（街道）内的全部诉求，不论由谁主办。" }
        (boards(&towns, "乡镇（街道）"))
        h2 { "全部单位" }
        (board_table(&units, true))
        h2 { "全部乡镇（街道）" }
        (board_table(&towns, false))
        p.small.muted { "数据来自 12345 诉求办理平台，每件诉求办理时同步汇总；不含任何个人信息。" }
    };
    crate::console::page_pub("红灰榜", None, body).into_response()
}
