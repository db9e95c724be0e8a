//! The demo county's Open311 application: 「云溪城市通」, registered by the administrator with
//! the published demo key [`DEMO_KEY`], has posted a handful of requests through
//! `/open311/v2/requests` in the last three days; they wait for dispatch like any new appeal.

use std::sync::Arc;

use bihuan_domain::time::Instant;
use bihuan_domain::Channel;
use bihuan_server::open311 as uc;
use bihuan_store::Store;
use chrono::Duration;

/// The demo's application key (a real county's keys are random and shown once).
pub const DEMO_KEY: &str = "o311_yunxi_demo_key_2026";

pub struct Open311Made {
    pub requests: usize,
}

pub async fn open311(store: &Arc<dyn Store>, now: Instant) -> anyhow::Result<Open311Made> {
    let fail = |e: bihuan_server::error::ApiError| anyhow::anyhow!("{}", e.message);
    let catalog = store.catalog();
    let (app, clock) = super::demo_app(store, now - Duration::days(3)).await?;
    let state = app.state();
    let users = store.users().await?;
    let admin = super::caller_in(&users, &catalog, "admin")?;
    uc::register_with_key(
        &state,
        &admin,
        uc::NewClient {
            name: "云溪城市通".into(),
            contact: "县大数据发展中心 应用运维组 0570-6012345".into(),
            channel: None,
        },
        Channel::App,
        DEMO_KEY.into(),
    )
    .await
    .map_err(fail)?;
    let code = |name: &str| -> anyhow::Result<String> {
        catalog
            .categories
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.id.0.to_string())
            .ok_or_else(|| anyhow::anyhow!("no category {name}"))
    };
    let requests = [
        (
            "井盖缺失",
            "29.8612",
            "119.5391",
            "文昌路与解放街交叉口东侧人行道井盖缺失，夜里有人差点踩空，请尽快补上。",
            "complaint",
        ),
        (
            "路灯",
            "29.8547",
            "119.5275",
            "滨江公园北门到停车场一段路灯全部不亮，已经三个晚上了。",
            "help",
        ),
        (
            "道路破损",
            "29.8703",
            "119.5462",
            "城北农贸市场门口路面塌陷一个大坑，电动车经过容易摔倒。",
            "complaint",
        ),
        (
            "垃圾清运",
            "29.8489",
            "119.5318",
            "锦绣花园小区东门垃圾桶满了两天没人清运，气味很大。",
            "help",
        ),
        (
            "噪音扰民",
            "29.8655",
            "119.5204",
            "江滨路一家烧烤店每天营业到凌晨两点，噪音很大，影响休息。",
            "complaint",
        ),
        (
            "排水不畅",
            "29.8581",
            "119.5357",
            "人民医院后门的下水道一下雨就积水，建议疏通。",
            "suggestion",
        ),
    ];
    let mut made = Vec::new();
    for (i, (category, lat, long, text, kind)) in requests.iter().enumerate() {
        clock.set(now - Duration::days(3) + Duration::hours(7 * i as i64 + 2));
        let code = code(category)?;
        let phone = format!("1380570{:04}", 3100 + i * 7);
        let r = uc::submit(
            &state,
            &[
                ("api_key", DEMO_KEY),
                ("service_code", &code),
                ("lat", lat),
                ("long", long),
                ("description", text),
                ("phone", &phone),
                ("last_name", ["王", "陈", "刘", "周", "吴", "郑"][i]),
                ("first_name", "先生"),
                ("attribute[kind]", kind),
            ],
        )
        .await;
        if r.status().as_u16() != 201 {
            anyhow::bail!("the demo's Open311 request {i} was refused: {}", r.status());
        }
        made.push(i);
    }
    Ok(Open311Made {
        requests: made.len(),
    })
}
