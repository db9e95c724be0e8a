// 攻坚调度 and 四比 in the console (issue 20): a leader reads a campaign's charts, checklist and
// weekly view; an owner reports a milestone with a scan from a phone and the leader confirms
// it; the centre imports a checklist with a bad row; an evaluation is opened, published with
// a confirmation, and read on the public board on a phone without a login.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, loginAs } from "./server.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ appeals: 400 });
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function pdf(text) {
  return Buffer.from(`%PDF-1.4\n% ${text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`);
}

test("a leader reads a campaign's charts, checklist and weekly view", async () => {
  const page = await loginAs(browser, server.base, "leader1");
  await page.goto(`${server.base}/campaigns`);
  assert.match(await page.locator("main").textContent(), /三大会战[\s\S]*十大攻坚战/);
  await page.click("text=2026年三大会战");
  await page.waitForURL(/\/campaigns\/\d+$/);
  // The charts are drawn (ECharts renders into a canvas).
  for (const id of ["battle-chart", "burn-chart", "owner-chart", "gantt-chart"]) {
    await page.locator(`#${id} canvas`).first().waitFor({ timeout: 10_000 });
  }
  const rows = await page.locator("#items tbody tr").count();
  assert.ok(rows >= 15, `${rows} items`);
  assert.ok((await page.locator("#items tr.overdue").count()) >= 1, "overdue items stand out");
  const text = await page.locator("#items").textContent();
  for (const status of ["已完成", "推进中", "已逾期", "未启动", "已撤销"]) {
    assert.ok(text.includes(status), `an item ${status}`);
  }
  assert.match(text, /平台计算·问题清仓/);
  await page.click("text=周调度（可打印）");
  await page.waitForURL(/\/weekly/);
  assert.match(await page.locator("main").textContent(), /滞后事项和节点/);
  assert.ok(await page.locator("button[data-print]").isVisible());
  await page.context().close();
});

test("an owner reports a milestone from a phone and the leader confirms it", async () => {
  // 县城市管理局's handler, on a phone.
  const owner = await loginAs(browser, server.base, "dept14", { width: 390, height: 844 });
  await owner.goto(`${server.base}/campaigns`);
  await owner.click("text=2026年十大攻坚战");
  await owner.click("text=城区背街小巷整治");
  await owner.waitForURL(/\/items\/\d+$/);
  const itemUrl = owner.url();
  const milestone = await owner.locator("#milestone option", { hasText: "二期40条完工" }).getAttribute("value");
  await owner.selectOption("#milestone", milestone);
  await owner.fill("#note", "二期40条背街小巷已完工");
  await owner.setInputFiles("#files", { name: "二期验收单.pdf", mimeType: "application/pdf", buffer: pdf("acceptance") });
  await Promise.all([owner.waitForURL(/ok=/), owner.click("#report button[type=submit]")]);
  assert.match(await owner.locator("[role=status]").textContent(), /等待领导确认/);
  assert.match(await owner.locator("main").textContent(), /二期验收单\.pdf/);
  await owner.context().close();

  const leader = await loginAs(browser, server.base, "leader1");
  await leader.goto(itemUrl);
  await Promise.all([leader.waitForURL(/ok=/), leader.click("form[action$='/review'] button.primary")]);
  assert.match(await leader.locator("[role=status]").textContent(), /已确认/);
  assert.match(await leader.locator("main").textContent(), /已完成/);
  await leader.context().close();
});

test("the centre imports a checklist and is told which row is wrong", async () => {
  const page = await loginAs(browser, server.base, "dispatch1");
  await page.goto(`${server.base}/campaigns`);
  await page.click("text=2026年三大会战");
  await page.waitForURL(/\/campaigns\/\d+$/);
  const campaignUrl = page.url();
  const csv =
    "战役,事项,责任单位,责任领导,完成时限,计量方式,计量单位,基数,目标值\n" +
    "民生实事,新建城区公厕,县城市管理局,副县长 陈建华,20个工作日,自报,座,0,6\n" +
    "民生实事,不存在的事项,县不存在局,副县长 陈建华,2026-12-20,自报,座,0,2\n";
  await page.setInputFiles("#import input[type=file]", { name: "清单.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.uncheck("#import input[name=dry_run]");
  await Promise.all([page.waitForLoadState("load"), page.click("#import button[type=submit]")]);
  const result = await page.locator("#import-result").textContent();
  assert.match(result, /已导入 1 项/);
  assert.match(result, /县不存在局/);
  assert.match(await page.locator("#import-result td").first().textContent(), /^3$/);
  await page.goto(campaignUrl);
  assert.match(await page.locator("#items").textContent(), /新建城区公厕/);
  await page.context().close();
});

test("an evaluation is published with a confirmation and read on the public board", async () => {
  const page = await loginAs(browser, server.base, "dispatch1");
  await page.goto(`${server.base}/evaluations`);
  const scheme = await page.locator("#scheme option", { hasText: "月度调研提示" }).getAttribute("value");
  await page.selectOption("#scheme", scheme);
  await page.fill("#first", "2026-09-01");
  await Promise.all([page.waitForURL(/\/evaluations\/\d+$/), page.click("#open button[type=submit]")]);
  assert.match(await page.locator("main").textContent(), /尚未公开/);
  let asked = "";
  page.removeAllListeners("dialog");
  page.on("dialog", (d) => {
    asked = d.message();
    d.accept();
  });
  await Promise.all([page.waitForURL(/ok=/), page.click("#publish button[type=submit]")]);
  assert.match(asked, /不能撤回/);
  assert.match(await page.locator("[role=status]").textContent(), /已公开晾晒/);
  await page.context().close();

  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN" })).newPage();
  await phone.goto(`${server.base}/board/evaluations`);
  const board = await phone.locator("main").textContent();
  assert.match(board, /2026年9月/);
  assert.match(board, /季度「红灰台」/);
  await phone.click("text=2026年9月 · 月度调研提示");
  assert.match(await phone.locator("main").textContent(), /评分方法/);
  assert.doesNotMatch(await phone.locator("main").textContent(), /派单员/);
  await phone.context().close();
});
