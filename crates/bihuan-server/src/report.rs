//! Rates, breakdowns and rankings for a period (`GET /api/v1/metrics`, the leader dashboard and
//! the public board), read from the rollups the store keeps in its write transactions (see
//! `bihuan_domain::rollup` and `bihuan_store::rollups`): a period's figures are sums over day and
//! month rows, so their cost does not grow with the number of appeals.
//!
//! [`rates`] computes the same figures from appeals in memory with the domain's formulas; the
//! tests hold the rollups to it.

use bihuan_domain::ErrorCode;
use std::collections::{BTreeMap, HashMap};

use bihuan_domain::lifecycle::Appeal;
use bihuan_domain::metrics::{self, Period, Rate, Scope, ScoreWeights, VisitCounts};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::rollup::Sums;
use bihuan_domain::time::{local_date, Instant};
use bihuan_store::rollups::{Dim, RollupQuery};
use bihuan_store::Catalog;
use chrono::Datelike;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Who may read the county's figures (metrics, five rates, rankings, the dashboard).
pub const READERS: &[bihuan_domain::lifecycle::Role] = {
    use bihuan_domain::lifecycle::Role;
    &[
        Role::Leader,
        Role::Supervisor,
        Role::Dispatcher,
        Role::Admin,
        Role::ReturnVisitor,
    ]
};

/// Parses `month:2026-11`, `quarter:2026-4`, `half:2026-1`, `year:2026`, `assess:2026-11`
/// (19th to 18th), or `days:2026-11-01:2026-11-15`.
pub fn parse_period(spec: &str) -> ApiResult<Period> {
    let bad = || {
        ApiError::bad_request(
            ErrorCode::BadPeriod,
            format!("期间「{spec}」无效：可用 month:2026-11、quarter:2026-4、half:2026-1、year:2026、assess:2026-11、days:2026-11-01:2026-11-15，日期须在 1970-01-01 至 2199-12-31 之间"),
        )
    };
    let (kind, rest) = spec.trim().split_once(':').ok_or_else(bad)?;
    let ym = |s: &str| -> Option<(i32, u32)> {
        let (y, m) = s.split_once('-')?;
        Some((y.parse().ok()?, m.parse().ok()?))
    };
    let p = match kind {
        "month" => ym(rest).and_then(|(y, m)| Period::month(y, m)),
        "assess" => ym(rest).and_then(|(y, m)| Period::assessment_month(y, m, 19)),
        "quarter" => ym(rest).and_then(|(y, q)| Period::quarter(y, q)),
        "half" => ym(rest).and_then(|(y, h)| Period::half(y, h)),
        "year" => rest.parse().ok().and_then(Period::year),
        "days" => {
            let (a, b) = rest.split_once(':').ok_or_else(bad)?;
            let a = bihuan_domain::time::parse_date(a).map_err(|_| bad())?;
            let b = bihuan_domain::time::parse_date(b).map_err(|_| bad())?;
            if (b - a).num_days() > 3 * 366 {
                return Err(ApiError::bad_request(
                    ErrorCode::BadPeriod,
                    "自定义期间不能超过3年",
                ));
            }
            Period::days(a, b)
        }
        _ => None,
    };
    p.ok_or_else(bad)
}

/// The month spec of the month containing `now`.
pub fn current_month(now: Instant) -> String {
    let d = local_date(now);
    format!("month:{}-{:02}", d.year(), d.month())
}

/// A rate as the API shows it: its parts and its value (none while the denominator is 0).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct RateView {
    pub num: u64,
    pub den: u64,
    pub value: Option<f64>,
}

impl From<Rate> for RateView {
    fn from(r: Rate) -> RateView {
        RateView {
            num: r.num,
            den: r.den,
            value: r.value(),
        }
    }
}

/// Return-visit counts behind the satisfaction figures.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct VisitsView {
    pub visited: u64,
    pub contacted: u64,
    pub resolved: u64,
    pub satisfied: u64,
    pub basic: u64,
}

/// Every rate of one group of appeals, as the API shows it (see `docs/metrics.md`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RatesView {
    pub volume: u64,
    pub timely_acceptance: RateView,
    pub on_time_completion: RateView,
    pub closed_loop: RateView,
    pub one_shot: RateView,
    pub visits: VisitsView,
    pub response: Option<f64>,
    pub resolution: Option<f64>,
    pub satisfaction: Option<f64>,
    pub composite: Option<f64>,
    pub return_rate: RateView,
    pub redo_rate: RateView,
    pub overdue: u64,
    pub average_handling_days: Option<f64>,
    /// 报到及时率 (双考核, the called side).
    pub report_in: RateView,
    /// 协办意见及时率.
    pub assist: RateView,
    /// 吹哨解决率 (双考核, the whistling side).
    pub whistle: RateView,
    /// The 双考核 score, 0–100 (the weights' `coordination`).
    pub coordination: Option<f64>,
    /// What units are ranked by: the composite score, with the 双考核 score's share.
    pub ranking_score: Option<f64>,
    /// 重复信访: first petitions registered in the period that repeat an accepted matter.
    pub repeat_petitions: u64,
    /// 越级信访: first petitions registered in the period lodged over the level above.
    pub over_level_petitions: u64,
}

/// Every rate of one group of appeals.
#[derive(Debug, Clone, Serialize)]
pub struct Rates {
    pub volume: u64,
    pub timely_acceptance: Rate,
    pub on_time_completion: Rate,
    pub closed_loop: Rate,
    pub one_shot: Rate,
    pub visits: VisitCounts,
    pub response: Option<f64>,
    pub resolution: Option<f64>,
    pub satisfaction: Option<f64>,
    pub composite: Option<f64>,
    pub return_rate: Rate,
    pub redo_rate: Rate,
    pub overdue: u64,
    pub average_handling_days: Option<f64>,
    pub report_in: Rate,
    pub assist: Rate,
    pub whistle: Rate,
    pub coordination: Option<f64>,
    pub ranking_score: Option<f64>,
    pub repeat_petitions: u64,
    pub over_level_petitions: u64,
}

impl Rates {
    /// Fills in the two scores from the rates and the weights.
    fn scored(mut self, w: &ScoreWeights) -> Rates {
        self.coordination = w
            .coordination
            .score(self.report_in, self.assist, self.whistle);
        self.ranking_score = w.ranking_score(self.composite, self.coordination);
        self
    }

    /// Known 双考核 outcomes: what the 双考核 score rests on.
    pub fn coordination_volume(&self) -> u64 {
        self.report_in.den + self.assist.den + self.whistle.den
    }
}

pub fn rates(
    appeals: &[&Appeal],
    repeats: &metrics::RepeatIndex,
    scope: Scope,
    period: &Period,
    now: Instant,
    cat: &Catalog,
    w: &ScoreWeights,
) -> Rates {
    let it = || appeals.iter().copied();
    let visits = metrics::visit_counts(it(), scope, period);
    // Repeats are looked for among every appeal: the same person may raise it anywhere.
    let one_shot = metrics::one_shot_resolution_among(it(), repeats, scope, period, 90);
    Rates {
        volume: metrics::volume(it(), period),
        timely_acceptance: metrics::timely_acceptance(it(), scope, period, now),
        on_time_completion: metrics::on_time_completion(it(), scope, period, now),
        closed_loop: metrics::closed_loop(it(), scope, period),
        one_shot,
        response: visits.response(),
        resolution: visits.resolution(),
        satisfaction: visits.satisfaction(w.basic_weight),
        composite: visits.composite(w),
        visits,
        return_rate: metrics::return_rate(it(), scope, period),
        redo_rate: metrics::redo_rate(it(), scope, period),
        overdue: if period.end > now {
            metrics::overdue_count(it(), scope, now)
        } else {
            metrics::overdue_at(it(), scope, period.end)
        },
        average_handling_days: metrics::average_handling_days(it(), scope, period, &cat.calendar)
            .ok()
            .flatten(),
        report_in: metrics::report_in_on_time(it(), scope, period, now),
        assist: metrics::assist_on_time(it(), scope, period, now),
        whistle: metrics::whistle_resolution(it(), scope, period),
        coordination: None,
        ranking_score: None,
        repeat_petitions: metrics::repeat_petitions(it(), scope, period),
        over_level_petitions: metrics::over_level_petitions(it(), scope, period),
    }
    .scored(w)
}

/// The rates of one group from its summed rollup facts. `by_unit`: the group is a unit (its
/// own dispatches, rounds and involvement), not a slice of everything.
pub fn rates_from_sums(s: &bihuan_domain::rollup::Sums, by_unit: bool, w: &ScoreWeights) -> Rates {
    use bihuan_domain::rollup::Metric as M;
    let visits = s.visits();
    Rates {
        volume: s.count(if by_unit { M::VolUnit } else { M::Vol }),
        timely_acceptance: s.rate(M::Ta),
        on_time_completion: s.rate(M::Otc),
        closed_loop: s.rate(M::Cl),
        one_shot: s.rate(M::Os),
        response: visits.response(),
        resolution: visits.resolution(),
        satisfaction: visits.satisfaction(w.basic_weight),
        composite: visits.composite(w),
        visits,
        return_rate: s.rate(if by_unit { M::RetUnit } else { M::RetAll }),
        redo_rate: s.rate(M::Redo),
        // The store counted it: now for a running period, at the end for one that is over.
        overdue: s.overdue,
        average_handling_days: s.average_handling_days(),
        report_in: s.rate(M::ReportIn),
        assist: s.rate(M::Assist),
        whistle: s.rate(M::Whistle),
        coordination: None,
        ranking_score: None,
        repeat_petitions: s.count(M::Repeat),
        over_level_petitions: s.count(M::OverLevel),
    }
    .scored(w)
}

pub fn rates_view(r: &Rates) -> RatesView {
    let metrics::VisitCounts {
        visited,
        contacted,
        resolved,
        satisfied,
        basic,
    } = r.visits;
    RatesView {
        volume: r.volume,
        timely_acceptance: r.timely_acceptance.into(),
        on_time_completion: r.on_time_completion.into(),
        closed_loop: r.closed_loop.into(),
        one_shot: r.one_shot.into(),
        visits: VisitsView {
            visited,
            contacted,
            resolved,
            satisfied,
            basic,
        },
        response: r.response,
        resolution: r.resolution,
        satisfaction: r.satisfaction,
        composite: r.composite,
        return_rate: r.return_rate.into(),
        redo_rate: r.redo_rate.into(),
        overdue: r.overdue,
        average_handling_days: r.average_handling_days,
        report_in: r.report_in.into(),
        assist: r.assist.into(),
        whistle: r.whistle.into(),
        coordination: r.coordination,
        ranking_score: r.ranking_score,
        repeat_petitions: r.repeat_petitions,
        over_level_petitions: r.over_level_petitions,
    }
}

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Unit,
    Township,
    Category,
    Channel,
    Kind,
}

impl By {
    pub fn parse(s: Option<&str>) -> ApiResult<By> {
        Ok(match s.unwrap_or("unit") {
            "unit" => By::Unit,
            "township" => By::Township,
            "category" => By::Category,
            "channel" => By::Channel,
            "kind" => By::Kind,
            other => {
                return Err(ApiError::bad_request(
                    ErrorCode::BadQuery,
                    format!("未知的分组「{other}」，可用 unit、township、category、channel、kind"),
                ))
            }
        })
    }
}

/// One group of a breakdown.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub key: String,
    pub name: String,
    pub rates: Rates,
}

/// A period's rollup sums grouped by `dim`, with pending deadlines judged at `now`.
pub async fn sums(
    state: &AppState,
    period: &Period,
    dim: Dim,
    now: Instant,
) -> ApiResult<HashMap<String, Sums>> {
    Ok(state
        .store
        .rollup(RollupQuery {
            period: *period,
            dim,
            now,
        })
        .await?)
}

/// Everything in a period (summed over one dimension, where each fact counts once).
pub async fn total(state: &AppState, period: &Period, now: Instant) -> ApiResult<Sums> {
    let mut t = Sums::default();
    for s in sums(state, period, Dim::Kind, now).await?.values() {
        t.merge(s);
    }
    Ok(t)
}

/// The petitions' sums (信访: the kinds of the petition regime), from the kind rollups, so
/// that they open with `regime=petition` to exactly the appeals they count.
pub async fn petition_total(state: &AppState, period: &Period, now: Instant) -> ApiResult<Sums> {
    let mut t = Sums::default();
    for (k, s) in sums(state, period, Dim::Kind, now).await? {
        if bihuan_domain::Kind::parse(&k)
            .is_some_and(|k| k.regime() == bihuan_domain::Regime::Petition)
        {
            t.merge(&s);
        }
    }
    Ok(t)
}

/// The groups of a breakdown with their rates.
pub async fn breakdown(
    state: &AppState,
    by: By,
    period: &Period,
    now: Instant,
    cat: &Catalog,
    w: &ScoreWeights,
) -> ApiResult<Vec<Group>> {
    let dim = match by {
        By::Unit => Dim::Unit,
        By::Township => Dim::Township,
        By::Category => Dim::Category,
        By::Channel => Dim::Channel,
        By::Kind => Dim::Kind,
    };
    let found = sums(state, period, dim, now).await?;
    let mut out = Vec::new();
    if by == By::Unit {
        let none = Sums::default();
        for u in cat
            .org
            .units()
            .filter(|u| u.kind.can_handle() && u.kind != UnitKind::Village)
        {
            let s = found.get(&u.id.0.to_string()).unwrap_or(&none);
            out.push(Group {
                key: u.id.0.to_string(),
                name: u.name.clone(),
                rates: rates_from_sums(s, true, w),
            });
        }
        return Ok(out);
    }
    let mut groups: BTreeMap<String, (String, Sums)> = BTreeMap::new();
    for (key, s) in found {
        let (k, name) = match by {
            By::Township => match key.parse().ok().map(UnitId) {
                Some(t) => (
                    key.clone(),
                    cat.org.get(t).map(|u| u.name.clone()).unwrap_or_default(),
                ),
                None => ("none".into(), "未知乡镇".into()),
            },
            By::Category => match key
                .parse()
                .ok()
                .map(bihuan_domain::category::CategoryId)
                .and_then(|c| cat.categories.top(c))
            {
                Some(t) => (
                    t.0.to_string(),
                    cat.categories
                        .get(t)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                ),
                None => ("none".into(), "未分类".into()),
            },
            By::Channel => match bihuan_domain::Channel::ALL.iter().find(|c| c.code() == key) {
                Some(c) => (key.clone(), c.label().to_string()),
                None => (key.clone(), key.clone()),
            },
            By::Kind => match bihuan_domain::Kind::ALL.iter().find(|c| c.code() == key) {
                Some(c) => (key.clone(), c.label().to_string()),
                None => (key.clone(), key.clone()),
            },
            By::Unit => unreachable!(),
        };
        groups
            .entry(k)
            .or_insert_with(|| (name, Sums::default()))
            .1
            .merge(&s);
    }
    for (k, (name, s)) in groups {
        out.push(Group {
            key: k,
            name,
            rates: rates_from_sums(&s, false, w),
        });
    }
    Ok(out)
}

pub fn unit_of(cat: &Catalog, key: &str) -> Option<UnitId> {
    key.parse()
        .ok()
        .map(UnitId)
        .filter(|u| cat.org.get(*u).is_some())
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    pub period: Option<String>,
    pub by: Option<String>,
    pub min_volume: Option<u64>,
    pub board: Option<usize>,
    /// The fewest known 双考核 outcomes for a unit to be ranked on them (default 5).
    pub coordination_min_volume: Option<u64>,
    /// A custom range, first and last day (`2026-11-01`, `2026-11-15`); both given, they win
    /// over `period`.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The period a query asks for: `from` and `to` as a custom range when both are given, else
/// `period`; `None` for the default.
pub fn spec_of(q: &MetricsQuery) -> Option<String> {
    fn day(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    match (day(&q.from), day(&q.to)) {
        (Some(a), Some(b)) => Some(format!("days:{a}:{b}")),
        _ => q.period.clone().filter(|p| !p.trim().is_empty()),
    }
}

/// Everything a dashboard shows for a period.
pub struct Report {
    pub period: Period,
    pub spec: String,
    /// The periods the comparisons use: the same days of the previous period and of the year
    /// before while this one runs (`Some(days begun)`), else the whole periods.
    pub previous_period: Period,
    pub year_earlier_period: Period,
    pub same_span: Option<i64>,
    pub headline: Rates,
    pub previous: Rates,
    pub year_earlier: Rates,
    pub groups: Vec<Group>,
    pub ranking: metrics::Ranking<String>,
    /// The 双考核 ranking: report-ins, assisting opinions, whistle outcomes.
    pub coordination_ranking: metrics::Ranking<String>,
}

pub async fn build(state: &AppState, q: &MetricsQuery) -> ApiResult<Report> {
    let now = state.clock.now();
    let spec = spec_of(q).unwrap_or_else(|| current_month(now));
    let period = parse_period(&spec)?;
    let by = By::parse(q.by.as_deref())?;
    let min_volume = q.min_volume.unwrap_or(10);
    let board = q.board.unwrap_or(3).clamp(1, 20);
    let cat = state.store.catalog();
    let w = cat.weights;
    let headline = rates_from_sums(&total(state, &period, now).await?, false, &w);
    // A period still running is compared with the same days of the one before and of the year
    // before (1st to 3rd with 1st to 3rd), never with whole periods: "−96 %" two days in says
    // nothing.
    let begun = period.days_begun(now);
    let (prev_p, year_p) = match begun {
        Some(days) => (
            period.previous().first_days(days),
            period.year_earlier().first_days(days),
        ),
        None => (period.previous(), period.year_earlier()),
    };
    let previous = rates_from_sums(&total(state, &prev_p, now).await?, false, &w);
    let year_earlier = rates_from_sums(&total(state, &year_p, now).await?, false, &w);
    let groups = breakdown(state, by, &period, now, &cat, &w).await?;
    let ranking = metrics::rank(
        groups
            .iter()
            .map(|g| (g.key.clone(), g.rates.visits.visited, g.rates.ranking_score))
            .collect(),
        min_volume,
        board,
    );
    let coordination_ranking = metrics::rank(
        groups
            .iter()
            .map(|g| {
                (
                    g.key.clone(),
                    g.rates.coordination_volume(),
                    g.rates.coordination,
                )
            })
            .collect(),
        q.coordination_min_volume.unwrap_or(5),
        board,
    );
    Ok(Report {
        period,
        spec,
        previous_period: prev_p,
        year_earlier_period: year_p,
        same_span: begun,
        headline,
        previous,
        year_earlier,
        groups,
        ranking,
        coordination_ranking,
    })
}

/// The period a report covers: as asked, and as the half-open interval it means.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodView {
    pub spec: String,
    #[schema(value_type = String, format = DateTime)]
    pub start: Instant,
    #[schema(value_type = String, format = DateTime)]
    pub end: Instant,
}

/// Relative changes (0.1 for +10 %); none where the earlier figure is 0 or missing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    /// What the changes compare with: `same_span` (the period runs: the same first days of the
    /// previous period and of the year before) or `whole` (complete periods).
    pub basis: &'static str,
    pub previous: PeriodView,
    pub year_earlier: PeriodView,
    /// Volume against the same period a year earlier.
    pub volume_yoy: Option<f64>,
    /// Volume against the period before.
    pub volume_pop: Option<f64>,
    pub satisfaction_pop: Option<f64>,
    pub closed_loop_pop: Option<f64>,
}

/// One group of the breakdown with its rank (none below the minimum volume).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    pub key: String,
    pub name: String,
    pub rank: Option<u32>,
    /// The place in the 双考核 ranking.
    pub coordination_rank: Option<u32>,
    pub rates: RatesView,
}

/// A group named on a board.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoardEntry {
    pub key: String,
    pub name: String,
}

/// The red (best) and grey (worst) boards.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RankingView {
    pub min_volume: u64,
    pub red: Vec<BoardEntry>,
    pub grey: Vec<BoardEntry>,
}

/// `GET /api/v1/metrics`: a period's rates, comparisons, breakdown and boards.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetricsView {
    pub period: PeriodView,
    pub headline: RatesView,
    pub previous: RatesView,
    pub year_earlier: RatesView,
    pub change: ChangeView,
    pub groups: Vec<GroupView>,
    pub ranking: RankingView,
    pub coordination_ranking: RankingView,
}

pub fn report_view(r: &Report) -> MetricsView {
    let h = &r.headline;
    let groups = r
        .groups
        .iter()
        .map(|g| GroupView {
            key: g.key.clone(),
            name: g.name.clone(),
            rank: r
                .ranking
                .entries
                .iter()
                .find(|e| e.key == g.key)
                .and_then(|e| e.rank),
            coordination_rank: r
                .coordination_ranking
                .entries
                .iter()
                .find(|e| e.key == g.key)
                .and_then(|e| e.rank),
            rates: rates_view(&g.rates),
        })
        .collect();
    let board = |keys: &[String]| {
        keys.iter()
            .map(|k| BoardEntry {
                key: k.clone(),
                name: r
                    .groups
                    .iter()
                    .find(|g| &g.key == k)
                    .map(|g| g.name.clone())
                    .unwrap_or_default(),
            })
            .collect()
    };
    MetricsView {
        period: PeriodView {
            spec: r.spec.clone(),
            start: r.period.start,
            end: r.period.end,
        },
        headline: rates_view(h),
        previous: rates_view(&r.previous),
        year_earlier: rates_view(&r.year_earlier),
        change: ChangeView {
            basis: if r.same_span.is_some() {
                "same_span"
            } else {
                "whole"
            },
            previous: PeriodView {
                spec: String::new(),
                start: r.previous_period.start,
                end: r.previous_period.end,
            },
            year_earlier: PeriodView {
                spec: String::new(),
                start: r.year_earlier_period.start,
                end: r.year_earlier_period.end,
            },
            volume_yoy: metrics::change(h.volume as f64, r.year_earlier.volume as f64),
            volume_pop: metrics::change(h.volume as f64, r.previous.volume as f64),
            satisfaction_pop: h
                .satisfaction
                .zip(r.previous.satisfaction)
                .and_then(|(a, b)| metrics::change(a, b)),
            closed_loop_pop: h
                .closed_loop
                .value()
                .zip(r.previous.closed_loop.value())
                .and_then(|(a, b)| metrics::change(a, b)),
        },
        groups,
        ranking: RankingView {
            min_volume: r.ranking.min_volume,
            red: board(&r.ranking.red),
            grey: board(&r.ranking.grey),
        },
        coordination_ranking: RankingView {
            min_volume: r.coordination_ranking.min_volume,
            red: board(&r.coordination_ranking.red),
            grey: board(&r.coordination_ranking.grey),
        },
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/metrics", axum::routing::get(metrics_api))
        .route(
            "/api/v1/rates",
            axum::routing::get(rates_api).post(enter_rate_api),
        )
        .route(
            "/api/v1/reports/petitions/{year}",
            axum::routing::get(petition_report_api),
        )
        .route(
            "/api/v1/score-weights",
            axum::routing::get(weights_api).put(put_weights_api),
        )
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    pub period: String,
    pub name: String,
    /// A share between 0 and 1 (0.9959 for 99.59 %).
    pub value: f64,
    pub source: String,
}

/// Checks and records an entered headline rate (the API and the console both come here).
pub async fn enter_rate(
    state: &AppState,
    c: &crate::auth::Caller,
    b: RateBody,
) -> ApiResult<bihuan_store::EnteredRate> {
    use bihuan_domain::lifecycle::Role;
    c.require(&[Role::Admin])?;
    parse_period(&b.period)?;
    let name = bihuan_store::RateName::parse(&b.name).ok_or_else(|| {
        ApiError::unprocessable(ErrorCode::UnknownRate, "未知的指标：可录入 policy_awareness（政策知晓率）、approval_efficiency（行政审批效率）、safety_satisfaction（公众安全感满意率）、cadre_approval（干部好评率）")
    })?;
    if !b.value.is_finite() || !(0.0..=1.0).contains(&b.value) {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            "数值须在0到1之间（如 99.59% 写作 0.9959）",
        ));
    }
    let source = b.source.trim();
    if source.is_empty() || source.chars().count() > 200 {
        return Err(ApiError::unprocessable(
            ErrorCode::InvalidInput,
            "须注明数据来源（1到200字），如「第三方AI测评,1232个完整电话」",
        ));
    }
    let r = bihuan_store::EnteredRate {
        period: b.period.trim().to_string(),
        name,
        value: b.value,
        source: source.to_string(),
        entered_by: c.user.id,
        at: state.clock.now(),
    };
    state.store.put_entered_rate(r.clone()).await?;
    Ok(r)
}

async fn enter_rate_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: crate::auth::Caller,
    crate::error::JsonBody(b): crate::error::JsonBody<RateBody>,
) -> ApiResult<(axum::http::StatusCode, axum::Json<EnteredRateView>)> {
    let r = enter_rate(&state, &caller, b).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(EnteredRateView {
            period: r.period,
            name: r.name.code(),
            label: r.name.label(),
            value: r.value,
            source: r.source,
            entered_by: r.entered_by,
            at: r.at,
        }),
    ))
}

/// A rate entered by hand, as recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EnteredRateView {
    pub period: String,
    pub name: &'static str,
    pub label: &'static str,
    pub value: f64,
    pub source: String,
    pub entered_by: bihuan_domain::appeal::UserId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesQuery {
    pub period: Option<String>,
}

/// The five headline rates of a period: the three survey rates from the platform's surveys
/// (else as entered, with their source), 行政审批效率 from the applications, and the
/// closed-loop rate from the appeals.
async fn rates_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: crate::auth::Caller,
    crate::error::QueryParams(q): crate::error::QueryParams<RatesQuery>,
) -> ApiResult<axum::Json<FiveRatesView>> {
    caller.require(READERS)?;
    let r = build(
        &state,
        &MetricsQuery {
            period: q.period,
            ..Default::default()
        },
    )
    .await?;
    let entered = state.store.entered_rates(&r.spec).await?;
    let approvals = crate::approvals::county_efficiency(&state, r.period).await?;
    let last = bihuan_domain::time::local_date(r.period.end - chrono::Duration::seconds(1));
    let surveyed = crate::surveys::headline(&state, last).await?;
    Ok(axum::Json(FiveRatesView {
        five_rates: five_rates(&r, &entered, Some(&approvals), &surveyed),
        period: r.spec,
    }))
}

/// One of the five headline rates (五率).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FiveRate {
    /// `policy_awareness`, `approval_efficiency`, `closed_loop`, `safety_satisfaction`,
    /// `cadre_approval`.
    pub name: &'static str,
    pub label: &'static str,
    pub value: Option<f64>,
    pub source: Option<String>,
    /// Entered by hand (the closed-loop rate is computed).
    pub entered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Instant>,
}

/// `GET /api/v1/rates`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FiveRatesView {
    pub period: String,
    pub five_rates: Vec<FiveRate>,
}

/// `approvals`: the period's 一件事 figures. When any application was decided in the period,
/// 行政审批效率 is computed from them (decided by the promise / decided) in place of an
/// entered figure.
pub fn five_rates(
    r: &Report,
    entered: &[bihuan_store::EnteredRate],
    approvals: Option<&bihuan_domain::approvals::Efficiency>,
    surveyed: &[crate::surveys::HeadlineSurvey],
) -> Vec<FiveRate> {
    use bihuan_domain::survey::Indicator as Si;
    let e = |n: bihuan_store::RateName| {
        let indicator = match n {
            bihuan_store::RateName::PolicyAwareness => Some(Si::PolicyAwareness),
            bihuan_store::RateName::SafetySatisfaction => Some(Si::Safety),
            bihuan_store::RateName::CadreApproval => Some(Si::CadreApproval),
            bihuan_store::RateName::ApprovalEfficiency => None,
        };
        // A survey of the platform measured it: computed, with its methods card.
        if let Some(h) = indicator.and_then(|i| surveyed.iter().find(|h| h.indicator == i)) {
            return FiveRate {
                name: n.code(),
                label: n.label(),
                value: Some(h.value),
                source: Some(format!("平台调查计算：{}", h.methods)),
                entered: false,
                at: None,
            };
        }
        let found = entered.iter().find(|x| x.name == n);
        FiveRate {
            name: n.code(),
            label: n.label(),
            value: found.map(|x| x.value),
            source: found.map(|x| x.source.clone()),
            entered: found.is_some(),
            at: found.map(|x| x.at),
        }
    };
    use bihuan_store::RateName as N;
    let approval = match approvals.filter(|a| a.decided > 0) {
        Some(a) => FiveRate {
            name: N::ApprovalEfficiency.code(),
            label: N::ApprovalEfficiency.label(),
            value: a.on_time_rate,
            source: Some(format!(
                "平台计算：按承诺时限办结的一件事申请 {} / 办结 {} 件",
                a.on_time, a.decided
            )),
            entered: false,
            at: None,
        },
        None => {
            let mut x = e(N::ApprovalEfficiency);
            if !x.entered && approvals.is_some() {
                x.source = Some("平台计算：本期尚无办结的一件事申请（也可由管理员录入）".into());
            }
            x
        }
    };
    vec![
        e(N::PolicyAwareness),
        approval,
        FiveRate {
            name: "closed_loop",
            label: "诉求办理闭环率",
            value: r.headline.closed_loop.value(),
            source: Some("平台计算：已回访办结 / 已答复".into()),
            entered: false,
            at: None,
        },
        e(N::SafetySatisfaction),
        e(N::CadreApproval),
    ]
}

/// The five rates as JSON (the dashboard's page data).
pub fn five_rates_json(
    r: &Report,
    entered: &[bihuan_store::EnteredRate],
    approvals: Option<&bihuan_domain::approvals::Efficiency>,
    surveyed: &[crate::surveys::HeadlineSurvey],
) -> Value {
    serde_json::to_value(five_rates(r, entered, approvals, surveyed)).unwrap_or(Value::Null)
}

async fn metrics_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: crate::auth::Caller,
    crate::error::QueryParams(q): crate::error::QueryParams<MetricsQuery>,
) -> ApiResult<axum::Json<MetricsView>> {
    caller.require(READERS)?;
    let r = build(&state, &q).await?;
    Ok(axum::Json(report_view(&r)))
}

/// The petitions registered in `year` and the year before, and the annual report built from
/// them (信访工作条例 Art 41). The whole county's, for those who see every appeal.
pub async fn petition_year(
    state: &AppState,
    caller: &crate::auth::Caller,
    year: i32,
) -> ApiResult<bihuan_domain::petition_report::AnnualReport> {
    use bihuan_domain::metrics::Period;
    if !caller.sees_all() {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "信访工作年度报告汇总全县数据，仅信访工作机构、督办和领导可以查看",
        ));
    }
    let (Some(this), Some(before)) = (Period::year(year), Period::year(year - 1)) else {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidInput,
            format!("年份「{year}」超出可统计的范围"),
        ));
    };
    let petitions = petitions(state, before.start, this.end).await?;
    bihuan_domain::petition_report::annual(year, &petitions, state.clock.now()).ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::InvalidInput,
            format!("年份「{year}」超出可统计的范围"),
        )
    })
}

/// Every petition (the kinds of the petition regime) registered in `from..to`.
pub async fn petitions(
    state: &AppState,
    from: Instant,
    to: Instant,
) -> ApiResult<Vec<bihuan_domain::Appeal>> {
    let mut petitions = Vec::new();
    let mut cursor = None;
    loop {
        let filter = bihuan_store::AppealFilter {
            regime: Some(bihuan_domain::Regime::Petition),
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        let page = state.store.list(filter, cursor, 500).await?;
        petitions.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(petitions)
}

async fn petition_report_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: crate::auth::Caller,
    crate::error::PathParams(year): crate::error::PathParams<i32>,
) -> ApiResult<axum::Json<bihuan_domain::petition_report::AnnualReport>> {
    Ok(axum::Json(petition_year(&state, &caller, year).await?))
}

async fn weights_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    _c: crate::auth::Caller,
) -> axum::Json<Value> {
    axum::Json(json!(state.store.catalog().weights))
}

/// Replaces the composite score's weights (administrators): response, resolution and
/// satisfaction must sum to 1; the weight of 基本满意 lies in [0, 1].
async fn put_weights_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: crate::auth::Caller,
    crate::error::JsonBody(w): crate::error::JsonBody<ScoreWeights>,
) -> ApiResult<axum::http::StatusCode> {
    caller.require(&[bihuan_domain::lifecycle::Role::Admin])?;
    w.validate()
        .map_err(|m| ApiError::unprocessable(ErrorCode::InvalidWeights, m))?;
    state.store.put_score_weights(w).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The figures a drill-down can open: `(code, label, numerator's name, by unit, by others)`.
/// The metric is the fact counted for a unit's row (its own work) or for anything else.
pub const DRILLS: &[(&str, &str, &str, Metric, Metric)] = &[
    ("volume", "受理量", "受理", Metric::VolUnit, Metric::Vol),
    (
        "timely_acceptance",
        "及时受理率",
        "及时签收",
        Metric::Ta,
        Metric::Ta,
    ),
    (
        "on_time_completion",
        "按期办结率",
        "按期答复",
        Metric::Otc,
        Metric::Otc,
    ),
    ("closed_loop", "闭环率", "已闭环", Metric::Cl, Metric::Cl),
    (
        "one_shot",
        "一次性化解率",
        "一次性化解",
        Metric::Os,
        Metric::Os,
    ),
    (
        "return_rate",
        "退单率",
        "退单",
        Metric::RetUnit,
        Metric::RetAll,
    ),
    ("redo_rate", "重办率", "重办", Metric::Redo, Metric::Redo),
    (
        "response",
        "响应率（回访）",
        "联系上",
        Metric::Visit,
        Metric::Visit,
    ),
    (
        "resolution",
        "解决率",
        "已解决",
        Metric::VisitResolved,
        Metric::VisitResolved,
    ),
    (
        "satisfied",
        "满意",
        "满意",
        Metric::VisitSatisfied,
        Metric::VisitSatisfied,
    ),
    (
        "basic",
        "基本满意",
        "基本满意",
        Metric::VisitBasic,
        Metric::VisitBasic,
    ),
    (
        "report_in",
        "报到及时率",
        "按时报到",
        Metric::ReportIn,
        Metric::ReportIn,
    ),
    (
        "assist",
        "协办意见及时率",
        "按时提交",
        Metric::Assist,
        Metric::Assist,
    ),
    (
        "whistle",
        "吹哨解决率",
        "已解决",
        Metric::Whistle,
        Metric::Whistle,
    ),
    (
        "repeat",
        "重复信访",
        "重复信访",
        Metric::Repeat,
        Metric::Repeat,
    ),
    (
        "over_level",
        "越级信访",
        "越级信访",
        Metric::OverLevel,
        Metric::OverLevel,
    ),
];

use bihuan_domain::rollup::Metric;

/// A drill-down asked for by a list's parameters.
pub struct Drill {
    pub code: &'static str,
    pub label: &'static str,
    pub part: bihuan_store::FactPart,
    pub period: Period,
    pub spec: String,
    pub unit: Option<UnitId>,
    pub filter: Option<bihuan_store::FactFilter>,
    /// For the overdue count of a running period: the appeals overdue now.
    pub overdue_now: bool,
}

impl Drill {
    /// What the list shows, in words: `闭环率 · 分子（已闭环）`.
    pub fn title(&self) -> String {
        use bihuan_store::FactPart as P;
        if self.code == "overdue" {
            return if self.overdue_now {
                "当前超期".into()
            } else {
                "期末超期（办理期限已过、期末仍未答复）".into()
            };
        }
        let num = DRILLS.iter().find(|d| d.0 == self.code).map_or("", |d| d.2);
        let part = match self.part {
            P::Den => "分母（全部计入的）".to_string(),
            P::Num => format!("分子（{num}）"),
            P::Missed => format!("未达标（分母减分子，未{num}）"),
        };
        if self.code == "volume" {
            return "受理量".into();
        }
        format!("{} · {part}", self.label)
    }
}

/// Reads `metric`, `part`, `period` and `counted_unit` of a list query: `None` when no metric
/// is asked for.
pub fn parse_drill(
    metric: Option<&str>,
    part: Option<&str>,
    period: Option<&str>,
    unit: Option<u32>,
    now: Instant,
) -> ApiResult<Option<Drill>> {
    use bihuan_store::{FactFilter, FactPart};
    let Some(code) = metric.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    let bad = |m: String| ApiError::bad_request(ErrorCode::BadQuery, m);
    let spec = period
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .ok_or_else(|| bad("按指标查看工单时须给出期间（period），如 month:2026-11".into()))?;
    let p = parse_period(&spec)?;
    let part = match part.map(str::trim).unwrap_or("den") {
        "" | "den" => FactPart::Den,
        "num" => FactPart::Num,
        "missed" => FactPart::Missed,
        other => {
            return Err(bad(format!(
                "未知的口径「{other}」，可用 den（分母）、num（分子）、missed（未达标）"
            )))
        }
    };
    let unit = unit.map(UnitId);
    let first = local_date(p.start);
    let last = local_date(p.end).pred_opt().unwrap_or(first);
    if code == "overdue" {
        let now_running = p.end > now;
        return Ok(Some(Drill {
            code: "overdue",
            label: "超期",
            part: FactPart::Den,
            filter: (!now_running).then(|| FactFilter::OverdueAt {
                day: local_date(p.end),
                unit,
            }),
            period: p,
            spec,
            unit,
            overdue_now: now_running,
        }));
    }
    let Some(&(code, label, _, by_unit, by_other)) = DRILLS.iter().find(|d| d.0 == code) else {
        let known: Vec<&str> = DRILLS.iter().map(|d| d.0).chain(["overdue"]).collect();
        return Err(bad(format!(
            "未知的指标「{code}」，可用 {}",
            known.join("、")
        )));
    };
    Ok(Some(Drill {
        code,
        label,
        part,
        filter: Some(FactFilter::Counted {
            metric: if unit.is_some() { by_unit } else { by_other },
            first,
            last,
            unit,
            part,
        }),
        period: p,
        spec,
        unit,
        overdue_now: false,
    }))
}

/// The list of the appeals behind a figure: `/appeals?metric=…&part=…&period=…[&counted_unit=…]`.
/// `unit` is the unit a row counts for; `extra` narrows by another dimension (`township=7`).
pub fn drill_href(code: &str, part: &str, spec: &str, unit: Option<&str>, extra: &str) -> String {
    let mut s = format!("/appeals?metric={code}&period={spec}");
    if part != "den" {
        s.push_str(&format!("&part={part}"));
    }
    if let Some(u) = unit {
        s.push_str(&format!("&counted_unit={u}"));
    }
    if !extra.is_empty() {
        s.push('&');
        s.push_str(extra);
    }
    s
}

/// A period's dates in words: `2026-11-01 至 2026-11-30`.
pub fn period_label(p: &Period) -> String {
    let last = local_date(p.end).pred_opt().unwrap_or(local_date(p.start));
    format!("{} 至 {}", local_date(p.start), last)
}
