//! Hostile input to every endpoint: malformed JSON, wrong types, unknown actions and fields,
//! oversized bodies, invalid UTF-8, very long strings, control characters, SQL and script
//! payloads, in bodies, paths and query strings, with and without credentials. Every answer is
//! below 500, every API error is JSON with a code and a message, the server stays up, and text
//! stored from such input comes back escaped in the console.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// Every route of the API (from the OpenAPI document) and of the console, with its method.
fn routes(app_doc: &Value) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, ops) in app_doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if let Ok(m) = method.to_uppercase().parse::<Method>() {
                out.push((m, path.clone()));
            }
        }
    }
    for (m, p) in [
        ("GET", "/"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("GET", "/appeals"),
        ("GET", "/appeals/new"),
        ("POST", "/appeals/new"),
        ("GET", "/appeals/{key}"),
        ("POST", "/appeals/{key}/act"),
        ("GET", "/appeals/{key}/preview"),
        ("POST", "/appeals/{key}/attachments"),
        ("GET", "/console/caller"),
        ("GET", "/console/suggest"),
        ("POST", "/admin/dispatch-rules"),
        ("POST", "/admin/train"),
        ("GET", "/queue/dispatch"),
        ("GET", "/queue/inbox"),
        ("GET", "/queue/visits"),
        ("GET", "/queue/supervision"),
        ("GET", "/admin"),
        ("POST", "/admin/users"),
        ("POST", "/admin/calendar"),
        ("POST", "/admin/units"),
        ("POST", "/admin/categories"),
        ("POST", "/admin/policies"),
        ("POST", "/admin/rates"),
        ("GET", "/assets/{file}"),
        ("GET", "/dashboard"),
        ("GET", "/board"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
    ] {
        out.push((m.parse().unwrap(), p.to_string()));
    }
    out
}

/// Values put into path parameters: one that exists, and hostile ones (already URL-encoded).
fn path_values(existing: &str) -> Vec<String> {
    vec![
        existing.to_string(),
        "1".into(),
        "-1".into(),
        "99999999999999999999999999".into(),
        "%27%20OR%201%3D1--".into(),
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        "..%2F..%2F..%2Fetc%2Fpasswd".into(),
        "%FF%FE%00".into(),
        "A".repeat(5000),
        "2026-13-999999".into(),
        "xlsx.exe".into(),
    ]
}

const QUERIES: &[&str] = &[
    "",
    "?status=%3Cscript%3E&unit=abc&township=-5&category=1e99&channel=fax&kind=%27--",
    "?overdue=maybe&due_soon=2&from=2026-13-45&to=yesterday&owner=x&sort=sideways",
    "?limit=-1&cursor=%FF%FE",
    "?limit=999999999999999999999&cursor=1:2:3",
    "?period=month:2026-99&breakdown=planet&date=x&days=99999999999",
    "?date=2026-02-30&days=-99999999",
    "?phone=%27%3B%20DROP%20TABLE%20appeals%3B--",
    "?q=%22%20OR%201%3D1%20--%20%E8%B7%AF%E7%81%AF*%3A(&content=%00%01&title=x&township=-1",
    "?q=%E8%B7%AF%E7%81%AF%20AND%20NOT%20%5B%5D%7B%7D~%5E&from=2026-01-01",
];

/// Bodies: raw bytes and a content type.
fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let long = "长".repeat(200_000);
    vec![
        ("application/json", b"{\"title\": ".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", b"null".to_vec()),
        ("application/json", b"\"just a string\"".to_vec()),
        ("application/json", b"{\"action\": \"fly_to_the_moon\", \"version\": 1}".to_vec()),
        ("application/json", b"{\"unknown_field\": 1, \"another\": [1,2,3]}".to_vec()),
        (
            "application/json",
            json!({"channel": 123, "kind": [], "title": {}, "content": null, "version": "one",
                   "lead": "x", "units": "all", "login": 5, "role": true, "unit": -1})
            .to_string()
            .into_bytes(),
        ),
        ("application/json", b"{\"title\": \"\xff\xfe\xfd\", \"content\": \"\xc3\x28\"}".to_vec()),
        (
            "application/json",
            json!({"channel": "hotline", "kind": "help", "title": "\u{0}\u{7}\u{1b}[31m控制字符", "content": "a\u{0}b\r\n\u{202e}"})
                .to_string()
                .into_bytes(),
        ),
        (
            "application/json",
            json!({"channel": "hotline", "kind": "help", "title": long, "content": long})
                .to_string()
                .into_bytes(),
        ),
        (
            "application/json",
            json!({"channel": "hotline", "kind": "help", "title": "'); DROP TABLE appeals; --",
                   "content": "\" OR \"1\"=\"1", "action": "comment", "text": "'; DELETE FROM events; --", "version": 1})
            .to_string()
            .into_bytes(),
        ),
        ("application/json", vec![b'['; 100_000]),
        ("application/json", vec![b' '; 3 * 1024 * 1024]),
        ("text/plain", b"hello".to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"title=%3Cscript%3E&content=%FF%FE&action=fly&version=x&login=%00".to_vec(),
        ),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken".to_vec()),
    ]
}

fn fill(path: &str, value: &str) -> String {
    let mut p = path.to_string();
    for param in ["{key}", "{id}", "{file}", "{format}", "{year}"] {
        p = p.replace(param, value);
    }
    // `appeals.{format}`: the value stands for the format.
    p
}

pub async fn every_endpoint_survives_hostile_input(app: TestApp) {
    let existing = app.register(&new_appeal()).await["number"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, doc) = app.get("admin", "/api/v1/openapi.json").await;
    let routes = routes(&doc);
    assert!(routes.len() > 40, "{} routes", routes.len());
    // No connection reuse: a server may answer early (401, 413 …) and close; a pooled
    // connection would then fail the next request for the client's reasons, not the server's.
    let raw = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut sent = 0usize;
    let mut failures = Vec::new();
    for (method, template) in &routes {
        let mut urls: Vec<String> = path_values(&existing)
            .iter()
            .map(|v| fill(template, v))
            .collect();
        urls.dedup();
        let with_body = method != Method::GET;
        for (i, url) in urls.iter().enumerate() {
            // Every query on the first (existing) value; the hostile paths with a plain query.
            let queries: &[&str] = if i == 0 { QUERIES } else { &QUERIES[..1] };
            for q in queries {
                let full = app.url(&format!("{url}{q}"));
                let payloads = if with_body && q.is_empty() {
                    bodies()
                } else {
                    vec![("application/json", Vec::new())]
                };
                for (ctype, bytes) in payloads {
                    // Logging out with a token revokes it; those are sent without one.
                    let auths: &[Option<&str>] = if template.ends_with("/logout") {
                        &[None]
                    } else {
                        &[Some("admin"), Some("town"), None]
                    };
                    for &auth in auths {
                        let mut req = raw
                            .request(method.clone(), &full)
                            .header("content-type", ctype)
                            .header("origin", app.url(""));
                        if let Some(login) = auth {
                            req = req.bearer_auth(app.token(login));
                        }
                        if with_body {
                            req = req.body(bytes.clone());
                        }
                        let r = match req.send().await {
                            Ok(r) => r,
                            // A large body refused before it was read: the server answers
                            // and closes while the client is still sending. Fine, if the
                            // server is still up.
                            Err(_) if bytes.len() > 1024 * 1024 && healthy(&raw, &app).await => {
                                continue;
                            }
                            Err(e) => {
                                failures.push(format!(
                                    "{method} {template} [{ctype}, {} bytes]: no answer: {e}",
                                    bytes.len()
                                ));
                                continue;
                            }
                        };
                        sent += 1;
                        let status = r.status();
                        let is_api = url.starts_with("/api/");
                        let text = r.text().await.unwrap_or_default();
                        if status.is_server_error() {
                            failures.push(format!(
                                "{method} {template}{q} [{ctype}, {} bytes, {auth:?}] → {status}: {}",
                                bytes.len(),
                                short(&text)
                            ));
                        } else if is_api && status.is_client_error() {
                            let ok = serde_json::from_str::<Value>(&text).is_ok_and(|v| {
                                v["code"].as_str().is_some_and(|c| !c.is_empty())
                                    && v["message"].as_str().is_some_and(|m| !m.is_empty())
                            });
                            if !ok {
                                failures.push(format!(
                                    "{method} {template} → {status} without a JSON error: {}",
                                    short(&text)
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    failures.sort();
    failures.dedup();
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed:\n{}",
        failures.len(),
        failures[..failures.len().min(60)].join("\n")
    );
    assert!(sent > 3000, "only {sent} requests sent");
    // Still up, and still answering real work.
    let r = raw.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, v) = app
        .get("admin", &format!("/api/v1/appeals/{existing}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn healthy(raw: &reqwest::Client, app: &TestApp) -> bool {
    raw.get(app.url("/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
}

fn short(s: &str) -> String {
    s.chars().take(160).collect()
}

pub async fn stored_markup_comes_back_escaped(app: TestApp) {
    let mut a = new_appeal();
    a["title"] = json!("<script>alert('标题')</script>");
    a["content"] = json!("<img src=x onerror=alert(1)> '); DROP TABLE appeals; --");
    a["citizen"]["name"] = json!("<b>张三</b>");
    let number = app.register(&a).await["number"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        "admin",
        &number,
        json!({"action": "comment", "text": "<iframe src=javascript:alert(2)>"}),
    )
    .await;
    // The API gives the text back exactly as sent.
    let (_, v) = app.get("admin", &format!("/api/v1/appeals/{number}")).await;
    assert_eq!(v["title"], "<script>alert('标题')</script>");
    assert_eq!(
        v["content"],
        "<img src=x onerror=alert(1)> '); DROP TABLE appeals; --"
    );
    // The console shows it as text, never as markup.
    let page = app
        .client
        .get(app.url(&format!("/appeals/{number}")))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for raw in ["<script>alert(", "<img src=x", "<iframe", "<b>张三</b>"] {
        assert!(!html.contains(raw), "unescaped {raw} in the detail page");
    }
    assert!(
        html.contains("&lt;script&gt;alert("),
        "the title is shown escaped"
    );
    assert!(html.contains("&lt;iframe"), "the comment is shown escaped");
    let list = app
        .client
        .get(app.url("/appeals"))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("<script>alert("));
    assert!(list.contains("&lt;script&gt;alert("));
    // The table is still there after the SQL in the content.
    let (s, _) = app.get("admin", "/api/v1/appeals?limit=5").await;
    assert_eq!(s, StatusCode::OK);
}
