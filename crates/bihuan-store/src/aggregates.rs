//! Where every capability beyond the hotline loop is stored: one port, [`AggregateStore`], that
//! both backends implement once over the same four tables (`aggregates`, `aggregate_events`,
//! `aggregate_index`, `aggregate_ids`), and a typed facade ([`execute`], [`load`],
//! [`history`], [`find`]) that any [`Aggregate`] uses without a line of backend code.
//!
//! The decision is made here, not in a backend: [`execute`] hands the backend a closure that
//! the backend runs inside its write transaction on the current row. The closure checks the
//! version, lets the domain decide, folds the events and serialises the rows; the backend only
//! reads the row, allocates an id for a creation (after the decision, so a refusal takes none),
//! and writes what it was given.

use std::sync::Arc;

use async_trait::async_trait;
use bihuan_domain::aggregate::{self, Aggregate, Recorded, Versioned};
use bihuan_domain::lifecycle::Actor;
use bihuan_domain::time::Instant;

use crate::{Catalog, Result, StoreError};

/// An aggregate's row: the [`Versioned`] envelope as JSON.
#[derive(Debug, Clone)]
pub struct StoredAggregate {
    pub id: u64,
    pub version: u64,
    pub json: String,
}

/// One history row: the [`Recorded`] event as JSON.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub version: u64,
    pub at: Instant,
    pub actor_user: u32,
    /// The event's name (for queries; the typed facade reads `json`).
    pub name: String,
    pub json: String,
}

/// What a decision asks the backend to write. `id` is 0 for a creation: the backend allocates
/// one and calls [`Decided::with_id`].
pub struct Decided {
    pub id: u64,
    pub version: u64,
    pub created_at: Instant,
    pub updated_at: Instant,
    /// Makes the envelope's JSON once the id is known.
    envelope: Box<dyn FnOnce(u64) -> Result<String> + Send>,
    pub events: Vec<StoredEvent>,
    pub index: Vec<(&'static str, String)>,
    /// Files the events name, written in the same transaction (a file already stored under the
    /// aggregate is kept as it is).
    pub files: Vec<FileBlob>,
}

/// A file an aggregate's event names by its SHA-256 (an application's material): checked by
/// its content before any write, stored with the event in one transaction.
#[derive(Debug, Clone)]
pub struct FileBlob {
    pub sha256: String,
    pub mime: &'static str,
    pub data: Vec<u8>,
    pub uploaded_by: u32,
    pub at: Instant,
}

impl FileBlob {
    /// Checks the file by its content and size ([`crate::sniff`]), and names it.
    pub fn new(name: &str, data: Vec<u8>, uploaded_by: u32, at: Instant) -> Result<FileBlob> {
        let (_, mime) = crate::sniff(name, &data)?;
        Ok(FileBlob {
            sha256: crate::decide::file_sha256(&data),
            mime,
            data,
            uploaded_by,
            at,
        })
    }
}

/// A stored file's description (its bytes are read apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub sha256: String,
    pub mime: String,
    pub size: u64,
    pub uploaded_by: u32,
    pub at: Instant,
}

impl Decided {
    /// The row to write under `id`.
    pub fn with_id(self, id: u64) -> Result<Rows> {
        let json = (self.envelope)(id)?;
        Ok((
            StoredAggregate {
                id,
                version: self.version,
                json,
            },
            self.events,
            self.index,
        ))
    }
}

/// The rows a decision writes: the aggregate, its new events, its index entries.
pub type Rows = (
    StoredAggregate,
    Vec<StoredEvent>,
    Vec<(&'static str, String)>,
);

/// The decision a backend runs on the current row, inside its write transaction.
pub type Decide = Box<dyn FnOnce(Option<&StoredAggregate>) -> Result<Decided> + Send>;

/// The one storage port of every capability built on [`Aggregate`].
#[async_trait]
pub trait AggregateStore: Send + Sync {
    /// The current row of `kind`/`id`, if there is one.
    async fn aggregate(&self, kind: &'static str, id: u64) -> Result<Option<StoredAggregate>>;

    /// The whole history of `kind`/`id`, oldest first.
    async fn aggregate_history(&self, kind: &'static str, id: u64) -> Result<Vec<StoredEvent>>;

    /// Runs `decide` on the current row of `kind`/`id` (`None`: a new aggregate) inside one
    /// write transaction, and writes the state, the events and the index rows it returns. An
    /// `id` that does not exist is `NotFound`.
    async fn write_aggregate(
        &self,
        kind: &'static str,
        id: Option<u64>,
        decide: Decide,
    ) -> Result<StoredAggregate>;

    /// Creates several aggregates of `kind` at once. The default writes them one by one (so a
    /// storage failure part-way keeps the earlier ones; [`create_many`] refuses before any
    /// write if any decision refuses); a backend may write them in one transaction (SQLite
    /// does: an import's rows, committed together).
    async fn create_aggregates(
        &self,
        kind: &'static str,
        decides: Vec<Decide>,
    ) -> Result<Vec<StoredAggregate>> {
        let mut out = Vec::with_capacity(decides.len());
        for d in decides {
            out.push(self.write_aggregate(kind, None, d).await?);
        }
        Ok(out)
    }

    /// Aggregates of `kind` with the index entry `key` = `value` (every one of the kind when
    /// `key` is empty), by id, after `after`, at most `limit`.
    async fn find_aggregates(
        &self,
        kind: &'static str,
        key: &str,
        value: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredAggregate>>;

    /// How many aggregates of `kind` have the index entry `key` = `value` (all of the kind when
    /// `key` is empty).
    async fn count_aggregates(&self, kind: &'static str, key: &str, value: &str) -> Result<u64>;

    /// The rows of `kind` with these ids (those that exist), in no particular order.
    async fn aggregates_by_ids(
        &self,
        kind: &'static str,
        ids: &[u64],
    ) -> Result<Vec<StoredAggregate>>;

    /// How many aggregates of `kind` have each value of index entry `key` that starts with
    /// `prefix`, by value (a coverage table's counts in one grouped read).
    async fn tally_aggregates(
        &self,
        kind: &'static str,
        key: &str,
        prefix: &str,
    ) -> Result<Vec<(String, u64)>>;

    /// The [`Aggregate::INDEX_VERSION`] this kind's index rows were last rebuilt to (`None`:
    /// never rebuilt, which is version 1).
    async fn index_version(&self, kind: &'static str) -> Result<Option<u32>>;

    /// A rebuild's batch: replaces the index rows of each `(id, version, entries)` whose
    /// aggregate is still at `version` (one written meanwhile already has the new entries),
    /// in one transaction; then, if `built` is given, records it as this kind's index version.
    async fn replace_index(
        &self,
        kind: &'static str,
        rows: Vec<IndexRows>,
        built: Option<u32>,
    ) -> Result<()>;

    /// The file `sha256` stored with `kind`/`id` ([`FileBlob`]), with its bytes.
    async fn aggregate_file(
        &self,
        kind: &'static str,
        id: u64,
        sha256: &str,
    ) -> Result<Option<(StoredFile, Vec<u8>)>>;
}

/// An aggregate's index entries at a version (see [`AggregateStore::replace_index`]).
pub type IndexRows = (u64, u64, Vec<(&'static str, String)>);

/// The `meta` key under which a kind's index version is kept.
pub fn index_version_key(kind: &str) -> String {
    format!("index_version:{kind}")
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Internal(format!("stored {what} does not read back: {e}")))
}

/// The decision of one command, written once for both backends.
fn decide<A: Aggregate>(
    catalog: Arc<Catalog>,
    command: A::Command,
    actor: Actor,
    at: Instant,
    expected_version: Option<u64>,
    files: Vec<FileBlob>,
) -> Decide {
    Box::new(move |row: Option<&StoredAggregate>| {
        let current: Option<Versioned<A>> = row.map(|r| parse(A::KIND, &r.json)).transpose()?;
        let (next, records) = aggregate::execute(
            current.as_ref(),
            &command,
            &actor,
            at,
            expected_version,
            catalog.ctx(),
        )?;
        let mut events = Vec::with_capacity(records.len());
        for r in &records {
            events.push(StoredEvent {
                version: r.version,
                at: r.at,
                actor_user: r.actor.user.0,
                name: A::event_name(&r.event).to_string(),
                json: serde_json::to_string(r)?,
            });
        }
        let index = next.state.index();
        let (version, created_at, updated_at) = (next.version, next.created_at, next.updated_at);
        let id = next.id;
        Ok(Decided {
            id,
            version,
            created_at,
            updated_at,
            envelope: Box::new(move |id| {
                let mut next = next;
                next.id = id;
                Ok(serde_json::to_string(&next)?)
            }),
            events,
            index,
            files,
        })
    })
}

/// Creates an aggregate of `A` for each command, all at once ([`AggregateStore::create_aggregates`]):
/// the new states in the commands' order, or the first refusal (then none is created).
pub async fn create_many<A: Aggregate>(
    store: &dyn crate::Store,
    commands: Vec<A::Command>,
    actor: Actor,
    at: Instant,
) -> Result<Vec<Versioned<A>>> {
    // Every decision first, on both backends: a refusal of any creates none. (A creation's
    // decision rests on the command alone, so the store's own run decides the same.)
    let catalog = store.catalog();
    for c in &commands {
        aggregate::execute::<A>(None, c, &actor, at, Some(0), catalog.ctx())?;
    }
    let decides = commands
        .into_iter()
        .map(|c| decide::<A>(store.catalog(), c, actor.clone(), at, Some(0), Vec::new()))
        .collect();
    store
        .create_aggregates(A::KIND, decides)
        .await?
        .iter()
        .map(|row| parse(A::KIND, &row.json))
        .collect()
}

/// Runs a command on aggregate `id` of `A` (`None`: creates one) and answers the new state.
/// `expected_version` is the version the caller saw (0 for a creation; `None` skips the check).
pub async fn execute<A: Aggregate>(
    store: &dyn crate::Store,
    id: Option<u64>,
    command: A::Command,
    actor: Actor,
    at: Instant,
    expected_version: Option<u64>,
) -> Result<Versioned<A>> {
    execute_with_files(store, id, command, Vec::new(), actor, at, expected_version).await
}

/// [`execute`], storing `files` with the aggregate in the same transaction as the events (which
/// name them by [`FileBlob::sha256`]): the files and the event are both kept, or neither.
pub async fn execute_with_files<A: Aggregate>(
    store: &dyn crate::Store,
    id: Option<u64>,
    command: A::Command,
    files: Vec<FileBlob>,
    actor: Actor,
    at: Instant,
    expected_version: Option<u64>,
) -> Result<Versioned<A>> {
    let d = decide::<A>(store.catalog(), command, actor, at, expected_version, files);
    let row = store.write_aggregate(A::KIND, id, d).await?;
    parse(A::KIND, &row.json)
}

/// The file `sha256` stored with aggregate `id` of `A`, with its bytes.
pub async fn file<A: Aggregate>(
    store: &dyn crate::Store,
    id: u64,
    sha256: &str,
) -> Result<(StoredFile, Vec<u8>)> {
    store
        .aggregate_file(A::KIND, id, sha256)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("{} {id} file {sha256}", A::KIND)))
}

/// The aggregate `id` of `A`.
pub async fn load<A: Aggregate>(store: &dyn crate::Store, id: u64) -> Result<Versioned<A>> {
    match store.aggregate(A::KIND, id).await? {
        Some(row) => parse(A::KIND, &row.json),
        None => Err(StoreError::not_found(format!("{} {id}", A::KIND))),
    }
}

/// The history of aggregate `id` of `A`, oldest first.
pub async fn history<A: Aggregate>(
    store: &dyn crate::Store,
    id: u64,
) -> Result<Vec<Recorded<A::Event>>> {
    store
        .aggregate_history(A::KIND, id)
        .await?
        .iter()
        .map(|e| parse(A::KIND, &e.json))
        .collect()
}

/// Aggregates of `A` with the index entry `key` = `value` (all when `key` is empty), by id.
pub async fn find<A: Aggregate>(
    store: &dyn crate::Store,
    key: &str,
    value: &str,
    after: u64,
    limit: u32,
) -> Result<Vec<Versioned<A>>> {
    store
        .find_aggregates(A::KIND, key, value, after, limit)
        .await?
        .iter()
        .map(|r| parse(A::KIND, &r.json))
        .collect()
}

/// Every aggregate of `A` with the index entry `key` = `value` (all of `A` when `key` is
/// empty) after id `after`, by id, read a page at a time: for sets a use case holds whole (a
/// county's assignments, a cadre's tasks, the tasks a launch cut short wrote).
pub async fn find_all<A: Aggregate>(
    store: &dyn crate::Store,
    key: &str,
    value: &str,
    mut after: u64,
) -> Result<Vec<Versioned<A>>> {
    let mut out = Vec::new();
    loop {
        let page = find::<A>(store, key, value, after, MAX_PAGE).await?;
        let last = page.len() < MAX_PAGE as usize;
        after = page.last().map_or(after, |v| v.id);
        out.extend(page);
        if last {
            return Ok(out);
        }
    }
}

/// The aggregates of `A` with these ids, by id (missing ones left out).
pub async fn load_many<A: Aggregate>(
    store: &dyn crate::Store,
    ids: &[u64],
) -> Result<std::collections::HashMap<u64, Versioned<A>>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for row in store.aggregates_by_ids(A::KIND, chunk).await? {
            out.insert(row.id, parse(A::KIND, &row.json)?);
        }
    }
    Ok(out)
}

/// How many aggregates of `A` have the index entry `key` = `value` (all of `A` when `key` is
/// empty).
pub async fn count<A: Aggregate>(store: &dyn crate::Store, key: &str, value: &str) -> Result<u64> {
    store.count_aggregates(A::KIND, key, value).await
}

/// How many aggregates of `A` have each value of `key` starting with `prefix`.
pub async fn tally<A: Aggregate>(
    store: &dyn crate::Store,
    key: &str,
    prefix: &str,
) -> Result<Vec<(String, u64)>> {
    store.tally_aggregates(A::KIND, key, prefix).await
}

/// Rebuilds the index rows of every stored `A` from its state if they were made by an older
/// [`Aggregate::INDEX_VERSION`] (once; a page at a time), and answers how many it rebuilt.
/// The server runs it for every kind when it starts.
pub async fn ensure_index<A: Aggregate>(store: &dyn crate::Store) -> Result<u64> {
    let built = store.index_version(A::KIND).await?.unwrap_or(1);
    if built == A::INDEX_VERSION {
        return Ok(0);
    }
    let (mut after, mut n) = (0, 0);
    loop {
        let page = find::<A>(store, "", "", after, MAX_PAGE).await?;
        let last = page.len() < MAX_PAGE as usize;
        after = page.last().map_or(after, |v| v.id);
        n += page.len() as u64;
        let rows = page
            .into_iter()
            .map(|v| (v.id, v.version, v.state.index()))
            .collect();
        store
            .replace_index(A::KIND, rows, last.then_some(A::INDEX_VERSION))
            .await?;
        if last {
            return Ok(n);
        }
    }
}

/// The largest page [`find`] gives.
pub const MAX_PAGE: u32 = 1_000;
