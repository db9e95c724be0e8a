// 一件事一次办 in the console (issue 19): the window fills the package's one form (a wrong
// credit code comes back with what was typed; a scan uploaded with it), gives the one-time
// notice, which the applicant answers online with the receipt's query code, and accepts; a unit stops its task's clock for a correction, starts it again and
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
  await server?.stop();
});

let applicationUrl;

/// A small PDF (its header and end-of-file marker, as uploads are checked).
function pdf(text) {
  return Buffer.from(`%PDF-1.4\n% ${text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`);
}

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
  // Everything but the environmental report: the design scanned, the rest seen on paper.
  for (const box of await page.locator("input[name=handed]").all()) {
    const code = await box.getAttribute("value");
    if (code !== "eia" && code !== "design") await box.check();
  }
  await page.setInputFiles("input[name='material:design']", { name: "设计方案.pdf", mimeType: "application/pdf", buffer: pdf("design") });
  await page.click("form[action^='/approvals/packages'] button[type=submit]");
  // A wrong check character: said, and nothing typed is lost.
  assert.match(await page.locator("[role=alert]").textContent(), /校验位/);
  assert.equal(await page.inputValue("#applicant"), "云溪县测试香料有限公司");
  assert.equal(await page.inputValue("#f-site"), "香料产业园9号地块");
  assert.ok(await page.locator("input[name=handed][value=project_form]").isChecked());
  // A chosen file is not kept by the browser: chosen again.
  await page.setInputFiles("input[name='material:design']", { name: "设计方案.pdf", mimeType: "application/pdf", buffer: pdf("design") });
  await page.fill("#credit_code", "91331127MA2B7Q8X1P");
  await Promise.all([page.waitForURL(/\/approvals\/\d+\?ok=/), page.click("form[action^='/approvals/packages'] button[type=submit]")]);
  applicationUrl = page.url().split("?")[0];
  assert.match(await page.locator("[role=status]").textContent(), /申请已提交/);
  assert.match(await page.locator("#handed").textContent(), /环境影响报告表\s*未收/);
  // The scan is stored with the application and opens from its row.
  const link = page.locator("#handed a", { hasText: "设计方案.pdf" });
  const scan = await page.request.get(new URL(await link.getAttribute("href"), server.base).href);
  assert.equal(scan.status(), 200);
  assert.equal((await scan.body()).toString(), pdf("design").toString());
  // The one-time notice, with its confirmation.
  await page.check("input[name=missing][value=eia]");
  await page.fill("#note", "请补交盖章的环境影响报告表");
  await Promise.all([page.waitForURL(/ok=/), page.click("form:has(input[name=op][value=notice]) button[type=submit]")]);
  assert.match(await page.locator("dl.facts").first().textContent(), /已一次性告知/);
  assert.equal(await page.locator("input[name=missing]").count(), 0, "told once: the form is gone");
  // The receipt's query code (a new tab), with which the applicant answers online.
  const [receipt] = await Promise.all([
    page.context().waitForEvent("page"),
    page.click("form[action$='/receipt'] button[type=submit]"),
  ]);
  await receipt.waitForLoadState();
  const code = (await receipt.locator("#query-code").textContent()).trim();
  await receipt.close();
  assert.match(code, /^\d{8}$/);
  const number = applicationUrl.split("/").pop();
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(`${server.base}/portal/approvals`);
  await phone.fill("#a-number", number);
  await phone.fill("#a-code", code);
  await phone.click("#approval-track button[type=submit]");
  assert.match(await phone.locator("#approval-progress").textContent(), /一次性告知：请补正以下材料/);
  await phone.click("#answer button[type=submit]");
  assert.match(await phone.locator("[role=alert]").textContent(), /请为需要补交的材料选择文件/);
  await phone.setInputFiles("#m-eia", { name: "环评报告表.pdf", mimeType: "application/pdf", buffer: pdf("eia") });
  await phone.click("#answer button[type=submit]");
  assert.match(await phone.locator("[role=status]").textContent(), /已收到补交的 1 项材料/);
  assert.equal(await phone.locator("#answer").count(), 0, "nothing more to hand in");
  await phone.close();
  // Handed in online; the window accepts: every matter starts at once.
  await page.reload();
  assert.match(await page.locator("#handed").textContent(), /环评报告表\.pdf/);
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
