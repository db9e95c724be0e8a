//! What a write decides, written once for both backends. A backend reads the rows, calls these
//! functions inside its transaction and writes what they return; nothing here touches a
//! database, so the two backends cannot decide differently.

use bihuan_domain::category::{Category, CategoryTree};
use bihuan_domain::lifecycle::{
    Actor, Appeal, Command, Context, EventRecord, MasterRef, NewAppeal,
};
use bihuan_domain::org::{Org, Unit, UnitId};
use bihuan_domain::time::Instant;
use bihuan_domain::ErrorCode;

use crate::{Catalog, Result, StoreError, User, UserUpdate};

/// The category and places of a new appeal must exist (checked by both stores before writing).
pub(crate) fn check_new_appeal(cat: &Catalog, new: &NewAppeal) -> Result<()> {
    if let Some(c) = new.category {
        if cat.categories.get(c).is_none() {
            return Err(StoreError::invalid(
                ErrorCode::UnknownCategory,
                format!("分类 {} 不存在", c.0),
            ));
        }
    }
    for (field, unit) in [
        ("place.township", new.place.township),
        ("place.village", new.place.village),
        ("place.grid", new.place.grid),
    ] {
        if let Some(u) = unit {
            if cat.org.get(u).is_none() {
                return Err(StoreError::invalid(
                    ErrorCode::UnknownUnit,
                    format!("{field}: 单位 {} 不存在", u.0),
                ));
            }
        }
    }
    Ok(())
}

/// A reviewing unit must exist and be able to handle work.
pub(crate) fn check_reviewer(cat: &Catalog, reviewer: UnitId) -> Result<()> {
    check_handling_units(cat, vec![reviewer])
}

/// Units named in a command must exist and be able to handle work.
pub(crate) fn check_named_units(cat: &Catalog, command: &Command) -> Result<()> {
    let named: Vec<UnitId> = match command {
        Command::Dispatch {
            lead, assisting, ..
        } => std::iter::once(*lead)
            .chain(assisting.iter().copied())
            .collect(),
        Command::DecideReturn {
            redispatch: Some((lead, assisting)),
            ..
        } => std::iter::once(*lead)
            .chain(assisting.iter().copied())
            .collect(),
        Command::Whistle { units, .. } => units.clone(),
        _ => vec![],
    };
    check_handling_units(cat, named)
}

fn check_handling_units(cat: &Catalog, named: Vec<UnitId>) -> Result<()> {
    for u in named {
        match cat.org.get(u) {
            Some(unit) if unit.kind.can_handle() => {}
            Some(unit) => {
                return Err(StoreError::invalid(
                    ErrorCode::UnitCannotHandle,
                    format!("「{}」不能承办工单", unit.name),
                ))
            }
            None => {
                return Err(StoreError::invalid(
                    ErrorCode::UnknownUnit,
                    format!("单位 {} 不存在", u.0),
                ))
            }
        }
    }
    Ok(())
}

/// `all` with each of `items` replacing the element of the same id, or added.
pub(crate) fn upsert_by_id<T, K: PartialEq>(
    mut all: Vec<T>,
    items: Vec<T>,
    id: impl Fn(&T) -> K,
) -> Vec<T> {
    for item in items {
        match all.iter_mut().find(|x| id(x) == id(&item)) {
            Some(x) => *x = item,
            None => all.push(item),
        }
    }
    all
}

/// Units upserted into the organisation: the whole resulting tree, checked, and the rows to
/// write (all units, which replace the table).
pub(crate) fn units_after(cat: &Catalog, units: Vec<Unit>) -> Result<(Org, Vec<Unit>)> {
    for u in &units {
        u.check_names()
            .map_err(|e| StoreError::invalid(e.error_code(), e.to_string()))?;
    }
    let all = upsert_by_id(cat.org.units().cloned().collect(), units, |u| u.id);
    let org =
        Org::new(all.clone()).map_err(|e| StoreError::invalid(e.error_code(), e.to_string()))?;
    Ok((org, all))
}

/// Categories upserted into the tree: the tree, checked, and the rows to write.
pub(crate) fn categories_after(
    cat: &Catalog,
    categories: Vec<Category>,
) -> Result<(CategoryTree, Vec<Category>)> {
    for c in &categories {
        c.check_name()
            .map_err(|e| StoreError::invalid(e.error_code(), e.to_string()))?;
    }
    let all = upsert_by_id(cat.categories.iter().cloned().collect(), categories, |c| {
        c.id
    });
    let tree = CategoryTree::new(all.clone())
        .map_err(|e| StoreError::invalid(e.error_code(), e.to_string()))?;
    Ok((tree, all))
}

/// A merge as decided: the duplicate and the master, each with its new events.
pub(crate) struct Merge {
    pub duplicate: (Appeal, Vec<EventRecord>),
    pub master: (Appeal, Vec<EventRecord>),
}

/// Merges `current` into `master`, both as read inside the transaction (the master named by the
/// client is read again, not trusted): the duplicate records the merge, the master links the
/// duplicate, at the later of `at` and the master's last step.
pub(crate) fn decide_merge(
    current: &Appeal,
    master: &Appeal,
    actor: &Actor,
    at: Instant,
    expected_version: Option<u64>,
    ctx: Context<'_>,
) -> Result<Merge> {
    let cmd = Command::Merge {
        into: MasterRef {
            id: master.id,
            number: master.number,
            status: master.status,
        },
    };
    let duplicate = current.handle(&cmd, actor, at, expected_version, ctx)?;
    let link = Command::LinkDuplicate {
        duplicate: current.id,
        number: current.number,
    };
    let master_next = master.handle(&link, actor, at.max(master.last_at), None, ctx)?;
    Ok(Merge {
        duplicate,
        master: master_next,
    })
}

/// Which credentials a user update ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ends {
    Nothing,
    /// A new password ends every console session (the caller opens a new one).
    Sessions,
    /// A disabled account loses its sessions and tokens at once.
    Everything,
}

/// Checks an update before anything is read: a new unit must exist.
pub(crate) fn check_user_update(cat: &Catalog, update: &UserUpdate) -> Result<()> {
    if let Some(u) = update.unit {
        if cat.org.get(u).is_none() {
            return Err(StoreError::invalid(
                ErrorCode::UnknownUnit,
                format!("单位 {} 不存在", u.0),
            ));
        }
    }
    Ok(())
}

/// The user after the update, and which of their credentials end.
pub(crate) fn apply_user_update(mut user: User, update: UserUpdate) -> (User, Ends) {
    let UserUpdate {
        name,
        role,
        unit,
        active,
        password_hash,
    } = update;
    let password_changed = password_hash.is_some();
    if let Some(n) = name {
        user.name = n;
    }
    if let Some(r) = role {
        user.role = r;
    }
    if let Some(u) = unit {
        user.unit = u;
    }
    if let Some(a) = active {
        user.active = a;
    }
    if let Some(h) = password_hash {
        user.password_hash = h;
    }
    let ends = if !user.active {
        Ends::Everything
    } else if password_changed {
        Ends::Sessions
    } else {
        Ends::Nothing
    };
    (user, ends)
}

/// A new user's unit must exist (checked before anything is read).
pub(crate) fn check_new_user(cat: &Catalog, user: &crate::NewUser) -> Result<()> {
    if cat.org.get(user.unit).is_none() {
        return Err(StoreError::invalid(
            ErrorCode::UnknownUnit,
            format!("单位 {} 不存在", user.unit.0),
        ));
    }
    Ok(())
}

/// The refusal when a login is in use already.
pub(crate) fn login_taken(login: &str) -> StoreError {
    StoreError::conflict(
        ErrorCode::LoginTaken,
        format!("登录名「{login}」已被使用，请换一个"),
    )
}

/// Whether an appeal that holds `count` files can take one more.
pub(crate) fn check_attachment_room(count: i64) -> Result<()> {
    if count >= crate::MAX_ATTACHMENTS as i64 {
        return Err(StoreError::invalid(
            ErrorCode::TooManyAttachments,
            format!("每个工单最多{}个附件", crate::MAX_ATTACHMENTS),
        ));
    }
    Ok(())
}

/// The SHA-256 of a file's bytes, as stored with it.
pub(crate) fn file_sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}
