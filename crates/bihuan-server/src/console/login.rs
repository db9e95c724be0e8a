//! `/login`, `/logout`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Login

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

pub(super) fn login_form(state: &AppState, next: &str, error: Option<&str>) -> Html<String> {
    let demo = &state.config.demo_logins;
    page(
        "登录",
        None,
        html! {
            div.login.panel {
                h1 { "登录" }
                @if let Some(e) = error { div.error { (e) } }
                form.stack method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label for="login" { "登录名" }
                    input #login type="text" name="login" autocomplete="username" required autofocus;
                    label for="password" { "密码" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    p { button.primary type="submit" { "登录" } }
                }
                p.small.muted { "群众和企业反映诉求、查询进度，请到 " a href="/portal" { "网上诉求" } "；各单位办理情况见 " a href="/board" { "红灰榜" } "。" }
            }
            @if !demo.is_empty() {
                div.panel {
                    h2 { "演示账号" }
                    p.muted.small { "这是演示县「云溪县」，数据均为虚构。" }
                    div.table-wrap { table {
                        thead { tr { th { "角色" } th { "登录名" } th { "密码" } } }
                        tbody { @for (login, pw, who) in demo { tr { td { (who) } td { code { (login) } } td { code { (pw) } } } } }
                    } }
                }
            }
        },
    )
}

pub(super) async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<NextQuery>,
) -> Html<String> {
    login_form(&state, &safe_next(q.next.as_deref()), None)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
}

pub(super) async fn login_submit(
    State(state): State<AppState>,
    addr: crate::security::ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    match crate::admin::check_login(&state, &f.login, &f.password, addr.0).await {
        Ok(user) => match crate::admin::open_session(&state, &user, &headers).await {
            Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
            Err(e) => (e.status, login_form(&state, &next, Some(&e.message))).into_response(),
        },
        Err(e) => {
            let mut resp = (e.status, login_form(&state, &next, Some(&e.message))).into_response();
            if let Some(secs) = e.retry_after {
                resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
            }
            resp
        }
    }
}

pub(super) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string());
    if let Some(t) = token {
        let _ = state
            .store
            .delete_credential(&crate::auth::token_hash(&t))
            .await;
        state.credentials.clear();
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response()
}
