//! What every response carries and every state-changing request must prove.
//!
//! * **Origin check (CSRF).** A request that changes something (any method but GET, HEAD and
//!   OPTIONS) and does not carry its own credential in `Authorization` rides on the browser's
//!   session cookie, which the browser also sends when a page of another site — or of the same
//!   site on another port or subdomain, which `SameSite=Lax` lets through — posts a form to us.
//!   (On `/api/` only requests that carry the session cookie and are not JSON are checked:
//!   without the cookie a request has no ambient credential, and a JSON body cannot come from
//!   another origin without a CORS preflight, which this server never grants; uploads and empty
//!   POSTs can, so they are checked.) Such a request must name its origin (`Origin`, or failing that `Referer`) and it must be this
//!   server's own: the configured `public_origin`, or else the host the request was sent to.
//!   Browsers send `Origin` on every POST, so forms of our own pages always pass; a request with
//!   neither header, or with `Origin: null`, is refused. This holds for the login form too (a
//!   forged login would sign the victim in as the attacker). A strict origin check needs no
//!   token in every form and covers htmx requests the same way; it is what OWASP lists as the
//!   primary defence beside tokens.
//! * **Headers.** Every response: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//!   `Referrer-Policy: same-origin` (addresses with a phone number in the query never leave the
//!   site). Pages: a `Content-Security-Policy` that allows only our own scripts, styles and
//!   frames of nobody (`frame-ancestors 'none'`). Everything but the embedded assets:
//!   `Cache-Control: no-store`, since pages and API answers carry personal data.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use bihuan_domain::ErrorCode;

use crate::error::ApiError;
use crate::AppState;

/// The policy for every page: our own scripts and styles only, images from us or inline data,
/// no plugins, no framing, forms only to us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// `host[:port]` of an origin or URL such as `https://a.example:8443/x`, lower-cased, with the
/// scheme's default port left out; `None` when it is not an http(s) URL.
fn authority(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let auth = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if auth.is_empty() || auth.contains('@') {
        return None;
    }
    let default = if scheme == "https" { ":443" } else { ":80" };
    Some(auth.strip_suffix(default).unwrap_or(&auth).to_string())
}

/// The `Host` a request was sent to, without a default port.
fn host_authority(headers: &HeaderMap) -> Option<String> {
    let host = headers
        .get(header::HOST)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    let host = host
        .strip_suffix(":80")
        .or_else(|| host.strip_suffix(":443"))
        .unwrap_or(&host)
        .to_string();
    Some(host)
}

/// Whether a request that rides on the session cookie comes from one of our own pages.
pub fn same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    let ours = if public_origin.is_empty() {
        host_authority(headers)
    } else {
        authority(public_origin)
    };
    let Some(ours) = ours else { return false };
    let claimed = match headers.get(header::ORIGIN) {
        Some(o) => o.to_str().ok().and_then(authority),
        None => headers
            .get(header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(authority),
    };
    claimed.is_some_and(|c| c == ours)
}

/// Whether the session cookie should carry `Secure` (see `Config::secure_cookies`).
pub fn cookie_secure(config: &crate::Config, headers: &HeaderMap) -> bool {
    match config.secure_cookies.as_str() {
        "always" => true,
        "never" => false,
        _ => {
            config.public_origin.starts_with("https://")
                || headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
        }
    }
}

/// The client's address: the peer of the connection, or with `trust_forwarded_for` the first
/// address of `X-Forwarded-For` (set it only behind a proxy that writes that header). Requests
/// that reach the router without a connection (tests calling it directly) count as loopback.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(
            parts,
            state.config.trust_forwarded_for,
        )))
    }
}

pub fn client_addr(parts: &axum::http::request::Parts, trust_forwarded: bool) -> std::net::IpAddr {
    if trust_forwarded {
        if let Some(ip) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST))
}

/// Whether the request carries a session cookie (an API call without one carries no ambient
/// credential, so another site cannot make it act for anyone; a JSON body also cannot be sent by
/// a plain cross-site form).
fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k == crate::auth::SESSION_COOKIE && !v.is_empty())
        })
}

/// A JSON body: another origin can send one only after a CORS preflight, which this server
/// never answers with permission, so it cannot be forged by another site.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn changes_state(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware: refuses cross-origin state changes, then adds the headers.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if changes_state(req.method())
        && !req.headers().contains_key(header::AUTHORIZATION)
        // Open311 clients authenticate by api_key in the request, never by a cookie: a forged
        // request from another site carries nothing that would make it count.
        && !path.starts_with("/open311/")
        && (!path.starts_with("/api/")
            || (has_session_cookie(req.headers()) && !is_json(req.headers())))
        && !same_origin(req.headers(), &state.config.public_origin)
    {
        tracing::warn!(
            route = %path,
            origin = ?req.headers().get(header::ORIGIN),
            "refused a state-changing request from another origin"
        );
        return refused(&path);
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    if !path.starts_with("/assets/") {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

fn refused(path: &str) -> Response {
    let message = "无法确认请求来自本系统页面，已拒绝。请回到系统页面重新操作；接口调用请使用 Authorization 令牌。";
    if path.starts_with("/api/") {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::CrossOriginRefused,
            message,
        )
        .into_response();
    }
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; title { "请求被拒绝 — 闭环" } link rel="stylesheet" href="/assets/app.css"; }
            body { main {
                h1 { "请求被拒绝" }
                p.error { (message) }
                p { a href="/" { "返回首页" } }
            } }
        }
    };
    (StatusCode::FORBIDDEN, Html(page.into_string())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_our_own_origin_passes() {
        let ours = [("host", "127.0.0.1:8080")];
        let with = |extra: &[(&'static str, &str)]| {
            let mut v = ours.to_vec();
            v.extend_from_slice(extra);
            same_origin(&headers(&v), "")
        };
        assert!(with(&[("origin", "http://127.0.0.1:8080")]));
        assert!(with(&[("referer", "http://127.0.0.1:8080/appeals/1?x=1")]));
        // Another port, another subdomain, another scheme's host, null, nothing at all.
        assert!(!with(&[("origin", "http://127.0.0.1:8081")]));
        assert!(!with(&[("origin", "http://evil.127.0.0.1:8080")]));
        assert!(!with(&[("origin", "null")]));
        assert!(!with(&[]));
        assert!(!with(&[("referer", "http://127.0.0.1:8080@evil.example/")]));
        // Origin decides when both are sent.
        assert!(!with(&[
            ("origin", "http://evil.example"),
            ("referer", "http://127.0.0.1:8080/")
        ]));
        // Default ports are the same origin as none.
        assert!(same_origin(
            &headers(&[
                ("host", "bihuan.example"),
                ("origin", "https://bihuan.example:443")
            ]),
            ""
        ));
        // Behind a proxy the configured public origin is ours, whatever the Host header says.
        let h = headers(&[
            ("host", "10.0.0.5:8080"),
            ("origin", "https://12345.county.example"),
        ]);
        assert!(same_origin(&h, "https://12345.county.example"));
        assert!(!same_origin(&h, ""));
    }
}
