"""The little HTTP client the bench scripts share (standard library only): JSON and form posts,
no redirects followed, sessions kept in a cookie jar."""
import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request

BASE = "http://127.0.0.1:8080"
PASSWORD = "bihuan2026"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def call(method, path, body=None, headers=None, opener=None, form=None, raw=None, timeout=60):
    """One request; returns (status, body bytes). `body` is sent as JSON, `form` urlencoded,
    `raw` as given (bytes, with the caller's content-type)."""
    data = None
    h = dict(headers or {})
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
        h.setdefault("content-type", "application/json")
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        h["content-type"] = "application/x-www-form-urlencoded"
    if raw is not None:
        data = raw
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=h)
    try:
        resp = (opener or urllib.request.build_opener(NoRedirect)).open(req, timeout=timeout)
        return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def session(login, password=PASSWORD):
    """A client logged in as `login` (its session cookie kept)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    s, b = call("POST", "/api/v1/login", {"login": login, "password": password}, opener=opener)
    assert s == 200, (login, s, b[:200])
    return opener


def bearer(token):
    """A client that sends `Authorization: Bearer token` on every request."""
    opener = urllib.request.build_opener(NoRedirect)
    opener.addheaders = [("authorization", f"Bearer {token}")]
    return opener
