// What a leader and a dispatch centre read: a period chosen on the dashboard, every headline
// figure opening exactly the appeals it counts, the board's reasons for not ranking, and the
// list's deadline colours (issue 16).
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

// The number of appeals (or, where one appeal counts twice, of counted facts) the list says it
// holds.
async function listed(page) {
  const facts = page.locator("#drill-facts");
  if ((await facts.count()) > 0) return Number(await facts.textContent());
  return Number(await page.locator("#list-total").textContent());
}

test("a period is chosen and each headline figure opens the appeals it counts", async () => {
  const leader = await loginAs(browser, server.base, "leader1");
  await leader.goto(`${server.base}/dashboard`);
  await leader.selectOption("select[name=period]", "quarter:2026-3");
  await Promise.all([leader.waitForNavigation(), leader.click("form.filters button[type=submit]")]);
  assert.match(leader.url(), /period=quarter%3A2026-3|period=quarter:2026-3/);
  assert.match(await leader.locator("main").textContent(), /2026-07-01 至 2026-09-30/);

  const checked = [];
  // The hotline's headline cards, and the petitions' own (信访, opened with regime=petition).
  for (const metric of [
    "timely_acceptance",
    "on_time_completion",
    "closed_loop",
    "one_shot",
    "timely_acceptance:regime=petition",
    "on_time_completion:regime=petition",
  ]) {
    const card = leader.locator(`div.card[data-metric="${metric}"]`);
    for (const part of ["den", "num"]) {
      const figure = Number(await card.locator(`a.${part}`).textContent());
      const href = await card.locator(`a.${part}`).getAttribute("href");
      await Promise.all([leader.waitForNavigation(), card.locator(`a.${part}`).click()]);
      assert.ok(await leader.locator("#drill").isVisible(), `${metric} ${part}: no drill banner`);
      assert.equal(await listed(leader), figure, `${metric} ${part} (${href})`);
      checked.push(figure);
      await leader.goBack();
    }
  }
  // The demo's third quarter has appeals behind the figures, not only zeros.
  assert.ok(checked.filter((n) => n > 0).length >= 6, `figures ${checked}`);
  await leader.context().close();
});

test("the public board says why a unit is not ranked and opens a unit's appeals", async () => {
  const leader = await loginAs(browser, server.base, "leader1");
  await leader.goto(`${server.base}/board?period=month:2026-10`);
  const text = await leader.locator("main").textContent();
  assert.match(text, /2026-10-01 至 2026-10-31/);
  // Either every unit has the minimum volume, or those without it say so.
  const unranked = leader.locator("text=/不足 \\d+ 件，不排名|本期没有回访，不排名/");
  if ((await unranked.count()) === 0) assert.doesNotMatch(text, /不排名/);
  // A unit's figure in the table opens that unit's appeals, as many as it says.
  const cell = leader.locator("table a[href*='counted_unit=']").first();
  const href = await cell.getAttribute("href");
  const part = new URL(href, server.base).searchParams.get("part");
  const figure = Number(await leader.locator(`table a[href="${href.replace(/"/g, '\\"')}"]`).last().textContent());
  await Promise.all([leader.waitForNavigation(), cell.click()]);
  const n = await listed(leader);
  if (part === "den" && Number.isFinite(figure)) assert.equal(n, figure, href);
  assert.ok(n > 0, href);
  await leader.context().close();
});

test("the list's countdown colours follow each appeal's next deadline", async () => {
  const dispatcher = await loginAs(browser, server.base, "dispatch1");
  await dispatcher.goto(`${server.base}/appeals?sort=due&size=100`);
  const rows = dispatcher.locator("main tbody tr");
  const seen = { running: 0, due_soon: 0, overdue: 0 };
  const colours = {};
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    const cls = (await row.getAttribute("class")) || "";
    const countdown = row.locator(".countdown");
    if ((await countdown.count()) === 0) continue;
    const words = await countdown.textContent();
    if (cls === "overdue") assert.match(words, /已超/, `row ${i}`);
    if (cls === "running" || cls === "due_soon") assert.match(words, /剩|即将到期/, `row ${i}`);
    if (cls in seen) {
      seen[cls]++;
      colours[cls] = await row.locator("td").first().evaluate((td) => getComputedStyle(td).borderLeftColor);
      const badge = row.locator(`.badge.${cls}`);
      assert.equal(await badge.count(), 1, `row ${i}: badge for ${cls}`);
    }
  }
  assert.ok(seen.overdue > 0 && seen.running > 0, JSON.stringify(seen));
  // Overdue rows carry a colour of their own at the left edge; due-soon ones another.
  if (colours.due_soon) assert.notEqual(colours.overdue, colours.due_soon);
  assert.notEqual(colours.overdue, colours.running);

  // Sorted by one deadline: only appeals whose reply deadline runs, soonest first.
  await dispatcher.selectOption("select[name=sort]", "due:reply");
  await Promise.all([dispatcher.waitForNavigation(), dispatcher.click("form.filters button[type=submit]")]);
  assert.match(await dispatcher.locator("main").textContent(), /只列出答复期限正在计时的工单/);
  await dispatcher.context().close();
});

test("several appeals are supervised at once from the list, after a confirmation", async () => {
  const supervisor = await loginAs(browser, server.base, "supervisor1");
  await supervisor.goto(`${server.base}/appeals?status=in_progress&sort=due`);
  const picks = supervisor.locator("input[name=pick]");
  const n = await picks.count();
  assert.ok(n >= 2, `only ${n} appeals to pick`);
  // A supervisor supervises; dispatching is not offered.
  assert.equal(await supervisor.locator("button:text-is('批量交办')").count(), 0);
  await picks.nth(0).check();
  await picks.nth(1).check();
  await supervisor.fill("fieldset.bulk input[name=note]", "县领导批示：本周内答复群众");
  let asked = "";
  supervisor.removeAllListeners("dialog");
  supervisor.on("dialog", (d) => {
    asked = d.message();
    d.accept();
  });
  await Promise.all([supervisor.waitForNavigation(), supervisor.click("button:text-is('批量督办')")]);
  assert.match(asked, /确认对勾选的工单执行批量操作/);
  assert.match(await supervisor.locator("#bulk-summary").textContent(), /已督办 2 件/);
  await supervisor.context().close();
});
