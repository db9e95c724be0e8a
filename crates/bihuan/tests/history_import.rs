//! History import (issue 24, item 2): rows shaped like the NYC and Chicago 311 exports (small
//! samples written here, not the public files), with their status, closing time, agency and
//! coordinates, enter as history; CRLF files give the right line numbers; the source's number
//! is the key, so an XLSX and then a CSV of the same rows are one appeal each; the command's
//! exit codes say whether rows were refused.

use std::process::Command;
use std::sync::Arc;

use bihuan::{demo, import};
use bihuan_domain::lifecycle::{Actor, Role, Status};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::local;
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::{AppealFilter, Store};

fn now() -> bihuan_domain::time::Instant {
    local(2026, 11, 20, 10, 0, 0).unwrap()
}

async fn county(dir: &tempfile::TempDir) -> (Arc<dyn Store>, Actor) {
    let s: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("t.db")).unwrap());
    let county = demo::county();
    demo::install(&s, &county, "not-a-real-hash").await.unwrap();
    let admin = s.user_by_login("admin").await.unwrap();
    let actor = Actor {
        user: admin.id,
        name: admin.name,
        role: Role::Admin,
        unit: UnitId(1),
        unit_kind: UnitKind::County,
    };
    (s, actor)
}

/// Five rows in the NYC 311 export's shape (CRLF, ISO 8601 times without a zone), the fourth
/// and fifth bad in several ways each.
const NYC: &str = "Unique Key,Created Date,Closed Date,Agency,Complaint Type,Descriptor,Incident Address,Status,Resolution Description,Latitude,Longitude,Open Data Channel Type\r\n\
60911001,2024-04-16T03:03:15.000,2024-04-16T05:41:02.000,NYPD,Noise - Residential,Loud Music/Party,120 WEST 44 STREET,Closed,The Police Department responded and upon arrival those responsible were gone.,40.7570,-73.9845,PHONE\r\n\
60911002,2024-04-16T08:10:00.000,,DOT,Street Light Condition,Street Light Out,5 AVENUE AND EAST 23 STREET,In Progress,,40.7411,-73.9897,ONLINE\r\n\
60911003,2024-04-17T10:00:00.000,,,Street Light Condition,Lamppost Damaged,,Open,,,,MOBILE\r\n\
60911004,2024-13-40T99:00:00.000,,FDNY,Noise - Residential,Banging,,Closed,,40.7,-73.9,FAX\r\n\
60911005,2024-04-18T09:00:00.000,2024-04-17T09:00:00.000,NYPD,Noise - Residential,\"Loud Talking,\r\nlate\",,Pending Review,,,,PHONE\r\n";

const NYC_MAP: &str = r#"
[columns]
source_number = "Unique Key"
created = "Created Date"
closed = "Closed Date"
lead = "Agency"
category = "Complaint Type"
content = ["Complaint Type", "Descriptor"]
address = "Incident Address"
status = "Status"
reply = "Resolution Description"
lat = "Latitude"
long = "Longitude"
channel = "Open Data Channel Type"

[values.channel]
PHONE = "hotline"
ONLINE = "web"
MOBILE = "app"

[values.status]
Closed = "closed"
"In Progress" = "in_progress"
Open = "open"

[values.lead]
NYPD = "县公安局"
DOT = "县交通运输局"

[values.category]
"Noise - Residential" = "噪音扰民"
"Street Light Condition" = "路灯"

[options]
timezone = "-05:00"
source = "nyc311"
"#;

#[tokio::test]
async fn nyc_style_rows_enter_with_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let (s, actor) = county(&dir).await;
    let file = dir.path().join("nyc.csv");
    std::fs::write(&file, NYC).unwrap();
    let map: import::Mapping = toml::from_str(NYC_MAP).unwrap();

    // A dry run reports and writes nothing.
    let dry = import::import(
        &s,
        &file,
        &map,
        &actor,
        &import::Run {
            dry_run: true,
            ..Default::default()
        },
        now(),
    )
    .await
    .unwrap();
    assert_eq!((dry.created, dry.errors.len()), (3, 2), "{dry:?}");
    assert_eq!(s.count(AppealFilter::default()).await.unwrap(), 0);

    let report = import::import(&s, &file, &map, &actor, &import::Run::default(), now())
        .await
        .unwrap();
    assert_eq!((report.created, report.closed), (3, 1), "{report:?}");
    // CRLF: the header is line 1, each row its own line; the fifth row's quoted line break
    // makes it start on line 6 and the next row (none here) on line 8.
    let lines: Vec<usize> = report.errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [5, 6], "{report:?}");
    // Every problem of a row, each naming what is accepted.
    let fourth = &report.errors[0].1;
    for part in ["登记时间", "FDNY", "FAX", "hotline（12345热线）"] {
        assert!(fourth.contains(part), "{part} in {fourth}");
    }
    let fifth = &report.errors[1].1;
    assert!(
        fifth.contains("Pending Review") && fifth.contains("closed（已办结）"),
        "{fifth}"
    );
    // The refused rows, to fix and import again.
    let rejected = std::fs::read_to_string(report.rejected_file.as_ref().unwrap()).unwrap();
    assert!(
        rejected.starts_with("原行号,错误原因,Unique Key"),
        "{rejected}"
    );
    assert!(rejected.contains("60911004") && rejected.contains("60911005"));

    let all = s
        .list(AppealFilter::default(), None, 10)
        .await
        .unwrap()
        .items;
    let by = |n: &str| {
        all.iter()
            .find(|a| a.content.contains(n))
            .unwrap_or_else(|| panic!("no {n}"))
    };
    let cat = s.catalog();
    let unit = |name: &str| cat.org.find_by_name(name).next().unwrap().id;
    // Closed at the source: closed here, at the source's time (−05:00), nothing running.
    let closed = by("60911001");
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(
        closed.closed_at,
        Some("2024-04-16T10:41:02Z".parse().unwrap())
    );
    assert_eq!(
        closed.registered_at,
        "2024-04-16T08:03:15Z"
            .parse::<bihuan_domain::time::Instant>()
            .unwrap()
    );
    assert_eq!(closed.lead, Some(unit("县公安局")));
    assert_eq!(closed.channel, bihuan_domain::Channel::Hotline);
    assert_eq!(closed.place.coordinates, Some((-73.9845, 40.757)));
    assert!(closed.reply.as_ref().unwrap().text.contains("upon arrival"));
    assert!(closed.content.contains("原系统工单号：60911001"));
    assert!(
        closed.running_deadlines().is_empty() && closed.supervisable_overdue(now()).is_empty(),
        "no deadline runs on history, nothing to supervise"
    );
    // In progress at the source: dispatched and signed by the agency's unit, still open.
    let running = by("60911002");
    assert_eq!(running.status, Status::InProgress);
    assert_eq!(running.lead, Some(unit("县交通运输局")));
    assert_eq!(running.channel, bihuan_domain::Channel::Web);
    // Open without an agency: waiting for dispatch.
    assert_eq!(by("60911003").status, Status::PendingDispatch);

    // The rollups written with the rows equal the rollups rebuilt from the histories.
    let written = s.rollup_dump().await.unwrap();
    s.rebuild_rollups().await.unwrap();
    assert_eq!(written.rows, s.rollup_dump().await.unwrap().rows);

    // Again: nothing new.
    let again = import::import(&s, &file, &map, &actor, &import::Run::default(), now())
        .await
        .unwrap();
    assert_eq!((again.created, again.skipped), (0, 3), "{again:?}");
}

/// Rows in the Chicago 311 export's shape (LF, US times).
const CHICAGO: &str = "SR_NUMBER,SR_TYPE,OWNER_DEPARTMENT,STATUS,ORIGIN,CREATED_DATE,CLOSED_DATE,STREET_ADDRESS,LATITUDE,LONGITUDE\n\
SR24-00512345,Street Light Out Complaint,CDOT - Department of Transportation,Completed,Phone Call,04/16/2024 03:03:15 AM,04/18/2024 11:20:00 AM,1200 W MADISON ST,41.8818,-87.6594\n\
SR24-00512346,Pothole in Street Complaint,CDOT - Department of Transportation,Open,Internet,04/16/2024 09:15:00 AM,,2400 N CLARK ST,41.9257,-87.6400\n";

const CHICAGO_MAP: &str = r#"
[columns]
source_number = "SR_NUMBER"
content = "SR_TYPE"
category = "SR_TYPE"
lead = "OWNER_DEPARTMENT"
status = "STATUS"
channel = "ORIGIN"
created = "CREATED_DATE"
closed = "CLOSED_DATE"
address = "STREET_ADDRESS"
lat = "LATITUDE"
long = "LONGITUDE"

[values.status]
Completed = "closed"
Canceled = "closed"
Open = "open"

[values.channel]
"Phone Call" = "hotline"
Internet = "web"

[values.lead]
"CDOT - Department of Transportation" = "县交通运输局"

[values.category]
"Street Light Out Complaint" = "路灯"
"Pothole in Street Complaint" = "道路破损"

[options]
timezone = "-05:00"
source = "chicago311"
"#;

#[tokio::test]
async fn the_same_rows_from_xlsx_and_then_csv_are_one_appeal_each() {
    let dir = tempfile::tempdir().unwrap();
    let (s, actor) = county(&dir).await;
    let map: import::Mapping = toml::from_str(CHICAGO_MAP).unwrap();
    // The XLSX first: the same cells, the times as Excel date-times.
    let xlsx = dir.path().join("chicago.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let fmt = rust_xlsxwriter::Format::new().set_num_format("mm/dd/yyyy hh:mm:ss AM/PM");
    for (r, line) in CHICAGO.lines().enumerate() {
        for (c, v) in line.split(',').enumerate() {
            let (r, c) = (r as u32, c as u16);
            if r > 0 && (c == 5 || c == 6) && !v.is_empty() {
                let t = chrono::NaiveDateTime::parse_from_str(v, "%m/%d/%Y %I:%M:%S %p").unwrap();
                let dt = rust_xlsxwriter::ExcelDateTime::parse_from_str(
                    &t.format("%Y-%m-%d %H:%M:%S").to_string(),
                )
                .unwrap();
                sheet.write_datetime_with_format(r, c, &dt, &fmt).unwrap();
            } else if r > 0 && c >= 8 {
                sheet.write_number(r, c, v.parse::<f64>().unwrap()).unwrap();
            } else {
                sheet.write_string(r, c, v).unwrap();
            }
        }
    }
    wb.save(&xlsx).unwrap();
    let first = import::import(&s, &xlsx, &map, &actor, &import::Run::default(), now())
        .await
        .unwrap();
    assert_eq!((first.created, first.closed), (2, 1), "{first:?}");
    let csv = dir.path().join("chicago.csv");
    std::fs::write(&csv, CHICAGO).unwrap();
    let second = import::import(&s, &csv, &map, &actor, &import::Run::default(), now())
        .await
        .unwrap();
    assert_eq!((second.created, second.skipped), (0, 2), "{second:?}");
    assert_eq!(s.count(AppealFilter::default()).await.unwrap(), 2);
    let closed = s
        .list(
            AppealFilter {
                status: vec![Status::Closed],
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(
        closed[0].closed_at,
        Some("2024-04-18T16:20:00Z".parse().unwrap())
    );
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bihuan"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn the_import_command_says_by_its_exit_code_whether_rows_were_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = county(&dir).await;
    drop(s);
    let db = dir.path().join("t.db");
    let db = db.to_str().unwrap();
    let map = dir.path().join("nyc.toml");
    std::fs::write(&map, NYC_MAP).unwrap();
    let map = map.to_str().unwrap();
    let bad = dir.path().join("nyc.csv");
    std::fs::write(&bad, NYC).unwrap();
    let (code, out, err) = run(&[
        "import",
        "--db",
        db,
        "--file",
        bad.to_str().unwrap(),
        "--mapping",
        map,
    ]);
    assert_eq!(code, 1, "rows refused: {out}{err}");
    assert!(
        out.contains("line 5:") && out.contains("nyc.rejected.csv"),
        "{out}"
    );
    // Only the good rows: exit 0.
    let good = dir.path().join("good.csv");
    let rows: Vec<&str> = NYC.split("\r\n").collect();
    std::fs::write(&good, format!("{}\r\n{}\r\n", rows[0], rows[1])).unwrap();
    let (code, out, err) = run(&[
        "import",
        "--db",
        db,
        "--file",
        good.to_str().unwrap(),
        "--mapping",
        map,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 already present"), "{out}");
    // A mapping that names a column the file lacks: a failure, exit 2.
    let wrong = dir.path().join("wrong.toml");
    std::fs::write(&wrong, NYC_MAP.replace("\"Unique Key\"", "\"Key\"")).unwrap();
    let (code, _, err) = run(&[
        "import",
        "--db",
        db,
        "--file",
        good.to_str().unwrap(),
        "--mapping",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Key"), "{err}");
}
