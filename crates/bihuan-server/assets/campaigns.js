// bihuan console, 攻坚调度: draws a campaign's charts from the JSON the page carries —
// progress by battle and by owner unit, the burn-down of open items, and a timeline of each
// item's span with its milestones.
(function () {
  var node = document.getElementById("campaign-data");
  if (!node || !window.echarts) return;
  var d = JSON.parse(node.textContent);
  var charts = [];
  function bars(id, names, values) {
    var el = document.getElementById(id);
    if (!el) return;
    if (names.length > 8) el.style.height = (60 + 26 * Math.min(names.length, 40)) + "px";
    var c = echarts.init(el);
    c.setOption({
      tooltip: { formatter: "{b}：{c}%" },
      grid: { left: 140, right: 50, top: 10, bottom: 30 },
      xAxis: { type: "value", min: 0, max: 100, name: "%" },
      yAxis: { type: "category", data: names, inverse: true },
      series: [{ type: "bar", data: values, label: { show: true, position: "right", formatter: "{c}%" },
                 itemStyle: { color: "#3e7cb1" } }]
    });
    charts.push(c);
  }
  bars("battle-chart", d.battles.names, d.battles.progress);
  bars("owner-chart", d.owners.names, d.owners.progress);

  var burn = document.getElementById("burn-chart");
  if (burn) {
    var b = echarts.init(burn);
    b.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["未完成事项", "理想线"] },
      grid: { left: 50, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "category", data: d.burn.days },
      yAxis: { type: "value", minInterval: 1, name: "项" },
      series: [
        { name: "未完成事项", type: "line", data: d.burn.open, itemStyle: { color: "#c0392b" } },
        { name: "理想线", type: "line", data: d.burn.ideal, lineStyle: { type: "dashed" }, symbol: "none", itemStyle: { color: "#7f8c8d" } }
      ]
    });
    charts.push(b);
  }

  var gantt = document.getElementById("gantt-chart");
  if (gantt && d.gantt.rows.length) {
    var g = d.gantt;
    gantt.style.height = (80 + 24 * g.rows.length) + "px";
    var colours = { done: "#2e7d32", overdue: "#c0392b", active: "#3e7cb1", not_started: "#90a4ae", withdrawn: "#cfd8dc" };
    var names = g.rows.map(function (r) { return r[0]; });
    var spans = g.rows.map(function (r, i) { return [i, r[1], r[2], r[3]]; });
    var gc = echarts.init(gantt);
    gc.setOption({
      tooltip: { formatter: function (p) {
        if (p.seriesIndex === 0) return names[p.value[0]] + "<br>" + p.value[1] + " 至 " + p.value[2];
        return names[p.value[0]] + "<br>节点「" + p.value[3] + "」" + p.value[1];
      } },
      grid: { left: 220, right: 30, top: 20, bottom: 40 },
      xAxis: { type: "time", min: g.start, max: g.end },
      yAxis: { type: "category", data: names, inverse: true, axisLabel: { width: 200, overflow: "truncate" } },
      series: [
        { type: "custom", encode: { x: [1, 2], y: 0 }, data: spans,
          renderItem: function (params, api) {
            var y = api.value(0), a = api.coord([api.value(1), y]), z = api.coord([api.value(2), y]);
            var h = api.size([0, 1])[1] * 0.5;
            return { type: "rect", shape: { x: a[0], y: a[1] - h / 2, width: Math.max(z[0] - a[0], 2), height: h },
                     style: { fill: colours[spans[params.dataIndex][3]] || "#90a4ae", opacity: 0.75 } };
          } },
        { type: "scatter", symbol: "diamond", symbolSize: 11, encode: { x: 1, y: 0 },
          data: g.marks.map(function (m) { return { value: [m[0], m[1], m[2], m[3]],
            itemStyle: { color: m[2] === "done" ? "#2e7d32" : (m[2] === "late" ? "#c0392b" : "#607d8b") } }; }),
          markLine: { symbol: "none", silent: true, lineStyle: { color: "#e67e22" }, label: { formatter: "今天" },
                      data: [{ xAxis: g.today }] } }
      ]
    });
    charts.push(gc);
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
