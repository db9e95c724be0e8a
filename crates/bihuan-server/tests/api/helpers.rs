//! Starts the real application on port 0 with a fresh database, a small county and one user per
//! role; one helper per endpoint.

use std::sync::{Arc, OnceLock};

use bihuan_domain::category::{Category, CategoryId};
use bihuan_domain::lifecycle::Role;
use bihuan_domain::org::{Unit, UnitId, UnitKind};
use bihuan_server::{auth, AppState, Application, Config, ManualClock};
use bihuan_store::postgres::PgStore;
use bihuan_store::sqlite::SqliteStore;
use bihuan_store::{CredentialKind, NewUser, Store};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

pub const COUNTY: u32 = 1;
pub const HOUSING: u32 = 10;
pub const TRANSPORT: u32 = 11;
pub const WATER: u32 = 12;
pub const TOWN: u32 = 20;
pub const VILLAGE: u32 = 21;
pub const GRID: u32 = 22;
pub const PASSWORD: &str = "test-pass-2026";
/// The secret the test servers' survey webhook checks signatures with.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub state: AppState,
    /// The server's clock: Monday 2026-11-02 09:00 China time at the start.
    pub clock: Arc<ManualClock>,
    /// login → bearer token
    tokens: std::collections::HashMap<String, String>,
    _scratch: Option<bihuan_store::testing::ScratchDb>,
    _dir: tempfile::TempDir,
}

fn password_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| auth::hash_password(PASSWORD).unwrap())
}

/// Which store a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The application on a fresh database of `backend`, or `None` when that store is not
/// available here (PostgreSQL without a server: the run says it was skipped).
pub async fn spawn_app_on(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app_on`], with the configuration changed by `adjust` first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let (store, db, scratch): (Arc<dyn Store>, String, _) = match backend {
        Backend::Sqlite => {
            let db = dir.path().join("test.db");
            (
                Arc::new(SqliteStore::open(&db).unwrap()),
                db.display().to_string(),
                None,
            )
        }
        Backend::Postgres => {
            let scratch = bihuan_store::testing::scratch_database().await?;
            let store = PgStore::connect(&scratch.url).await.unwrap();
            (Arc::new(store), scratch.url.clone(), Some(scratch))
        }
    };
    let u = |id, name: &str, kind, parent: Option<u32>| Unit {
        id: UnitId(id),
        name: name.into(),
        kind,
        parent: parent.map(UnitId),
        aliases: vec![],
    };
    store
        .put_units(vec![
            u(COUNTY, "测试县", UnitKind::County, None),
            u(HOUSING, "县住建局", UnitKind::Department, Some(COUNTY)),
            u(TRANSPORT, "县交通局", UnitKind::Department, Some(COUNTY)),
            u(WATER, "县水利局", UnitKind::Department, Some(COUNTY)),
            u(TOWN, "城关镇", UnitKind::Township, Some(COUNTY)),
            u(VILLAGE, "东门社区", UnitKind::Village, Some(TOWN)),
            u(GRID, "东门社区第一网格", UnitKind::Grid, Some(VILLAGE)),
        ])
        .await
        .unwrap();
    let c = |id, name: &str, parent: Option<u32>| Category {
        id: CategoryId(id),
        name: name.into(),
        parent: parent.map(CategoryId),
    };
    store
        .put_categories(vec![
            c(1, "城乡建设", None),
            c(2, "市政设施", Some(1)),
            c(3, "路灯", Some(2)),
            c(4, "环境保护", None),
        ])
        .await
        .unwrap();
    let users = [
        ("admin", Role::Admin, COUNTY),
        ("operator", Role::Operator, COUNTY),
        ("dispatcher", Role::Dispatcher, COUNTY),
        ("visitor", Role::ReturnVisitor, COUNTY),
        ("supervisor", Role::Supervisor, COUNTY),
        ("leader", Role::Leader, COUNTY),
        ("housing", Role::Handler, HOUSING),
        ("housing-lead", Role::UnitLeader, HOUSING),
        ("transport", Role::Handler, TRANSPORT),
        ("water", Role::Handler, WATER),
        ("town", Role::Handler, TOWN),
        ("grid", Role::GridMember, GRID),
    ];
    let mut tokens = std::collections::HashMap::new();
    for (login, role, unit) in users {
        let user = store
            .create_user(NewUser {
                login: login.into(),
                name: format!("{login}用户"),
                role,
                unit: UnitId(unit),
                password_hash: password_hash().to_string(),
            })
            .await
            .unwrap();
        let (token, hash) = auth::new_token();
        store
            .put_credential(hash, user.id, CredentialKind::ApiToken, None, "test".into())
            .await
            .unwrap();
        tokens.insert(login.to_string(), token);
    }
    let mut config = Config {
        db,
        listen: "127.0.0.1:0".into(),
        scan_interval_secs: 0,
        notify_interval_secs: 0,
        survey_webhook_secret: WEBHOOK_SECRET.into(),
        ..Config::default()
    };
    adjust(&mut config);
    let clock = Arc::new(ManualClock::new(
        bihuan_domain::time::local(2026, 11, 2, 9, 0, 0).unwrap(),
    ));
    let app = Application::build_with_clock(config, store, clock.clone())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    Some(TestApp {
        base,
        client: Client::builder().cookie_store(true).build().unwrap(),
        state,
        clock,
        tokens,
        _scratch: scratch,
        _dir: dir,
    })
}

/// The application on SQLite (the default store).
#[allow(dead_code)]
pub async fn spawn_app() -> TestApp {
    spawn_app_on(Backend::Sqlite)
        .await
        .expect("SQLite is always there")
}

pub async fn body(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, v)
}

pub fn new_appeal() -> Value {
    json!({
        "channel": "hotline",
        "kind": "complaint",
        "category": 3,
        "title": "路灯不亮",
        "content": "东门路12号附近路灯连续一周不亮。",
        "place": {"address": "城关镇东门路12号", "township": TOWN},
        "citizen": {"name": "李四", "phone": "13912345678"}
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The id of the account `login` (read through the API, as an administrator).
    pub async fn user_id(&self, login: &str) -> u64 {
        let (_, users) = self.get("admin", "/api/v1/users").await;
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["login"] == login)
            .unwrap_or_else(|| panic!("no account {login}"))["id"]
            .as_u64()
            .unwrap()
    }

    pub fn token(&self, login: &str) -> &str {
        &self.tokens[login]
    }

    pub async fn get(&self, login: &str, path: &str) -> (StatusCode, Value) {
        body(
            self.client
                .get(self.url(path))
                .bearer_auth(self.token(login))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The body of a GET as text (an export, a page), with `login`'s token.
    pub async fn text(&self, login: &str, path: &str) -> String {
        self.client
            .get(self.url(path))
            .bearer_auth(self.token(login))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn post(&self, login: &str, path: &str, b: &Value) -> (StatusCode, Value) {
        body(
            self.client
                .post(self.url(path))
                .bearer_auth(self.token(login))
                .json(b)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn register(&self, b: &Value) -> Value {
        let (s, v) = self.post("operator", "/api/v1/appeals", b).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Posts an action with the appeal's current version.
    pub async fn act(&self, login: &str, number: &str, mut action: Value) -> (StatusCode, Value) {
        let (_, current) = self
            .get("admin", &format!("/api/v1/appeals/{number}"))
            .await;
        action["version"] = current["version"].clone();
        self.post(login, &format!("/api/v1/appeals/{number}/actions"), &action)
            .await
    }

    /// An action that must succeed; returns the new state.
    pub async fn ok(&self, login: &str, number: &str, action: Value) -> Value {
        let (s, v) = self.act(login, number, action.clone()).await;
        assert_eq!(s, StatusCode::OK, "{login} {action}: {v}");
        v
    }

    pub async fn status_of(&self, number: &str) -> String {
        let (_, v) = self
            .get("admin", &format!("/api/v1/appeals/{number}"))
            .await;
        v["status"].as_str().unwrap().to_string()
    }
}

/// The number of an appeal in an API answer.
pub fn n(v: &Value) -> String {
    v["number"].as_str().unwrap().to_string()
}

/// A browser client logged in to the console as `login` (its cookie kept), sending the
/// console's own origin with the login form.
pub async fn console_session(app: &TestApp, login: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(app.url("/login"))
        .header("origin", app.base.clone())
        .form(&[("login", login), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login as {login}");
    client
}

/// A console form posted by a (browser-like) client, with the console's own origin.
pub async fn console_post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .header("origin", app.base.clone())
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The text of a page fetched by a (browser-like) client.
pub async fn page_text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}
