// 就业之家 in the console (issue 23): township staff post a job (the wording check holds back a
// discriminatory one, a form refused keeps what was typed), review and publish it, refer a
// seeker and record the hire; the public job page on a phone shows it without personal data.
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

async function fillPosting(page, title, requirements) {
  await page.click("summary:text('登记新岗位')");
  const form = page.locator("form[action='/jobs/new']");
  await form.locator("input[name=title]").fill(title);
  await form.locator("input[name=employer]").fill("云溪电子科技有限公司");
  await form.locator("input[name=headcount]").fill("3");
  await form.locator("textarea[name=requirements]").fill(requirements);
  await form.locator("textarea[name=duties]").fill("电子元件装配与检测");
  await form.locator("input[name=address]").fill("云溪镇工业园6号");
  await form.locator("input[name=pay_min]").fill("4200");
  await form.locator("input[name=pay_max]").fill("5600");
  await form.locator("input[name=hours]").fill("白班8小时");
  return form;
}

test("staff post, check, review and publish a job, then place a villager", async () => {
  const page = await loginAs(browser, server.base, "town01");
  await page.goto(`${server.base}/jobs`);
  assert.match(await page.locator(".cards").textContent(), /205\s*今年发布岗位/);
  // Pay the wrong way round: refused, what was typed stays.
  let form = await fillPosting(page, "电子装配工", "限女性，35岁以下，手脚麻利");
  await form.locator("input[name=pay_min]").fill("6000");
  await form.locator("button[type=submit]").click();
  assert.match(await page.locator("[role=alert]").textContent(), /月薪/);
  assert.equal(await page.inputValue("form[action='/jobs/new'] input[name=title]"), "电子装配工");
  await page.fill("form[action='/jobs/new'] input[name=pay_min]", "4200");
  await Promise.all([page.waitForURL(/ok=/), page.click("form[action='/jobs/new'] button[type=submit]")]);
  assert.match(await page.locator("[role=status]").textContent(), /歧视性表述/);
  const flagged = page.locator("div.review", { hasText: "电子装配工" }).first();
  assert.match(await flagged.textContent(), /「限女」（性别）[\s\S]*「35岁以下」（年龄）/);
  assert.equal(await flagged.locator("button[value='1']").count(), 0, "it cannot be published as it is");
  // A clean one is published after review.
  form = await fillPosting(page, "电子检测员", "会使用万用表，有电工基础，细心负责");
  await Promise.all([page.waitForURL(/ok=/), form.locator("button[type=submit]").click()]);
  const clean = page.locator("div.review", { hasText: "电子检测员" }).first();
  await Promise.all([page.waitForURL(/ok=/), clean.locator("button[value='1']").click()]);
  assert.match(await page.locator("[role=status]").textContent(), /电子检测员：已发布/);
  // An open posting: refer the first suggested villager, then record the hire.
  await page.goto(`${server.base}/jobs`);
  await Promise.all([page.waitForURL(/\/jobs\/\d+$/), page.click("td a:text('电子检测员')")]);
  // Villagers with 电工 among their skills who consented are suggested, with the reason.
  assert.match(await page.locator("section", { hasText: "适合的求职者" }).textContent(), /技能符合：电工/);
  await Promise.all([page.waitForURL(/ok=/), page.locator("form[action$='/refer'] button").first().click()]);
  assert.match(await page.locator("[role=status]").textContent(), /已推荐/);
  await Promise.all([page.waitForURL(/ok=/), page.click("form[action^='/jobs/referrals/'] button[value=hire]")]);
  assert.match(await page.locator("[role=status]").textContent(), /已录用/);
});

test("the public job page shows open jobs on a phone and nothing personal", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN" });
  const page = await context.newPage();
  await page.goto(`${server.base}/board/jobs`);
  await page.selectOption("select[name=township]", { label: "云溪镇" });
  await Promise.all([page.waitForURL(/township=/), page.click("button[type=submit]")]);
  const text = await page.textContent("body");
  assert.match(text, /正在招聘 \d+ 个岗位/);
  assert.match(text, /元\/月/);
  assert.doesNotMatch(text, /1[3-9]\d{9}/, "no phone numbers");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no sideways scrolling on a phone (${width}px)`);
  await context.close();
});
