//! Notifications (issue 15 item 4): derived from the feed once, shown to units, sent to citizens
//! by a sender that may fail and is retried without holding up the work.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bihuan_server::notify::{self, Notifier, Sender, Sent};

use super::*;

/// Fails its first `fail` sends, then delivers.
struct Flaky {
    fail: u32,
    calls: AtomicU32,
    delivered: AtomicU32,
}

impl Sender for Flaky {
    fn describe(&self) -> String {
        "测试网关".into()
    }
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> Sent<'a> {
        assert_eq!(phone, "13912345678", "the real number goes to the gateway");
        assert!(text.starts_with("【12345】"));
        Box::pin(async move {
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail {
                Err("网关超时".into())
            } else {
                self.delivered.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
    }
}

pub async fn notices_go_out_once_and_a_failing_sender_is_retried(app: TestApp) {
    let flaky = Arc::new(Flaky {
        fail: 2,
        calls: AtomicU32::new(0),
        delivered: AtomicU32::new(0),
    });
    let mut state = app.state.clone();
    state.notify = Arc::new(Notifier::new(flaky.clone()));
    // The first pass on a store starts at its end: the history is not notified.
    let earlier = n(&app.register(&new_appeal()).await);
    let r = notify::pass(&state, app.clock.now()).await.unwrap();
    assert_eq!(r.queued, 0);
    let num = n(&app.register(&new_appeal()).await);
    app.ok(
        "dispatcher",
        &num,
        json!({"action": "dispatch", "lead": HOUSING, "assisting": [WATER]}),
    )
    .await;
    // The citizen's registration message, the lead's dispatch, the assisting request.
    let r = notify::pass(&state, app.clock.now()).await.unwrap();
    assert_eq!(r.queued, 3, "{r:?}");
    assert_eq!(
        (r.sent, flaky.calls.load(Ordering::SeqCst)),
        (0, 1),
        "tried once, failed"
    );
    // Passing again queues nothing more and does not send before the wait is over.
    let r = notify::pass(&state, app.clock.now()).await.unwrap();
    assert_eq!((r.queued, r.sent), (0, 0));
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 1);
    // The work goes on regardless.
    app.ok("housing", &num, json!({"action": "sign"})).await;
    app.clock.advance(chrono::Duration::minutes(2));
    notify::pass(&state, app.clock.now()).await.unwrap();
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
    app.clock.advance(chrono::Duration::minutes(6));
    let r = notify::pass(&state, app.clock.now()).await.unwrap();
    assert_eq!((r.sent, flaky.calls.load(Ordering::SeqCst)), (1, 3));
    app.clock.advance(chrono::Duration::hours(3));
    notify::pass(&state, app.clock.now()).await.unwrap();
    assert_eq!(
        flaky.calls.load(Ordering::SeqCst),
        3,
        "delivered: never sent again"
    );
    assert_eq!(flaky.delivered.load(Ordering::SeqCst), 1, "delivered once");
    // Units read theirs in the console; the appeal's timeline lists what was sent.
    let housing = console_session(&app, "housing").await;
    let page = page_text(&housing, app.url("/notices")).await;
    assert!(page.contains("新交办工单") && page.contains(&num), "{page}");
    assert!(!page.contains(&earlier), "history was not notified");
    let water = console_session(&app, "water").await;
    let page = page_text(&water, app.url("/notices")).await;
    assert!(
        page.contains("协办请求") && page.contains("提交协办意见"),
        "{page}"
    );
    let admin = console_session(&app, "admin").await;
    let page = page_text(&admin, app.url("/notices")).await;
    assert!(
        page.contains("139****5678") && !page.contains("13912345678"),
        "masked"
    );
    assert!(
        page.contains("已送达") && page.contains("已尝试 3 次"),
        "{page}"
    );
    let dispatcher = console_session(&app, "dispatcher").await;
    let detail = page_text(&dispatcher, app.url(&format!("/appeals/{num}"))).await;
    assert!(
        detail.contains("通知记录") && detail.contains("受理告知"),
        "{detail}"
    );
    // A supervision reaches the lead; a reply reaches the citizen.
    app.ok(
        "supervisor",
        &num,
        json!({"action": "supervise", "reason": "leader_order", "note": "请三日内办结"}),
    )
    .await;
    app.ok(
        "housing",
        &num,
        json!({"action": "reply", "result": "resolved", "text": "已修复"}),
    )
    .await;
    let r = notify::pass(&state, app.clock.now()).await.unwrap();
    assert_eq!((r.queued, r.sent), (2, 1), "{r:?}");
    let page = page_text(&housing, app.url("/notices")).await;
    assert!(page.contains("请三日内办结"), "{page}");
}

/// A sender that never succeeds gives up after six tries and says so.
pub async fn a_sender_that_always_fails_gives_up(app: TestApp) {
    let flaky = Arc::new(Flaky {
        fail: u32::MAX,
        calls: AtomicU32::new(0),
        delivered: AtomicU32::new(0),
    });
    let mut state = app.state.clone();
    state.notify = Arc::new(Notifier::new(flaky.clone()));
    notify::pass(&state, app.clock.now()).await.unwrap();
    app.register(&new_appeal()).await;
    let mut failed = 0;
    for _ in 0..10 {
        failed += notify::pass(&state, app.clock.now()).await.unwrap().failed;
        app.clock.advance(chrono::Duration::hours(4));
    }
    assert_eq!((flaky.calls.load(Ordering::SeqCst), failed), (6, 1));
    let admin = console_session(&app, "admin").await;
    let page = page_text(&admin, app.url("/notices")).await;
    assert!(
        page.contains("发送失败") && page.contains("网关超时"),
        "{page}"
    );
}
