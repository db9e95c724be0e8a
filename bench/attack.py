"""Tries the demo county as an attacker would, and prints what held (the hardening issue's
closing figures). Standard library only.

usage: python3 bench/attack.py BASE_URL [brute csrf matrix]
       (a running `bihuan demo`, e.g. http://127.0.0.1:8080; by default all three parts)

1. Brute force: 40 wrong passwords for one login from one address; counts 401 and 429 answers
   and checks the right password is then refused too until the window ends.
2. CSRF from a same-site origin: console forms (a comment, a registration) posted with the
   session cookie and `Origin: <same host, other port>`, `Origin: null`, or no origin at all;
   counts how many changed anything.
3. Authorisation matrix: every demo login × appeals its unit has nothing to do with × read,
   comment, every lifecycle action, export, upload; counts how many were let through.
"""
import http.cookiejar
import json
import sys
import urllib.parse
import urllib.request

import client
from client import NoRedirect, PASSWORD

client.BASE = BASE = sys.argv[1].rstrip("/")
call, session = client.call, client.session


def brute_force():
    counts = {}
    for _ in range(40):
        s, _ = call("POST", "/api/v1/login", {"login": "operator1", "password": "guess"})
        counts[s] = counts.get(s, 0) + 1
    s_right, _ = call("POST", "/api/v1/login", {"login": "operator1", "password": PASSWORD})
    print(f"brute force: 40 wrong passwords -> {counts}; the right one right after -> {s_right}")


def csrf():
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    host = urllib.parse.urlparse(BASE)
    same_site = f"{host.scheme}://{host.hostname}:{(host.port or 80) + 1}"
    s, _ = call("POST", "/login", form={"login": "dispatch1", "password": PASSWORD, "next": "/"},
                headers={"origin": BASE}, opener=opener)
    assert s in (302, 303), s
    admin = session("admin")
    s, b = call("GET", "/api/v1/appeals?limit=1", opener=admin)
    a = json.loads(b)["items"][0]
    num = a["number"]

    def timeline():
        return len(json.loads(call("GET", f"/api/v1/appeals/{num}", opener=admin)[1])["timeline"])

    def count():
        return len(json.loads(call("GET", "/api/v1/appeals?limit=500", opener=admin)[1])["items"])

    before_t, before_n = timeline(), count()
    tries, ok = 0, 0
    for origin in [same_site, "null", None, "http://evil.example"]:
        for _ in range(25):
            h = {"origin": origin} if origin else {}
            version = json.loads(call("GET", f"/api/v1/appeals/{num}", opener=admin)[1])["version"]
            s1, _ = call("POST", f"/appeals/{num}/act", opener=opener, headers=h,
                         form={"action": "comment", "version": version, "text": "跨站备注"})
            s2, _ = call("POST", "/appeals/new", opener=opener, headers=h,
                         form={"kind": "complaint", "channel": "hotline", "title": "跨站登记",
                               "content": "跨站登记内容"})
            tries += 2
            ok += int(s1 in (302, 303)) + int(s2 in (302, 303))
    changed = (timeline() - before_t) + (count() - before_n)
    # The control: the same form from the console's own origin is accepted.
    version = json.loads(call("GET", f"/api/v1/appeals/{num}", opener=admin)[1])["version"]
    s, _ = call("POST", f"/appeals/{num}/act", opener=opener, headers={"origin": BASE},
                form={"action": "comment", "version": version, "text": "本站备注"})
    control = "accepted" if s in (302, 303) and timeline() == before_t + 1 + changed else f"refused ({s})"
    print(f"CSRF: {tries} console posts from other origins -> {ok} accepted, {changed} changes made; "
          f"the same form from the console's own origin: {control}")


def matrix():
    admin = session("admin")
    users = json.loads(call("GET", "/api/v1/users", opener=admin)[1])["items"]
    scoped = [u for u in users if u["role"] in ("handler", "unit_leader", "grid_member") and u["active"]]
    appeals = json.loads(call("GET", "/api/v1/appeals?limit=300", opener=admin)[1])["items"]
    actions = ["sign", "contact", "return", "reply", "request_extension", "whistle", "report_in",
               "comment", "set_owner", "close", "redo", "dispatch", "merge", "supervise"]
    tries, allowed = 0, []
    for u in scoped[:12]:
        tok = session(u["login"])
        for a in appeals:
            full = json.loads(call("GET", f"/api/v1/appeals/{a['number']}", opener=admin)[1])
            units = {full.get("lead")} | set(full.get("assisting") or [])
            units |= {t["unit"] for w in full.get("whistles") or [] for t in w["targets"]}
            units |= {r["unit"] for r in full.get("dispatch_rounds") or []}
            mine = u["unit"] in units or (u["role"] == "grid_member" and full["registered_by"] == u["id"])
            if mine:
                continue
            s, _ = call("GET", f"/api/v1/appeals/{a['number']}", opener=tok)
            tries += 1
            if s != 403:
                allowed.append(("read", u["login"], a["number"], s))
            for act in actions:
                s, _ = call("POST", f"/api/v1/appeals/{a['number']}/actions", opener=tok,
                            body={"action": act, "version": full["version"], "text": "x", "note": "x",
                                  "reason": "x"})
                tries += 1
                if s < 400 or s >= 500:
                    allowed.append((act, u["login"], a["number"], s))
            s, _ = call("GET", f"/api/v1/attachments/0", opener=tok)
            if s >= 500:
                allowed.append(("attachment", u["login"], a["number"], s))
            if len([1 for x in allowed]) > 20:
                break
        s, b = call("GET", "/api/v1/export/appeals.csv", opener=tok)
        tries += 1
        if s == 200:
            rows = b.decode("utf-8-sig").strip().splitlines()[1:]
            foreign = [r for r in rows if r.split(",")[0] not in
                       {x["number"] for x in json.loads(call("GET", "/api/v1/appeals?limit=500", opener=tok)[1])["items"]}]
            if foreign:
                allowed.append(("export", u["login"], len(foreign), s))
    print(f"authorisation matrix: {tries} foreign reads/actions/exports by {min(len(scoped), 12)} "
          f"unit-scoped logins -> {len(allowed)} let through{': ' + str(allowed[:5]) if allowed else ''}")


parts = sys.argv[2:] or ["brute", "csrf", "matrix"]
if "brute" in parts:
    brute_force()
if "csrf" in parts:
    csrf()
if "matrix" in parts:
    matrix()
