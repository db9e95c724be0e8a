//! The store contract, run on both stores: the demo county loads and counts the same, two
//! clients acting with one version get exactly one success, a randomised run loses no update,
//! a retried registration never makes a second appeal, history cannot be edited — and, on
//! PostgreSQL, two servers on one database share reference data and never supervise twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use bihuan::demo;
use bihuan_domain::lifecycle::{Actor, Command, NewAppeal, Role, Status};
use bihuan_domain::time::{local, Instant};
use bihuan_store::postgres::PgStore;
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::testing::{scratch_database, ScratchDb};
use bihuan_store::{AppealFilter, AppealRef, Store, StoreError};
use serde_json::json;

/// A store with the demo county installed (no appeals), and what keeps it alive.
struct Fixture {
    store: Arc<dyn Store>,
    pg: Option<ScratchDb>,
    _dir: tempfile::TempDir,
}

async fn fixture(postgres: bool) -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let (store, pg): (Arc<dyn Store>, _) = if postgres {
        let db = scratch_database().await?;
        (Arc::new(PgStore::connect(&db.url).await.unwrap()), Some(db))
    } else {
        (
            Arc::new(SqliteStore::open(dir.path().join("t.db")).unwrap()),
            None,
        )
    };
    demo::install(&store, &demo::county(), "not-a-real-hash")
        .await
        .unwrap();
    Some(Fixture {
        store,
        pg,
        _dir: dir,
    })
}

async fn actor(s: &Arc<dyn Store>, role: Role) -> Actor {
    let users = s.users().await.unwrap();
    let u = users.iter().find(|u| u.role == role).unwrap();
    s.catalog().actor(u)
}

fn new_appeal(i: usize) -> NewAppeal {
    serde_json::from_value(json!({
        "channel": "hotline",
        "kind": "complaint",
        "title": format!("路灯不亮 {i}"),
        "content": "小区门口路灯不亮已经一周。",
        "citizen": {"name": "王五", "phone": format!("1391234{:04}", i % 10_000)}
    }))
    .unwrap()
}

fn t0() -> Instant {
    local(2026, 11, 2, 9, 0, 0).unwrap()
}

fn comment(text: String) -> Command {
    Command::Comment { text }
}

/// Runs `body` on SQLite, then on PostgreSQL when a server is there.
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body(super::fixture(false).await.unwrap()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match super::fixture(true).await {
                    Some(f) => super::$body(f).await,
                    None => eprintln!("PostgreSQL skipped"),
                }
            }
        }
    };
}

async fn demo_loads_and_counts(f: Fixture) {
    let now = local(2026, 11, 20, 10, 0, 0).unwrap();
    let written = demo::generate(&f.store, &demo::county(), 1500, now, 11)
        .await
        .unwrap();
    assert_eq!(written, 1500);
    let counts: BTreeMap<Status, u64> = f
        .store
        .count_by_status()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(counts.values().sum::<u64>(), 1500);
    assert_eq!(f.store.count(AppealFilter::default()).await.unwrap(), 1500);
    // Every appeal's state is its history replayed.
    let page = f
        .store
        .list(AppealFilter::default(), None, 50)
        .await
        .unwrap();
    for a in page.items {
        let h = f.store.history(a.id).await.unwrap();
        let replayed = bihuan_domain::lifecycle::Appeal::from_history(&h).unwrap();
        assert_eq!(replayed, a);
    }
    // New registrations take ids and numbers after the generated ones.
    let op = actor(&f.store, Role::Operator).await;
    let r = f
        .store
        .register(new_appeal(1), op, now, None)
        .await
        .unwrap();
    assert!(r.created);
    assert_eq!(r.appeal.id.0, 1501);
    assert_eq!(f.store.count(AppealFilter::default()).await.unwrap(), 1501);
}
on_both!(
    the_demo_county_loads_and_counts_the_same,
    demo_loads_and_counts
);

async fn same_version_one_wins(f: Fixture) {
    let op = actor(&f.store, Role::Operator).await;
    let sup = actor(&f.store, Role::Supervisor).await;
    for round in 0..20 {
        let a = f
            .store
            .register(new_appeal(round), op.clone(), t0(), None)
            .await
            .unwrap()
            .appeal;
        let v = a.version;
        let s1 = f.store.clone();
        let s2 = f.store.clone();
        let (x, y) = (sup.clone(), sup.clone());
        let one = tokio::spawn(async move {
            s1.act(AppealRef::Id(a.id), comment("甲".into()), x, t0(), Some(v))
                .await
        });
        let two = tokio::spawn(async move {
            s2.act(AppealRef::Id(a.id), comment("乙".into()), y, t0(), Some(v))
                .await
        });
        let results = [one.await.unwrap(), two.await.unwrap()];
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}: {results:?}");
        let err = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        match err {
            StoreError::Domain(e) => assert_eq!(e.code(), "version_conflict"),
            other => panic!("expected a version conflict, got {other:?}"),
        }
        assert_eq!(f.store.history(a.id).await.unwrap().len(), 2);
    }
}
on_both!(
    two_clients_with_one_version_exactly_one_wins,
    same_version_one_wins
);

async fn no_lost_update(f: Fixture) {
    let op = actor(&f.store, Role::Operator).await;
    let sup = actor(&f.store, Role::Supervisor).await;
    let a = f
        .store
        .register(new_appeal(0), op, t0(), None)
        .await
        .unwrap()
        .appeal;
    const CLIENTS: usize = 6;
    const EACH: usize = 15;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let s = f.store.clone();
        let sup = sup.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            let mut done = Vec::new();
            let mut i = 0;
            while done.len() < EACH {
                // Read, then act on what was read; on a conflict, read again.
                let current = s.appeal(AppealRef::Id(a.id)).await.unwrap();
                let text = format!("客户端{c}第{i}条");
                match s
                    .act(
                        AppealRef::Id(a.id),
                        comment(text.clone()),
                        sup.clone(),
                        t0(),
                        Some(current.version),
                    )
                    .await
                {
                    Ok(next) => {
                        assert!(next.version > current.version);
                        done.push(text);
                    }
                    Err(StoreError::Domain(e)) if e.code() == "version_conflict" => conflicts += 1,
                    Err(StoreError::Conflict {
                        code: bihuan_domain::ErrorCode::Retry,
                        ..
                    }) => conflicts += 1,
                    Err(e) => panic!("{e}"),
                }
                i += 1;
            }
            (done, conflicts)
        }));
    }
    let mut written = Vec::new();
    for t in tasks {
        let (done, _) = t.await.unwrap();
        written.extend(done);
    }
    let history = f.store.history(a.id).await.unwrap();
    assert_eq!(history.len(), 1 + CLIENTS * EACH);
    // Versions run 1, 2, 3 … with no gap and no repeat.
    for (i, r) in history.iter().enumerate() {
        assert_eq!(r.version, i as u64 + 1);
    }
    let stored: Vec<String> = history
        .iter()
        .filter_map(|r| match &r.event {
            bihuan_domain::lifecycle::Event::Commented { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    let mut want = written.clone();
    want.sort();
    let mut got = stored;
    got.sort();
    assert_eq!(
        got, want,
        "every acknowledged comment is stored exactly once"
    );
    let state = f.store.appeal(AppealRef::Id(a.id)).await.unwrap();
    assert_eq!(state.version as usize, 1 + CLIENTS * EACH);
}
on_both!(a_randomised_run_loses_no_update, no_lost_update);

async fn idempotent_under_race(f: Fixture) {
    let op = actor(&f.store, Role::Operator).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = f.store.clone();
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            s.register(new_appeal(7), op, t0(), Some("call-2026-0001".into()))
                .await
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        ids.push(r.appeal.id);
        created += r.created as usize;
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one appeal for one key");
    assert_eq!(created, 1);
    assert_eq!(f.store.count(AppealFilter::default()).await.unwrap(), 1);
}
on_both!(
    a_retried_registration_never_makes_a_second_appeal,
    idempotent_under_race
);

/// A history written whole carries its key: the store names it among the existing keys, and a
/// registration with the same key returns that appeal instead of a second one.
async fn imported_histories_keep_their_keys(f: Fixture) {
    let op = actor(&f.store, Role::Operator).await;
    let id = f.store.next_appeal_id().await.unwrap();
    let seq = f.store.allocate_numbers(2026, 11, 1).await.unwrap()[0];
    let number = bihuan_domain::AppealNumber::new(2026, 11, seq).unwrap();
    let (_, first) = bihuan_domain::Appeal::register(
        id,
        number,
        new_appeal(3),
        &op,
        t0(),
        f.store.catalog().ctx(),
    )
    .unwrap();
    let key = "import:nyc311:60911001".to_string();
    f.store
        .import_histories(vec![(vec![first], Some(key.clone()))])
        .await
        .unwrap();
    let found = f
        .store
        .existing_keys(vec![key.clone(), "import:nyc311:0".into()])
        .await
        .unwrap();
    assert_eq!(found.into_iter().collect::<Vec<_>>(), vec![key.clone()]);
    let again = f
        .store
        .register(new_appeal(3), op, t0(), Some(key))
        .await
        .unwrap();
    assert_eq!((again.created, again.appeal.id), (false, id));
}
on_both!(
    an_imported_history_keeps_its_key,
    imported_histories_keep_their_keys
);

async fn numbers_unique_and_consecutive(f: Fixture) {
    let op = actor(&f.store, Role::Operator).await;
    // Registrations in two months and reservations (as an import makes) at once, so that they
    // share the writer's batches.
    let december = local(2026, 12, 1, 9, 0, 0).unwrap();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (s, op) = (f.store.clone(), op.clone());
        let at = if i % 3 == 0 { december } else { t0() };
        tasks.push(tokio::spawn(async move {
            let a = s.register(new_appeal(i), op, at, None).await.unwrap();
            vec![a.appeal.number.to_string()]
        }));
    }
    for _ in 0..6 {
        let s = f.store.clone();
        tasks.push(tokio::spawn(async move {
            let seqs = s.allocate_numbers(2026, 11, 5).await.unwrap();
            assert_eq!(seqs.len(), 5);
            seqs.into_iter()
                .map(|n| format!("2026-11-{n:06}"))
                .collect::<Vec<_>>()
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.extend(t.await.unwrap());
    }
    numbers.sort();
    // 40 registrations and 30 reserved numbers in November, 20 registrations in December:
    // every number once, none skipped.
    let mut expected: Vec<String> = (1..=70).map(|n| format!("2026-11-{n:06}")).collect();
    expected.extend((1..=20).map(|n| format!("2026-12-{n:06}")));
    assert_eq!(numbers, expected);
    // What the batches counted was written back: later registrations continue from it.
    let next = f
        .store
        .register(new_appeal(99), op.clone(), t0(), None)
        .await
        .unwrap();
    assert_eq!(next.appeal.number.to_string(), "2026-11-000071");
    let next = f
        .store
        .register(new_appeal(98), op, december, None)
        .await
        .unwrap();
    assert_eq!(next.appeal.number.to_string(), "2026-12-000021");
}
on_both!(
    numbers_stay_unique_and_consecutive_under_concurrent_writes,
    numbers_unique_and_consecutive
);

async fn history_is_append_only(f: Fixture) {
    let op = actor(&f.store, Role::Operator).await;
    f.store
        .register(new_appeal(1), op, t0(), None)
        .await
        .unwrap();
    let refused = match &f.pg {
        None => {
            let path = f._dir.path().join("t.db");
            let conn = rusqlite::Connection::open(path).unwrap();
            let upd = conn.execute("UPDATE events SET body = '{}'", []);
            let del = conn.execute("DELETE FROM events", []);
            [upd.is_err(), del.is_err()]
        }
        Some(db) => {
            let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let upd = client.execute("UPDATE events SET type = 'x'", &[]).await;
            let del = client.execute("DELETE FROM events", &[]).await;
            [upd.is_err(), del.is_err()]
        }
    };
    assert_eq!(refused, [true, true], "events cannot be changed or deleted");
    assert_eq!(
        f.store
            .history(bihuan_domain::AppealId(1))
            .await
            .unwrap()
            .len(),
        1
    );
}
on_both!(events_cannot_be_edited_or_deleted, history_is_append_only);

/// Two servers on one PostgreSQL database: an administrator's change on one reaches the other,
/// and both scanning at once raise exactly one supervision per overdue deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_share_the_catalog_and_scan_once() {
    let Some(db) = scratch_database().await else {
        eprintln!("PostgreSQL skipped");
        return;
    };
    let a: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let b_pg = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let b: Arc<dyn Store> = b_pg.clone();
    demo::install(&a, &demo::county(), "not-a-real-hash")
        .await
        .unwrap();
    // B loaded an empty catalog at start; it picks A's change up — when asked, unless its
    // background refresh (every second) already has, which a slow machine allows.
    let _refreshed_now = b_pg.refresh_catalog().await.unwrap();
    assert!(b.catalog().org.units().count() > 0);
    assert_eq!(
        a.catalog().org.units().count(),
        b.catalog().org.units().count()
    );
    let mut renamed = a.catalog().org.units().nth(3).unwrap().clone();
    renamed.name = format!("{}(改)", renamed.name);
    a.put_units(vec![renamed.clone()]).await.unwrap();
    // The background refresh (every second) gets there by itself.
    let mut seen = false;
    for _ in 0..50 {
        if b.catalog().org.get(renamed.id).map(|u| u.name.clone()) == Some(renamed.name.clone()) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "server B never saw server A's change");

    // Overdue appeals, then both servers' scanners at once.
    let op = actor(&a, Role::Operator).await;
    let dispatcher = actor(&a, Role::Dispatcher).await;
    let dept = a
        .catalog()
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::Department)
        .unwrap()
        .id;
    let mut ids = Vec::new();
    for i in 0..30 {
        let r = a
            .register(new_appeal(i), op.clone(), t0(), None)
            .await
            .unwrap();
        a.act(
            AppealRef::Id(r.appeal.id),
            Command::Dispatch {
                lead: dept,
                assisting: vec![],
                note: String::new(),
            },
            dispatcher.clone(),
            t0(),
            None,
        )
        .await
        .unwrap();
        ids.push(r.appeal.id);
    }
    let later = local(2026, 12, 20, 9, 0, 0).unwrap();
    let apps = [a.clone(), b.clone()].map(|s| {
        let clock = Arc::new(bihuan_server::ManualClock::new(later));
        let config = bihuan_server::Config {
            listen: "127.0.0.1:0".into(),
            scan_interval_secs: 0,
            ..bihuan_server::Config::default()
        };
        (s, clock, config)
    });
    let mut states = Vec::new();
    for (s, clock, config) in apps {
        let app = bihuan_server::Application::build_with_clock(config, s, clock)
            .await
            .unwrap();
        states.push(app.state());
    }
    let (s1, s2) = (states[0].clone(), states[1].clone());
    let one = tokio::spawn(async move { bihuan_server::scanner::scan_once(&s1, later).await });
    let two = tokio::spawn(async move { bihuan_server::scanner::scan_once(&s2, later).await });
    let raised = one.await.unwrap().unwrap() + two.await.unwrap().unwrap();
    let mut supervisions = 0;
    for id in &ids {
        let h = a.history(*id).await.unwrap();
        let mut deadlines: Vec<_> = h
            .iter()
            .filter_map(|r| match &r.event {
                bihuan_domain::lifecycle::Event::Supervised { deadline, .. } => Some(*deadline),
                _ => None,
            })
            .collect();
        let n = deadlines.len();
        assert!(n >= 1, "appeal {} was never supervised", id.0);
        deadlines.sort();
        deadlines.dedup();
        assert_eq!(
            deadlines.len(),
            n,
            "a deadline supervised twice on {}",
            id.0
        );
        supervisions += n;
    }
    assert_eq!(
        raised as usize, supervisions,
        "each raised supervision is stored once"
    );
    // Nothing left for a third pass.
    assert_eq!(
        bihuan_server::scanner::scan_once(&states[0], later)
            .await
            .unwrap(),
        0
    );
}

/// A token revoked (its user disabled) through one server stops working on the other within
/// a couple of seconds, although that server had it cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_refused_by_every_server() {
    let Some(db) = scratch_database().await else {
        eprintln!("PostgreSQL skipped");
        return;
    };
    let a: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(PgStore::connect(&db.url).await.unwrap());
    demo::install(&a, &demo::county(), "not-a-real-hash")
        .await
        .unwrap();
    let users = a.users().await.unwrap();
    let handler = users.iter().find(|u| u.role == Role::Handler).unwrap();
    let (token, hash) = bihuan_server::auth::new_token();
    a.put_credential(
        hash,
        handler.id,
        bihuan_store::CredentialKind::ApiToken,
        None,
        "test".into(),
    )
    .await
    .unwrap();
    let mut bases = Vec::new();
    for s in [a.clone(), b.clone()] {
        let config = bihuan_server::Config {
            listen: "127.0.0.1:0".into(),
            scan_interval_secs: 0,
            ..bihuan_server::Config::default()
        };
        let app = bihuan_server::Application::build(config, s).await.unwrap();
        bases.push(format!("http://127.0.0.1:{}", app.port()));
        tokio::spawn(app.run_until_stopped());
    }
    let http = reqwest::Client::new();
    let me = |base: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            http.get(format!("{base}/api/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Server B has the token cached now.
    assert_eq!(me(bases[1].clone()).await, 200);
    // Disabled through server A's store.
    a.update_user(
        handler.id,
        bihuan_store::UserUpdate {
            active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(me(bases[0].clone()).await, 401);
    let mut refused = false;
    for _ in 0..40 {
        if me(bases[1].clone()).await == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refused, "server B still accepts a disabled user's token");
}

/// Rollups kept in the write transaction equal a rebuild from the appeals, after random
/// sequences of actions: registrations by repeat callers, dispatches, returns, replies, visits,
/// closes, redos, merges.
async fn rollups_match_a_rebuild(f: Fixture) {
    use rand::{Rng, SeedableRng};
    let s = &f.store;
    let county = demo::county();
    let gen_now = local(2026, 11, 20, 10, 0, 0).unwrap();
    demo::generate(s, &county, 300, gen_now, 17).await.unwrap();
    let users = s.users().await.unwrap();
    let cat = s.catalog();
    let by_role = |r: Role| cat.actor(users.iter().find(|u| u.role == r).unwrap());
    let handler_of = |unit: bihuan_domain::org::UnitId| {
        users
            .iter()
            .find(|u| u.role == Role::Handler && u.unit == unit)
            .map(|u| cat.actor(u))
    };
    let depts: Vec<_> = cat
        .org
        .units()
        .filter(|u| u.kind == bihuan_domain::org::UnitKind::Department)
        .map(|u| u.id)
        .filter(|u| handler_of(*u).is_some())
        .collect();
    let leaves: Vec<u32> = cat
        .categories
        .iter()
        .filter(|c| cat.categories.iter().all(|x| x.parent != Some(c.id)))
        .map(|c| c.id.0)
        .take(4)
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut t = gen_now;
    let mut ids: Vec<bihuan_domain::AppealId> = Vec::new();
    let mut ok = 0;
    for round in 0..3 {
        for _ in 0..150 {
            t += chrono::Duration::minutes(rng.gen_range(1..40));
            if ids.is_empty() || rng.gen_bool(0.25) {
                // A caller from a small pool, about one of a few matters: repeats happen.
                let new: NewAppeal = serde_json::from_value(json!({
                    "channel": (["hotline", "web", "grid_report"][rng.gen_range(0..3)]),
                    "kind": (["complaint", "help", "consultation"][rng.gen_range(0..3)]),
                    "category": leaves[rng.gen_range(0..leaves.len())],
                    "title": "随机诉求",
                    "content": "随机动作测试",
                    "citizen": {"name": "张三", "phone": format!("1390000{:04}", rng.gen_range(0..6))}
                }))
                .unwrap();
                let r = s
                    .register(new, by_role(Role::Operator), t, None)
                    .await
                    .unwrap();
                ids.push(r.appeal.id);
                continue;
            }
            let id = ids[rng.gen_range(0..ids.len())];
            let a = s.appeal(AppealRef::Id(id)).await.unwrap();
            let dispatcher = by_role(Role::Dispatcher);
            let lead_handler = a.lead.and_then(handler_of);
            let pick = rng.gen_range(0..10);
            let (actor, cmd): (Actor, serde_json::Value) = match a.status {
                Status::PendingDispatch if pick < 8 => (
                    dispatcher,
                    json!({"action": "dispatch", "lead": depts[rng.gen_range(0..depts.len())].0}),
                ),
                Status::PendingDispatch => {
                    let other = ids[rng.gen_range(0..ids.len())];
                    let m = s.appeal(AppealRef::Id(other)).await.unwrap();
                    (
                        dispatcher,
                        json!({"action": "merge", "into": {"id": m.id, "number": m.number, "status": m.status}}),
                    )
                }
                Status::Dispatched if pick < 7 => {
                    (lead_handler.unwrap(), json!({"action": "sign"}))
                }
                Status::Dispatched => (
                    lead_handler.unwrap(),
                    json!({"action": "return", "reason": "不属本单位"}),
                ),
                Status::Returned if pick < 6 => (
                    dispatcher,
                    json!({"action": "decide_return", "accept": true, "redispatch": [depts[rng.gen_range(0..depts.len())].0, []]}),
                ),
                Status::Returned => (
                    dispatcher,
                    json!({"action": "decide_return", "accept": false, "note": "属本单位"}),
                ),
                Status::InProgress if pick < 3 => (
                    lead_handler.unwrap(),
                    json!({"action": "contact", "note": "已联系"}),
                ),
                Status::InProgress => (
                    lead_handler.unwrap(),
                    json!({"action": "reply", "result": (["resolved", "partly_resolved"][rng.gen_range(0..2)]), "text": "已处理"}),
                ),
                Status::Replied => (
                    by_role(Role::ReturnVisitor),
                    json!({"action": "return_visit", "contacted": rng.gen_bool(0.9), "resolved": rng.gen_bool(0.7),
                           "rating": (["satisfied", "basic", "unsatisfied"][rng.gen_range(0..3)]), "comment": "回访"}),
                ),
                Status::Visited if pick < 7 => (dispatcher, json!({"action": "close"})),
                Status::Visited => (
                    dispatcher,
                    json!({"action": "redo", "cause": "unsatisfied", "reason": "仍未解决"}),
                ),
                Status::Closed if pick < 3 => (
                    dispatcher,
                    json!({"action": "redo", "cause": "reply_rejected", "reason": "复核"}),
                ),
                _ => (
                    by_role(Role::Supervisor),
                    json!({"action": "comment", "text": "关注"}),
                ),
            };
            let cmd: Command = serde_json::from_value(cmd).unwrap();
            if s.act(AppealRef::Id(id), cmd, actor, t, None).await.is_ok() {
                ok += 1;
            }
        }
        let kept = s.rollup_dump().await.unwrap();
        s.rebuild_rollups().await.unwrap();
        let rebuilt = s.rollup_dump().await.unwrap();
        assert!(!kept.rows.is_empty());
        if kept != rebuilt {
            let only_kept: Vec<_> = kept
                .rows
                .iter()
                .filter(|r| !rebuilt.rows.contains(r))
                .take(8)
                .collect();
            let only_rebuilt: Vec<_> = rebuilt
                .rows
                .iter()
                .filter(|r| !kept.rows.contains(r))
                .take(8)
                .collect();
            panic!(
                "round {round}: rollups kept in the writes differ from a rebuild\nkept only: {only_kept:?}\nrebuilt only: {only_rebuilt:?}\npending equal: {}",
                kept.pending == rebuilt.pending
            );
        }
    }
    assert!(ok > 150, "only {ok} actions succeeded");
}
on_both!(
    rollups_kept_in_writes_equal_a_rebuild,
    rollups_match_a_rebuild
);

/// Every figure opens exactly its appeals (issue 16, item 4): for each figure a list can be
/// drilled to, its numerator and denominator, for the county and for each unit, in past periods
/// and the running one, the facts behind the list equal the figure the rollups give, and the
/// list holds an appeal exactly when the figure is not zero; the overdue count at a past
/// period's end is the number of appeals its list holds.
async fn figures_open_their_appeals(f: Fixture) {
    use bihuan_domain::metrics::Period;
    use bihuan_domain::rollup::Sums;
    use bihuan_domain::time::local_date;
    use bihuan_server::report::DRILLS;
    use bihuan_store::rollups::{Dim, RollupQuery};
    use bihuan_store::{FactFilter, FactPart};
    let s = &f.store;
    let now = local(2026, 11, 20, 10, 0, 0).unwrap();
    demo::generate(s, &demo::county(), 1200, now, 5)
        .await
        .unwrap();
    let cat = s.catalog();
    let units: Vec<_> = cat
        .org
        .units()
        .filter(|u| u.kind.can_handle())
        .map(|u| u.id)
        .collect();
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let periods = [
        Period::month(2026, 10).unwrap(),
        Period::quarter(2026, 3).unwrap(),
        Period::days(day(2026, 9, 5), day(2026, 10, 12)).unwrap(),
        Period::month(2026, 11).unwrap(),
    ];
    let (mut checked, mut nonzero, mut overdue_seen) = (0, 0, 0);
    let mut petitions_seen = 0;
    for p in &periods {
        let q = |dim| RollupQuery {
            period: *p,
            dim,
            now,
        };
        let mut total = Sums::default();
        // 信访: the petition kinds' own figures, opened with the regime filter.
        let mut petitions = Sums::default();
        for (k, x) in s.rollup(q(Dim::Kind)).await.unwrap() {
            total.merge(&x);
            if bihuan_domain::Kind::parse(&k)
                .is_some_and(|k| k.regime() == bihuan_domain::Regime::Petition)
            {
                petitions.merge(&x);
            }
        }
        let by_unit = s.rollup(q(Dim::Unit)).await.unwrap();
        let first = local_date(p.start);
        let last = local_date(p.end).pred_opt().unwrap();
        petitions_seen += petitions.get(bihuan_domain::rollup::Metric::Vol).1;
        type Scope = (
            Option<bihuan_domain::org::UnitId>,
            Sums,
            Option<bihuan_domain::Regime>,
        );
        let mut scopes: Vec<Scope> = vec![
            (None, total, None),
            (None, petitions, Some(bihuan_domain::Regime::Petition)),
        ];
        for u in &units {
            scopes.push((
                Some(*u),
                by_unit.get(&u.0.to_string()).cloned().unwrap_or_default(),
                None,
            ));
        }
        for (unit, sums, regime) in &scopes {
            for &(code, _, _, m_unit, m_other) in DRILLS {
                let metric = if unit.is_some() { m_unit } else { m_other };
                let (num, den, _) = sums.get(metric);
                for (part, want) in [
                    (FactPart::Den, den),
                    (FactPart::Num, num),
                    (FactPart::Missed, den - num),
                ] {
                    let filter = AppealFilter {
                        now: Some(now),
                        fact: Some(FactFilter::Counted {
                            metric,
                            first,
                            last,
                            unit: *unit,
                            part,
                        }),
                        regime: *regime,
                        ..AppealFilter::default()
                    };
                    let facts = s.count_facts(filter.clone()).await.unwrap();
                    let appeals = s.count(filter).await.unwrap();
                    let label = format!("{code} {part:?} {unit:?} {regime:?} {p:?}");
                    assert_eq!(facts, Some(want as u64), "{label}");
                    assert!(appeals <= want as u64, "{label}: {appeals} appeals");
                    assert_eq!(appeals == 0, want == 0, "{label}: {appeals} appeals");
                    checked += 1;
                    if want > 0 {
                        nonzero += 1;
                    }
                }
            }
            if p.end <= now && regime.is_none() {
                let filter = AppealFilter {
                    now: Some(now),
                    fact: Some(FactFilter::OverdueAt {
                        day: local_date(p.end),
                        unit: *unit,
                    }),
                    ..AppealFilter::default()
                };
                let listed = s.count(filter).await.unwrap();
                assert_eq!(listed, sums.overdue, "期末超期 {unit:?} {p:?}");
                if listed > 0 {
                    overdue_seen += 1;
                }
            }
        }
    }
    assert!(
        checked > 1000 && nonzero > 300,
        "{checked} checked, {nonzero} not zero"
    );
    assert!(overdue_seen > 3, "{overdue_seen}");
    assert!(
        petitions_seen > 20,
        "only {petitions_seen} petitions in the periods"
    );
}
on_both!(every_figure_opens_its_appeals, figures_open_their_appeals);

/// SQLite: the writer leaves checkpoints to a thread of their own (it checkpoints itself only
/// past 64 MiB of log), so the database file must grow while the store is open and writing,
/// long before the log is that big — or the log would only ever be copied on close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_copies_the_log_into_the_database_while_open() {
    let f = fixture(false).await.unwrap();
    let db = f._dir.path().join("t.db");
    let wal = f._dir.path().join("t.db-wal");
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    // Let the checkpointer copy what installing the county wrote, then measure from there.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = size(&db);
    let op = actor(&f.store, Role::Operator).await;
    for i in 0..300 {
        f.store
            .register(new_appeal(i), op.clone(), t0(), None)
            .await
            .unwrap();
    }
    let log = size(&wal);
    assert!(
        log < 64 * 1024 * 1024,
        "{log} bytes of log: the writer's own backstop would have checkpointed"
    );
    let mut grown = false;
    for _ in 0..50 {
        if size(&db) > before {
            grown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        grown,
        "the database file stayed at {before} bytes with {log} bytes of log"
    );
    assert_eq!(f.store.count(AppealFilter::default()).await.unwrap(), 300);
}

/// A write job that panics (a bug the edges failed to catch) fails on its own: the writer
/// thread goes on, takes the next registrations, counts the panic, and the store stays healthy.
/// Registrations sent in the same moment either land or fail with a retryable error, and none
/// that was acknowledged is missing afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writer_survives_a_panicking_job() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("t.db")).unwrap());
    let store: Arc<dyn Store> = sqlite.clone();
    demo::install(&store, &demo::county(), "not-a-real-hash")
        .await
        .unwrap();
    let op = actor(&store, Role::Operator).await;
    store.health().await.unwrap();
    assert_eq!(store.writer_panics(), 0);
    // A burst around the panic, so that some registrations share its batch.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (s, a) = (store.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            s.register(new_appeal(i), a, t0(), None)
                .await
                .map(|r| r.appeal.id)
        }));
    }
    let panicked = sqlite.write_panicking_job().await;
    assert!(
        matches!(panicked, Err(StoreError::Internal(_))),
        "{panicked:?}"
    );
    let mut acknowledged = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => acknowledged.push(id),
            Err(StoreError::Internal(m)) => assert!(m.contains("retry"), "{m}"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(store.writer_panics(), 1);
    store.health().await.unwrap();
    for i in 100..110 {
        store
            .register(new_appeal(i), op.clone(), t0(), None)
            .await
            .unwrap();
    }
    for id in &acknowledged {
        store.appeal(AppealRef::Id(*id)).await.unwrap();
    }
    assert_eq!(
        store.count(AppealFilter::default()).await.unwrap(),
        acknowledged.len() as u64 + 10
    );
}

/// Refused registrations take no number: the next accepted one follows the last on both stores.
async fn refusals_take_no_number(f: Fixture) {
    let op = actor(&f.store, Role::Operator).await;
    let first = f
        .store
        .register(new_appeal(1), op.clone(), t0(), None)
        .await
        .unwrap();
    assert_eq!(first.appeal.number.to_string(), "2026-11-000001");
    let mut empty_title = new_appeal(2);
    empty_title.title = String::new();
    let mut bad_phone = new_appeal(3);
    bad_phone.citizen.phone = serde_json::from_value(json!("not-a-phone")).unwrap();
    let mut no_such_category = new_appeal(4);
    no_such_category.category = Some(bihuan_domain::category::CategoryId(999_999));
    for refused in [empty_title, bad_phone, no_such_category] {
        let e = f
            .store
            .register(refused, op.clone(), t0(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Domain(_) | StoreError::Invalid { .. }),
            "{e:?}"
        );
    }
    let next = f
        .store
        .register(new_appeal(5), op, t0(), None)
        .await
        .unwrap();
    assert_eq!(next.appeal.number.to_string(), "2026-11-000002");
}
on_both!(
    refused_registrations_leave_no_gap_in_the_numbers,
    refusals_take_no_number
);

/// However a number was typed, it is kept in one form, so a repeat caller is recognised.
async fn phones_in_one_form(f: Fixture) {
    let op = actor(&f.store, Role::Operator).await;
    let mut ids = Vec::new();
    for typed in ["135-0000-6666", "+86 135 0000 6666", "13500006666"] {
        let mut new = new_appeal(0);
        new.citizen.phone = serde_json::from_value(json!(typed)).unwrap();
        let r = f.store.register(new, op.clone(), t0(), None).await.unwrap();
        assert_eq!(
            r.appeal.citizen.phone.as_ref().unwrap().expose(),
            "13500006666",
            "{typed}"
        );
        ids.push(r.appeal.id);
    }
    let same_caller = f
        .store
        .count(AppealFilter {
            citizen: Some("13500006666".into()),
            ..AppealFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(same_caller, 3);
}
on_both!(
    phones_are_kept_in_one_form_whatever_the_typing,
    phones_in_one_form
);

/// A repeat registered in the same second as the close, after it, makes the closed appeal not
/// one-shot, in the writes and in a rebuild alike; one registered just before the close does not.
async fn repeat_in_the_closing_second(f: Fixture) {
    let s = &f.store;
    let cat = s.catalog();
    let leaf = cat
        .categories
        .iter()
        .find(|c| cat.categories.iter().all(|x| x.parent != Some(c.id)))
        .unwrap()
        .id;
    let unit = cat
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::Department)
        .unwrap()
        .id;
    let users = s.users().await.unwrap();
    let handler = users
        .iter()
        .find(|u| u.role == Role::Handler && u.unit == unit)
        .map(|u| cat.actor(u))
        .expect("a handler of the department");
    let op = actor(s, Role::Operator).await;
    let dispatcher = actor(s, Role::Dispatcher).await;
    let visitor = actor(s, Role::ReturnVisitor).await;
    let ms = |m: i64| chrono::Duration::milliseconds(m);
    let mut appeal = new_appeal(7);
    appeal.category = Some(leaf);
    let a = s
        .register(appeal.clone(), op.clone(), t0() + ms(100), None)
        .await
        .unwrap()
        .appeal;
    let steps: Vec<(Actor, serde_json::Value)> = vec![
        (
            dispatcher.clone(),
            json!({"action": "dispatch", "lead": unit.0}),
        ),
        (handler.clone(), json!({"action": "sign"})),
        (
            handler,
            json!({"action": "reply", "result": "resolved", "text": "已修复"}),
        ),
        (
            visitor,
            json!({"action": "return_visit", "contacted": true, "resolved": true, "rating": "satisfied", "comment": ""}),
        ),
        (dispatcher, json!({"action": "close"})),
    ];
    let closed_at = t0() + chrono::Duration::hours(30) + ms(400);
    for (i, (who, cmd)) in steps.into_iter().enumerate() {
        let at = if i == 4 {
            closed_at
        } else {
            t0() + chrono::Duration::hours(i as i64 + 1)
        };
        let cmd: Command = serde_json::from_value(cmd).unwrap();
        s.act(AppealRef::Id(a.id), cmd, who, at, None)
            .await
            .unwrap();
    }
    let one_shot = || async {
        let sums = s
            .rollup(bihuan_store::rollups::RollupQuery {
                period: bihuan_domain::metrics::Period::month(2026, 11).unwrap(),
                dim: bihuan_store::rollups::Dim::Channel,
                now: closed_at + chrono::Duration::days(1),
            })
            .await
            .unwrap();
        let (num, den, _) = sums
            .values()
            .map(|x| x.get(bihuan_domain::rollup::Metric::Os))
            .fold((0, 0, 0), |x, y| (x.0 + y.0, x.1 + y.1, 0));
        (num, den)
    };
    assert_eq!(one_shot().await, (1, 1), "closed, not raised again");
    // The same caller, the same matter, 300 ms after the close: within the same second.
    s.register(appeal, op, closed_at + ms(300), None)
        .await
        .unwrap();
    assert_eq!(
        one_shot().await,
        (0, 1),
        "raised again in the closing second"
    );
    let kept = s.rollup_dump().await.unwrap();
    s.rebuild_rollups().await.unwrap();
    let rebuilt = s.rollup_dump().await.unwrap();
    assert_eq!(kept, rebuilt, "the writes and a rebuild agree");
    assert_eq!(one_shot().await, (0, 1), "and so does the rebuild");
}
on_both!(
    a_repeat_in_the_closing_second_is_a_repeat,
    repeat_in_the_closing_second
);

/// Every appeal of `filter`, following the cursor `limit` at a time.
async fn every_page(
    s: &Arc<dyn Store>,
    filter: &AppealFilter,
    limit: u32,
) -> Vec<bihuan_domain::lifecycle::Appeal> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.list(filter.clone(), cursor, limit).await.unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// Every appeal whose `d` is running, in the store's order for `Sort::Deadline(d)`, page by page,
/// and the store's count for the same filter.
async fn by_deadline(
    s: &Arc<dyn Store>,
    d: bihuan_store::Deadline,
) -> (Vec<bihuan_domain::lifecycle::Appeal>, u64) {
    let filter = AppealFilter {
        sort: bihuan_store::Sort::Deadline(d),
        ..Default::default()
    };
    (
        every_page(s, &filter, 7).await,
        s.count(filter).await.unwrap(),
    )
}

/// A list sorted by one deadline holds exactly the appeals whose deadline runs, soonest first,
/// across pages; its count agrees; and a restored database sorts the same (the columns are
/// derived data, written again on restore).
async fn lists_sort_by_each_deadline(f: Fixture) {
    use bihuan_store::Deadline;
    let s = &f.store;
    let now = local(2026, 11, 20, 10, 0, 0).unwrap();
    demo::generate(s, &demo::county(), 700, now, 9)
        .await
        .unwrap();
    // Open appeals at staggered times: some waiting for dispatch, some dispatched (signing,
    // first contact and reply running).
    let op = actor(s, Role::Operator).await;
    let dispatcher = actor(s, Role::Dispatcher).await;
    let dept = s
        .catalog()
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::Department)
        .unwrap()
        .id;
    for i in 0..25usize {
        let at = now + chrono::Duration::minutes(17 * ((i * 7) % 25) as i64);
        let r = s
            .register(new_appeal(i), op.clone(), at, None)
            .await
            .unwrap();
        if i % 3 != 0 {
            s.act(
                AppealRef::Id(r.appeal.id),
                Command::Dispatch {
                    lead: dept,
                    assisting: vec![],
                    note: String::new(),
                },
                dispatcher.clone(),
                at + chrono::Duration::minutes(5),
                None,
            )
            .await
            .unwrap();
        }
    }
    let everything = every_page(s, &AppealFilter::default(), 500).await;
    assert_eq!(everything.len(), 725);
    let due_of = |a: &bihuan_domain::lifecycle::Appeal, d: Deadline| {
        a.running_deadlines()
            .into_iter()
            .find(|(name, _, _)| *name == d.code())
            .map(|(_, _, due)| due)
    };
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("sorted.bihuan-backup");
    s.backup(archive.clone()).await.unwrap();
    let copy: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("copy.db")).unwrap());
    copy.restore(archive).await.unwrap();
    let mut nonempty = 0;
    for d in Deadline::ALL {
        let mut want: Vec<_> = everything
            .iter()
            .filter_map(|a| due_of(a, d).map(|due| (due.timestamp(), a.id.0)))
            .collect();
        want.sort();
        let (listed, count) = by_deadline(s, d).await;
        let got: Vec<_> = listed
            .iter()
            .map(|a| {
                (
                    due_of(a, d)
                        .expect("listed without the deadline")
                        .timestamp(),
                    a.id.0,
                )
            })
            .collect();
        assert_eq!(got, want, "{d:?}");
        assert_eq!(count, want.len() as u64, "{d:?}");
        let (restored, _) = by_deadline(&copy, d).await;
        let restored: Vec<_> = restored.iter().map(|a| a.id.0).collect();
        let original: Vec<_> = listed.iter().map(|a| a.id.0).collect();
        assert_eq!(restored, original, "{d:?} after restore");
        if want.len() > 7 {
            nonempty += 1;
        }
    }
    // Every kind of deadline runs for more than one page of appeals.
    assert_eq!(nonempty, 4);
}
on_both!(
    a_list_sorted_by_any_deadline_holds_its_running_deadlines_in_order,
    lists_sort_by_each_deadline
);

/// Several aggregates created at once (an import's batch): all of them, with distinct ids and
/// their history, or — when one is refused — none.
async fn created_together_or_not_at_all(f: Fixture) {
    use bihuan_domain::household::{Household, HouseholdCommand, HouseholdFacts};
    use bihuan_store::aggregates;
    let s = &f.store;
    let who = actor(s, Role::Dispatcher).await;
    let at = local(2026, 12, 3, 9, 0, 0).unwrap();
    let grid = s
        .catalog()
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::Grid)
        .map(|u| u.id.0)
        .unwrap();
    let loc = bihuan_server::households::locate(&s.catalog(), grid).unwrap();
    let register = |i: u32, members: u32| HouseholdCommand::Register {
        at: loc,
        facts: HouseholdFacts {
            address: format!("测试路{i}号"),
            head: format!("户主{i}"),
            phone: None,
            members,
            tags: vec![],
        },
    };
    let refused = aggregates::create_many::<Household>(
        s.as_ref(),
        vec![register(1, 2), register(2, 0), register(3, 1)],
        who.clone(),
        at,
    )
    .await;
    assert!(refused.is_err(), "the second has no members");
    assert_eq!(s.count_aggregates("household", "", "").await.unwrap(), 0);
    let made = aggregates::create_many::<Household>(
        s.as_ref(),
        (1..=3).map(|i| register(i, 2)).collect(),
        who,
        at,
    )
    .await
    .unwrap();
    let mut ids: Vec<u64> = made.iter().map(|v| v.id).collect();
    assert_eq!(made[2].state.facts.head, "户主3", "in the commands' order");
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        s.count_aggregates("household", "grid", &grid.to_string())
            .await
            .unwrap(),
        3
    );
    for id in ids {
        let h = aggregates::history::<Household>(s.as_ref(), id)
            .await
            .unwrap();
        assert_eq!(h.len(), 1);
    }
    // Tallies by value prefix: the three share the grid; one tag each on two of them, and a
    // value that only shares the first characters of the prefix is not counted.
    let mut tagged = register(9, 1);
    if let HouseholdCommand::Register { facts, .. } = &mut tagged {
        facts.tags = vec!["独居老人".into()];
    }
    let mut other = register(10, 1);
    if let HouseholdCommand::Register { facts, .. } = &mut other {
        facts.tags = vec!["独居".into(), "低保户".into()];
    }
    let who = actor(s, Role::Dispatcher).await;
    aggregates::create_many::<Household>(s.as_ref(), vec![tagged, other], who, at)
        .await
        .unwrap();
    let mut t = aggregates::tally::<Household>(s.as_ref(), "tag", "独居")
        .await
        .unwrap();
    t.sort();
    assert_eq!(
        t,
        vec![("独居".to_string(), 1), ("独居老人".to_string(), 1)]
    );
    let t = aggregates::tally::<Household>(s.as_ref(), "grid", &grid.to_string())
        .await
        .unwrap();
    assert!(t.contains(&(grid.to_string(), 5)), "{t:?}");
    assert!(aggregates::tally::<Household>(s.as_ref(), "tag", "退役")
        .await
        .unwrap()
        .is_empty());
}

on_both!(aggregates_created_together, created_together_or_not_at_all);

/// Index rows made by an older `INDEX_VERSION` are rebuilt once from the stored states; a row
/// written after the rebuild's read keeps its own (newer) entries.
async fn index_rows_rebuilt_once(f: Fixture) {
    use bihuan_domain::aggregate::Aggregate;
    use bihuan_domain::household::{Household, HouseholdCommand, HouseholdFacts};
    use bihuan_store::aggregates;
    let s = &f.store;
    let who = actor(s, Role::Dispatcher).await;
    let at = local(2026, 12, 3, 9, 0, 0).unwrap();
    let grid = s
        .catalog()
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::Grid)
        .map(|u| u.id.0)
        .unwrap();
    let loc = bihuan_server::households::locate(&s.catalog(), grid).unwrap();
    let made = aggregates::create_many::<Household>(
        s.as_ref(),
        (1..=3)
            .map(|i| HouseholdCommand::Register {
                at: loc,
                facts: HouseholdFacts {
                    address: format!("东升村{i}组"),
                    head: format!("李{i}"),
                    phone: None,
                    members: 2,
                    tags: vec![],
                },
            })
            .collect(),
        who,
        at,
    )
    .await
    .unwrap();
    let terms = |t: &'static str| async move {
        aggregates::count::<Household>(s.as_ref(), "term", t)
            .await
            .unwrap()
    };
    assert_eq!(terms("东升").await, 3, "new rows carry the search terms");
    // As a database from before the terms: no index rows, version 1. The second row's
    // version given is stale (as if it were written after the rebuild read it): left alone.
    let old = made
        .iter()
        .map(|v| (v.id, v.version, vec![("grid", grid.to_string())]))
        .collect();
    s.replace_index(Household::KIND, old, Some(1))
        .await
        .unwrap();
    assert_eq!(terms("东升").await, 0);
    assert_eq!(s.index_version(Household::KIND).await.unwrap(), Some(1));
    let stale = vec![(made[1].id, made[1].version + 1, vec![])];
    s.replace_index(Household::KIND, stale, None).await.unwrap();
    assert_eq!(
        aggregates::count::<Household>(s.as_ref(), "grid", &grid.to_string())
            .await
            .unwrap(),
        3,
        "a stale version's entries are not written"
    );
    assert_eq!(
        aggregates::ensure_index::<Household>(s.as_ref())
            .await
            .unwrap(),
        3
    );
    assert_eq!(terms("东升").await, 3);
    assert_eq!(terms("2组").await, 1);
    assert_eq!(
        s.index_version(Household::KIND).await.unwrap(),
        Some(Household::INDEX_VERSION)
    );
    assert_eq!(
        aggregates::ensure_index::<Household>(s.as_ref())
            .await
            .unwrap(),
        0,
        "once"
    );
}

on_both!(aggregate_index_rebuilt_once, index_rows_rebuilt_once);

const PNG: &[u8] = bihuan_store::testing::TINY_PNG;

/// Files written with an aggregate's event are kept with it, named by their SHA-256; a refused
/// command keeps none of the files sent with it; the same file twice is one row.
async fn files_kept_with_their_event(f: Fixture) {
    use bihuan_domain::household::{Household, HouseholdCommand, HouseholdFacts};
    use bihuan_store::aggregates::{self, FileBlob};
    let s = &f.store;
    let who = actor(s, Role::Dispatcher).await;
    let at = local(2026, 12, 4, 9, 0, 0).unwrap();
    let grid = s
        .catalog()
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::Grid)
        .map(|u| u.id.0)
        .unwrap();
    let loc = bihuan_server::households::locate(&s.catalog(), grid).unwrap();
    let facts = |address: &str| HouseholdFacts {
        address: address.to_string(),
        head: "王五".into(),
        phone: None,
        members: 3,
        tags: vec![],
    };
    let blob = FileBlob::new("门牌.png", PNG.to_vec(), who.user.0, at).unwrap();
    assert!(
        FileBlob::new("门牌.png", b"not a picture".to_vec(), who.user.0, at).is_err(),
        "a file is checked by its content before any write"
    );
    let sha = blob.sha256.clone();
    let v = aggregates::execute_with_files::<Household>(
        s.as_ref(),
        None,
        HouseholdCommand::Register {
            at: loc,
            facts: facts("东升村5组"),
        },
        vec![blob.clone(), blob.clone()],
        who.clone(),
        at,
        Some(0),
    )
    .await
    .unwrap();
    let (meta, data) = aggregates::file::<Household>(s.as_ref(), v.id, &sha)
        .await
        .unwrap();
    assert_eq!(data, PNG);
    assert_eq!(
        (meta.mime.as_str(), meta.size),
        ("image/png", PNG.len() as u64)
    );
    assert!(
        aggregates::file::<Household>(s.as_ref(), v.id + 1, &sha)
            .await
            .is_err(),
        "a file belongs to its aggregate"
    );
    // A command the domain refuses (registering a household twice) writes neither its event
    // nor its file.
    let mut changed = PNG.to_vec();
    changed[40] ^= 1; // another picture, still the shape of a PNG
    let other = FileBlob::new("x.png", changed, who.user.0, at).unwrap();
    assert_ne!(other.sha256, sha);
    let other_sha = other.sha256.clone();
    let refused = aggregates::execute_with_files::<Household>(
        s.as_ref(),
        Some(v.id),
        HouseholdCommand::Register {
            at: loc,
            facts: facts("东升村6组"),
        },
        vec![other],
        who,
        at,
        None,
    )
    .await;
    assert!(refused.is_err());
    assert!(aggregates::file::<Household>(s.as_ref(), v.id, &other_sha)
        .await
        .is_err());
    assert_eq!(
        aggregates::history::<Household>(s.as_ref(), v.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

on_both!(
    aggregate_files_with_their_event,
    files_kept_with_their_event
);
