//! The binary's jobs run directly: the demo generator, import with bad rows, export.

use std::sync::Arc;

use bihuan::{demo, export, import};
use bihuan_domain::lifecycle::{Actor, Role, Status};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::local;
use bihuan_domain::UserId;
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::{AppealFilter, Store};

fn now() -> bihuan_domain::time::Instant {
    local(2026, 11, 20, 10, 0, 0).unwrap()
}

fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(dir.path().join("t.db")).unwrap())
}

async fn demo_store(dir: &tempfile::TempDir, n: usize) -> (Arc<dyn Store>, demo::County) {
    let s = store(dir);
    let county = demo::county();
    demo::install(&s, &county, "not-a-real-hash").await.unwrap();
    let now = local(2026, 11, 20, 10, 0, 0).unwrap();
    let written = demo::generate(&s, &county, n, now, 7).await.unwrap();
    assert_eq!(written, n);
    (s, county)
}

#[tokio::test]
async fn the_demo_county_is_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let (s, county) = demo_store(&dir, 3000).await;
    let cat = s.catalog();
    assert_eq!(
        cat.org
            .units()
            .filter(|u| u.kind == UnitKind::Township)
            .count(),
        15
    );
    assert_eq!(
        cat.org
            .units()
            .filter(|u| u.kind == UnitKind::Department)
            .count(),
        30
    );
    assert!(cat.org.units().filter(|u| u.kind == UnitKind::Grid).count() > 100);
    assert!(cat
        .categories
        .iter()
        .all(|c| cat.categories.level(c.id).unwrap() <= 3));
    let users = s.users().await.unwrap();
    assert!(users.len() >= 50 && users.len() == county.accounts.len());
    for role in [
        Role::Operator,
        Role::Dispatcher,
        Role::Handler,
        Role::UnitLeader,
        Role::Supervisor,
        Role::ReturnVisitor,
        Role::GridMember,
        Role::Leader,
        Role::Admin,
    ] {
        assert!(users.iter().any(|u| u.role == role), "{role:?}");
    }
    // Most appeals are closed; some are still open; the loop's side paths all occur.
    let counts: std::collections::BTreeMap<Status, u64> =
        s.count_by_status().await.unwrap().into_iter().collect();
    let total: u64 = counts.values().sum();
    assert_eq!(total, 3000);
    assert!(counts[&Status::Closed] > 2400, "{counts:?}");
    // Counting with a filter agrees with the grouped counts.
    assert_eq!(s.count(AppealFilter::default()).await.unwrap(), 3000);
    let closed = AppealFilter {
        status: vec![Status::Closed],
        ..Default::default()
    };
    assert_eq!(s.count(closed).await.unwrap(), counts[&Status::Closed]);
    assert!(
        counts.get(&Status::InProgress).copied().unwrap_or(0) > 0,
        "{counts:?}"
    );
    let mut seen = std::collections::BTreeSet::new();
    let page = s.list(AppealFilter::default(), None, 500).await.unwrap();
    for a in &page.items {
        for e in s.history(a.id).await.unwrap() {
            seen.insert(e.event.name());
        }
        // Every stored state equals the replay of its history.
        let replay = bihuan_domain::Appeal::from_history(&s.history(a.id).await.unwrap()).unwrap();
        assert_eq!(&replay, a);
    }
    for name in [
        "registered",
        "dispatched",
        "signed",
        "replied",
        "visited",
        "closed",
        "redo_ordered",
        "return_requested",
        "extension_requested",
        "answered_at_intake",
    ] {
        assert!(
            seen.contains(name),
            "no {name} among the first 500: {seen:?}"
        );
    }
}

#[tokio::test]
async fn import_keeps_good_rows_and_reports_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = demo_store(&dir, 10).await;
    let csv = dir.path().join("calls.csv");
    std::fs::write(
        &csv,
        "\u{feff}标题,诉求内容,来电时间,来电号码,来电人,地址,诉求类型,分类,乡镇\n\
         路灯不亮,东门路路灯不亮,2026-11-02 09:30:00,13912345678,李四,东门路12号,投诉,路灯,云溪镇\n\
         噪音,夜间施工噪音,2026/11/03 21:10:00,13800000000,王五,西街,投诉,城乡建设 / 市政设施 / 路灯,东岭\n\
         坏时间,内容,昨天下午,13800000001,赵六,,咨询,,\n\
         坏电话,内容,2026-11-04 10:00:00,12ab,钱七,,咨询,,\n\
         坏分类,内容,2026-11-04 10:00:00,13800000002,孙八,,求助,不存在的分类,\n\
         坏类型,内容,2026-11-04 10:00:00,13800000003,周九,,抱怨,,\n\
         空内容,,2026-11-04 10:00:00,13800000004,吴十,,咨询,,\n",
    )
    .unwrap();
    let map: import::Mapping = toml::from_str(
        "[columns]\ntitle = \"标题\"\ncontent = \"诉求内容\"\ncreated = \"来电时间\"\nphone = \"来电号码\"\nname = \"来电人\"\naddress = \"地址\"\nkind = \"诉求类型\"\ncategory = \"分类\"\ntownship = \"乡镇\"\n",
    )
    .unwrap();
    let admin = s.user_by_login("admin").await.unwrap();
    let actor = Actor {
        user: admin.id,
        name: admin.name,
        role: Role::Admin,
        unit: UnitId(1),
        unit_kind: UnitKind::County,
    };
    let report = import::import(&s, &csv, &map, &actor, &import::Run::default(), now())
        .await
        .unwrap();
    assert_eq!(report.created, 2, "{report:?}");
    let lines: Vec<usize> = report.errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [4, 5, 6, 7, 8], "{report:?}");
    assert!(report.errors[0].1.contains("时间"));
    assert!(report.errors[1].1.contains("电话"));
    assert!(report.errors[2].1.contains("分类"));
    assert!(report.errors[3].1.contains("类型"));
    assert!(report.errors[4].1.contains("缺少诉求内容"), "{report:?}");
    // Importing the same file again creates nothing new.
    let again = import::import(&s, &csv, &map, &actor, &import::Run::default(), now())
        .await
        .unwrap();
    assert_eq!((again.created, again.skipped), (0, 2));
    // A mapping that names a missing column is refused before any row.
    let bad: import::Mapping = toml::from_str(
        "[columns]\ntitle = \"主题\"\ncontent = \"诉求内容\"\ncreated = \"来电时间\"\n",
    )
    .unwrap();
    let e = import::import(&s, &csv, &bad, &actor, &import::Run::default(), now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("主题"), "{e}");
    let imported = s
        .list(
            AppealFilter {
                registered_by: Some(UserId(admin.id.0)),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(imported.items.len(), 2);
    assert!(imported
        .items
        .iter()
        .any(|a| a.place.township.is_some() && a.category.is_some()));
}

#[tokio::test]
async fn export_writes_csv_with_a_bom_and_masked_phones() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = demo_store(&dir, 50).await;
    let mut out = Vec::new();
    let n = export::export_csv(
        &s,
        AppealFilter::default(),
        local(2026, 11, 20, 10, 0, 0).unwrap(),
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(n, 50);
    assert!(out.starts_with("\u{feff}".as_bytes()));
    let text = String::from_utf8(out).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(reader.headers().unwrap().iter().next(), Some("工单编号"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 50);
    for r in &rows {
        let phone = &r[9];
        assert!(phone.is_empty() || phone.contains("****"), "{phone}");
    }
}

#[tokio::test]
async fn import_reads_xlsx_exports_too() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = demo_store(&dir, 5).await;
    let path = dir.path().join("calls.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let rows = [
        ["标题", "诉求内容", "来电时间", "来电号码"],
        [
            "路灯不亮",
            "东门路路灯不亮",
            "2026-11-02 09:30:00",
            "13912345678",
        ],
        ["坏行", "内容", "不是时间", "13912345678"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    // A real Excel date-time cell and a number-typed phone, as exports often have.
    sheet.write_string(3, 0, "噪音").unwrap();
    sheet.write_string(3, 1, "夜间施工").unwrap();
    let dt = rust_xlsxwriter::ExcelDateTime::parse_from_str("2026-11-03 21:10:00").unwrap();
    let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    sheet.write_datetime_with_format(3, 2, &dt, &fmt).unwrap();
    sheet.write_number(3, 3, 13800000000.0).unwrap();
    wb.save(&path).unwrap();
    let map: import::Mapping = toml::from_str("[columns]\ntitle = \"标题\"\ncontent = \"诉求内容\"\ncreated = \"来电时间\"\nphone = \"来电号码\"\n").unwrap();
    let admin = s.user_by_login("admin").await.unwrap();
    let actor = Actor {
        user: admin.id,
        name: admin.name,
        role: Role::Admin,
        unit: UnitId(1),
        unit_kind: UnitKind::County,
    };
    let report = import::import(&s, &path, &map, &actor, &import::Run::default(), now())
        .await
        .unwrap();
    assert_eq!(report.created, 2, "{report:?}");
    assert_eq!(report.errors.iter().map(|e| e.0).collect::<Vec<_>>(), [3]);
}
