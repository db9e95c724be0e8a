// One appeal carried through the whole loop in the browser, each role logged in as itself; a form
// with errors; an attempt to open another unit's appeal.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, loginAs } from "./server.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/// Opens the action form titled `title` on an appeal page and returns it.
async function actionForm(page, title) {
  const details = page.locator("details", { has: page.locator(`summary:text-is("${title}")`) });
  if (!(await details.getAttribute("open").then((v) => v !== null))) {
    await details.locator("summary").click();
  }
  return details.locator("form");
}

async function submit(page, form, title) {
  await Promise.all([page.waitForLoadState("load"), page.waitForNavigation(), form.locator(`button:text-is("${title}")`).click()]);
}

let number;

test("an operator's form shows errors beside the fields, then registers", async () => {
  const page = await loginAs(browser, server.base, "operator1");
  await page.goto(`${server.base}/appeals/new`);
  await page.fill("#title", "路灯不亮<script>alert(1)</script>");
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  // The content was missing: the error sits beside the field and what was typed is kept.
  const err = page.locator("#content + .field-error");
  assert.equal(await err.textContent(), "请填写诉求内容");
  assert.equal(await page.inputValue("#title"), "路灯不亮<script>alert(1)</script>");
  assert.ok(await page.locator("#content.invalid").count());

  await page.fill("#category_text", "城乡建设 / 市政设施 / 路灯");
  await page.dispatchEvent("#category_text", "input");
  assert.notEqual(await page.inputValue("#category"), "");
  await page.fill("#content", "东门路12号附近路灯连续一周不亮,夜间行人不便。");
  // While the operator types, smart dispatch suggests a category and lead units.
  await page.locator("#suggestions .hint", { hasText: "建议" }).waitFor({ timeout: 10000 });
  await page.selectOption("#township", { label: "云溪镇" });
  await page.fill("#address", "东门路12号");
  await page.fill("#citizen_name", "李四");
  await page.fill("#phone", "13912345678");
  // Operators work by keyboard: Ctrl+Enter submits.
  await page.focus("#content");
  await Promise.all([page.waitForURL(/\/appeals\/\d{4}-\d{2}-\d{6}\?ok=registered/), page.keyboard.press("Control+Enter")]);
  number = new URL(page.url()).pathname.split("/").pop();
  assert.match(number, /^\d{4}-\d{2}-\d{6}$/);
  assert.equal(await page.locator(".flash").textContent(), "已登记");
  // Text the citizen wrote is shown escaped, never run.
  assert.ok((await page.locator("h2").first().textContent()).includes("<script>"));
  await page.context().close();
});

test("the centre dispatches with the deadlines shown first", async () => {
  const page = await loginAs(browser, server.base, "dispatch1");
  await page.goto(`${server.base}/appeals/${number}`);
  // The smart dispatch panel: the catalogue sends 城乡建设 to the housing bureau.
  const panel = page.locator(".panel.smart");
  assert.ok((await panel.locator("h2").textContent()).includes("智能派单建议"));
  assert.ok((await panel.textContent()).includes("县住房和城乡建设局"));
  const form = await actionForm(page, "交办");
  await form.locator("select[name=lead]").selectOption({ label: "县住房和城乡建设局" });
  await form.locator(".preview", { hasText: "若现在交办" }).waitFor();
  await submit(page, form, "交办");
  assert.equal(await page.locator(".flash").textContent(), "已交办");
  assert.ok((await page.locator("h1").textContent()).includes("待签收"));
  await page.context().close();
});

test("another unit cannot open the appeal", async () => {
  const page = await loginAs(browser, server.base, "dept02");
  const resp = await page.goto(`${server.base}/appeals/${number}`);
  assert.equal(resp.status(), 403);
  assert.ok((await page.locator(".error").textContent()).includes("不属于本单位"));
  await page.context().close();
});

test("the unit signs and replies", async () => {
  const page = await loginAs(browser, server.base, "dept01");
  await page.goto(`${server.base}/queue/inbox`);
  await page.locator(`a:text-is("${number}")`).first().click();
  await page.waitForURL(new RegExp(number));
  await submit(page, await actionForm(page, "签收"), "签收");
  assert.equal(await page.locator(".flash").textContent(), "已签收");
  // A photo of the repair, stored with the appeal and named in the reply.
  // A 1×1 PNG, whole (uploads are checked to the end, not by their first bytes).
  const png = Buffer.from(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
      "1f15c4890000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082",
    "hex",
  );
  await page.setInputFiles("input[type=file]", { name: "现场照片.png", mimeType: "image/png", buffer: png });
  await Promise.all([page.waitForNavigation(), page.click("button:text-is('上传附件')")]);
  assert.equal(await page.locator(".flash").textContent(), "已上传 1 个附件");
  // A file that is not what its name says is refused with a reason.
  await page.setInputFiles("input[type=file]", { name: "伪装.png", mimeType: "image/png", buffer: Buffer.from("<html></html>") });
  await Promise.all([page.waitForNavigation(), page.click("button:text-is('上传附件')")]);
  assert.ok((await page.locator(".error").textContent()).includes("只能上传"));
  const reply = await actionForm(page, "答复");
  await reply.locator("textarea[name=text]").fill("已安排人员更换灯泡,路灯恢复照明。");
  await submit(page, reply, "答复");
  assert.equal(await page.locator(".flash").textContent(), "已答复");
  assert.ok((await page.locator("dd", { hasText: "已解决" }).count()) > 0);
  await page.context().close();
});

test("return visit staff record a satisfied visit", async () => {
  const page = await loginAs(browser, server.base, "visit1");
  await page.goto(`${server.base}/appeals/${number}`);
  const form = await actionForm(page, "回访");
  await form.locator("select[name=contacted]").selectOption("yes");
  await form.locator("select[name=resolved]").selectOption("yes");
  await form.locator("select[name=rating]").selectOption("satisfied");
  await submit(page, form, "回访");
  assert.equal(await page.locator(".flash").textContent(), "已记录回访");
  await page.context().close();
});

test("the centre closes it after confirming", async () => {
  const page = await loginAs(browser, server.base, "dispatch1");
  await page.goto(`${server.base}/appeals/${number}`);
  let asked = "";
  page.removeAllListeners("dialog");
  page.on("dialog", (d) => {
    asked = d.message();
    d.accept();
  });
  await submit(page, await actionForm(page, "办结"), "办结");
  assert.ok(asked.includes("确认办结"), asked);
  assert.equal(await page.locator(".flash").textContent(), "已办结");
  assert.ok((await page.locator("h1").textContent()).includes("已办结"));
  const steps = await page.locator("ol.timeline li strong").allTextContents();
  assert.deepEqual(steps, ["受理登记", "交办", "签收", "答复", "回访", "办结"]);
  await page.context().close();
});

test("every role's home page loads, also on a phone", async () => {
  for (const login of ["operator1", "dispatch1", "dept01", "town01", "visit1", "supervisor1", "leader1", "grid1", "admin"]) {
    const page = await loginAs(browser, server.base, login, { width: 390, height: 800 });
    assert.ok(await page.locator("h1").count(), login);
    assert.ok(await page.locator(".cards .card").count(), login);
    await page.context().close();
  }
});

test("a leader's dashboard draws its charts", async () => {
  const page = await loginAs(browser, server.base, "leader1");
  // The content security policy refuses inline scripts and styles; nothing of ours may need one.
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  const resp = await page.goto(`${server.base}/dashboard`);
  assert.match(resp.headers()["content-security-policy"], /frame-ancestors 'none'/);
  assert.equal(resp.status(), 200);
  await page.locator("#trend canvas").waitFor();
  assert.ok(await page.locator("#towns canvas").count());
  assert.ok((await page.locator(".card .l").allTextContents()).includes("闭环率"));
  // The chart sizes come from the style sheet, not from inline styles.
  assert.equal((await page.locator("#trend").boundingBox()).height, 360);
  await page.goto(`${server.base}/appeals`);
  assert.deepEqual(violations, []);
  await page.context().close();
});

test("an administrator adds a unit and a category, and a broken policy edit is refused with the reason", async () => {
  const page = await loginAs(browser, server.base, "admin");
  await page.goto(`${server.base}/admin`);
  const unitForm = page.locator("form[action='/admin/units']");
  await page.locator("summary:text-is('新增或修改单位')").click();
  await unitForm.locator("input[name=name]").fill("西门社区测试");
  await unitForm.locator("select[name=kind]").selectOption("village");
  await unitForm.locator("select[name=parent]").selectOption({ label: "云溪镇" });
  await unitForm.locator("input[name=aliases]").fill("西门、西门片区");
  await Promise.all([page.waitForNavigation(), unitForm.locator("button").click()]);
  assert.equal(await page.locator(".flash").textContent(), "已保存单位「西门社区测试」");
  // A village under a department is refused with the reason.
  await page.locator("summary:text-is('新增或修改单位')").click();
  await unitForm.locator("input[name=name]").fill("错误的村");
  await unitForm.locator("select[name=kind]").selectOption("village");
  await unitForm.locator("select[name=parent]").selectOption({ label: "云溪县" });
  await Promise.all([page.waitForNavigation(), unitForm.locator("button").click()]);
  assert.ok((await page.locator(".error").textContent()).length > 0);
  const catForm = page.locator("form[action='/admin/categories']");
  await page.locator("summary:text-is('新增分类')").click();
  await catForm.locator("input[name=name]").fill("测试分类");
  await Promise.all([page.waitForNavigation(), catForm.locator("button").click()]);
  assert.equal(await page.locator(".flash").textContent(), "已新增分类「测试分类」");
  await page.locator("summary:text-is('修改期限规则')").click();
  await page.locator("form[action='/admin/policies'] textarea").fill("[]");
  await Promise.all([page.waitForNavigation(), page.locator("form[action='/admin/policies'] button").click()]);
  assert.ok((await page.locator(".error").textContent()).includes("期限规则无效"));
  await page.context().close();
});

test("at intake, a suggested category and the township found in the text fill the form when clicked", async () => {
  const page = await loginAs(browser, server.base, "operator1");
  await page.goto(`${server.base}/appeals/new`);
  await page.fill("#title", "路灯不亮");
  await page.fill("#content", "桃源镇东门村人民路的路灯连续一周不亮，晚上行人看不清路。");
  await page.dispatchEvent("#content", "input");
  const chip = page.locator("#suggestions button[data-fill-category]").first();
  await chip.waitFor({ timeout: 10000 });
  await chip.click();
  assert.notEqual(await page.inputValue("#category"), "");
  assert.equal(await page.inputValue("#category_text"), await chip.getAttribute("data-fill-category-text"));
  const town = page.locator("#suggestions button[data-fill-township]");
  await town.waitFor({ timeout: 10000 });
  await town.click();
  assert.equal(await page.inputValue("#township"), await town.getAttribute("data-fill-township"));
  assert.equal(await page.locator("#township option:checked").textContent(), "桃源镇");
  await page.context().close();
});
