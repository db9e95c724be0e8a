//! Export of appeals to CSV: UTF-8 with a byte-order mark so that Excel opens Chinese text
//! correctly. Citizens' phones and names are masked: an export leaves the system.

use std::io::Write;
use std::sync::Arc;

use bihuan_domain::time::{format_local, Instant};
use bihuan_store::{AppealFilter, Catalog, Store};

pub const HEADERS: [&str; 16] = [
    "工单编号",
    "登记时间",
    "渠道",
    "类型",
    "紧急程度",
    "分类",
    "标题",
    "诉求内容",
    "诉求人",
    "联系电话",
    "所属乡镇",
    "主办单位",
    "状态",
    "办理期限",
    "答复时间",
    "满意度",
];

fn row(a: &bihuan_domain::Appeal, cat: &Catalog) -> Vec<String> {
    let unit = |u: Option<bihuan_domain::org::UnitId>| {
        u.and_then(|u| cat.org.get(u))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    vec![
        a.number.to_string(),
        format_local(a.registered_at),
        a.channel.label().into(),
        a.kind.label().into(),
        a.urgency.label().into(),
        a.category
            .and_then(|c| cat.categories.path_name(c))
            .unwrap_or_default(),
        a.title.clone(),
        a.content.clone(),
        a.citizen
            .name
            .as_deref()
            .map(bihuan_domain::appeal::mask_name)
            .unwrap_or_default(),
        a.citizen
            .phone
            .as_ref()
            .map(|p| p.masked())
            .unwrap_or_default(),
        unit(a.place.township),
        unit(a.lead),
        a.status.label().into(),
        a.deadlines.reply.map(format_local).unwrap_or_default(),
        a.first_replied_at.map(format_local).unwrap_or_default(),
        a.visit
            .as_ref()
            .and_then(|v| v.rating)
            .map(|r| r.label().to_string())
            .unwrap_or_default(),
    ]
}

/// Writes every appeal matching `filter` as CSV to `out`; returns the number of rows.
pub async fn export_csv(
    store: &Arc<dyn Store>,
    mut filter: AppealFilter,
    now: Instant,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    filter.now = Some(now);
    let cat = store.catalog();
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADERS)?;
    let mut cursor = None;
    let mut n = 0;
    loop {
        let page = store.list(filter.clone(), cursor, 500).await?;
        for a in &page.items {
            w.write_record(row(a, &cat))?;
            n += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    w.flush()?;
    Ok(n)
}
