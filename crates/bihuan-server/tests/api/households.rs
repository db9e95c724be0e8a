//! 入户听诉's household registry (issue 18, item 1): import with a report of bad rows, scoping
//! by the organisation tree, masking, and history kept when grids are redrawn.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn import(app: &TestApp, login: &str, csv: &str) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(app.token(login))
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub async fn households_are_imported_scoped_masked_and_moved_with_their_history(app: TestApp) {
    // A second grid, to redraw into.
    let r = app
        .client
        .post(app.url("/api/v1/units"))
        .bearer_auth(app.token("admin"))
        .json(&json!({"id": 23, "name": "东门社区第二网格", "kind": "grid", "parent": VILLAGE}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let csv = "\u{feff}网格,住址,户主,电话,人口,标签\n\
        东门社区第一网格,东门社区3栋101,王秀英,13912340001,1,独居老人、低保户\n\
        22,东门社区3栋102,李建国,,4,退役军人\n\
        不存在的网格,东门社区3栋103,赵六,,2,\n\
        东门社区第一网格,东门社区3栋104,钱七,12,3,\n\
        东门社区第一网格,东门社区3栋105,孙八,,两人,\n\
        东门社区第一网格,,周九,,2,\n\
        东门社区第一网格,东门社区3栋101,王秀英,13912340001,1,独居老人\n";
    // A department keeps no registry.
    let (s, _) = import(&app, "housing", csv).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, r) = import(&app, "grid", csv).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["imported"], 2, "{r}");
    assert_eq!(r["duplicates"], 1, "{r}");
    let bad: Vec<(u64, String)> = r["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        bad.iter().map(|b| b.0).collect::<Vec<_>>(),
        vec![4, 5, 6, 7],
        "{r}"
    );
    assert!(bad[0].1.contains("不存在的网格"), "{bad:?}");
    assert!(bad[1].1.contains("电话"), "{bad:?}");
    assert!(bad[2].1.contains("人口"), "{bad:?}");
    assert!(bad[3].1.contains("住址"), "{bad:?}");
    // Importing the same file again imports nothing new.
    let (_, again) = import(&app, "grid", csv).await;
    assert_eq!(
        (again["imported"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );
    // An XLSX workbook's first sheet is read the same way.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let rows = [
        ["住址", "户主", "人口", "网格"],
        ["东门社区4栋201", "郑十一", "3", "东门社区第一网格"],
        ["东门社区4栋202", "冯十二", "很多", "东门社区第一网格"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    let xlsx = wb.save_to_buffer().unwrap();
    let r = app
        .client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(app.token("grid"))
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(xlsx)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let x: Value = r.json().await.unwrap();
    assert_eq!(x["imported"], 1, "{x}");
    assert_eq!(x["bad_rows"][0]["line"], 3, "{x}");
    let (_, page) = app.get("grid", "/api/v1/households").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    // Neither CSV in UTF-8 nor a workbook: refused with what to do.
    let r = app
        .client
        .post(app.url("/api/v1/households/import"))
        .bearer_auth(app.token("grid"))
        .body(vec![0xC8u8, 0xFD, 0x2C, 0xB0])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert!(e["message"].as_str().unwrap().contains("UTF-8"), "{e}");
    // A header without the needed columns is refused with what was read.
    let (s, e) = import(&app, "grid", "地址,姓名\n东门,王\n").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("网格、住址、户主、人口"),
        "{e}"
    );

    // Scoped: the grid, its village and township, and the county see them; masked in lists.
    for login in ["grid", "town", "leader", "dispatcher"] {
        let (s, page) = app.get(login, "/api/v1/households").await;
        assert_eq!(s, StatusCode::OK, "{login}");
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{login}: {page}");
        assert!(
            !page.to_string().contains("13912340001"),
            "{login}: lists are masked: {page}"
        );
        assert!(!page.to_string().contains("王秀英"), "{login}: {page}");
    }
    let (s, _) = app.get("water", "/api/v1/households").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, tagged) = app.get("town", "/api/v1/households?tag=低保户").await;
    assert_eq!(tagged["items"].as_array().unwrap().len(), 1, "{tagged}");
    let id = tagged["items"][0]["id"].as_u64().unwrap();
    // Searched by any two or more consecutive characters of the address or the head's name,
    // within the caller's reach and the other conditions.
    let found = |page: &Value| -> Vec<u64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_u64().unwrap())
            .collect()
    };
    let (_, p) = app.get("town", "/api/v1/households?q=王秀英").await;
    assert_eq!(found(&p), vec![id], "{p}");
    let (_, p) = app.get("grid", "/api/v1/households?q=3栋 102").await;
    assert_eq!(p["items"].as_array().unwrap().len(), 1, "{p}");
    assert_ne!(found(&p), vec![id], "{p}");
    let (_, p) = app.get("leader", "/api/v1/households?q=东门社区").await;
    assert_eq!(p["items"].as_array().unwrap().len(), 3, "{p}");
    let (_, p) = app
        .get("town", "/api/v1/households?q=秀英&tag=退役军人")
        .await;
    assert_eq!(found(&p), Vec::<u64>::new(), "{p}");
    let (_, p) = app.get("town", "/api/v1/households?q=3栋109").await;
    assert_eq!(found(&p), Vec::<u64>::new(), "no such address: {p}");
    let (s, e) = app.get("town", "/api/v1/households?q=王").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("两个字"), "{e}");
    // The household's page: in full to its grid, masked to a leader.
    let (_, mine) = app.get("grid", &format!("/api/v1/households/{id}")).await;
    assert_eq!(mine["phone"], "13912340001", "{mine}");
    assert_eq!(mine["head"], "王秀英");
    assert_eq!(mine["tags"], json!(["独居老人", "低保户"]));
    for login in ["leader", "operator"] {
        let (_, seen) = app.get(login, &format!("/api/v1/households/{id}")).await;
        assert!(!seen.to_string().contains("13912340001"), "{login}: {seen}");
    }
    let (_, centre) = app
        .get("dispatcher", &format!("/api/v1/households/{id}"))
        .await;
    assert_eq!(
        centre["phone"], "13912340001",
        "the centre calls households: {centre}"
    );
    // Registered by hand: a duplicate refused on its field, a good one kept.
    let (s, e) = app
        .post(
            "grid",
            "/api/v1/households",
            &json!({"grid": GRID, "address": "东门社区3栋101", "head": "王秀英", "members": 1}),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("address")),
        "{e}"
    );
    let (s, _) = app
        .post(
            "grid",
            "/api/v1/households",
            &json!({"grid": 23, "address": "东门社区5栋1", "head": "吴十", "members": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not the grid member's grid");
    // Grids redrawn by the township: the household moves with its history; the first grid's
    // member no longer sees it, the new grid's village still does.
    let (s, e) = app
        .post(
            "town",
            &format!("/api/v1/households/{id}/move"),
            &json!({"grid": 23, "reason": " "}),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
        "{e}"
    );
    let (s, moved) = app
        .post(
            "town",
            &format!("/api/v1/households/{id}/move"),
            &json!({"grid": 23, "reason": "网格调整"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(moved["grid_name"], "东门社区第二网格");
    let (s, _) = app.get("grid", &format!("/api/v1/households/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, detail) = app.get("town", &format!("/api/v1/households/{id}")).await;
    let history: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap())
        .collect();
    assert_eq!(history, vec!["登记", "调整网格：网格调整"], "{detail}");
    let (_, grid1) = app
        .get("town", &format!("/api/v1/households?grid={GRID}"))
        .await;
    assert_eq!(grid1["items"].as_array().unwrap().len(), 2);
    // Removed: off the registry, its history kept.
    let (s, _) = app
        .post(
            "town",
            &format!("/api/v1/households/{id}/remove"),
            &json!({"reason": "全户迁出"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, all) = app.get("leader", "/api/v1/households").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    let (_, detail) = app.get("town", &format!("/api/v1/households/{id}")).await;
    assert_eq!(detail["removed"], "全户迁出");
    assert_eq!(detail["history"].as_array().unwrap().len(), 3);
    // Paging: one per page, then the next.
    let (_, p1) = app.get("town", "/api/v1/households?limit=1").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 1);
    let (s, e) = app.get("town", "/api/v1/households?limit=0").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_query")),
        "{e}"
    );
}
