// The citizen portal on a phone: submit an appeal, keep the number and query code, look up its
// progress; after the centre and the township have handled it in the console, rate the reply —
// and the centre sees the resulting return visit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, openBrowser, loginAs } from "./server.mjs";

const shot = (name) => join(process.env.SCREENSHOTS_DIR || tmpdir(), name);

let server;
let browser;

before(async () => {
  server = await startServer({ appeals: 150 });
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN" };
const numerals = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

async function answerChallenge(page) {
  const label = await page.locator('label[for="p-answer"]').textContent();
  const m = label.match(/验证：(.)加(.)等于几/);
  assert.ok(m, label);
  await page.fill("#p-answer", String(numerals.indexOf(m[1]) + numerals.indexOf(m[2])));
}

async function actionForm(page, title) {
  const details = page.locator("details", { has: page.locator(`summary:text-is("${title}")`) });
  if (!(await details.getAttribute("open").then((v) => v !== null))) {
    await details.locator("summary").click();
  }
  return details.locator("form");
}

async function submit(page, form, title) {
  await Promise.all([page.waitForNavigation(), form.locator(`button:text-is("${title}")`).click()]);
}

async function noSidewaysScroll(page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
}

test("a citizen on a phone submits, looks up and rates; the centre sees the visit", async () => {
  const context = await browser.newContext(phone);
  const page = await context.newPage();
  await page.goto(`${server.base}/portal`);
  await noSidewaysScroll(page);
  await page.selectOption("#p-kind", "help");
  await page.fill("#p-title", "菜市场旁下水道堵塞");
  await page.fill("#p-content", "东门路菜市场旁下水道堵塞三天，污水漫到路面，行人绕行。");
  await page.selectOption("#p-town", { label: "云溪镇" });
  await page.fill("#p-address", "东门路菜市场旁");
  await page.fill("#p-phone", "13800001111");
  // A wrong answer: refused, and what was typed stays.
  await page.fill("#p-answer", "99");
  await page.waitForTimeout(3200);
  await Promise.all([page.waitForNavigation(), page.click("#submit button[type=submit]")]);
  assert.match(await page.locator("#submit .error").textContent(), /验证问题回答不对/);
  assert.equal(await page.inputValue("#p-title"), "菜市场旁下水道堵塞");
  assert.equal(await page.inputValue("#p-phone"), "13800001111");
  await answerChallenge(page);
  // People take a few seconds; the server refuses forms sent faster than that.
  await page.waitForTimeout(3200);
  await page.screenshot({ path: shot("portal-form.png"), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click("#submit button[type=submit]")]);
  const number = (await page.locator("#receipt-number").textContent()).trim();
  const code = (await page.locator("#receipt-code").textContent()).trim();
  assert.match(number, /^\d{4}-\d{2}-\d{6}$/);
  assert.match(code, /^\d{8}$/);
  await noSidewaysScroll(page);
  await page.screenshot({ path: shot("portal-receipt.png"), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click(".receipt button[type=submit]")]);
  assert.match(await page.locator("#progress").textContent(), /待交办/);

  // The centre dispatches it to the township, which signs and replies.
  const dispatcher = await loginAs(browser, server.base, "dispatch1");
  await dispatcher.goto(`${server.base}/appeals/${number}`);
  let form = await actionForm(dispatcher, "交办");
  await form.locator('select[name="lead"]').selectOption({ label: "云溪镇" });
  await submit(dispatcher, form, "交办");
  assert.match(dispatcher.url(), /ok=dispatch/);
  const town = await loginAs(browser, server.base, "town01");
  await town.goto(`${server.base}/appeals/${number}`);
  await submit(town, await actionForm(town, "签收"), "签收");
  form = await actionForm(town, "答复");
  await form.locator('textarea[name="text"]').fill("已组织人员疏通下水道，路面积水已清理。");
  await submit(town, form, "答复");
  assert.match(town.url(), /ok=reply/);

  // The citizen looks up again with the number and code, reads the reply and rates it.
  await page.goto(`${server.base}/portal`);
  await page.fill("#t-number", number);
  await page.fill("#t-code", code);
  await Promise.all([page.waitForNavigation(), page.click("#track button[type=submit]")]);
  const progress = await page.locator("#progress").textContent();
  assert.match(progress, /已组织人员疏通下水道/);
  assert.match(progress, /云溪镇/);
  assert.doesNotMatch(progress, /承办人|派单员/, "no officer is named");
  await page.check('input[name="resolved"][value="yes"]');
  await page.check('input[name="rating"][value="satisfied"]');
  await page.fill("#r-comment", "处理很及时");
  await noSidewaysScroll(page);
  await page.screenshot({ path: shot("portal-progress.png"), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click("#progress button[type=submit]")]);
  assert.match(await page.locator("#progress .flash").textContent(), /感谢您的评价/);
  assert.match(await page.locator("#progress").textContent(), /已评价，待办结/);

  // The centre sees the visit in its queue and on the appeal's timeline.
  const visitor = await loginAs(browser, server.base, "visit1");
  await visitor.goto(`${server.base}/queue/visits`);
  assert.ok(await visitor.locator(`a:text-is("${number}")`).count(), "in the visits queue");
  await visitor.goto(`${server.base}/appeals/${number}`);
  assert.match(await visitor.locator("ol.timeline").textContent(), /群众网上评价[\s\S]*满意/);
  await context.close();
});
