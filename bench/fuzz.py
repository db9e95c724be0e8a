"""Fuzzes a running bihuan (the hardening issue's closing run). Standard library only.

usage: python3 bench/fuzz.py BASE_URL [--examples N] [--seed S] [openapi] [actions]
       (a running `bihuan demo`; by default both parts, then the writer check)

1. OpenAPI-driven: every operation in /api/v1/openapi.json gets N examples (default 80), logged
   in as an administrator: path parameters drawn from real keys and hostile strings, every
   declared query parameter from typed and hostile values, bodies generated from the operation's
   schema and then mutated (wrong types, missing and unknown fields, extreme numbers, long and
   odd strings, deep nesting, invalid UTF-8, not JSON at all).
2. Typed action fuzzer: every lifecycle action (and a few that do not exist) against appeals in
   every status, sent by the users who may act on them (the lead unit's staff, dispatchers,
   supervisors, return visitors, the administrator), with each field of the action at extreme
   values: limits of 0 and 2^32-1 hours or days, dates at the ends of the calendar, unit and user
   ids past u32, versions that are stale or past u64, 100,000-character texts, control and
   bidi characters, forged owners and masters.
3. Afterwards: /healthz must answer 200 and an operator's registration must still be accepted.

Prints the status counts per operation and every answer >= 500 (or a dropped connection) with the
request that caused it; exits 1 if there was any.
"""
import json
import re
import random
import select
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import client
from client import call, session

args = [a for a in sys.argv[1:]]
BASE = args.pop(0).rstrip("/")
client.BASE = BASE
EXAMPLES = 80
SEED = 20261202
if "--examples" in args:
    i = args.index("--examples")
    EXAMPLES = int(args[i + 1])
    del args[i:i + 2]
if "--seed" in args:
    i = args.index("--seed")
    SEED = int(args[i + 1])
    del args[i:i + 2]
PARTS = args or ["openapi", "actions", "portal"]
rng = random.Random(SEED)

INTS = [0, 1, -1, 2, 7, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64,
        -2**31, -2**63, -2**64, 10**30]
FLOATS = [0.0, -0.0, 0.5, 1.0000001, -1.5, 1e308, -1e308, 5e-324, 3.4e38, 0.1 + 0.2]
STRINGS = ["", " ", "\t\n", "a" * 10001, "中" * 5000, "x" * 100_000, "\u0000", "\u202e反转\u202c",
           "零\u200b宽", "😀" * 300, "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd",
           "%00", "%2e%2e%2f", "2026-02-30", "9999-12-31", "0000-01-01", "+262144-01-01", "-1",
           "NaN", "1e999", "null", "true", "2026-11-000001", "2026-99-999999", "CON", "\r\nSet-Cookie: x=1",
           "１２３", "ｈｏｔｌｉｎｅ", "13800138000", "+86 138-0013-8000", "00000000000000000000001"]
ODD = [None, True, False, 0, -1, 2**64, 1.5, "", "x", [], [None], {}, {"": None}]
DATES = ["2026-12-01", "2026-02-29", "2024-02-29", "1970-01-01", "0001-01-01", "9999-12-31",
         "262143-12-31", "+262144-01-01", "2026-13-01", "2026-00-10", "2026-1-1", "20261201",
         "", "today", "2026-12-01T00:00:00Z"]


def pick(xs):
    return xs[rng.randrange(len(xs))]


def random_text():
    alphabet = "abc中文街道路灯噪音扰民，。！？ 0123456789\n\"'\\<>&%#{}[]\u3000\u00a0\u202e\u200d😀"
    return "".join(pick(alphabet) for _ in range(rng.choice([0, 1, 3, 20, 200, 3000])))


def deep(n):
    v = 1
    for _ in range(n):
        v = [v] if rng.random() < 0.5 else {"a": v}
    return v


# ---------------------------------------------------------------------------------------- part 1


def resolve(doc, schema):
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = doc["components"]["schemas"][name]
    return schema or {}


def gen(doc, schema, depth=0, big=True):
    """A value for `schema`: mostly of its shape, sometimes broken on purpose. Only one array on
    the way down may be large (`big`), so that a body stays under a few hundred megabytes."""
    schema = resolve(doc, schema)
    if depth > 4 or rng.random() < 0.08:
        return pick(ODD + [pick(STRINGS), pick(INTS), deep(rng.choice([10, 200, 600]))])
    t = schema.get("type")
    if "enum" in schema:
        return pick(schema["enum"]) if rng.random() < 0.8 else pick(STRINGS)
    if t == "object" or "properties" in schema:
        out = {}
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            if (name in required and rng.random() < 0.93) or rng.random() < 0.5:
                out[name] = gen(doc, sub, depth + 1, big)
        if rng.random() < 0.1:
            out[pick(["extra", "__proto__", "id", "版本", ""])] = gen(doc, {}, depth + 1, False)
        return out
    if t == "array":
        n = rng.choice([0, 1, 2, 3, 5])
        if big and rng.random() < 0.2:
            n = rng.choice([1000, 20000])
        item = schema.get("items", {})
        if n > 50:
            one = gen(doc, item, depth + 1, False)
            size = len(json.dumps(one, ensure_ascii=False).encode()) + 1
            return [one] * max(2, min(n, 50_000_000 // size))
        return [gen(doc, item, depth + 1, big) for _ in range(n)]
    if t == "integer":
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None and hi is not None and rng.random() < 0.5:
            return rng.randint(lo, hi)
        return pick(INTS) if rng.random() < 0.7 else rng.randint(0, 60)
    if t == "number":
        if rng.random() < 0.5:
            return round(rng.random(), 3)
        return pick(FLOATS + INTS)
    if t == "boolean":
        return rng.random() < 0.5
    if t == "string":
        if schema.get("format") == "date":
            return pick(DATES)
        return pick(STRINGS) if rng.random() < 0.5 else random_text()
    return pick(ODD + STRINGS[:6])


def param_value(doc, p, pools):
    name = p["name"]
    if name in pools and rng.random() < 0.85:
        return str(pick(pools[name]))
    s = resolve(doc, p.get("schema", {}))
    if s.get("type") == "integer":
        return str(pick(INTS))
    if "enum" in s and rng.random() < 0.5:
        return pick(s["enum"])
    return str(pick(STRINGS + DATES + [random_text()]))


def quote(v):
    return urllib.parse.quote(v, safe="")



class Tally:
    def __init__(self):
        self.by_op = {}
        self.failures = []
        self.sent = 0

    def add(self, op, status, request):
        self.sent += 1
        counts = self.by_op.setdefault(op, {})
        counts[status] = counts.get(status, 0) + 1
        if status == "dropped" or (isinstance(status, int) and status >= 500):
            self.failures.append((op, status, request))


BODY_LIMIT = 1024 * 1024  # the server's limit on JSON bodies (bihuan_server::BODY_LIMIT)
TOKEN = None  # an administrator's API token
_API = []


def api_opener():
    """A client sending the administrator's token."""
    if not _API:
        _API.append(client.bearer(TOKEN))
    return _API[0]


def send_watching(method, path, data, headers):
    """Sends a large body the way curl does: writing while watching for an early answer. A server
    refuses a body over its limit as soon as it has read that much, then closes; a client that
    only writes sees a broken pipe, not the answer. Returns (status, first bytes of the answer)."""
    host = urllib.parse.urlparse(BASE)
    with socket.create_connection((host.hostname, host.port or 80), timeout=30) as sock:
        lines = [f"{method} {path} HTTP/1.1", f"host: {host.netloc}", f"content-length: {len(data)}",
                 f"authorization: Bearer {TOKEN}", "connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items() if k.lower() != "content-length"]
        if not any(k.lower() == "content-type" for k in (headers or {})):
            lines.append("content-type: application/json")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        view, off, answer = memoryview(data), 0, b""
        while off < len(data):
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            if writable:
                off += sock.send(view[off:off + 65536])
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return int(answer.decode("latin-1").split(" ", 2)[1]), answer[:200]


def send(tally, op, method, path, opener, body=None, raw=None, headers=None):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    try:
        if data is not None and len(data) > BODY_LIMIT and opener is api_opener():
            s, b = send_watching(method, path, data, headers)
        elif raw is not None:
            s, b = call(method, path, raw=raw, headers=headers, opener=opener)
        else:
            s, b = call(method, path, body=body, headers=headers, opener=opener)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError, IndexError) as e:
        s, b = "dropped", str(e).encode()
    shown = json.dumps(body, ensure_ascii=False)[:300] if body is not None else repr(raw)[:300]
    size = f" ({len(data):,} bytes)" if data is not None else ""
    tally.add(op, s, f"{method} {path[:300]}{size} {shown} -> {b[:200]!r}")
    return s, b


def openapi_fuzz(admin, pools, protected_users):
    api = api_opener()
    s, b = call("GET", "/api/v1/openapi.json", opener=api)
    assert s == 200, s
    doc = json.loads(b)
    tally = Tally()
    # Logging in is fuzzed last: wrong passwords from one address throttle every login from it.
    last = {"/api/v1/logout": 1, "/api/v1/login": 2}
    for template, item in sorted(doc["paths"].items(), key=lambda kv: (last.get(kv[0], 0), kv[0])):
        for method, op in sorted(item.items()):
            name = f"{method.upper()} {template}"
            params = op.get("parameters", [])
            for _ in range(EXAMPLES):
                path = template
                query = []
                headers = {}
                for p in params:
                    if p["in"] == "path":
                        v = param_value(doc, p, pools)
                        if template == "/api/v1/users/{id}":
                            while v in protected_users:
                                v = str(pick(pools["id"]))
                        if template.endswith(".{format}") and rng.random() < 0.8:
                            v = pick(["csv", "xlsx"])
                        path = path.replace("{" + p["name"] + "}", quote(v))
                    elif p["in"] == "query":
                        if p.get("required") or rng.random() < 0.5:
                            query.append((p["name"], param_value(doc, p, pools)))
                    elif p["in"] == "header" and rng.random() < 0.7:
                        headers[p["name"]] = pick(["k-" + str(rng.randrange(10**6)), "", "x" * 300,
                                                   "中文键"]).encode("utf-8").decode("latin-1")
                for undeclared in ("key", "id", "format"):
                    # A path parameter the document forgot to declare still gets a value.
                    path = path.replace("{" + undeclared + "}", quote(param_value(doc, {"name": undeclared}, pools)))
                if rng.random() < 0.15:
                    query.append((pick(["limit", "cursor", "zzz", "period", "q"]), pick(STRINGS)))
                full = path + ("?" + urllib.parse.urlencode(query) if query else "")
                # As an integration would: the administrator's API token (a cookie session
                # would need the browser's Origin on uploads, deletes and empty posts).
                opener = api
                if template == "/api/v1/logout":
                    # A session of its own each time, sent as the console's page would.
                    opener = session(pools["admin_login"])
                    headers["origin"] = BASE
                body = raw = None
                rb = op.get("requestBody", {}).get("content", {})
                if "application/json" in rb:
                    schema = rb["application/json"]["schema"]
                    roll = rng.random()
                    if roll < 0.06:
                        raw = pick([b"{", b"\xff\xfe\x00", b"[]" * 10000, b"null", b'{"a":1}{"a":2}',
                                    b"\xe4\xb8", b"[" * 5000 + b"]" * 5000, "{\"title\": \"\\ud800\"}".encode()])
                        headers["content-type"] = "application/json"
                    elif roll < 0.09:
                        raw = b"login=a&password=b"
                        headers["content-type"] = pick(["application/x-www-form-urlencoded",
                                                        "text/plain", "application/json; charset=gbk"])
                    else:
                        body = gen(doc, schema)
                        if template == "/api/v1/login" and isinstance(body, dict):
                            # Never the fuzzing administrator's own login: a run of wrong
                            # passwords would lock the run out.
                            if body.get("login") == pools["admin_login"]:
                                body["login"] = "nobody"
                elif "multipart/form-data" in rb:
                    boundary = "fuzz" + str(rng.randrange(10**9))
                    content = pick([b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, b"%PDF-1.4\n", b"PK\x03\x04",
                                    rng.randbytes(rng.choice([1, 100, 5000]))])
                    fname = pick(["a.png", "a.pdf", "../../x.png", "a\u202egnp.exe", "", "中文.docx",
                                  "a" * 300 + ".png", "a.PNG", "a.exe"])
                    parts = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                             f"filename=\"{fname}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
                    raw = parts + content + f"\r\n--{boundary}--\r\n".encode()
                    if rng.random() < 0.2:
                        raw = raw[: rng.randrange(len(raw))]
                    headers["content-type"] = f"multipart/form-data; boundary={boundary}"
                elif method in ("post", "put", "patch") and rng.random() < 0.3:
                    body = gen(doc, {})
                send(tally, name, method.upper(), full, opener, body=body, raw=raw, headers=headers)
    return tally


# ------------------------------------------------------------------------------- part 3: portal

NUMERALS = "零一二三四五六七八九"


def portal_fuzz(rounds):
    """The public portal's three forms (no login): every field right most of the time, otherwise
    extreme — answers, tokens, kinds, townships, phones, numbers and codes, ratings."""
    tally = Tally()
    plain = urllib.request.build_opener(client.NoRedirect)
    headers = {"origin": BASE}
    numbers = []
    for i in range(rounds):
        s, page = call("GET", "/portal", opener=plain)
        tally.add("GET /portal", s, "")
        page = page.decode("utf-8", "replace")
        m = re.search(r'name="token" value="([^"]+)"', page)
        q = re.search(r"验证：(.)加(.)等于几", page)
        token = m.group(1) if m else ""
        answer = str(NUMERALS.index(q.group(1)) + NUMERALS.index(q.group(2))) if q else "0"
        form = {
            "token": either(token, ["", "1.2.3", token + "0", "x" * 5000, "9" * 30 + ".a.b"]),
            "answer": either(answer, ["", "-1", "１２", "99999999999999999999", "七"]),
            "kind": either(lambda: pick(["complaint", "help", "suggestion", "consultation"]),
                           ["petition_claim", "praise", "", "x"]),
            "title": either(lambda: f"路灯不亮{i}", STRINGS),
            "content": either("东门路附近路灯不亮，夜里看不清路。", STRINGS),
            "township": either("", ["0", "-1", str(2**64), "abc", "1"]),
            "address": either("东门路12号", STRINGS),
            "name": either("", STRINGS),
            "phone": either(lambda: f"139{rng.randrange(10**8):08d}", STRINGS),
            "organisation": either("", STRINGS),
        }
        if rng.random() < 0.1:
            form["website"] = "http://spam.example"
        form = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            s, body = call("POST", "/portal/submit", form=form, headers=headers, opener=plain)
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            s, body = "dropped", str(e).encode()
        tally.add("POST /portal/submit", s, json.dumps(form, ensure_ascii=False)[:300])
        text_ = body.decode("utf-8", "replace")
        n = re.search(r'id="receipt-number">([^<]+)<', text_)
        c = re.search(r'id="receipt-code">([^<]+)<', text_)
        if n and c:
            numbers.append((n.group(1), c.group(1)))
    for i in range(rounds):
        number, code = pick(numbers) if numbers and rng.random() < 0.7 else ("2026-11-000001", "12345678")
        form = {"number": either(number, ["", "2026-99-999999", "x" * 3000, "2026-11-0000001"]),
                "code": either(code, ["", "1234567", "１２３４５６７８", "abcdefgh", "9" * 100])}
        path = "/portal/track" if rng.random() < 0.5 else "/portal/rate"
        if path == "/portal/rate":
            form["resolved"] = either(lambda: pick(["yes", "no"]), ["", "maybe"])
            form["rating"] = either(lambda: pick(["satisfied", "basic", "unsatisfied"]), ["", "great"])
            form["comment"] = either("很好", STRINGS)
        form = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            s, _ = call("POST", path, form=form, headers=headers, opener=plain)
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            s = "dropped"
        tally.add("POST " + path, s, json.dumps(form, ensure_ascii=False)[:300])
    return tally


# ---------------------------------------------------------------------------------------- part 2

ACTIONS = ["answer_at_intake", "dispatch", "sign", "set_owner", "commit", "contact", "return",
           "decide_return", "request_extension", "decide_extension", "whistle", "report_in",
           "assist_opinion", "reply",
           "return_visit", "close", "redo", "merge", "supervise", "comment", "link_duplicate",
           "", "SIGN", "delete", "签收"]


GOOD = 0.7  # how often a field gets a right value, so that the others' extremes reach the domain


def either(good, bad):
    """`good` (a value or a function making one) most of the time, else one of `bad`."""
    if rng.random() < GOOD:
        return good() if callable(good) else good
    return pick(bad)


def text():
    return either(lambda: pick(["理由", "已联系群众，正在处理。", "同意。", random_text() or "说明"]),
                  ["", " ", "\u0000控制", "\u202e反转", "x" * 100_000, "中" * 2001, random_text(),
                   "已联系群众，\r\n正在处理。", None, 12, ["列表"]])


def actions_payload(action, appeal, units, users, numbers):
    """The fields of `action`, each right most of the time and otherwise at an extreme value."""
    lead = appeal.get("lead") or pick(units)
    bad_ints = INTS + ["1", None, 1.5, -1]
    unit = lambda: either(lambda: pick(units), bad_ints)  # noqa: E731
    if action == "answer_at_intake":
        return {"answer": text()}
    if action == "dispatch":
        body = {"lead": unit(), "note": text()}
        if rng.random() < 0.7:
            body["assisting"] = either(lambda: [pick(units)],
                                       [[], [lead, lead], units[:40] * 25, [pick(INTS)] * 5, "1", None])
        return body
    if action in ("sign", "set_owner"):
        owner = either(lambda: pick(users),
                       [pick(INTS), -1, "1", None,
                        {"user": pick(INTS), "name": "冒名", "unit": unit()},
                        {"user": pick(users), "name": "冒名", "unit": lead}])
        return {} if action == "sign" and rng.random() < 0.3 else {"owner": owner}
    if action == "commit":
        c = {"what": text(), "by": either(lambda: pick(DATES[:3]), DATES)}
        if rng.random() < 0.5:
            c["citizen_part"] = text()
        return {"commitment": either(c, [{}, None, "明天"])}
    if action in ("contact",):
        return {"note": text()}
    if action == "return":
        return {"reason": text()}
    if action == "decide_return":
        body = {"accept": either(lambda: rng.random() < 0.5, ["yes", None, 1]), "note": text()}
        if rng.random() < 0.6:
            body["redispatch"] = either(lambda: [pick(units), []],
                                        [[unit(), [unit()]], [unit()], [], [[1], [2]], None, {"lead": 1}])
        return body
    if action == "request_extension":
        kind = either(lambda: pick(["working_days", "calendar_days", "hours"]), ["weeks", "", "days"])
        n = either(lambda: rng.choice([1, 2, 5, 10]),
                   INTS + [0, 30, 365, 3660, 100000, 1.5, "5", None])
        limit = either({kind: n}, [{kind: pick(INTS)}, {"hours": 1, "working_days": 1}, {}, "hours",
                                   [5], None])
        return {"limit": limit, "reason": text()}
    if action == "decide_extension":
        return {"approve": either(lambda: rng.random() < 0.5, [None, "true"]), "note": text()}
    if action == "whistle":
        return {"units": either(lambda: [pick(units)],
                                [[], units[:60], [lead], [pick(INTS), pick(INTS)], units[:3] * 400, None]),
                "matter": text()}
    if action == "report_in":
        return {"whistle": either(lambda: rng.choice([1, 2]), INTS + [None, "1"]), "note": text()}
    if action == "assist_opinion":
        return {"opinion": text()}
    if action == "reply":
        body = {"result": either(lambda: pick(["resolved", "partly_resolved", "unresolvable"]),
                                 ["fixed", None, ""]),
                "text": text()}
        if rng.random() < 0.6:
            body["reason"] = text()
        if rng.random() < 0.4:
            body["petition_outcome"] = either(lambda: pick(["support", "explain", "not_supported"]),
                                              ["maybe", 1])
        if rng.random() < 0.3:
            body["attachments"] = pick([[], ["a.png"], ["../../etc/passwd"], ["x"] * 5000, "a.png"])
        return body
    if action == "return_visit":
        body = {"contacted": either(True, [False, None, "yes"]), "comment": text()}
        if rng.random() < 0.7:
            body["resolved"] = either(lambda: rng.random() < 0.7, [None, 1])
        if rng.random() < 0.7:
            body["rating"] = either(lambda: pick(["satisfied", "basic", "unsatisfied"]), ["", "5星", 5])
        return body
    if action == "close":
        return {"note": text()}
    if action == "redo":
        return {"cause": either(lambda: pick(["unsatisfied", "reply_rejected"]), ["whim", None]),
                "reason": text()}
    if action == "merge":
        return {"master": either(lambda: pick(numbers),
                                 [appeal["number"], appeal["id"], pick(INTS), "2026-99-999999", "",
                                  None, [1], "../x"])}
    if action == "supervise":
        return {"reason": either(lambda: pick(["overdue", "leader_order"]), ["whatever", None]),
                "note": text()}
    if action == "comment":
        return {"text": text()}
    if action == "link_duplicate":
        return {"duplicate": pick(INTS), "number": pick(numbers)}
    return {"text": text(), "units": [1]}


def actors_for(appeal, by_unit, general):
    """The logins that might act on `appeal`: its lead unit's staff, whistled and assisting
    units' staff, and the county-wide roles."""
    units = {appeal.get("lead")} | set(appeal.get("assisting") or [])
    for w in appeal.get("whistles") or []:
        units |= {t["unit"] for t in w["targets"]} | {w["by"]}
    near = [login for u in units for login in by_unit.get(u, [])]
    return near + near + general


def actions_fuzz(admin, users, numbers):
    tally = Tally()
    s, b = call("GET", "/api/v1/units", opener=admin)
    units = [u["id"] for u in json.loads(b)["items"]]
    by_unit = {}
    for u in users:
        if u["active"] and u["role"] in ("handler", "unit_leader", "grid_member"):
            by_unit.setdefault(u["unit"], []).append(u["login"])
    general = [u["login"] for u in users if u["active"] and u["role"] in
               ("operator", "dispatcher", "return_visitor", "supervisor", "leader", "admin")]
    user_ids = [u["id"] for u in users]
    sessions = {}

    def as_login(login):
        if login not in sessions:
            sessions[login] = session(login)
        return sessions[login]

    # Appeals in every status, a few of each.
    picked = []
    for status in ["pending_dispatch", "dispatched", "returned", "in_progress", "replied",
                   "visited", "closed", "merged"]:
        s, b = call("GET", f"/api/v1/appeals?status={status}&limit=20", opener=admin)
        picked += json.loads(b)["items"]
    rounds = max(1, EXAMPLES // 10)
    for action in ACTIONS:
        for _ in range(rounds):
            for summary in picked:
                s, b = call("GET", f"/api/v1/appeals/{summary['number']}", opener=admin)
                if s != 200:
                    continue
                appeal = json.loads(b)
                candidates = actors_for(appeal, by_unit, general)
                login = pick(candidates)
                # Mostly someone the domain lets take this action now (the detail's `actions`
                # for that login), so that the extremes reach the action's own checks.
                if rng.random() < 0.8:
                    for who in rng.sample(candidates, min(6, len(candidates))):
                        s, b = call("GET", f"/api/v1/appeals/{summary['number']}", opener=as_login(who))
                        if s == 200 and action in json.loads(b).get("actions", []):
                            login = who
                            break
                body = {"action": action,
                        "version": appeal["version"] if rng.random() < 0.85 else pick(INTS + [None, "1", 1.5])}
                body.update(actions_payload(action, appeal, units, user_ids, numbers))
                if rng.random() < 0.03:
                    del body["version"]
                key = appeal["number"] if rng.random() < 0.9 else str(appeal["id"])
                send(tally, f"{action or '(empty)'}", "POST", f"/api/v1/appeals/{key}/actions",
                     as_login(login), body=body)
    return tally, len(picked)


# ---------------------------------------------------------------------------------------- the run


def report(title, tally):
    print(f"\n{title}: {tally.sent} requests, {len(tally.failures)} answers >= 500 or dropped")
    for op, counts in sorted(tally.by_op.items()):
        shown = ", ".join(f"{k}:{v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))
        print(f"  {op:<48} {sum(counts.values()):>5}  {shown}")
    for op, status, request in tally.failures[:30]:
        print(f"  FAIL {status} {op}: {request}")


def writer_check(op):
    s_h, b_h = call("GET", "/healthz")
    s, b = call("POST", "/api/v1/appeals", opener=op,
                body={"channel": "hotline", "kind": "complaint", "title": "模糊测试后的登记",
                      "content": "模糊测试之后，检查写入仍然正常：路灯不亮。"})
    number = json.loads(b).get("number") if s == 201 else b[:200]
    print(f"\nafterwards: /healthz -> {s_h} {b_h[:80]!r}; an operator's registration -> {s} {number}")
    return s_h == 200 and s == 201


def main():
    t0 = time.time()
    admin_login = "admin"
    admin = session(admin_login)
    operator = session("operator1")
    global TOKEN
    me = json.loads(call("GET", "/api/v1/me", opener=admin)[1])
    s, b = call("POST", "/api/v1/tokens", opener=admin, body={"user": me["id"], "name": "模糊测试", "expires_days": 1})
    assert s == 201, (s, b[:200])
    TOKEN = json.loads(b)["token"]
    s, b = call("GET", "/api/v1/users", opener=admin)
    users = json.loads(b)["items"]
    s, b = call("GET", "/api/v1/appeals?limit=200", opener=admin)
    appeals = json.loads(b)["items"]
    numbers = [a["number"] for a in appeals]
    ids = [a["id"] for a in appeals]
    pools = {
        "key": numbers + [str(i) for i in ids] + ["2026-11-000001", "0", "-1", "9" * 40],
        "id": [u["id"] for u in users] + [0, 1, 2, 2**32, "abc"] + list(range(1, 40)),
        "format": ["csv", "xlsx", "pdf", "CSV", ""],
        "status": ["pending_dispatch", "dispatched,closed", "replied", "nope", ","],
        "unit": [str(u["unit"]) for u in users],
        "period": ["month:2026-11", "quarter:2026-4", "half:2026-1", "year:2026", "assess:2026-11",
                   "days:2026-11-01:2026-11-15", "days:2026-11-15:2026-11-01", "month:9999-12",
                   "year:0", "quarter:2026-5", "days:0001-01-01:9999-12-31"],
        "by": ["unit", "township", "category", "channel", "kind", "owner"],
        "date": DATES, "from": DATES, "to": DATES,
        "days": [0, 1, 5, 250, 100000, 2**32, -1],
        "sort": ["newest", "due", "oldest"],
        "channel": ["hotline", "web", "grid_report", "letter"],
        "kind": ["complaint", "consultation", "petition_claim"],
        "overdue": ["true", "false"], "due_soon": ["true", "false"],
        "limit": [1, 50, 500, 0, 501],
        "q": ["路灯", "噪音 扰民", "13800138000", "commented", "x" * 101],
        "phone": ["13800138000", "+86 138 0013 8000", "not-a-phone"],
        "owner": [u["id"] for u in users], "township": [str(u["unit"]) for u in users],
        "category": list(range(1, 30)),
        "cursor": ["", "abc", "MTIz", "9" * 30],
        "min_volume": [0, 1, 10, 2**32], "board": [0, 3, 100, 2**32],
        "admin_login": admin_login,
    }
    protected = {str(me["id"])} | {str(u["id"]) for u in users if u["login"] == "operator1"}
    ok = True
    if "actions" in PARTS:
        tally, n = actions_fuzz(admin, users, numbers)
        report(f"typed action fuzz over {n} appeals in every status", tally)
        ok &= not tally.failures
    if "openapi" in PARTS:
        tally = openapi_fuzz(admin, pools, protected)
        report(f"OpenAPI fuzz, {EXAMPLES} examples per operation", tally)
        ok &= not tally.failures
    if "portal" in PARTS:
        tally = portal_fuzz(EXAMPLES * 3)
        report(f"portal fuzz, {EXAMPLES * 3} submissions and {EXAMPLES * 3} look-ups or ratings", tally)
        ok &= not tally.failures
    ok &= writer_check(operator)
    print(f"\n{'PASS' if ok else 'FAIL'} in {time.time() - t0:.0f} s (seed {SEED})")
    sys.exit(0 if ok else 1)


main()
