//! The generic aggregate store, on both backends, with a capability that exists only here (a
//! township job posting): created, changed, refused, listed by its index, replayed from its
//! history, backed up and restored, and created concurrently — without one line of backend code
//! for it.

use std::sync::Arc;

use bihuan::demo;
use bihuan_domain::aggregate::{replay, Aggregate};
use bihuan_domain::lifecycle::{Actor, Context, Role};
use bihuan_domain::org::UnitKind;
use bihuan_domain::time::{local, Instant};
use bihuan_domain::{DomainError, UserId};
use bihuan_store::aggregates::{execute, find, history, load};
use bihuan_store::postgres::PgStore;
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::testing::{scratch_database, ScratchDb};
use bihuan_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Posting {
    title: String,
    township: u32,
    open: bool,
    applicants: Vec<String>,
}

enum PostingCommand {
    Publish { title: String, township: u32 },
    Apply { name: String },
    Close,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum PostingEvent {
    Published { title: String, township: u32 },
    Applied { name: String },
    Closed,
}

impl Aggregate for Posting {
    const KIND: &'static str = "test_posting";
    type Command = PostingCommand;
    type Event = PostingEvent;

    fn decide(
        state: Option<&Posting>,
        command: &PostingCommand,
        _actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<PostingEvent>, DomainError> {
        match (state, command) {
            (None, PostingCommand::Publish { title, township }) => {
                if title.trim().is_empty() {
                    return Err(DomainError::invalid("title", "请填写岗位名称"));
                }
                Ok(vec![PostingEvent::Published {
                    title: title.clone(),
                    township: *township,
                }])
            }
            (None, _) => Err(DomainError::invalid("posting", "岗位尚未发布")),
            (Some(_), PostingCommand::Publish { .. }) => {
                Err(DomainError::invalid("posting", "岗位已发布"))
            }
            (Some(p), _) if !p.open => Err(DomainError::invalid("posting", "岗位已关闭")),
            (Some(p), PostingCommand::Apply { name }) => {
                if p.applicants.contains(name) {
                    return Err(DomainError::invalid("name", "已报名"));
                }
                Ok(vec![PostingEvent::Applied { name: name.clone() }])
            }
            (Some(_), PostingCommand::Close) => Ok(vec![PostingEvent::Closed]),
        }
    }

    fn apply(state: Option<Posting>, event: &PostingEvent, _at: Instant) -> Posting {
        match (state, event) {
            (_, PostingEvent::Published { title, township }) => Posting {
                title: title.clone(),
                township: *township,
                open: true,
                applicants: vec![],
            },
            (Some(mut p), PostingEvent::Applied { name }) => {
                p.applicants.push(name.clone());
                p
            }
            (Some(mut p), PostingEvent::Closed) => {
                p.open = false;
                p
            }
            (None, e) => panic!("{e:?} before the posting was published"),
        }
    }

    fn event_name(event: &PostingEvent) -> &'static str {
        match event {
            PostingEvent::Published { .. } => "published",
            PostingEvent::Applied { .. } => "applied",
            PostingEvent::Closed => "closed",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![
            ("township", self.township.to_string()),
            ("status", if self.open { "open" } else { "closed" }.into()),
        ]
    }
}

struct Fixture {
    store: Arc<dyn Store>,
    _pg: Option<ScratchDb>,
    dir: tempfile::TempDir,
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
        _pg: pg,
        dir,
    })
}

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

fn clerk() -> Actor {
    Actor {
        user: UserId(1),
        name: "乡镇人社所".into(),
        role: Role::Admin,
        unit: bihuan_domain::org::UnitId(1),
        unit_kind: UnitKind::County,
    }
}

fn t(minute: u32) -> Instant {
    local(2026, 11, 2, 9, minute, 0).unwrap()
}

fn publish(title: &str, township: u32) -> PostingCommand {
    PostingCommand::Publish {
        title: title.into(),
        township,
    }
}

async fn a_posting_lives_in_the_generic_store(f: Fixture) {
    let s: &dyn Store = &*f.store;
    let a = execute::<Posting>(s, None, publish("保洁员", 7), clerk(), t(0), Some(0))
        .await
        .unwrap();
    assert_eq!((a.id, a.version), (1, 1));
    // A refused creation takes no id: the next one is 2.
    let refused = execute::<Posting>(s, None, publish("  ", 7), clerk(), t(1), None).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Domain(DomainError::Invalid {
                field: "title",
                ..
            }))
        ),
        "{refused:?}"
    );
    let b = execute::<Posting>(s, None, publish("护林员", 8), clerk(), t(2), None)
        .await
        .unwrap();
    assert_eq!(b.id, 2);
    // Changes, a stale version and a refusal.
    let apply = |name: &str| PostingCommand::Apply { name: name.into() };
    let a2 = execute::<Posting>(s, Some(1), apply("张三"), clerk(), t(3), Some(1))
        .await
        .unwrap();
    assert_eq!(a2.version, 2);
    let stale = execute::<Posting>(s, Some(1), apply("李四"), clerk(), t(4), Some(1)).await;
    assert!(
        matches!(
            stale,
            Err(StoreError::Domain(DomainError::VersionConflict {
                current: 2,
                ..
            }))
        ),
        "{stale:?}"
    );
    let twice = execute::<Posting>(s, Some(1), apply("张三"), clerk(), t(4), None).await;
    assert!(matches!(twice, Err(StoreError::Domain(_))), "{twice:?}");
    let missing = execute::<Posting>(s, Some(99), apply("张三"), clerk(), t(4), None).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    execute::<Posting>(s, Some(1), apply("李四"), clerk(), t(5), Some(2))
        .await
        .unwrap();
    let closed = execute::<Posting>(s, Some(1), PostingCommand::Close, clerk(), t(6), Some(3))
        .await
        .unwrap();
    assert_eq!(closed.version, 4);
    assert!(!closed.state.open);
    assert_eq!(closed.state.applicants, ["张三", "李四"]);
    assert_eq!(closed.created_at, t(0));
    assert_eq!(closed.updated_at, t(6));

    // The stored state is its history folded, and reads back the same.
    let loaded = load::<Posting>(s, 1).await.unwrap();
    assert_eq!(loaded, closed);
    let h = history::<Posting>(s, 1).await.unwrap();
    assert_eq!(
        h.iter().map(|r| r.version).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(replay::<Posting>(1, &h).unwrap(), loaded);
    assert_eq!(h[0].actor, clerk());

    // The index follows every write: the closed posting left the open list.
    let open = find::<Posting>(s, "status", "open", 0, 100).await.unwrap();
    assert_eq!(open.iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
    let closed_list = find::<Posting>(s, "status", "closed", 0, 100)
        .await
        .unwrap();
    assert_eq!(closed_list.iter().map(|p| p.id).collect::<Vec<_>>(), [1]);
    let in_7 = find::<Posting>(s, "township", "7", 0, 100).await.unwrap();
    assert_eq!(in_7.len(), 1);
    let all = find::<Posting>(s, "", "", 0, 100).await.unwrap();
    assert_eq!(all.len(), 2);
    let after_first = find::<Posting>(s, "", "", 1, 100).await.unwrap();
    assert_eq!(after_first.iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
    assert_eq!(
        s.count_aggregates(Posting::KIND, "status", "open")
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.count_aggregates(Posting::KIND, "", "").await.unwrap(), 2);
    // Another kind sees none of them.
    assert_eq!(s.count_aggregates("other_kind", "", "").await.unwrap(), 0);

    // A backup carries them to a fresh store of the other kind, whole.
    let archive = f.dir.path().join("backup.jsonl");
    let summary = s.backup(archive.clone()).await.unwrap();
    assert_eq!(summary.rows("aggregates"), 2);
    assert_eq!(summary.rows("aggregate_events"), 5);
    let other_dir = tempfile::tempdir().unwrap();
    let other: Arc<dyn Store> = Arc::new(SqliteStore::open(other_dir.path().join("r.db")).unwrap());
    other.restore(archive).await.unwrap();
    assert_eq!(load::<Posting>(&*other, 1).await.unwrap(), loaded);
    assert_eq!(history::<Posting>(&*other, 1).await.unwrap(), h);
    assert_eq!(
        find::<Posting>(&*other, "status", "open", 0, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    // Ids continue after the restored ones.
    let c = execute::<Posting>(&*other, None, publish("水管员", 9), clerk(), t(9), None)
        .await
        .unwrap();
    assert_eq!(c.id, 3);
}
on_both!(
    a_capability_is_stored_without_backend_code,
    a_posting_lives_in_the_generic_store
);

async fn concurrent_creations(f: Fixture) {
    let mut tasks = Vec::new();
    for i in 0..40u32 {
        let s = f.store.clone();
        tasks.push(tokio::spawn(async move {
            let title = if i % 5 == 4 {
                String::new()
            } else {
                format!("岗位{i}")
            };
            execute::<Posting>(&*s, None, publish(&title, i % 3), clerk(), t(0), None)
                .await
                .map(|p| p.id)
        }));
    }
    let mut ids = Vec::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => ids.push(id),
            Err(StoreError::Domain(_)) => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    ids.sort_unstable();
    assert_eq!(refused, 8);
    assert_eq!(
        ids,
        (1..=32).collect::<Vec<u64>>(),
        "every id once, none skipped"
    );
}
on_both!(
    concurrent_creations_get_consecutive_ids,
    concurrent_creations
);
