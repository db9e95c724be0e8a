// 一件事一次办 in the console (issue 19): the window fills the package's one form (a wrong
// credit code comes back with what was typed), gives the one-time notice, registers what was
// handed in and accepts; a unit stops its task's clock for a correction, starts it again and
// approves, each step on the one timeline.
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
  server?.stop();
});

let applicationUrl;

test("the window applies once, tells once what is missing and accepts", async () => {
  const page = await loginAs(browser, server.base, "operator1");
  await page.goto(`${server.base}/approvals`);
  assert.match(await page.locator("h1").textContent(), /一件事一次办/);
  await page.click("text=窗口受理");
  await page.waitForURL(/\/approvals\/packages\/\d+/);
  await page.fill("#applicant", "云溪县测试香料有限公司");
  await page.fill("#credit_code", "91331127MA2B7Q8X1A");
  await page.fill("#contact", "测试联系人");
  await page.fill("#phone", "13857170000");
  await page.fill("#f-project", "年产800吨香精项目");
  await page.fill("#f-site", "香料产业园9号地块");
  await page.fill("#f-investment", "2600");
  // Everything but the environmental report.
  for (const box of await page.locator("input[name=handed]").all()) {
    if ((await box.getAttribute("value")) !== "eia") await box.check();
  }
  await page.click("form[action^='/approvals/packages'] button[type=submit]");
  // A wrong check character: said, and nothing typed is lost.
  assert.match(await page.locator("[role=alert]").textContent(), /校验位/);
  assert.equal(await page.inputValue("#applicant"), "云溪县测试香料有限公司");
  assert.equal(await page.inputValue("#f-site"), "香料产业园9号地块");
  assert.ok(await page.locator("input[name=handed][value=design]").isChecked());
  await page.fill("#credit_code", "91331127MA2B7Q8X1P");
  await Promise.all([page.waitForURL(/\/approvals\/\d+\?ok=/), page.click("form[action^='/approvals/packages'] button[type=submit]")]);
  applicationUrl = page.url().split("?")[0];
  assert.match(await page.locator("[role=status]").textContent(), /申请已提交/);
  assert.match(await page.locator("#handed").textContent(), /环境影响报告表\s*未收/);
  // The one-time notice, with its confirmation.
  await page.check("input[name=missing][value=eia]");
  await page.fill("#note", "请补交盖章的环境影响报告表");
  await Promise.all([page.waitForURL(/ok=/), page.click("form:has(input[name=op][value=notice]) button[type=submit]")]);
  assert.match(await page.locator("dl.facts").first().textContent(), /已一次性告知/);
  assert.equal(await page.locator("input[name=missing]").count(), 0, "told once: the form is gone");
  // Handed in, then accepted: every matter starts at once.
  await page.selectOption("#hand", "eia");
  await Promise.all([page.waitForURL(/ok=/), page.click("form:has(input[name=op][value=hand]) button[type=submit]")]);
  await Promise.all([page.waitForURL(/ok=/), page.click("form:has(input[name=op][value=accept]) button[type=submit]")]);
  assert.match(await page.locator("dl.facts").first().textContent(), /办理中/);
  const running = await page.locator("#tasks tbody tr", { hasText: "审批中" }).count();
  assert.equal(running, 12, "twelve matters in parallel");
});

test("a unit stops its clock for a correction, resumes and approves", async () => {
  assert.ok(applicationUrl, "the first test made the application");
  const page = await loginAs(browser, server.base, "dept08");
  await page.goto(applicationUrl);
  const eia = page.locator("div.panel", { hasText: "建设项目环境影响报告表审批" }).last();
  await eia.locator("input[name=reason]").fill("请补正废气收集处理措施");
  await Promise.all([page.waitForURL(/ok=/), eia.locator("form:has(input[name=op][value=stop]) button[type=submit]").click()]);
  assert.match(await page.locator("#tasks tbody tr", { hasText: "建设项目环境影响报告表审批" }).textContent(), /暂停计时/);
  await Promise.all([page.waitForURL(/ok=/), page.click("form:has(input[name=op][value=resume]) button[type=submit]")]);
  const panel = page.locator("div.panel", { hasText: "建设项目环境影响报告表审批" }).last();
  await panel.locator("input[name=text]").fill("云环〔2026〕901号");
  await Promise.all([page.waitForURL(/ok=/), panel.locator("form:has(input[name=op][value=decide]) button[type=submit]").click()]);
  const row = await page.locator("#tasks tbody tr", { hasText: "建设项目环境影响报告表审批" }).textContent();
  assert.match(row, /准予许可/);
  assert.match(row, /云环〔2026〕901号/);
  const timeline = await page.locator("ol.timeline").textContent();
  for (const step of ["提交申请", "一次性告知", "补交材料", "材料齐全受理", "暂停计时（补正）", "恢复计时", "准予许可"]) {
    assert.ok(timeline.includes(step), `${step} on the timeline`);
  }
});
