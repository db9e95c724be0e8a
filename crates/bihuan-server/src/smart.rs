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
        title: &str,
        content: &str,
        township: Option<UnitId>,
        now: Instant,
        exclude: Option<AppealId>,
    ) -> Vec<dedup::Match> {
        let probe = dedup::Doc::new(title, content, now.timestamp(), township.map(|t| t.0));
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
                "搜索暂不可用,请稍后重试或先用筛选条件查找",
            )
        })
    }
}

fn dup_doc(a: &Appeal) -> dedup::Doc {
    dedup::Doc::new(
        &a.title,
        &a.content,
        a.registered_at.timestamp(),
        a.place.township.map(|t| t.0),
    )
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

/// Training texts: the newest closed appeals, title and content.
pub struct TrainReport {
    pub texts: usize,
    pub unit: Option<(u64, usize, Option<f32>)>,
    pub category: Option<(u64, usize, Option<f32>)>,
    pub seconds: f64,
}

impl TrainReport {
    pub fn describe(&self) -> String {
        let part = |name: &str, m: &Option<(u64, usize, Option<f32>)>| match m {
            Some((v, classes, acc)) => format!(
                "{name}模型 v{v}: {classes} 类, 留出集准确率 {}",
                acc.map(|a| format!("{:.1}%", a * 100.0))
                    .unwrap_or_else(|| "—".into())
            ),
            None => format!("{name}模型: 数据不足(至少需要两个类别),未训练"),
        };
        format!(
            "用 {} 件已办结诉求训练, 用时 {:.1} 秒; {}; {}",
            self.texts,
            self.seconds,
            part("承办单位", &self.unit),
            part("类别", &self.category)
        )
    }
}

/// Trains the unit and category models on the newest closed appeals and stores them.
pub async fn train(store: &Arc<dyn Store>, now: Instant) -> anyhow::Result<TrainReport> {
    let started = std::time::Instant::now();
    let mut cursor = None;
    let mut rows: Vec<(Option<UnitId>, Option<CategoryId>, String)> = Vec::new();
    while rows.len() < TRAIN_CAP {
        let filter = AppealFilter {
            status: vec![Status::Closed],
            sort: Sort::Newest,
            ..Default::default()
        };
        let page = store.list(filter, cursor, 500).await?;
        for a in &page.items {
            rows.push((a.lead, a.category, format!("{}\n{}", a.title, a.content)));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    rows.truncate(TRAIN_CAP);
    let cat = store.catalog();
    let texts = rows.len();
    let (unit, category) = tokio::task::spawn_blocking(move || {
        let tok = Tokenizer::new(county_words(&cat.org, &cat.categories));
        let units: Vec<(String, &str)> = rows
            .iter()
            .filter_map(|(u, _, t)| u.map(|u| (u.0.to_string(), t.as_str())))
            .collect();
        let cats: Vec<(String, &str)> = rows
            .iter()
            .filter_map(|(_, c, t)| c.map(|c| (c.0.to_string(), t.as_str())))
            .collect();
        // Fewer passes than the evaluation's default: a county retrains daily, and the last
        // passes move the held-out accuracy by less than a point.
        let opts = Options {
            max_passes: 40,
            ..Options::default()
        };
        let t = std::time::Instant::now();
        let unit = train_model(&tok, &units, &opts)
            .ok()
            .map(|m| (units.len(), m));
        tracing::info!(seconds = t.elapsed().as_secs_f64(), "unit model trained");
        (
            unit,
            train_model(&tok, &cats, &opts)
                .ok()
                .map(|m| (cats.len(), m)),
        )
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut report = TrainReport {
        texts,
        unit: None,
        category: None,
        seconds,
    };
    for (kind, m) in [("unit", unit), ("category", category)] {
        let Some((n, m)) = m else { continue };
        let meta = json!({
            "texts": n, "classes": m.classes.len(), "features": m.features(),
            "holdout_accuracy": m.holdout_accuracy, "seconds": seconds,
        });
        let v = store
            .put_model(NewModel {
                kind: kind.into(),
                created_at: now,
                meta,
                body: m.to_bytes(),
            })
            .await?;
        let entry = Some((v, m.classes.len(), m.holdout_accuracy));
        if kind == "unit" {
            report.unit = entry;
        } else {
            report.category = entry;
        }
    }
    Ok(report)
}

/// The feed every `every`, the catalog and models and the duplicate window
/// every ten rounds, and retraining on schedule.
pub fn spawn(state: AppState, every: Duration) {
    state.smart.accept_handoffs();
    crate::ops::supervise(&state, "indexer", move |state| run(state, every));
}

async fn run(state: AppState, every: Duration) {
    let smart = state.smart.clone();
    match smart.fill_duplicates(&state.store, state.clock.now()).await {
        Ok(n) => tracing::info!(appeals = n, "duplicate index filled"),
        Err(e) => tracing::error!(error = %e, "cannot fill the duplicate index"),
    }
    let mut ticks: u64 = 0;
    let retrain = Duration::from_secs(state.config.retrain_hours * 3600);
    let mut last_train = std::time::Instant::now();
    // A database without models (new, or restored from a backup: models stay out of
    // backups) trains once at start, in the background, when it has history to learn from.
    if !retrain.is_zero() {
        match state.store.models().await {
            Ok(m) if m.is_empty() => match train(&state.store, state.clock.now()).await {
                Ok(r) if r.unit.is_some() || r.category.is_some() => {
                    tracing::info!(texts = r.texts, "routing models trained at start")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "training at start failed"),
            },
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot list the routing models"),
        }
    }
    loop {
        match smart.catch_up(&state.store, state.clock.now()).await {
            Ok(n) if n > 0 => {
                tracing::debug!(appeals = n, "search and duplicate indexes updated")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "index update failed; retrying"),
        }
        if ticks.is_multiple_of(10) {
            if let Err(e) = smart.refresh(&state.store).await {
                tracing::error!(error = %e, "cannot reload the dispatch catalogue or models");
            }
            smart.expire(state.clock.now());
        }
        if !retrain.is_zero() && last_train.elapsed() >= retrain {
            last_train = std::time::Instant::now();
            match train(&state.store, state.clock.now()).await {
                Ok(r) => tracing::info!(texts = r.texts, "routing models retrained"),
                Err(e) => tracing::error!(error = %e, "scheduled retraining failed"),
            }
        }
        ticks += 1;
        tokio::time::sleep(every).await;
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/suggestions", post(suggest_new))
        .route("/api/v1/appeals/{key}/suggestions", get(suggest_existing))
        .route("/api/v1/suggestions/accuracy", get(accuracy))
        .route("/api/v1/dispatch-rules", get(list_rules).put(put_rules))
        .route("/api/v1/models", get(list_models))
        .route("/api/v1/models/train", post(train_now))
}

/// Roles that register or dispatch appeals.
pub const INTAKE: &[Role] = &[
    Role::Operator,
    Role::Dispatcher,
    Role::GridMember,
    Role::Admin,
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestBody {
    #[serde(default)]
    title: String,
    content: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    category: Option<u32>,
    #[serde(default)]
    township: Option<u32>,
    /// The caller's phone: duplicates raised by the same person are marked (a repeat appeal
    /// on the same matter counts against 一次性化解率).
    #[serde(default)]
    phone: Option<String>,
}

/// Suggestions and duplicates as the console and API show them.
pub async fn view(
    state: &AppState,
    caller: &Caller,
    s: &Suggestions,
    dups: &[dedup::Match],
    citizen: Option<String>,
) -> Value {
    let cat = state.store.catalog();
    let router = state.smart.router();
    let unit_name = |u: UnitId| cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default();
    let units: Vec<Value> = s
        .units
        .iter()
        .map(|u| {
            json!({
                "unit": u.unit, "name": unit_name(u.unit), "confidence": u.confidence,
                "direct": u.confidence >= state.smart.direct_confidence,
                "reasons": u.reasons.iter().map(|r| r.describe(&cat.org, &cat.categories)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let categories: Vec<Value> = s
        .categories
        .iter()
        .map(|c| {
            json!({
                "category": c.category, "path": cat.categories.path_name(c.category),
                "confidence": c.confidence,
                "reasons": c.reasons.iter().map(|r| r.describe(&cat.org, &cat.categories)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let place = s.place.as_ref().map(|p| {
        json!({
            "township": p.township, "township_name": p.township.map(unit_name),
            "village": p.village, "village_name": p.village.map(unit_name),
            "grid": p.grid, "grid_name": p.grid.map(unit_name),
            "matched": p.matched, "confidence": p.confidence,
        })
    });
    let mut duplicates = Vec::new();
    for m in dups {
        if let Ok(a) = state
            .store
            .appeal(bihuan_store::AppealRef::Id(AppealId(m.id)))
            .await
        {
            if can_see(caller, &a) {
                let same_caller = citizen.is_some() && a.citizen.identity_key() == citizen;
                duplicates.push(json!({
                    "same_caller": same_caller,
                    "id": a.id, "number": a.number, "title": a.title, "status": a.status,
                    "status_label": a.status.label(), "registered_at": a.registered_at,
                    "similarity": m.similarity, "same_township": m.same_township,
                }));
            }
        }
    }
    json!({
        "units": units, "categories": categories, "place": place, "duplicates": duplicates,
        "direct_dispatch_confidence": state.smart.direct_confidence,
        "duplicates_ready": state.smart.duplicates_ready(),
        "models": {
            "unit": router.models.unit.is_some(),
            "category": router.models.category.is_some(),
        },
    })
}

async fn suggest_new(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(b): JsonBody<SuggestBody>,
) -> ApiResult<Json<Value>> {
    caller.require(INTAKE)?;
    if b.content.trim().is_empty() {
        return Err(ApiError::unprocessable(
            ErrorCode::ContentRequired,
            "请填写诉求内容",
        ));
    }
    if b.content.chars().count() > 5000
        || b.title.chars().count() > 200
        || b.address.chars().count() > 500
    {
        return Err(ApiError::unprocessable(
            ErrorCode::TooLong,
            "标题不超过200字、内容不超过5000字、地址不超过500字",
        ));
    }
    let cat = state.store.catalog();
    let category = match b.category {
        Some(c) if cat.categories.get(CategoryId(c)).is_none() => {
            return Err(ApiError::unprocessable(
                ErrorCode::UnknownCategory,
                format!("类别 {c} 不存在"),
            ))
        }
        c => c.map(CategoryId),
    };
    let township = match b.township {
        Some(t) if cat.org.get(UnitId(t)).map(|u| u.kind) != Some(UnitKind::Township) => {
            return Err(ApiError::unprocessable(
                ErrorCode::UnknownTownship,
                format!("{t} 不是乡镇(街道)的编号,请从单位列表中选择"),
            ))
        }
        t => t.map(UnitId),
    };
    let citizen = match b.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(
            bihuan_domain::Phone::parse(p)
                .map_err(|m| ApiError::unprocessable(ErrorCode::BadPhone, m))?
                .identity(),
        ),
        None => None,
    };
    let text = NewText {
        title: b.title,
        content: b.content,
        address: b.address,
        category,
        township,
        citizen,
    };
    Ok(Json(for_text(&state, &caller, &text).await))
}

/// A text not yet registered, as intake has it.
pub struct NewText {
    pub title: String,
    pub content: String,
    pub address: String,
    pub category: Option<CategoryId>,
    /// The township chosen; else the one the address names.
    pub township: Option<UnitId>,
    /// The caller's identity (phone), to mark their own earlier appeals.
    pub citizen: Option<String>,
}

/// Suggestions and possible duplicates for a text at intake (the API and the console form).
pub async fn for_text(state: &AppState, caller: &Caller, t: &NewText) -> Value {
    let router = state.smart.router();
    let s = router.suggest(
        &format!("{}\n{}", t.title, t.content),
        &t.address,
        t.category,
    );
    let township = t
        .township
        .or_else(|| s.place.as_ref().and_then(|p| p.township));
    let dups = state
        .smart
        .similar(&t.title, &t.content, township, state.clock.now(), None);
    view(state, caller, &s, &dups, t.citizen.clone()).await
}

/// Suggestions for a registered appeal; recorded when the appeal awaits dispatch.
pub async fn suggestions_for(state: &AppState, caller: &Caller, a: &Appeal) -> Value {
    let router = state.smart.router();
    let s = router.suggest(
        &format!("{}\n{}", a.title, a.content),
        &a.place.address,
        a.category,
    );
    let now = state.clock.now();
    let dups = state
        .smart
        .similar(&a.title, &a.content, a.place.township, now, Some(a.id));
    if a.status == Status::PendingDispatch && caller.user.role == Role::Dispatcher {
        let r = record(a.id, "dispatch", now, &s, state.smart.unit_model_version());
        if let Err(e) = state.store.put_suggestions(vec![r]).await {
            tracing::warn!(error = %e, "cannot record a suggestion");
        }
    }
    view(state, caller, &s, &dups, a.citizen.identity_key()).await
}

async fn suggest_existing(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(key): PathParams<String>,
) -> ApiResult<Json<Value>> {
    let a = crate::appeals::visible(&state, &caller, &key).await?;
    Ok(Json(suggestions_for(&state, &caller, &a).await))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Accuracy of what was suggested, against the lead unit and category the appeal has now.
#[derive(Debug, Default, Clone, serde::Serialize, PartialEq)]
pub struct Accuracy {
    pub stage: String,
    pub suggested: u64,
    /// Appeals that have a lead unit now (the others cannot be judged yet).
    pub judged: u64,
    pub unit_top1: u64,
    pub unit_top3: u64,
    /// Of those judged, how many were at or above the one-click threshold, and right.
    pub direct: u64,
    pub direct_right: u64,
    pub category_judged: u64,
    pub category_top1: u64,
}

pub fn accuracy_of(rows: &[SuggestionOutcome], direct: f32) -> Vec<Accuracy> {
    let mut by: BTreeMap<String, Accuracy> = BTreeMap::new();
    for r in rows {
        let a = by
            .entry(r.record.stage.clone())
            .or_insert_with(|| Accuracy {
                stage: r.record.stage.clone(),
                ..Default::default()
            });
        a.suggested += 1;
        if let Some(lead) = r.lead {
            a.judged += 1;
            let top = r.record.units.first();
            if top.map(|t| t.0) == Some(lead) {
                a.unit_top1 += 1;
            }
            if r.record.units.iter().take(3).any(|t| t.0 == lead) {
                a.unit_top3 += 1;
            }
            if let Some((u, c)) = top {
                if *c >= direct {
                    a.direct += 1;
                    if *u == lead {
                        a.direct_right += 1;
                    }
                }
            }
        }
        if let Some(c) = r.category {
            a.category_judged += 1;
            if r.record.categories.first().map(|t| t.0) == Some(c) {
                a.category_top1 += 1;
            }
        }
    }
    by.into_values().collect()
}

async fn accuracy(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    if !caller.sees_all() {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只有中心和领导可以查看派单建议准确率",
        ));
    }
    let now = state.clock.now();
    let day =
        |s: &str| crate::appeals::parse_date("from/to", s).map(bihuan_domain::time::start_of_day);
    let from = match &q.from {
        Some(s) => day(s)?,
        None => now - chrono::Duration::days(30),
    };
    let to = match &q.to {
        Some(s) => day(s)? + chrono::Duration::days(1),
        None => now + chrono::Duration::seconds(1),
    };
    if to <= from {
        return Err(ApiError::bad_request(
            ErrorCode::BadQuery,
            "to 不能早于 from",
        ));
    }
    let rows = state.store.suggestion_outcomes(from, to).await?;
    Ok(Json(json!({
        "from": from, "to": to,
        "direct_dispatch_confidence": state.smart.direct_confidence,
        "stages": accuracy_of(&rows, state.smart.direct_confidence),
    })))
}

async fn list_rules(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let _ = caller;
    Ok(Json(json!({"items": state.store.catalog().rules})))
}

/// Replaces the catalogue; rules without an id (or 0) get a new one.
async fn put_rules(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(mut rules): JsonBody<Vec<Rule>>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Admin])?;
    if rules.len() > 2000 {
        return Err(ApiError::unprocessable(
            ErrorCode::TooManyRules,
            "派单目录最多2000条",
        ));
    }
    let cat = state.store.catalog();
    let mut ids = BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        r.validate(&cat.org, &cat.categories).map_err(|m| {
            ApiError::unprocessable(ErrorCode::InvalidRule, format!("第{}条: {m}", i + 1))
        })?;
        if r.id != 0 && !ids.insert(r.id) {
            return Err(ApiError::unprocessable(
                ErrorCode::DuplicateRuleId,
                format!("规则编号 {} 重复", r.id),
            ));
        }
    }
    let mut next = ids.iter().max().copied().unwrap_or(0);
    for r in rules.iter_mut().filter(|r| r.id == 0) {
        next += 1;
        r.id = next;
    }
    state.store.put_dispatch_rules(rules.clone()).await?;
    state.smart.refresh(&state.store).await.map_err(|e| {
        tracing::error!(error = %e, "router refresh after a catalogue change failed");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RefreshFailed,
            "派单目录已保存,但建议暂未更新,请稍后刷新",
        )
    })?;
    Ok(Json(json!({"items": rules})))
}

async fn list_models(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    if !caller.sees_all() {
        return Err(ApiError::forbidden(
            ErrorCode::RoleForbidden,
            "只有中心和领导可以查看模型",
        ));
    }
    Ok(Json(json!({"items": state.store.models().await?})))
}

async fn train_now(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Admin])?;
    let r = train(&state.store, state.clock.now()).await.map_err(|e| {
        tracing::error!(error = %e, "training failed");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TrainingFailed,
            "训练失败,请查看服务器日志后重试",
        )
    })?;
    let _ = state.smart.refresh(&state.store).await;
    Ok(Json(json!({
        "texts": r.texts, "seconds": r.seconds,
        "unit": r.unit.map(|(v, c, a)| json!({"version": v, "classes": c, "holdout_accuracy": a})),
        "category": r.category.map(|(v, c, a)| json!({"version": v, "classes": c, "holdout_accuracy": a})),
        "summary": r.describe(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(
        stage: &str,
        units: &[(u32, f32)],
        lead: Option<u32>,
        cats: &[(u32, f32)],
        cat: Option<u32>,
    ) -> SuggestionOutcome {
        SuggestionOutcome {
            record: SuggestionRecord {
                appeal: AppealId(1),
                stage: stage.into(),
                at: chrono::Utc::now(),
                model_version: None,
                units: units.to_vec(),
                categories: cats.to_vec(),
            },
            lead,
            category: cat,
            status: Status::Dispatched,
        }
    }

    #[test]
    fn accuracy_counts_by_hand() {
        let rows = vec![
            // Right first, confident: a right one-click dispatch.
            outcome(
                "dispatch",
                &[(10, 0.95), (11, 0.3)],
                Some(10),
                &[(3, 0.8)],
                Some(3),
            ),
            // Right second: top-3 only; confident but wrong.
            outcome(
                "dispatch",
                &[(11, 0.92), (10, 0.5)],
                Some(10),
                &[(4, 0.8)],
                Some(3),
            ),
            // Not dispatched yet: not judged.
            outcome("dispatch", &[(10, 0.5)], None, &[], None),
            outcome("intake", &[(12, 0.4)], Some(12), &[], Some(3)),
        ];
        let a = accuracy_of(&rows, 0.9);
        assert_eq!(a.len(), 2);
        let d = &a[0];
        assert_eq!(d.stage, "dispatch");
        assert_eq!(
            (d.suggested, d.judged, d.unit_top1, d.unit_top3),
            (3, 2, 1, 2)
        );
        assert_eq!((d.direct, d.direct_right), (2, 1));
        assert_eq!((d.category_judged, d.category_top1), (2, 1));
        let i = &a[1];
        assert_eq!(
            (
                i.stage.as_str(),
                i.unit_top1,
                i.category_judged,
                i.category_top1
            ),
            ("intake", 1, 1, 0)
        );
    }
}
