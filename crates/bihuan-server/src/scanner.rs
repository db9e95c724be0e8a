//! The deadline scanner: raises an overdue supervision (超期督办) on every appeal whose running
//! deadline has passed, once per deadline. Idempotent by construction: the domain refuses a
//! second supervision of the same deadline (`already_supervised`), so running it twice — or on
//! two servers at once — changes nothing more.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bihuan_domain::lifecycle::{Actor, Command, Role, SuperviseReason};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::Instant;
use bihuan_domain::UserId;
use bihuan_store::{AppealRef, StoreError};

use crate::AppState;

/// The actor the server acts as.
pub fn system_actor(state: &AppState) -> Actor {
    let root = state
        .store
        .catalog()
        .org
        .units()
        .find(|u| u.kind == UnitKind::County)
        .map(|u| u.id)
        .unwrap_or(UnitId(0));
    Actor {
        user: UserId(0),
        name: "系统".into(),
        role: Role::System,
        unit: root,
        unit_kind: UnitKind::County,
    }
}

/// One pass at `now`; returns how many supervisions it raised.
pub async fn scan_once(state: &AppState, now: Instant) -> Result<u64, StoreError> {
    let actor = system_actor(state);
    let mut raised = 0;
    // Appeals are taken by next deadline; a batch that raises nothing means the rest were
    // already supervised.
    let ids = state.store.overdue_ids(now, 10_000).await?;
    for id in ids {
        let cmd = Command::Supervise {
            reason: SuperviseReason::Overdue,
            note: "系统超期督办".into(),
        };
        match state
            .store
            .act(AppealRef::Id(id), cmd, actor.clone(), now, None)
            .await
        {
            Ok(_) => raised += 1,
            Err(StoreError::Domain(e))
                if matches!(
                    e.code(),
                    "already_supervised"
                        | "not_overdue"
                        | "time_before_last_step"
                        | "appeal_closed"
                        | "appeal_merged"
                ) => {}
            Err(e) => return Err(e),
        }
    }
    state.ops.scanner_runs.fetch_add(1, Ordering::Relaxed);
    state
        .ops
        .scanner_supervised
        .fetch_add(raised, Ordering::Relaxed);
    Ok(raised)
}

/// Runs the scanner every `every` until the process ends.
pub fn spawn(state: AppState, every: Duration) {
    crate::ops::supervise(&state, "scanner", move |state| run(state, every));
}

async fn run(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match scan_once(&state, state.clock.now()).await {
            Ok(n) if n > 0 => tracing::info!(supervised = n, "deadline scan"),
            Ok(_) => {}
            Err(e) => {
                state.ops.scanner_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "deadline scan failed");
            }
        }
        // 一件事: deemed acceptances and overdue supervisions of applications.
        match crate::approvals::scan(&state, state.clock.now()).await {
            Ok(n) if n > 0 => tracing::info!(applications = n, "application scan"),
            Ok(_) => {}
            Err(e) => {
                state.ops.scanner_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e.message, "application scan failed");
            }
        }
    }
}
