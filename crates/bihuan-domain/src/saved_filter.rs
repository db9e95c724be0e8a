//! A user's saved list filters (我的筛选): a name and the list's query string, so that a
//! dispatcher opens "城关镇超期未签收" with one click. Kept in the generic aggregate tables,
//! found by owner; removing one keeps its history.

use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context};
use crate::time::Instant;
use crate::UserId;

/// The longest name, in characters.
pub const NAME_MAX: usize = 30;
/// The longest query string, in bytes.
pub const QUERY_MAX: usize = 1000;
/// How many filters one user keeps at most.
pub const PER_USER_MAX: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFilter {
    pub owner: UserId,
    pub name: String,
    /// The list's query string, without the leading `?` (`status=dispatched&township=3`).
    pub query: String,
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedFilterCommand {
    /// Saves a new filter, or replaces an existing one's name and query.
    Save {
        name: String,
        query: String,
    },
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SavedFilterEvent {
    Saved {
        owner: UserId,
        name: String,
        query: String,
    },
    Removed,
}

fn checked(name: &str, query: &str) -> Result<(String, String), DomainError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid(
            "filter.name",
            "请给这个筛选起个名字，如「城关镇超期未签收」",
        ));
    }
    if name.chars().count() > NAME_MAX {
        return Err(DomainError::invalid(
            "filter.name",
            format!("名称最多 {NAME_MAX} 个字"),
        ));
    }
    let query = query.trim().trim_start_matches('?');
    if query.len() > QUERY_MAX {
        return Err(DomainError::invalid(
            "filter.query",
            format!("筛选条件过长（最多 {QUERY_MAX} 字节）"),
        ));
    }
    if query.chars().any(|c| c.is_control()) {
        return Err(DomainError::invalid("filter.query", "筛选条件含有控制字符"));
    }
    Ok((name.to_string(), query.to_string()))
}

impl Aggregate for SavedFilter {
    const KIND: &'static str = "saved_filter";
    type Command = SavedFilterCommand;
    type Event = SavedFilterEvent;

    fn decide(
        state: Option<&Self>,
        command: &SavedFilterCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<SavedFilterEvent>, DomainError> {
        if let Some(s) = state {
            if s.owner != actor.user {
                return Err(DomainError::invalid("filter", "只能修改本人保存的筛选"));
            }
            if s.removed {
                return Err(DomainError::invalid("filter", "这个筛选已删除"));
            }
        }
        match command {
            SavedFilterCommand::Save { name, query } => {
                let (name, query) = checked(name, query)?;
                Ok(vec![SavedFilterEvent::Saved {
                    owner: state.map(|s| s.owner).unwrap_or(actor.user),
                    name,
                    query,
                }])
            }
            SavedFilterCommand::Remove => match state {
                Some(_) => Ok(vec![SavedFilterEvent::Removed]),
                None => Err(DomainError::invalid("filter", "没有这个筛选")),
            },
        }
    }

    fn apply(state: Option<Self>, event: &SavedFilterEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, SavedFilterEvent::Saved { owner, name, query }) => SavedFilter {
                owner: *owner,
                name: name.clone(),
                query: query.clone(),
                removed: false,
            },
            (Some(s), SavedFilterEvent::Removed) => SavedFilter { removed: true, ..s },
            // A removal is never the first event (`decide` refuses it).
            (None, SavedFilterEvent::Removed) => SavedFilter {
                owner: UserId(0),
                name: String::new(),
                query: String::new(),
                removed: true,
            },
        }
    }

    fn event_name(event: &SavedFilterEvent) -> &'static str {
        match event {
            SavedFilterEvent::Saved { .. } => "saved",
            SavedFilterEvent::Removed => "removed",
        }
    }

    /// Found by owner while kept; a removed filter leaves the owner's list (its history stays).
    fn index(&self) -> Vec<(&'static str, String)> {
        if self.removed {
            vec![]
        } else {
            vec![("owner", self.owner.0.to_string())]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Role;
    use crate::org::{UnitId, UnitKind};

    fn actor(user: u32) -> Actor {
        Actor {
            user: UserId(user),
            name: "派单员".into(),
            role: Role::Dispatcher,
            unit: UnitId(1),
            unit_kind: UnitKind::County,
        }
    }

    /// Decides and folds: the state after `command`, or the refusal.
    fn run(
        s: Option<&SavedFilter>,
        command: SavedFilterCommand,
        user: u32,
    ) -> Result<SavedFilter, DomainError> {
        let at = crate::time::local(2026, 12, 2, 9, 0, 0).unwrap();
        crate::aggregate::testing::run(s, command, &actor(user), at)
    }

    fn save(name: &str, query: &str) -> SavedFilterCommand {
        SavedFilterCommand::Save {
            name: name.into(),
            query: query.into(),
        }
    }

    #[test]
    fn saved_renamed_and_removed_only_by_its_owner() {
        let s = run(None, save(" 城关镇超期 ", "?overdue=true&township=3"), 7).unwrap();
        assert_eq!(
            (s.name.as_str(), s.query.as_str(), s.owner),
            ("城关镇超期", "overdue=true&township=3", UserId(7))
        );
        assert_eq!(s.index(), vec![("owner", "7".to_string())]);
        assert!(run(Some(&s), save("别人的", ""), 8).is_err());
        assert!(run(Some(&s), SavedFilterCommand::Remove, 8).is_err());
        assert!(run(None, save("  ", "a=1"), 7).is_err());
        assert!(run(None, save(&"长".repeat(NAME_MAX + 1), ""), 7).is_err());
        assert!(run(None, save("x", &"a".repeat(QUERY_MAX + 1)), 7).is_err());
        assert!(
            run(None, save("x", "a=1\n"), 7).is_ok(),
            "trailing whitespace is trimmed"
        );
        assert!(run(None, save("x", "a=\u{7}1"), 7).is_err());
        assert!(run(None, SavedFilterCommand::Remove, 7).is_err());
        let s = run(Some(&s), save("城关镇超期件", "overdue=true"), 7).unwrap();
        assert_eq!((s.name.as_str(), s.owner), ("城关镇超期件", UserId(7)));
        let gone = run(Some(&s), SavedFilterCommand::Remove, 7).unwrap();
        assert!(gone.removed && gone.index().is_empty());
        assert!(run(Some(&gone), save("again", ""), 7).is_err());
    }
}
