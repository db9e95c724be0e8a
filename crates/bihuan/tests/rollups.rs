//! Rollups add up to the formulas: for a generated county, the rates summed from every appeal's
//! facts equal the rates the metric formulas compute from the appeals — for random periods
//! (custom, calendar months, assessment months), for everything, for each unit and for each
//! channel, at several moments `now`.

use std::collections::HashMap;
use std::sync::Arc;

use bihuan::demo;
use bihuan_domain::lifecycle::Appeal;
use bihuan_domain::metrics::{self, Period, Scope};
use bihuan_domain::rollup::{self, Fact, Sums};
use bihuan_domain::time::{local, local_date, Instant};
use bihuan_server::report::{rates, rates_from_sums, Rates};
use bihuan_store::prelude::*;
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::{AppealFilter, Store};
use rand::{Rng, SeedableRng};

/// The sums of the facts `keep` accepts: the period's rates, and for a period that is over the
/// overdue count at its end (for one still running the store counts it from the state, and the
/// comparison is left out).
fn sums<'a>(
    facts: impl IntoIterator<Item = &'a Vec<Fact>> + Clone,
    period: &Period,
    now: Instant,
    keep: impl Fn(&Fact) -> bool + Copy,
) -> Sums {
    let first = local_date(period.start);
    let last = local_date(period.end) - chrono::Duration::days(1);
    let mut s = Sums::default();
    for fs in facts.clone() {
        rollup::add_facts(&mut s, fs, first, last, now, keep);
    }
    if period.end <= now {
        for fs in facts {
            rollup::add_overdue_at(&mut s, fs, local_date(period.end), keep);
        }
    }
    s
}

fn same(label: &str, a: &Rates, b: &Rates) {
    assert_eq!(a.volume, b.volume, "{label}: volume");
    assert_eq!(
        a.timely_acceptance, b.timely_acceptance,
        "{label}: 及时受理"
    );
    assert_eq!(
        a.on_time_completion, b.on_time_completion,
        "{label}: 按期办结"
    );
    assert_eq!(a.closed_loop, b.closed_loop, "{label}: 闭环");
    assert_eq!(a.one_shot, b.one_shot, "{label}: 一次性化解");
    assert_eq!(a.visits, b.visits, "{label}: 回访");
    assert_eq!(a.return_rate, b.return_rate, "{label}: 退单");
    assert_eq!(a.redo_rate, b.redo_rate, "{label}: 重办");
    assert_eq!(a.report_in, b.report_in, "{label}: 报到及时");
    assert_eq!(a.assist, b.assist, "{label}: 协办意见及时");
    assert_eq!(a.whistle, b.whistle, "{label}: 吹哨解决");
    assert_eq!(a.overdue, b.overdue, "{label}: 期末超期");
    assert_eq!(a.repeat_petitions, b.repeat_petitions, "{label}: 重复信访");
    assert_eq!(
        a.over_level_petitions, b.over_level_petitions,
        "{label}: 越级信访"
    );
    match (a.average_handling_days, b.average_handling_days) {
        (Some(x), Some(y)) => assert!((x - y).abs() < 1e-5, "{label}: 办理时长 {x} vs {y}"),
        (x, y) => assert_eq!(x, y, "{label}: 办理时长"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_add_up_to_the_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("r.db")).unwrap());
    let county = demo::county();
    demo::install(&store, &county, "x").await.unwrap();
    let gen_now = local(2026, 11, 20, 10, 0, 0).unwrap();
    demo::generate(&store, &county, 2500, gen_now, 3)
        .await
        .unwrap();
    let mut all: Vec<Appeal> = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list(AppealFilter::default(), cursor, 500)
            .await
            .unwrap();
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(all.len(), 2500);
    let cat = store.catalog();
    // Who raised what when, for the one-shot rate.
    let mut raised: HashMap<(String, u32), Vec<Instant>> = HashMap::new();
    for a in &all {
        if let (Some(k), Some(c)) = (a.citizen.identity_key(), a.category) {
            raised.entry((k, c.0)).or_default().push(a.registered_at);
        }
    }
    let facts: Vec<(usize, Vec<Fact>)> = all
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let again = match (a.citizen.identity_key(), a.category) {
                (Some(k), Some(c)) => rollup::raised_again(a, raised[&(k, c.0)].iter().copied()),
                _ => false,
            };
            (i, rollup::facts(a, again, &cat.calendar))
        })
        .collect();
    let repeats = metrics::RepeatIndex::new(&all);
    let refs: Vec<&Appeal> = all.iter().collect();
    let w = cat.weights;
    let units: Vec<_> = cat
        .org
        .units()
        .filter(|u| u.kind.can_handle())
        .map(|u| u.id)
        .collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let mut periods: Vec<Period> = (1..=11).map(|m| Period::month(2026, m).unwrap()).collect();
    periods.push(Period::assessment_month(2026, 11, 19).unwrap());
    periods.push(Period::quarter(2026, 3).unwrap());
    let first_day = chrono::NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
    for _ in 0..12 {
        let a = first_day + chrono::Duration::days(rng.gen_range(0..390));
        let b = a + chrono::Duration::days(rng.gen_range(0..120));
        periods.push(Period::days(a, b).unwrap());
    }
    let nows = [
        gen_now,
        local(2026, 11, 5, 12, 0, 0).unwrap(),
        local(2026, 12, 31, 12, 0, 0).unwrap(),
    ];
    let mut checked = 0;
    let mut overdue_seen = 0;
    for period in &periods {
        for &now in &nows {
            // Everything.
            let s = sums(facts.iter().map(|x| &x.1), period, now, |f| {
                f.metric.by_other()
            });
            let mut want = rates(&refs, &repeats, Scope::All, period, now, &cat, &w);
            if period.end > now {
                want.overdue = 0;
            } else if want.overdue > 0 {
                overdue_seen += 1;
            }
            same(
                &format!("all {period:?} at {now}"),
                &rates_from_sums(&s, false, &w),
                &want,
            );
            // Each unit.
            for &u in &units {
                let s = sums(facts.iter().map(|x| &x.1), period, now, |f| {
                    f.metric.by_unit() && f.unit == Some(u)
                });
                let involved: Vec<&Appeal> = all
                    .iter()
                    .filter(|a| a.lead == Some(u) || a.dispatch_rounds.iter().any(|d| d.unit == u))
                    .collect();
                let mut want = rates(&involved, &repeats, Scope::Lead(u), period, now, &cat, &w);
                // 双考核 reaches the units a whistle called or asked to assist, not only the
                // units that led: judged over every appeal.
                let every = rates(&refs, &repeats, Scope::Lead(u), period, now, &cat, &w);
                want.report_in = every.report_in;
                want.assist = every.assist;
                want.whistle = every.whistle;
                // The overdue count at the end reaches every round the unit led.
                want.overdue = if period.end > now { 0 } else { every.overdue };
                same(
                    &format!("unit {} {period:?}", u.0),
                    &rates_from_sums(&s, true, &w),
                    &want,
                );
                checked += 1;
            }
            // Each channel.
            for ch in bihuan_domain::Channel::ALL {
                let in_channel = facts
                    .iter()
                    .filter(|(i, _)| all[*i].channel == *ch)
                    .map(|x| &x.1);
                let s = sums(in_channel, period, now, |f| f.metric.by_other());
                let group: Vec<&Appeal> = all.iter().filter(|a| a.channel == *ch).collect();
                let mut want = rates(&group, &repeats, Scope::All, period, now, &cat, &w);
                if period.end > now {
                    want.overdue = 0;
                }
                same(
                    &format!("channel {ch:?} {period:?}"),
                    &rates_from_sums(&s, false, &w),
                    &want,
                );
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    // Past periods ended with appeals overdue: the count at the end was compared, not zeros.
    assert!(overdue_seen > 5, "{overdue_seen}");
    // The 双考核 facts were there to check.
    let year = Period::year(2026).unwrap();
    let all_year = rates(&refs, &repeats, Scope::All, &year, gen_now, &cat, &w);
    assert!(
        all_year.report_in.den > 20 && all_year.assist.den > 20 && all_year.whistle.den > 10,
        "{:?} {:?} {:?}",
        all_year.report_in,
        all_year.assist,
        all_year.whistle
    );
    assert!(all_year.report_in.num < all_year.report_in.den);
    assert!(all_year.assist.num < all_year.assist.den);
}

/// A database from before rollups (simulated by removing them) gets them built when opened,
/// equal to what the writes had kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_database_gets_its_rollups_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let kept = {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let county = demo::county();
        demo::install(&store, &county, "x").await.unwrap();
        demo::generate(
            &store,
            &county,
            400,
            local(2026, 11, 20, 10, 0, 0).unwrap(),
            9,
        )
        .await
        .unwrap();
        store.rollup_dump().await.unwrap()
    };
    assert!(!kept.rows.is_empty());
    // Wait for the writer thread to let go, then take the rollups away.
    let mut removed = false;
    for _ in 0..50 {
        let conn = rusqlite::Connection::open(&path).unwrap();
        if conn
            .execute_batch(
                "BEGIN IMMEDIATE; DELETE FROM rollups; DELETE FROM rollup_pending;
                 DELETE FROM meta WHERE key = 'rollups_built'; COMMIT;",
            )
            .is_ok()
        {
            removed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(removed);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.rollup_dump().await.unwrap(), kept);
}
