// Draws the dashboard charts from the JSON the server embedded in the page.
(function () {
  var el = document.getElementById("dashboard-data");
  if (!el || !window.echarts) return;
  var d = JSON.parse(el.textContent);
  var charts = [];
  function chart(id, option) {
    var node = document.getElementById(id);
    if (!node) return;
    var c = echarts.init(node);
    c.setOption(option);
    charts.push(c);
  }
  chart("trend", {
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { top: 50, left: 50, right: 50, bottom: 30 },
    xAxis: { type: "category", data: d.trend.months },
    yAxis: [{ type: "value", name: "件" }, { type: "value", name: "%", min: 0, max: 100 }],
    series: d.trend.volume.concat([
      { name: "闭环率", type: "line", yAxisIndex: 1, data: d.trend.closed_loop },
      { name: "满意率", type: "line", yAxisIndex: 1, data: d.trend.satisfaction },
      { name: "按期办结率", type: "line", yAxisIndex: 1, data: d.trend.on_time }
    ])
  });
  var n = d.towns.scores.length;
  chart("towns", {
    tooltip: {},
    grid: { left: 90, right: 30, top: 10, bottom: 30 },
    xAxis: { type: "value", min: function (v) { return Math.max(0, Math.floor(v.min - 5)); } },
    yAxis: { type: "category", data: d.towns.names.slice().reverse() },
    series: [{ type: "bar", data: d.towns.scores.slice().reverse().map(function (v, i) {
      var rank = n - i; // 1 is best
      var color = rank <= 3 ? "#c53030" : (rank > n - 3 ? "#7b8794" : "#3e7cb1");
      return { value: v, itemStyle: { color: color } };
    }), label: { show: true, position: "right" } }]
  });
  chart("overdue", {
    tooltip: {},
    grid: { left: 140, right: 30, top: 10, bottom: 30 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: d.overdue.names.slice().reverse() },
    series: [{ type: "bar", data: d.overdue.counts.slice().reverse(), itemStyle: { color: "#c53030" }, label: { show: true, position: "right" } }]
  });
  chart("cats", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["35%", "65%"], data: d.categories, label: { formatter: "{b}\n{c}" } }]
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
