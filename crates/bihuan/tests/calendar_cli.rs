//! The `bihuan calendar` subcommand, run as a user would run it.

use std::process::Command;

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

#[test]
fn check_prints_one_word() {
    assert_eq!(
        run(&["calendar", "check", "2026-02-14"]),
        (0, "workday\n".into(), String::new())
    );
    assert_eq!(run(&["calendar", "check", "2026-02-16"]).1, "rest\n");
    assert_eq!(run(&["calendar", "check", "2026-11-28"]).1, "rest\n");
}

#[test]
fn add_counts_working_days_after_the_start() {
    assert_eq!(
        run(&["calendar", "add", "2026-09-28", "15"]),
        (0, "2026-10-23\n".into(), String::new())
    );
    assert_eq!(
        run(&["calendar", "count", "2026-09-28", "2026-10-23"]).1,
        "15\n"
    );
    assert_eq!(
        run(&["calendar", "period", "2026-09-20", "15"]).1,
        "2026-10-08\n"
    );
}

#[test]
fn dates_outside_the_loaded_years_fail_clearly() {
    // The year after the newest notice answers provisionally, and says so on standard error.
    let (code, out, err) = run(&["calendar", "check", "2027-01-04"]);
    assert_eq!((code, out.as_str()), (0, "workday\n"), "{err}");
    assert!(err.contains("预计") && err.contains("2027"), "{err}");
    let (code, out, err) = run(&["calendar", "add", "2026-12-28", "10"]);
    assert_eq!((code, out.as_str()), (0, "2027-01-12\n"), "{err}");
    assert!(err.contains("预计"), "{err}");
    let (_, _, err) = run(&["calendar", "add", "2026-09-28", "15"]);
    assert!(!err.contains("预计"), "{err}");
    // Beyond the provisional years: an error that names the year.
    let (code, out, err) = run(&["calendar", "check", "2029-01-04"]);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(err.contains("calendar year 2029 is not loaded"), "{err}");
    let (code, _, err) = run(&["calendar", "check", "2026-02-30"]);
    assert_ne!(code, 0);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

#[test]
fn an_extra_year_file_extends_the_calendar() {
    let dir = std::env::temp_dir().join(format!("bihuan-cal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("2027.json");
    std::fs::write(
        &file,
        r#"{"year": 2027, "papers": [], "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();
    assert_eq!(
        run(&["calendar", "--holidays", f, "check", "2027-01-01"]).1,
        "rest\n"
    );
    assert_eq!(
        run(&["calendar", "check", "2027-01-04", "--holidays", f]).1,
        "workday\n"
    );
    std::fs::write(&file, "{broken").unwrap();
    let (code, _, err) = run(&["calendar", "--holidays", f, "check", "2026-01-05"]);
    assert_ne!(code, 0);
    assert!(err.contains("invalid holiday file"), "{err}");
    let (years_code, years, _) = run(&["calendar", "years"]);
    assert_eq!(years_code, 0);
    assert_eq!(years.lines().count(), 20);
    std::fs::remove_dir_all(&dir).ok();
}
