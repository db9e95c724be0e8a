// Starts `bihuan demo` on a fresh database and a free port, with the clock set to a fixed day so
// that the calendar never runs past the loaded years, and opens Debian's Chromium.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");

function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

export function binary() {
  for (const p of [process.env.BIHUAN_BIN, join(root, "target/release/bihuan"), join(root, "target/debug/bihuan")]) {
    if (p && existsSync(p)) return p;
  }
  throw new Error("bihuan is not built: run `cargo build` first (or set BIHUAN_BIN)");
}

export async function startServer({ appeals = 400 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "bihuan-browser-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(binary(), ["demo", "--db", join(dir, "demo.db"), "--listen", `127.0.0.1:${port}`, "--appeals", String(appeals)], {
    env: { ...process.env, BIHUAN_NOW: process.env.BIHUAN_NOW || "2026-11-20T09:00:00+08:00", RUST_LOG: "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  proc.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {}
    if (proc.exitCode !== null) throw new Error(`bihuan demo exited: ${log}`);
    if (Date.now() > deadline) throw new Error(`bihuan demo did not start in time: ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    // Waits for the server to exit before removing its directory: the search index is still being
    // written while it shuts down, and removing it under the server's feet fails with ENOTEMPTY.
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((ok) => proc.once("exit", ok));
        proc.kill("SIGTERM");
        const killed = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(killed);
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

export async function openBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

/// Logs in as `login` in a fresh context and returns the page.
export async function loginAs(browser, base, login, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: "zh-CN" });
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept());
  await page.goto(`${base}/login`);
  await page.fill("#login", login);
  await page.fill("#password", "bihuan2026");
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click("button[type=submit]")]);
  return page;
}
