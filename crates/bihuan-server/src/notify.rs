//! The outbox: notices derived from the change feed, delivered by a pluggable sender.
//!
//! A pass ([`pass`]) follows the store's change feed from its saved position, derives what each
//! new event tells whom ([`bihuan_domain::notice::notices_for`]) and queues each notice once
//! (its key is looked up first), adds due-soon reminders, then tries every pending text message
//! whose time has come. The action that caused a notice has long been committed: a sender that
//! fails only delays the message (retried with a growing wait, given up after six tries), never
//! the work. A crash between an action and the next pass loses nothing: the feed position is
//! saved only after the notices of the events before it are queued.
//!
//! Senders: [`Outbox`] (the default) keeps text messages in the outbox the administrator reads
//! in the console; [`HttpGateway`] posts each to an SMS gateway's URL as JSON
//! `{"phone": …, "text": …}` with an optional bearer token (`sms_gateway_url`,
//! `sms_gateway_token`).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bihuan_domain::aggregate::Versioned;
use bihuan_domain::notice::{
    self, Delivery, FeedCursor, FeedCursorCommand, Notice, NoticeCommand, Recipient,
};
use bihuan_domain::time::Instant;
use bihuan_store::{aggregates, AppealFilter, AppealRef, StoreError};

use crate::AppState;

/// A result a sender gives back.
pub type Sent<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Delivers one text message.
pub trait Sender: Send + Sync {
    /// What the console calls it.
    fn describe(&self) -> String;
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> Sent<'a>;
}

/// Keeps messages in the console's outbox (no gateway configured).
pub struct Outbox;

impl Sender for Outbox {
    fn describe(&self) -> String {
        "发件箱（未配置短信网关，短信留存在此，由管理员查看）".into()
    }
    fn send<'a>(&'a self, _phone: &'a str, _text: &'a str) -> Sent<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// Posts each message to an HTTP SMS gateway.
pub struct HttpGateway {
    url: String,
    token: String,
    client: reqwest::Client,
}

impl HttpGateway {
    pub fn new(url: &str, token: &str) -> HttpGateway {
        HttpGateway {
            url: url.to_string(),
            token: token.to_string(),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }
}

impl Sender for HttpGateway {
    fn describe(&self) -> String {
        format!("短信网关 {}", self.url)
    }
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> Sent<'a> {
        Box::pin(async move {
            let mut req = self
                .client
                .post(&self.url)
                .json(&serde_json::json!({"phone": phone, "text": text}));
            if !self.token.is_empty() {
                req = req.bearer_auth(&self.token);
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("短信网关返回 {}", r.status().as_u16())),
                Err(e) => Err(format!("无法连接短信网关：{e}")),
            }
        })
    }
}

/// The sender and the feed position of this server.
pub struct Notifier {
    pub sender: Arc<dyn Sender>,
    /// Event ids already handled near the feed position (ids a concurrent writer made visible
    /// late are picked up by a look back).
    seen: tokio::sync::Mutex<BTreeSet<u64>>,
    /// Keys this server has queued or found queued, so that a due-soon reminder looked at on
    /// every pass costs an index read once, not every five seconds (bounded: cleared past
    /// [`KNOWN_KEYS`]).
    known: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Most keys [`Notifier::known`] remembers before it starts afresh.
const KNOWN_KEYS: usize = 200_000;

impl Notifier {
    pub fn new(sender: Arc<dyn Sender>) -> Notifier {
        Notifier {
            sender,
            seen: Default::default(),
            known: Default::default(),
        }
    }

    /// From the configuration: the gateway when one is set, else the outbox.
    pub fn from_config(c: &crate::Config) -> Notifier {
        if c.sms_gateway_url.is_empty() {
            Notifier::new(Arc::new(Outbox))
        } else {
            Notifier::new(Arc::new(HttpGateway::new(
                &c.sms_gateway_url,
                &c.sms_gateway_token,
            )))
        }
    }
}

const BATCH: u32 = 500;
const LOOK_BACK: u64 = 256;

fn system(state: &AppState) -> bihuan_domain::lifecycle::Actor {
    crate::scanner::system_actor(state)
}

async fn cursor(state: &AppState) -> Result<Option<Versioned<FeedCursor>>, StoreError> {
    Ok(
        aggregates::find::<FeedCursor>(state.store.as_ref(), "", "", 0, 1)
            .await?
            .pop(),
    )
}

async fn save_cursor(
    state: &AppState,
    current: &Option<Versioned<FeedCursor>>,
    high: u64,
    now: Instant,
) -> Result<(), StoreError> {
    if current.as_ref().is_some_and(|c| c.state.high == high) {
        return Ok(());
    }
    aggregates::execute::<FeedCursor>(
        state.store.as_ref(),
        current.as_ref().map(|c| c.id),
        FeedCursorCommand::Advance(high),
        system(state),
        now.max(current.as_ref().map_or(now, |c| c.updated_at)),
        None,
    )
    .await
    .map(|_| ())
}

/// The id of the newest event, paging through the feed (once, when a store first notifies).
async fn newest_event(store: &dyn bihuan_store::Store) -> Result<u64, StoreError> {
    let mut high = 0;
    loop {
        let page = store.changes_since(high, 5_000).await?;
        match page.last() {
            Some(c) => high = c.event,
            None => return Ok(high),
        }
    }
}

/// Starts a store's notices `back` events before the end of its feed, unless they have started
/// (the demo: its recent work then has notices to show).
pub async fn start_near_the_end(
    store: &dyn bihuan_store::Store,
    back: u64,
    now: Instant,
) -> Result<(), StoreError> {
    if !aggregates::find::<FeedCursor>(store, "", "", 0, 1)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let high = newest_event(store).await?.saturating_sub(back);
    let root = store
        .catalog()
        .org
        .units()
        .find(|u| u.kind == bihuan_domain::org::UnitKind::County)
        .map(|u| u.id)
        .unwrap_or(bihuan_domain::org::UnitId(0));
    let actor = bihuan_domain::lifecycle::Actor {
        user: bihuan_domain::UserId(0),
        name: "系统".into(),
        role: bihuan_domain::lifecycle::Role::System,
        unit: root,
        unit_kind: bihuan_domain::org::UnitKind::County,
    };
    aggregates::execute::<FeedCursor>(
        store,
        None,
        FeedCursorCommand::Advance(high),
        actor,
        now,
        Some(0),
    )
    .await
    .map(|_| ())
}

/// Queues a notice unless one with its key is queued already; whether it was new.
async fn queue(state: &AppState, d: notice::Draft, now: Instant) -> Result<bool, StoreError> {
    let remember = |key: &str| {
        let mut known = state.notify.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= KNOWN_KEYS {
            known.clear();
        }
        known.insert(key.to_string());
    };
    if state
        .notify
        .known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&d.key)
    {
        return Ok(false);
    }
    let found = aggregates::find::<Notice>(state.store.as_ref(), "key", &d.key, 0, 1).await?;
    if !found.is_empty() {
        remember(&d.key);
        return Ok(false);
    }
    let key = d.key.clone();
    aggregates::execute::<Notice>(
        state.store.as_ref(),
        None,
        NoticeCommand::Queue(d),
        system(state),
        now,
        Some(0),
    )
    .await?;
    remember(&key);
    Ok(true)
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
}

/// One pass at `now`: follow the feed, remind of deadlines, send what is due.
pub async fn pass(state: &AppState, now: Instant) -> Result<PassReport, StoreError> {
    let mut report = PassReport::default();
    let notifier = state.notify.clone();
    let mut seen = notifier.seen.lock().await;
    let mut current = cursor(state).await?;
    // The first time on a store, notices start from now, not from the history.
    let fresh = current.is_none();
    if fresh {
        let high = newest_event(state.store.as_ref()).await?;
        save_cursor(state, &current, high, now).await?;
        current = cursor(state).await?;
    }
    let mut high = current.as_ref().map_or(0, |c| c.state.high);
    let since = current.as_ref().map_or(0, |c| c.state.since);
    loop {
        if fresh {
            break;
        }
        let mut changes = state.store.changes_since(high, BATCH).await?;
        let full = changes.len() as u32 == BATCH;
        let back = high.saturating_sub(LOOK_BACK).max(since);
        for c in state.store.changes_since(back, LOOK_BACK as u32).await? {
            if c.event <= high && !seen.contains(&c.event) && c.event > back {
                changes.push(c);
            }
        }
        changes.retain(|c| !seen.contains(&c.event));
        if changes.is_empty() {
            break;
        }
        let mut by_appeal: BTreeMap<bihuan_domain::AppealId, BTreeSet<u64>> = BTreeMap::new();
        for c in &changes {
            by_appeal.entry(c.appeal).or_default().insert(c.version);
        }
        let cat = state.store.catalog();
        let name = |u: bihuan_domain::org::UnitId| {
            cat.org.get(u).map(|x| x.name.clone()).unwrap_or_default()
        };
        for (id, versions) in by_appeal {
            let a = state.store.appeal(AppealRef::Id(id)).await?;
            let history = state.store.history(id).await?;
            let new: Vec<_> = history
                .into_iter()
                .filter(|r| versions.contains(&r.version))
                .collect();
            for d in notice::notices_for(&a, &new, name) {
                report.queued += u64::from(queue(state, d, now).await?);
            }
        }
        for c in &changes {
            seen.insert(c.event);
            high = high.max(c.event);
        }
        // Keep only what a look back can meet again.
        let floor = high.saturating_sub(LOOK_BACK);
        *seen = seen.split_off(&floor);
        save_cursor(state, &current, high, now).await?;
        current = cursor(state).await?;
        if !full {
            break;
        }
    }
    drop(seen);
    // Deadlines near: one reminder to the lead per deadline.
    let soon = state
        .store
        .list(
            AppealFilter {
                due_soon: Some(true),
                now: Some(now),
                ..Default::default()
            },
            None,
            500,
        )
        .await?;
    for a in &soon.items {
        if let Some(d) = notice::due_soon_notice(a, now) {
            report.queued += u64::from(queue(state, d, now).await?);
        }
    }
    // Text messages whose time has come.
    let pending = aggregates::find::<Notice>(state.store.as_ref(), "pending", "1", 0, 200).await?;
    for n in pending {
        if n.state.next_try.is_some_and(|t| t > now) {
            continue;
        }
        let Recipient::Phone { phone } = &n.state.to else {
            continue;
        };
        let outcome = notifier.sender.send(phone.expose(), &n.state.text).await;
        let ok = outcome.is_ok();
        let next = match aggregates::execute::<Notice>(
            state.store.as_ref(),
            Some(n.id),
            NoticeCommand::Attempted {
                ok,
                error: outcome.err().unwrap_or_default(),
            },
            system(state),
            now.max(n.updated_at),
            Some(n.version),
        )
        .await
        {
            Ok(next) => next,
            // Another server recorded a try at the same time: the next pass reads it.
            Err(e) => {
                tracing::warn!(appeal = %n.state.number, error = %e, "a try could not be recorded");
                continue;
            }
        };
        if ok {
            report.sent += 1;
        } else if next.state.status == Delivery::Failed {
            report.failed += 1;
            tracing::warn!(appeal = %n.state.number, "a text message was given up after every try");
        }
    }
    Ok(report)
}

/// Runs [`pass`] every `every`, until the process ends.
pub fn spawn(state: AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = state.clock.now();
            match pass(&state, now).await {
                Ok(r) if r.queued + r.sent + r.failed > 0 => {
                    tracing::info!(
                        queued = r.queued,
                        sent = r.sent,
                        failed = r.failed,
                        "notices"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the notice pass failed; it runs again"),
            }
        }
    });
}

/// The notices of one appeal, oldest first (its timeline shows them).
pub async fn of_appeal(
    state: &AppState,
    appeal: bihuan_domain::AppealId,
) -> Vec<Versioned<Notice>> {
    aggregates::find::<Notice>(
        state.store.as_ref(),
        "appeal",
        &appeal.0.to_string(),
        0,
        200,
    )
    .await
    .unwrap_or_default()
}

/// Notices `key` = `value`, newest first, at most `limit`.
pub async fn newest(
    state: &AppState,
    key: &str,
    value: &str,
    limit: usize,
) -> Vec<Versioned<Notice>> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = aggregates::find::<Notice>(
            state.store.as_ref(),
            key,
            value,
            after,
            aggregates::MAX_PAGE,
        )
        .await
        .unwrap_or_default();
        let Some(last) = page.last() else { break };
        after = last.id;
        let n = page.len();
        all.extend(page);
        if n < aggregates::MAX_PAGE as usize {
            break;
        }
    }
    all.reverse();
    all.truncate(limit);
    all
}
