// The loop's outer parts in the browser: a dispatch with an assisting unit, whose inbox lists it
// with its own deadline and whose opinion the lead reads before replying; the units' notices; a
// printable work order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, loginAs } from "./server.mjs";

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

test("an assisting unit gives its opinion, the lead reads it, the work order prints", async () => {
  // The operator registers; the centre dispatches to the housing bureau with transport assisting.
  const operator = await loginAs(browser, server.base, "operator1");
  await operator.goto(`${server.base}/appeals/new`);
  await operator.fill("#title", "东门路井盖缺失");
  await operator.fill("#content", "东门路与人民路交叉口井盖缺失，夜间车辆行人极易跌落，请尽快处理。");
  await operator.fill("#category_text", "城乡建设 / 市政设施 / 路灯");
  await operator.dispatchEvent("#category_text", "input");
  await operator.selectOption("#township", { label: "云溪镇" });
  await Promise.all([operator.waitForURL(/ok=registered/), operator.click("main button[type=submit]")]);
  const number = new URL(operator.url()).pathname.split("/").pop();
  await operator.context().close();

  const dispatcher = await loginAs(browser, server.base, "dispatch1");
  await dispatcher.goto(`${server.base}/appeals/${number}`);
  const form = await actionForm(dispatcher, "交办");
  await form.locator("select[name=lead]").selectOption({ label: "县住房和城乡建设局" });
  await form.locator("select[name=assisting]").selectOption([{ label: "县交通运输局" }]);
  await submit(dispatcher, form, "交办");
  assert.equal(await dispatcher.locator(".flash").textContent(), "已交办");
  await dispatcher.context().close();

  // The assisting unit's inbox has it under its own heading, with the opinion's deadline.
  const transport = await loginAs(browser, server.base, "dept02");
  await transport.goto(`${server.base}/queue/inbox`);
  const section = transport.locator("h2", { hasText: "协办待提交意见" }).locator("xpath=following-sibling::div[1]");
  const row = section.locator("tr", { has: transport.locator(`a:text-is("${number}")`) });
  assert.match(await row.textContent(), /协办意见 \d{4}-\d{2}-\d{2}/);
  await row.locator(`a:text-is("${number}")`).click();
  await transport.waitForURL(new RegExp(number));
  const opinion = await actionForm(transport, "提交协办意见");
  // Empty: refused in place.
  await opinion.locator("textarea[name=opinion]").fill("   ");
  await opinion.locator("textarea[name=opinion]").evaluate((t) => t.removeAttribute("required"));
  await submit(transport, opinion, "提交协办意见");
  assert.match(await transport.locator(".error").textContent(), /协办意见：不能为空/);
  const again = await actionForm(transport, "提交协办意见");
  await again.locator("textarea[name=opinion]").fill("本局已安排养护站当晚设置围挡，井盖由住建局更换。");
  await submit(transport, again, "提交协办意见");
  assert.equal(await transport.locator(".flash").textContent(), "已提交协办意见");
  await transport.context().close();

  // The lead signs and sees the opinion in its reply form.
  const housing = await loginAs(browser, server.base, "dept01");
  await housing.goto(`${server.base}/appeals/${number}`);
  await submit(housing, await actionForm(housing, "签收"), "签收");
  const reply = await actionForm(housing, "答复");
  assert.match(await reply.locator(".assists").textContent(), /县交通运输局：本局已安排养护站当晚设置围挡/);
  // The unit's notices list the dispatch (the notifier runs every few seconds).
  await housing.goto(`${server.base}/notices`);
  for (let i = 0; i < 20 && !(await housing.locator(`td a:text-is("${number}")`).count()); i++) {
    await housing.waitForTimeout(1000);
    await housing.reload();
  }
  assert.ok(await housing.locator(`tr:has(a:text-is("${number}"))`, { hasText: "新交办" }).count(), "the dispatch notice");
  // The printable work order: one A4 sheet with the opinion and room for signatures.
  const print = await housing.context().newPage();
  await print.goto(`${server.base}/appeals/${number}/print`);
  const sheet = await print.locator("section.workorder").textContent();
  assert.match(sheet, new RegExp(number));
  assert.match(sheet, /协办意见县交通运输局：本局已安排养护站/);
  assert.match(sheet, /承办人签字/);
  await print.emulateMedia({ media: "print" });
  assert.equal(await print.locator(".toolbar").first().isVisible(), false, "the toolbar does not print");
  await housing.context().close();
});
