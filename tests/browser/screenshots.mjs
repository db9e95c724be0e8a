// Saves PNG screenshots of the console's main pages of the demo county into docs/screenshots/,
// so anyone can see the console without running it: `npm run screenshots` (after `cargo build`).
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { startServer, openBrowser, loginAs } from "./server.mjs";

const out = resolve(import.meta.dirname, "../../docs/screenshots");
mkdirSync(out, { recursive: true });
const server = await startServer({ appeals: 3000 });
const browser = await openBrowser();
try {
  const shots = [
    ["login", null, "/login"],
    ["home-dispatcher", "dispatch1", "/"],
    ["dispatch-queue", "dispatch1", "/queue/dispatch"],
    ["intake", "operator1", "/appeals/new"],
    ["inbox-department", "dept01", "/queue/inbox"],
    ["inbox-township", "town01", "/queue/inbox"],
    ["visits", "visit1", "/queue/visits"],
    ["supervision", "supervisor1", "/queue/supervision"],
    ["list", "leader1", "/appeals?sort=due"],
    ["search", "leader1", "/appeals?q=" + encodeURIComponent("路灯 人民路")],
    ["admin", "admin", "/admin"],
    ["dashboard", "leader1", "/dashboard"],
    ["board", null, "/board"],
    ["portal", null, "/portal"],
    ["notices-department", "dept01", "/notices"],
    ["notices-admin", "admin", "/notices"],
    ["petitions", "leader1", "/appeals?regime=petition&status=closed"],
    ["campaign", "leader1", "/campaigns/1"],
    ["campaign-weekly", "leader1", "/campaigns/2/weekly"],
    ["evaluation", "dispatch1", "/evaluations/3"],
    ["evaluation-board", null, "/board/evaluations"],
  ];
  for (const [name, login, path] of shots) {
    let page;
    if (login) {
      page = await loginAs(browser, server.base, login);
    } else {
      page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" })).newPage();
    }
    await page.goto(server.base + path);
    if (name === "dashboard" || name === "campaign") await page.waitForTimeout(1500); // let the charts draw
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: name === "dashboard" || name === "campaign" || name === "evaluation" });
    if (name === "list") {
      // The detail page of the first appeal in the list.
      await page.locator("td.num a").first().click();
      await page.waitForLoadState("load");
      await page.screenshot({ path: join(out, "detail.png"), fullPage: true });
      // Its printable work order.
      await page.goto(page.url().split("?")[0] + "/print");
      await page.screenshot({ path: join(out, "work-order.png"), fullPage: true });
    }
    if (name === "petitions") {
      // A closed petition: its notices (信访文书), and the printed 信访处理意见书.
      await page.locator("td.num a").first().click();
      await page.waitForLoadState("load");
      await page.screenshot({ path: join(out, "detail-petition.png"), fullPage: true });
      const notice = page.locator("#documents ~ div a[href*='/documents/']").last();
      if ((await notice.count()) > 0) {
        await page.goto(server.base + (await notice.getAttribute("href")));
        await page.screenshot({ path: join(out, "petition-notice.png"), fullPage: true });
      }
    }
    if (name === "portal") {
      // The portal as a citizen sees it on a phone.
      const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, locale: "zh-CN" })).newPage();
      await phone.goto(server.base + "/portal");
      await phone.screenshot({ path: join(out, "portal-phone.png"), fullPage: true });
      await phone.context().close();
    }
    if (name === "dispatch-queue") {
      // An appeal awaiting dispatch, as the dispatcher sees it: the smart dispatch panel.
      await page.locator("td.num a").first().click();
      await page.waitForLoadState("load");
      await page.screenshot({ path: join(out, "detail-dispatch.png"), fullPage: true });
    }
    if (name === "intake") {
      // Suggestions and possible duplicates appear while the operator types.
      await page.fill("#title", "路灯不亮");
      await page.fill("#address", "桃源镇东门村人民路12号");
      await page.fill("#content", "来电人反映桃源镇东门村人民路附近路灯问题，已持续一段时间，影响周边群众正常生活。");
      await page.locator("#suggestions .hint").waitFor({ timeout: 5000 });
      await page.screenshot({ path: join(out, "intake-suggestions.png"), fullPage: true });
    }
    if (name === "home-dispatcher") {
      const phone = await loginAs(browser, server.base, "dept01", { width: 390, height: 844 });
      await phone.goto(server.base + "/appeals?sort=due");
      await phone.screenshot({ path: join(out, "phone-list.png") });
      await phone.context().close();
    }
    await page.context().close();
    console.log(`saved ${name}.png`);
  }
} finally {
  await browser.close();
  await server.stop();
}
