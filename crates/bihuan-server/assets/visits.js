// bihuan console, 入户走访 on a phone: the visit form keeps a draft on the phone as it is
// typed (a reload keeps it); sent without a connection, the visit waits in an outbox and goes
// when the phone is back online. The draft id travels with it, so the server records a draft
// sent twice once. Also draws a campaign's coverage chart.
(function () {
  var OUTBOX = "bihuan-visit-outbox";
  function load(k) { try { return JSON.parse(localStorage.getItem(k) || "null"); } catch (e) { return null; } }
  function save(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* private mode: no drafts */ } }
  function fields(f) { var o = []; new FormData(f).forEach(function (v, k) { o.push([k, String(v)]); }); return o; }
  function encode(list) { return list.map(function (p) { return encodeURIComponent(p[0]) + "=" + encodeURIComponent(p[1]); }).join("&"); }
  function get(list, name) { for (var i = 0; i < list.length; i++) { if (list[i][0] === name) return list[i][1]; } return ""; }
  function post(list) {
    return fetch("/visits/record", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: encode(list)
    });
  }
  function restore(f, list) {
    var els = f.elements;
    for (var i = 0; i < els.length; i++) { if (els[i].type === "checkbox") els[i].checked = false; }
    list.forEach(function (p) {
      var el = f.elements[p[0]];
      if (!el) return;
      var group = el.length !== undefined && el.tagName === undefined ? el : [el];
      for (var j = 0; j < group.length; j++) {
        var x = group[j];
        if (x.type === "radio" || x.type === "checkbox") { if (x.value === p[1]) x.checked = true; }
        else { x.value = p[1]; }
      }
    });
  }
  // Recorded: the answer is the visit's page (not a login page after a lapsed session).
  function recorded(r) { return r.ok && /\/visits\/\d+/.test(r.url); }
  function say(id, text) { var n = document.getElementById(id); if (n) { n.textContent = text; n.hidden = !text; } }

  // The outbox: visits typed without a connection, sent in order when one is back.
  var flushing = false;
  function flush() {
    var q = load(OUTBOX) || [];
    if (!q.length) { say("outbox-status", ""); return; }
    say("outbox-status", "有 " + q.length + " 条走访记录等待联网发送。");
    if (flushing || navigator.onLine === false) return;
    flushing = true;
    var item = q[0];
    post(item.fields).then(function (r) {
      var rest = (load(OUTBOX) || []).filter(function (x) { return x.draft !== item.draft; });
      if (r.ok && !recorded(r)) { flushing = false; say("outbox-status", "登录已过期：请重新登录，离线走访记录会在登录后自动发送。"); return; }
      if (!r.ok) {
        // Refused (not a network failure): back into the form's draft, to correct and send.
        save("bihuan-visit-draft:" + item.household, { saved: item.saved, fields: item.fields });
      }
      save(OUTBOX, rest);
      flushing = false;
      if (!r.ok) { say("outbox-status", "一条离线走访记录提交未通过，请打开该住户的「记录走访」修改后再提交。"); return; }
      flush();
    }).catch(function () { flushing = false; });
  }
  window.addEventListener("online", flush);
  flush();

  var form = document.getElementById("visit-form");
  if (form) {
    var key = "bihuan-visit-draft:" + form.getAttribute("data-household");
    var d = load(key);
    if (d && !form.hasAttribute("data-refused")) {
      restore(form, d.fields);
      say("draft-status", "已恢复本机保存的草稿（" + d.saved + "）。");
    }
    // The server's clock as the page was served, against the phone's: a phone set to the
    // wrong time still dates the visit right.
    var skew = (Date.parse(form.getAttribute("data-server-now")) || Date.now()) - Date.now();
    var stamp = function () {
      // The visit's own time: when it was first typed, not when it reaches the server.
      if (!form.elements.visited_at.value) form.elements.visited_at.value = new Date(Date.now() + skew).toISOString();
    };
    form.addEventListener("input", function () {
      stamp();
      save(key, { saved: new Date().toLocaleString("zh-CN"), fields: fields(form) });
      say("draft-status", "草稿已保存在本机。");
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      stamp();
      var list = fields(form);
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      post(list).then(function (r) {
        if (recorded(r)) { localStorage.removeItem(key); location.href = r.url; return; }
        // Refused: let the server show why, with what was typed (nothing was recorded).
        form.submit();
      }).catch(function () {
        var q = (load(OUTBOX) || []).filter(function (x) { return x.draft !== get(list, "draft"); });
        q.push({ draft: get(list, "draft"), household: form.getAttribute("data-household"),
                 saved: new Date().toLocaleString("zh-CN"), fields: list });
        save(OUTBOX, q);
        localStorage.removeItem(key);
        if (button) button.disabled = false;
        say("draft-status", "网络不通：走访记录已保存在本机，联网后自动发送，不会重复登记。");
        flush();
      });
    });
  }

  var data = document.getElementById("coverage-data");
  var node = document.getElementById("coverage-chart");
  if (data && node && window.echarts) {
    var c = JSON.parse(data.textContent);
    node.style.height = (60 + 26 * Math.min(c.names.length, 40)) + "px";
    var chart = echarts.init(node);
    chart.setOption({
      tooltip: { formatter: "{b}：{c}%" },
      grid: { left: 120, right: 40, top: 10, bottom: 30 },
      xAxis: { type: "value", min: 0, max: 100, name: "%" },
      yAxis: { type: "category", data: c.names },
      series: [{ type: "bar", data: c.rates, label: { show: true, position: "right", formatter: "{c}%" },
                 itemStyle: { color: "#3e7cb1" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
})();
