//! Smart dispatch inside the server: routing suggestions, duplicates at intake, full-text
//! search, the dispatch catalogue and the routing models.
//!
//! The search index and the duplicate index are derived data. A background task follows the
//! store's change feed (events by id) every second: each changed appeal is re-read, its text put
//! into the search index and its signature into the duplicate index. The search index records
//! the last event it applied in each commit and continues from there after a restart; the
//! duplicate index (open appeals of the last `duplicate_days`) is filled from the store at start.
//! Both serve from memory, so a search or a duplicate check never waits for the database.
//!
//! On PostgreSQL an event id can become visible after a higher one (ids are taken before
//! commit), so each poll also looks back over the last 2,000 ids for events not seen yet.

use bihuan_domain::ErrorCode;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use bihuan_domain::catalogue::Rule;
use bihuan_domain::category::CategoryId;
use bihuan_domain::lifecycle::{Appeal, Role, Status};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::Instant;
use bihuan_domain::AppealId;
use bihuan_smart::classify::{train as train_model, Model, Options};
use bihuan_smart::dedup;
use bihuan_smart::route::{Models, Router as SmartRouter, Suggestions};
use bihuan_smart::search::{Hits, SearchIndex};
use bihuan_smart::text::{county_words, Tokenizer};
use bihuan_store::{
    AppealFilter, Catalog, NewModel, Sort, Store, SuggestionOutcome, SuggestionRecord,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::appeals::can_see;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, JsonBody, PathParams, QueryParams};
use crate::{AppState, Config};

mod http;
mod workers;

pub use http::*;
pub use workers::*;

/// Most matches a search hands to the list filters; more and the caller is asked to narrow it.
pub const SEARCH_CAP: usize = 5_000;
/// Training uses at most this many of the newest closed appeals.
pub const TRAIN_CAP: usize = 10_000;
const FEED_BATCH: u32 = 5_000;
const LOOK_BACK: u64 = 2_000;
/// Duplicates shown at most.
const DUPLICATES_SHOWN: usize = 5;
/// At most this many just-registered appeals wait for the indexer in memory (see
/// [`Smart::note_registered`]): more than a second of registrations at full load.
const FRESH_CAP: usize = 32_768;

/// What the server keeps for smart dispatch.
pub struct Smart {
    router: RwLock<Arc<SmartRouter>>,
    /// What the router was built from: the catalog and the model versions. The catalog is
    /// held, not just its address, so that a newer catalog can never be allocated at the same
    /// address and pass for the one already built from.
    built: Mutex<Built>,
    pub search: SearchIndex,
    dups: RwLock<dedup::Index>,
    dups_ready: AtomicBool,
    feed: tokio::sync::Mutex<Feed>,
    /// Appeals this server has just registered, as committed, so that the indexer need not
    /// read them back from the store (reading and parsing them was a fifth of its work). Only
    /// while the background indexer runs; a hint, never the only way: what is not here is read.
    fresh: Mutex<std::collections::HashMap<AppealId, Appeal>>,
    feeding: AtomicBool,
    /// Appeals the indexer took from `fresh` instead of reading them.
    handed_over: std::sync::atomic::AtomicU64,
    threshold: f32,
    window_days: u32,
    pub direct_confidence: f32,
}

#[derive(Default)]
struct Feed {
    /// Highest event id applied.
    high: u64,
    /// Event ids applied in `(high - LOOK_BACK, high]`.
    seen: BTreeSet<u64>,
}

fn model_from(stored: Option<(bihuan_store::ModelInfo, Vec<u8>)>) -> Option<(u64, Arc<Model>)> {
    let (info, bytes) = stored?;
    match Model::from_bytes(&bytes) {
        Ok(m) => Some((info.version, Arc::new(m))),
        Err(e) => {
            tracing::error!(version = info.version, error = %e, "stored model unreadable; ignored");
            None
        }
    }
}

/// The catalog and model versions a router was built from.
#[derive(Clone)]
struct Built {
    catalog: Arc<Catalog>,
    unit: Option<u64>,
    category: Option<u64>,
}

impl Built {
    fn same(&self, other: &Built) -> bool {
        Arc::ptr_eq(&self.catalog, &other.catalog)
            && (self.unit, self.category) == (other.unit, other.category)
    }
}

fn build_router(cat: &Catalog, models: Models) -> SmartRouter {
    let tok = Tokenizer::new(county_words(&cat.org, &cat.categories));
    SmartRouter::new(
        tok,
        cat.org.clone(),
        cat.categories.clone(),
        cat.rules.clone(),
        models,
    )
}

impl Smart {
    /// Opens the search index and loads the newest models.
    pub async fn open(store: &Arc<dyn Store>, config: &Config) -> anyhow::Result<Smart> {
        let cat = store.catalog();
        let unit = model_from(store.latest_model("unit").await?);
        let category = model_from(store.latest_model("category").await?);
        // Empty: in memory (rebuilt from the store at start). `bihuan serve` puts it beside a
        // SQLite database.
        let dir =
            (!config.search_dir.is_empty()).then(|| std::path::PathBuf::from(&config.search_dir));
        let versions = Built {
            catalog: cat.clone(),
            unit: unit.as_ref().map(|m| m.0),
            category: category.as_ref().map(|m| m.0),
        };
        let (router, search) = tokio::task::spawn_blocking(move || {
            let models = Models {
                unit: unit.map(|m| m.1),
                category: category.map(|m| m.1),
            };
            let router = build_router(&cat, models);
            let search = SearchIndex::open(dir.as_deref(), router.tokenizer.clone());
            (router, search)
        })
        .await?;
        let search = search?;
        let high = search.watermark();
        Ok(Smart {
            router: RwLock::new(Arc::new(router)),
            built: Mutex::new(versions),
            search,
            dups: RwLock::new(dedup::Index::default()),
            dups_ready: AtomicBool::new(false),
            fresh: Mutex::new(std::collections::HashMap::new()),
            feeding: AtomicBool::new(false),
            handed_over: std::sync::atomic::AtomicU64::new(0),
            feed: tokio::sync::Mutex::new(Feed {
                high: high.saturating_sub(LOOK_BACK),
                seen: BTreeSet::new(),
            }),
            threshold: config.duplicate_threshold,
            window_days: config.duplicate_days,
            direct_confidence: config.direct_dispatch_confidence,
        })
    }

    /// From now on, appeals registered here are handed to the indexer (the background indexer
    /// calls this when it starts; without it nothing is kept).
    pub fn accept_handoffs(&self) {
        self.feeding.store(true, Ordering::Relaxed);
    }

    /// How many appeals the indexer took as handed over, and how many wait.
    pub fn handoffs(&self) -> (u64, usize) {
        let waiting = self.fresh.lock().unwrap_or_else(|e| e.into_inner()).len();
        (self.handed_over.load(Ordering::Relaxed), waiting)
    }

    /// Hands an appeal this server has just registered (after its commit) to the indexer.
    pub fn note_registered(&self, a: &Appeal) {
        if !self.feeding.load(Ordering::Relaxed) {
            return;
        }
        let mut fresh = self.fresh.lock().unwrap_or_else(|e| e.into_inner());
        // Full (the indexer is far behind): the indexer reads the rest from the store.
        if fresh.len() < FRESH_CAP {
            fresh.insert(a.id, a.clone());
        }
    }

    /// The version of the unit model suggestions come from now.
    pub fn unit_model_version(&self) -> Option<u64> {
        self.built.lock().unwrap_or_else(|e| e.into_inner()).unit
    }

    pub fn router(&self) -> Arc<SmartRouter> {
        self.router
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Rebuilds the router when the catalog or a model changed.
    pub async fn refresh(&self, store: &Arc<dyn Store>) -> anyhow::Result<bool> {
        let cat = store.catalog();
        let models = store.models().await?;
        let newest = |k: &str| models.iter().find(|m| m.kind == k).map(|m| m.version);
        let want = Built {
            catalog: cat.clone(),
            unit: newest("unit"),
            category: newest("category"),
        };
        let have = self.built.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if want.same(&have) {
            return Ok(false);
        }
        let current = self.router();
        let load =
            |kind: &'static str, v: Option<u64>, old: Option<u64>, cur: Option<Arc<Model>>| {
                let store = store.clone();
                async move {
                    if v == old {
                        return Ok::<_, anyhow::Error>(cur);
                    }
                    Ok(model_from(store.latest_model(kind).await?).map(|m| m.1))
                }
            };
        let unit = load("unit", want.unit, have.unit, current.models.unit.clone()).await?;
        let category = load(
            "category",
            want.category,
            have.category,
            current.models.category.clone(),
        )
        .await?;
        let router =
            tokio::task::spawn_blocking(move || build_router(&cat, Models { unit, category }))
                .await?;
        *self.router.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(router);
        *self.built.lock().unwrap_or_else(|e| e.into_inner()) = want;
        Ok(true)
    }

    fn window_start(&self, now: Instant) -> i64 {
        (now - chrono::Duration::days(self.window_days as i64)).timestamp()
    }

    /// Fills the duplicate index with the open appeals of the window.
    pub async fn fill_duplicates(
        &self,
        store: &Arc<dyn Store>,
        now: Instant,
    ) -> anyhow::Result<usize> {
        let open: Vec<Status> = Status::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_terminal())
            .collect();
        let mut cursor = None;
        let mut n = 0;
        loop {
            let filter = AppealFilter {
                status: open.clone(),
                from: Some(now - chrono::Duration::days(self.window_days as i64)),
                sort: Sort::Newest,
                ..Default::default()
            };
            let page = store.list(filter, cursor, 500).await?;
            {
                let mut idx = self.dups.write().unwrap_or_else(|e| e.into_inner());
                for a in &page.items {
                    idx.insert(a.id.0, dup_doc(a));
                    n += 1;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        self.dups_ready.store(true, Ordering::Release);
        Ok(n)
    }

    /// Applies the events not yet applied; returns how many appeals were re-indexed.
    pub async fn catch_up(&self, store: &Arc<dyn Store>, now: Instant) -> anyhow::Result<usize> {
        let mut feed = self.feed.lock().await;
        self.apply(store, now, &mut feed, true).await
    }

    /// Empties the search index and indexes every appeal again from the first event.
    pub async fn rebuild(&self, store: &Arc<dyn Store>) -> anyhow::Result<usize> {
        let mut feed = self.feed.lock().await;
        self.search.clear()?;
        *feed = Feed::default();
        self.apply(store, chrono::Utc::now(), &mut feed, false)
            .await
    }

    async fn apply(
        &self,
        store: &Arc<dyn Store>,
        now: Instant,
        feed: &mut Feed,
        record_intake: bool,
    ) -> anyhow::Result<usize> {
        let mut total = 0;
        let mut batches = 0u32;
        loop {
            let mut changes = store.changes_since(feed.high, FEED_BATCH).await?;
            let full = changes.len() as u32 == FEED_BATCH;
            // Look back for ids that became visible late.
            let back = feed.high.saturating_sub(LOOK_BACK);
            if back < feed.high {
                for c in store.changes_since(back, LOOK_BACK as u32).await? {
                    if c.event <= feed.high && !feed.seen.contains(&c.event) {
                        changes.push(c);
                    }
                }
            }
            if changes.is_empty() {
                break;
            }
            // Each changed appeal: whether it was registered in these changes, and the newest
            // version they reached.
            let mut appeals: BTreeMap<AppealId, (bool, u64)> = BTreeMap::new();
            for c in &changes {
                let (registered, newest) = appeals.entry(c.appeal).or_insert((false, 0));
                *registered |= c.version == 1;
                *newest = (*newest).max(c.version);
            }
            let router = self.router();
            let mut intake = Vec::new();
            let since = self.window_start(now);
            // Read the changed appeals 500 to a query; then the histories of those with more
            // than their registration, a few at a time in parallel (each is a round trip).
            let mut found: BTreeMap<AppealId, Appeal> = BTreeMap::new();
            {
                // Appeals handed over at registration, if no later change has passed them.
                let mut fresh = self.fresh.lock().unwrap_or_else(|e| e.into_inner());
                for (id, (_, newest)) in &appeals {
                    if let Some(a) = fresh.remove(id) {
                        if a.version >= *newest {
                            found.insert(*id, a);
                            self.handed_over.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                // What is left at or below the newest appeal of these changes was noted after
                // the indexer had read it (or will be read when its change shows): drop it, so
                // that the map holds only what was registered since.
                if let Some(top) = appeals.keys().next_back() {
                    fresh.retain(|id, _| id > top);
                }
            }
            let ids: Vec<AppealId> = appeals
                .keys()
                .filter(|id| !found.contains_key(id))
                .copied()
                .collect();
            for chunk in ids.chunks(500) {
                let filter = bihuan_store::AppealFilter {
                    ids: Some(chunk.to_vec()),
                    ..Default::default()
                };
                match store.list(filter, None, chunk.len() as u32).await {
                    Ok(page) => found.extend(page.items.into_iter().map(|a| (a.id, a))),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read changed appeals for the indexes; reading them one by one");
                    }
                }
            }
            // A new appeal's only event is its registration, whose text the appeal itself
            // holds: it is ready as read. The rest need their history (or, if the batch read
            // missed them, themselves), a few at a time in parallel.
            let mut read = Vec::with_capacity(appeals.len());
            let mut pending = Vec::new();
            for (&id, &(registered, _)) in &appeals {
                match found.remove(&id) {
                    Some(a) if a.version == 1 => read.push((id, registered, Ok(a), Ok(Vec::new()))),
                    known => pending.push((id, registered, known)),
                }
            }
            for chunk in pending.chunks_mut(16) {
                let mut set = tokio::task::JoinSet::new();
                for (id, registered, known) in chunk.iter_mut() {
                    let (store, id, registered, known) =
                        (store.clone(), *id, *registered, known.take());
                    set.spawn(async move {
                        let a = match known {
                            Some(a) => Ok(a),
                            None => store.appeal(bihuan_store::AppealRef::Id(id)).await,
                        };
                        let h = match &a {
                            Ok(a) if a.version > 1 => store.history(id).await,
                            _ => Ok(Vec::new()),
                        };
                        (id, registered, a, h)
                    });
                }
                while let Some(r) = set.join_next().await {
                    read.push(r?);
                }
            }
            for (id, registered, a, history) in read {
                let (id, registered) = (&id, &registered);
                let a = match a {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(appeal = id.0, error = %e, "cannot read a changed appeal for the indexes");
                        continue;
                    }
                };
                // One unreadable appeal must not stop the feed: log it and go on (a rebuild
                // indexes it again once it can be read).
                let history = match history {
                    Ok(h) => h,
                    Err(e) => {
                        tracing::warn!(appeal = id.0, error = %e, "cannot read a changed appeal's history for the indexes");
                        Vec::new()
                    }
                };
                self.search.put(id.0, &a.search_text(&history))?;
                {
                    let mut dups = self.dups.write().unwrap_or_else(|e| e.into_inner());
                    if a.status.is_terminal() || a.registered_at.timestamp() < since {
                        dups.remove(id.0);
                    } else {
                        dups.insert(id.0, dup_doc(&a));
                    }
                }
                // What intake was told, for appeals registered lately (not for imported or
                // generated history, which no one was shown suggestions for).
                if record_intake
                    && *registered
                    && (now - a.registered_at) < chrono::Duration::hours(24)
                {
                    let s = router.suggest(
                        &format!("{}\n{}", a.title, a.content),
                        &a.place.address,
                        None,
                    );
                    intake.push(record(a.id, "intake", now, &s, self.unit_model_version()));
                }
            }
            for c in &changes {
                feed.seen.insert(c.event);
                feed.high = feed.high.max(c.event);
            }
            let low = feed.high.saturating_sub(LOOK_BACK);
            feed.seen = feed.seen.split_off(&(low + 1));
            // A commit makes the changes searchable and durable; while far behind (a rebuild,
            // a long stop) commit every 40 batches, not every batch.
            batches += 1;
            if !full || batches.is_multiple_of(40) {
                self.search.commit(feed.high)?;
            }
            if !intake.is_empty() {
                store.put_suggestions(intake).await?;
            }
            total += appeals.len();
            if !full {
                break;
            }
        }
        Ok(total)
    }

    /// Open appeals alike, best first.
    pub fn similar(
        &self,
        facts: &dedup::Facts<'_>,
        now: Instant,
        exclude: Option<AppealId>,
    ) -> Vec<dedup::Match> {
        let probe = dedup::Doc::of(facts);
        let idx = self.dups.read().unwrap_or_else(|e| e.into_inner());
        let mut found = idx.similar(
            &probe,
            self.threshold,
            self.window_start(now),
            exclude.map(|e| e.0),
        );
        found.truncate(DUPLICATES_SHOWN);
        found
    }

    /// Drops appeals that have left the duplicate window.
    pub fn expire(&self, now: Instant) -> usize {
        let cutoff = self.window_start(now);
        self.dups
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .expire(cutoff)
    }

    pub fn duplicates_ready(&self) -> bool {
        self.dups_ready.load(Ordering::Acquire)
    }

    /// Full-text search: at most [`SEARCH_CAP`] matches, newest first.
    pub fn search(&self, q: &str) -> ApiResult<Hits> {
        if q.chars().count() > 100 {
            return Err(ApiError::bad_request(
                ErrorCode::BadQuery,
                "搜索词不能超过100字",
            ));
        }
        self.search.search(q, SEARCH_CAP).map_err(|e| {
            tracing::error!(error = %e, "search failed");
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::SearchUnavailable,
                "搜索暂不可用，请稍后重试或先用筛选条件查找",
            )
        })
    }
}

fn dup_doc(a: &Appeal) -> dedup::Doc {
    let caller = a.citizen.identity_key();
    dedup::Doc::of(&facts_of(a, caller.as_deref()))
}

/// What an appeal brings to the duplicate check.
pub fn facts_of<'a>(a: &'a Appeal, caller: Option<&'a str>) -> dedup::Facts<'a> {
    dedup::Facts {
        title: &a.title,
        content: &a.content,
        at: a.registered_at.timestamp(),
        township: a.place.township.map(|t| t.0),
        village: a.place.village.map(|v| v.0),
        address: &a.place.address,
        category: a.category.map(|c| c.0),
        caller,
    }
}

fn record(
    appeal: AppealId,
    stage: &str,
    at: Instant,
    s: &Suggestions,
    model_version: Option<u64>,
) -> SuggestionRecord {
    SuggestionRecord {
        appeal,
        stage: stage.into(),
        at,
        model_version,
        units: s.units.iter().map(|u| (u.unit.0, u.confidence)).collect(),
        categories: s
            .categories
            .iter()
            .map(|c| (c.category.0, c.confidence))
            .collect(),
    }
}
