//! One shape for every capability's records: commands → events → state, versioned, with an
//! append-only history, exactly like an appeal.
//!
//! A capability (a household, a visit campaign, an application, a survey, an enterprise, a job
//! posting …) implements [`Aggregate`] for its state type: a `KIND` name, a command type, an
//! event type, `decide` (may this command run now, and what happens) and `apply` (what an event
//! does to the state). The stores keep every aggregate in the same tables and run `decide`
//! inside their write transaction; nothing in a store knows any capability.
//!
//! [`execute`] is the one way a command becomes events: the version check, the decision and the
//! fold, with no I/O. [`replay`] rebuilds a state from its history (the check that the stored
//! state and the history agree).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::lifecycle::{Actor, Context};
use crate::time::Instant;

/// A capability's record. See the module documentation.
pub trait Aggregate: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The stable name the stores file it under (`household`, `campaign` …). Never renamed.
    const KIND: &'static str;
    type Command: Send + 'static;
    type Event: Clone + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Whether `command` may run on `state` now, and the events it makes. `state` is `None`
    /// when the aggregate does not exist yet: only a creating command is accepted then, and
    /// its first event must create the state in [`Aggregate::apply`].
    fn decide(
        state: Option<&Self>,
        command: &Self::Command,
        actor: &Actor,
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<Vec<Self::Event>, DomainError>;

    /// What one event does. Events are facts: applying never fails. `state` is `None` only for
    /// the first event.
    fn apply(state: Option<Self>, event: &Self::Event, at: Instant) -> Self;

    /// The event's stable name (the stores keep it beside the event for queries).
    fn event_name(event: &Self::Event) -> &'static str;

    /// Index entries lists find this aggregate by, `(key, value)`: a township, a status, a
    /// campaign … Replaced whole with every write. Empty by default.
    fn index(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The version of what [`Aggregate::index`] makes. Change it whenever `index` changes: the
    /// stores then rebuild this kind's index rows once, from the stored states, when the server
    /// starts (so rows written before the change are found by the new entries too).
    const INDEX_VERSION: u32 = 1;
}

/// A required text field as `decide` accepts it: trimmed, not empty, at most `max` characters,
/// no control characters but line breaks and tabs. `what` names it in the message.
pub fn required_text(
    field: &'static str,
    s: &str,
    max: usize,
    what: &str,
) -> Result<String, DomainError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(DomainError::invalid(field, format!("请填写{what}")));
    }
    if s.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("{what}最多 {max} 个字"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(DomainError::invalid(field, format!("{what}含有控制字符")));
    }
    Ok(s.to_string())
}

/// Refuses `action` unless `actor` has one of `roles` (for `decide`).
pub fn require_role(
    actor: &Actor,
    roles: &[crate::lifecycle::Role],
    action: &'static str,
) -> Result<(), DomainError> {
    if roles.contains(&actor.role) {
        Ok(())
    } else {
        Err(DomainError::RoleForbidden {
            role: actor.role,
            action,
        })
    }
}

/// A state with its identity and version (the number of events applied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned<A> {
    pub id: u64,
    pub version: u64,
    pub created_at: Instant,
    pub updated_at: Instant,
    pub state: A,
}

/// An event as kept in a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded<E> {
    /// The aggregate's version this event made (1: created).
    pub version: u64,
    pub at: Instant,
    pub actor: Actor,
    pub event: E,
}

/// The next state and the events that made it.
pub type Executed<A> = (Versioned<A>, Vec<Recorded<<A as Aggregate>::Event>>);

/// Runs a command: checks the version the caller saw (`None` skips the check), decides, and
/// folds the events into the next state. `current` is `None` to create; the caller gives the
/// new aggregate its id afterwards (so a refused creation takes no id).
pub fn execute<A: Aggregate>(
    current: Option<&Versioned<A>>,
    command: &A::Command,
    actor: &Actor,
    at: Instant,
    expected_version: Option<u64>,
    ctx: Context<'_>,
) -> Result<Executed<A>, DomainError> {
    let version = current.map_or(0, |c| c.version);
    if let Some(v) = expected_version {
        if v != version {
            return Err(DomainError::VersionConflict {
                expected: v,
                current: version,
            });
        }
    }
    if current.is_some_and(|c| at < c.updated_at) {
        return Err(DomainError::TimeBeforeLastStep);
    }
    let events = A::decide(current.map(|c| &c.state), command, actor, at, ctx)?;
    if events.is_empty() {
        return Err(DomainError::invalid("command", "该操作没有产生任何变化"));
    }
    let mut state = current.map(|c| c.state.clone());
    let mut records = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        state = Some(A::apply(state, &event, at));
        records.push(Recorded {
            version: version + 1 + i as u64,
            at,
            actor: actor.clone(),
            event,
        });
    }
    let next = Versioned {
        id: current.map_or(0, |c| c.id),
        version: version + records.len() as u64,
        created_at: current.map_or(at, |c| c.created_at),
        updated_at: at,
        state: state.expect("at least one event was applied"),
    };
    Ok((next, records))
}

/// Rebuilds a state from its whole history; versions must run 1, 2, 3, … without a gap.
pub fn replay<A: Aggregate>(
    id: u64,
    history: &[Recorded<A::Event>],
) -> Result<Versioned<A>, String> {
    let first = history.first().ok_or("empty history")?;
    let mut state: Option<A> = None;
    for (i, r) in history.iter().enumerate() {
        if r.version != i as u64 + 1 {
            return Err(format!("event version {} at position {}", r.version, i + 1));
        }
        state = Some(A::apply(state, &r.event, r.at));
    }
    let last = history.last().expect("not empty");
    Ok(Versioned {
        id,
        version: last.version,
        created_at: first.at,
        updated_at: last.at,
        state: state.expect("not empty"),
    })
}

/// What the aggregates' unit tests share: the official calendar and default policies, and a
/// command decided and folded.
#[cfg(test)]
pub(crate) mod testing {
    use super::Aggregate;
    use crate::error::DomainError;
    use crate::lifecycle::{Actor, Context};
    use crate::time::Instant;

    pub fn ctx() -> Context<'static> {
        use std::sync::OnceLock;
        static CAL: OnceLock<crate::Calendar> = OnceLock::new();
        static POL: OnceLock<crate::PolicyTable> = OnceLock::new();
        Context {
            calendar: CAL.get_or_init(crate::Calendar::official),
            policies: POL.get_or_init(crate::PolicyTable::defaults),
        }
    }

    /// The state after `command` on `state`, or the refusal.
    pub fn run<A: Aggregate>(
        state: Option<&A>,
        command: A::Command,
        who: &Actor,
        at: Instant,
    ) -> Result<A, DomainError> {
        let events = A::decide(state, &command, who, at, ctx())?;
        let mut next = state.cloned();
        for e in &events {
            next = Some(A::apply(next, e, at));
        }
        Ok(next.expect("a first event creates the state"))
    }
}
