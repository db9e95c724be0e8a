// 楼格格 + e见帮办 in the console (issue 22): the centre reads the subdistrict's figures (57
// buildings, 34 teams), opens a team's enterprises and one enterprise, records a demand (an
// empty one is refused with the chosen type kept, after a confirmation) and follows it to its
// appeal; an enterprise on a phone finds the policies it may apply for without logging in.
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

test("the centre reads the figures and records an enterprise's demand", async () => {
  const page = await loginAs(browser, server.base, "dispatch1");
  await page.goto(`${server.base}/enterprises`);
  const cards = await page.locator(".cards").first().textContent();
  assert.match(cards, /57\s*覆盖楼宇 \/ 共 57/);
  assert.match(cards, /34\s*服务队/);
  // A team's row opens its enterprises; one of them opens its page.
  await Promise.all([page.waitForURL(/\/enterprises\/list\?team=/), page.click("a[href^='/enterprises/list?team=']")]);
  const rows = await page.locator("tbody tr").count();
  assert.ok(rows > 0, "the team serves enterprises");
  await Promise.all([page.waitForURL(/\/enterprises\/\d+$/), page.locator("tbody tr a").first().click()]);
  assert.match(await page.locator("dl.facts").textContent(), /统一社会信用代码/);
  // Blank words are refused; the chosen type stays.
  await page.selectOption("#demand-kind", "labour");
  await page.fill("#demand-text", "   ");
  await page.click("form[action$='/demands'] button[type=submit]");
  assert.match(await page.locator("[role=alert]").textContent(), /需求内容/);
  assert.equal(await page.inputValue("#demand-kind"), "labour");
  await page.fill("#demand-text", "急需招聘客服专员5名");
  await Promise.all([page.waitForURL(/ok=/), page.click("form[action$='/demands'] button[type=submit]")]);
  const notice = await page.locator("[role=status]").textContent();
  const number = notice.match(/\d{4}-\d{2}-\d{6}/)?.[0];
  assert.ok(number, notice);
  // It is an appeal of the loop, waiting for dispatch.
  await Promise.all([page.waitForURL(new RegExp(`/appeals/${number}$`)), page.click(`a[href='/appeals/${number}']`)]);
  assert.match(await page.locator("h1").textContent(), /待交办/);
  assert.match(await page.textContent("body"), /企业服务/);
});

test("an enterprise on a phone finds the policies it may apply for", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN" });
  const page = await context.newPage();
  await page.goto(`${server.base}/board/policies`);
  await page.fill("input[name=industry]", "制造业");
  await page.selectOption("select[name=size]", "small");
  await page.selectOption("select[name=township]", { label: "凤凰街道" });
  await page.fill("input[name=founded]", "2024-03-01");
  await Promise.all([page.waitForURL(/founded=/), page.click("button[type=submit]")]);
  const text = await page.textContent("body");
  assert.match(text, /项符合条件/);
  assert.match(text, /小微企业首贷贴息[\s\S]*符合条件/);
  assert.doesNotMatch(text, /数字化转型改造补助/, "a policy not yet in force is not offered");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no sideways scrolling on a phone (${width}px)`);
  await context.close();
});

test("a team plans a visit and records it with a demand found", async () => {
  const page = await loginAs(browser, server.base, "dispatch1");
  await page.goto(`${server.base}/enterprises`);
  await Promise.all([page.waitForURL(/\/enterprises\/teams\/\d+$/), page.click("a[href^='/enterprises/teams/']")]);
  await Promise.all([page.waitForURL(/ok=/), page.click("form[action$='/visits'] button[type=submit]")]);
  assert.match(await page.locator("[role=status]").textContent(), /已安排/);
  const form = page.locator("form[action^='/enterprises/visits/']").first();
  // A demand without its enterprise is refused; what was typed stays.
  await form.locator("input[name=offered][value='政策宣讲']").check();
  await form.locator("textarea[name=text]").fill("希望协调增设楼宇充电桩");
  await form.locator("button[type=submit]").click();
  assert.match(await page.locator("[role=alert]").textContent(), /哪家企业/);
  const again = page.locator("form[action^='/enterprises/visits/']").first();
  assert.equal(await again.locator("textarea[name=text]").inputValue(), "希望协调增设楼宇充电桩");
  assert.ok(await again.locator("input[name=offered][value='政策宣讲']").isChecked());
  await again.locator("select[name=enterprise]").selectOption({ index: 1 });
  await again.locator("select[name=kind]").selectOption("other");
  await Promise.all([page.waitForURL(/ok=/), again.locator("button[type=submit]").click()]);
  assert.match(await page.locator("[role=status]").textContent(), /已登记为诉求 \d{4}-\d{2}-\d{6}/);
});
