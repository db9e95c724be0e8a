// 双提升 in the console (issue 21): a caller on a phone takes the next due number, reads the
// opening with the survey's approval, records a complete interview (an incomplete one is
// refused with what was typed kept), and a leader reads the results with their intervals.
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

test("a caller interviews the next number on a phone", async () => {
  const page = await loginAs(browser, server.base, "visit1", { width: 390, height: 844 });
  await page.goto(`${server.base}/surveys`);
  await Promise.all([page.waitForURL(/\/call$/), page.click("text=开始拨打（CATI）")]);
  const phone = (await page.locator("#cati-phone").textContent()).trim();
  assert.match(phone, /^1\d{10}$/, "the caller's own case shows the number whole");
  assert.match(await page.locator("p.opening").textContent(), /表号[\s\S]*批准机关及文号/);
  // Marked complete with nothing answered: refused, and what was typed stays.
  await page.fill("#note", "受访者较配合");
  await page.selectOption("#disposition", "1.1");
  await page.click("#cati button[type=submit]");
  assert.match(await page.locator("[role=alert]").textContent(), /Q1/);
  assert.equal(await page.inputValue("#note"), "受访者较配合");
  assert.equal((await page.locator("#cati-phone").textContent()).trim(), phone, "the same number");
  for (const [q, a] of [["Q1", "是"], ["Q2", "很安全"], ["Q3", "知道"], ["Q4", "较好"]]) {
    await page.check(`input[name=q-${q}][value="${a}"]`);
  }
  await page.selectOption("#disposition", "1.1");
  await Promise.all([page.waitForURL(/ok=/), page.click("#cati button[type=submit]")]);
  assert.match(await page.locator("[role=status]").textContent(), /已记录：完成访问/);
  const next = await page.locator("#cati-phone").count();
  if (next) assert.notEqual((await page.locator("#cati-phone").textContent()).trim(), phone);
  await page.context().close();

  const leader = await loginAs(browser, server.base, "leader1");
  await leader.goto(`${server.base}/surveys`);
  const text = await leader.locator("main").textContent();
  assert.match(text, /1232[\s\S]*完成 \/ 目标 1232/);
  assert.match(text, /99\.59%\s*\[99\.05%，99\.83%\]/, "the seed's figure with its Wilson interval");
  assert.doesNotMatch(text, /1\d{10}/, "no whole number on the results page");
  await leader.context().close();
});
