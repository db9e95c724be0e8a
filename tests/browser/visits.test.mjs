// 入户走访 on a phone (issue 18): the visit form's draft survives a reload, a visit sent
// without a connection waits on the phone and goes once when it is back online — even when it
// is sent again — and the campaign's coverage opens the households behind it.
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

const phone = { width: 390, height: 844 };

async function visitsWith(page, note) {
  await page.goto(`${server.base}/visits/mine`);
  return await page.locator("table.visits tbody tr", { hasText: note }).count();
}

test("a draft survives a reload and an offline visit is sent once when back online", async () => {
  const page = await loginAs(browser, server.base, "grid1", phone);
  await page.goto(`${server.base}/visits`);
  const tasks = await page.locator("li.task-card").count();
  assert.ok(tasks > 0, "the grid member has households to visit");
  await Promise.all([page.waitForURL(/\/visits\/record\?household=\d+/), page.locator("li.task-card a.button").first().click()]);
  const recordUrl = page.url();
  const note = `测试走访${Date.now()}`;
  await page.fill("#note", note);
  await page.fill("textarea[name=need_text_1]", "楼道扶手松动，老人上下楼不安全");
  await page.check("input[name=need_handling_1][value=appeal]");
  await page.check("input[name=heard][value=听民需]");
  assert.match(await page.locator("#draft-status").textContent(), /草稿已保存/);

  // A reload (or the browser closed and opened again) keeps what was typed.
  await page.reload();
  assert.equal(await page.inputValue("#note"), note);
  assert.equal(await page.inputValue("textarea[name=need_text_1]"), "楼道扶手松动，老人上下楼不安全");
  assert.ok(await page.isChecked("input[name=need_handling_1][value=appeal]"));
  assert.ok(await page.isChecked("input[name=heard][value=听民需]"));
  assert.match(await page.locator("#draft-status").textContent(), /已恢复/);

  // No connection: the visit waits in the phone's outbox.
  await page.context().setOffline(true);
  await page.click("#visit-form button[type=submit]");
  await page.locator("#draft-status", { hasText: "网络不通" }).waitFor();
  const waiting = await page.evaluate(() => JSON.parse(localStorage.getItem("bihuan-visit-outbox") || "[]"));
  assert.equal(waiting.length, 1);

  // Back online: sent once, and the outbox empties.
  await page.context().setOffline(false);
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("bihuan-visit-outbox") || "[]").length === 0, null, { timeout: 15000 });
  assert.equal(await visitsWith(page, note), 1, "recorded once");

  // The same draft sent again (the answer lost on a bad connection): still one visit.
  await page.goto(`${server.base}/visits`);
  await page.evaluate((item) => localStorage.setItem("bihuan-visit-outbox", JSON.stringify([item])), waiting[0]);
  await page.reload();
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("bihuan-visit-outbox") || "[]").length === 0, null, { timeout: 15000 });
  assert.equal(await visitsWith(page, note), 1, "a draft sent twice is one visit");

  // The need became an appeal, linked from the visit.
  const row = page.locator("table.visits tbody tr", { hasText: note });
  const appeal = row.locator("a[href^='/appeals/']");
  assert.equal(await appeal.count(), 1, "the need was raised as an appeal");
  // The form opened again starts a new draft (the sent one is gone from the phone).
  await page.goto(recordUrl);
  assert.equal(await page.inputValue("#note"), "");
  await page.context().close();
});

test("the campaign's coverage opens the households not yet visited, with their cadre", async () => {
  const page = await loginAs(browser, server.base, "leader1");
  await page.goto(`${server.base}/dashboard`);
  const card = page.locator("#visit-cards a.card").nth(1);
  const shown = Number((await card.locator("strong").textContent()).trim());
  assert.ok(shown > 0, "some households are not yet visited");
  await Promise.all([page.waitForURL(/\/households\?unit=a&which=not_visited/), card.click()]);
  const rows = await page.locator("#drill tbody tr").count();
  assert.equal(rows, Math.min(shown, 200), "the list holds the households the figure counts (first page)");
  assert.match(await page.locator("#drill tbody").textContent(), /未安排|网格员|承办人/);
  await page.context().close();
});
