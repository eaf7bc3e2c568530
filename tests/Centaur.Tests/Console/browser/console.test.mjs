// Drives the web console in Debian's Chromium (headless) for BrowserTests.cs: sign in, open a thread, watch a turn
// stream in live (started by the C# test when this script prints "ready"), send a message from the page, and take a
// screenshot. Prints one JSON line per step; the last one is the result. No JavaScript errors are allowed.
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("CONSOLE_URL").replace(/\/$/, "");
const apiKey = env("API_KEY");
const threadKey = env("THREAD_KEY");
const expected = env("EXPECT_TEXT");
const screenshot = env("SCREENSHOT");
const say = (obj) => console.log(JSON.stringify(obj));
const timeout = 60_000;

const errors = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // As root in a container Chromium needs --no-sandbox; the network here is closed, so everything that phones
  // home at start-up is switched off (otherwise its refused connections are retried many at a time).
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-dev-shm-usage"],
});
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("console", (msg) => { if (msg.type() === "error") errors.push(`console: ${msg.text()}`); });
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));

  // 1. The console sends an anonymous visitor to the sign-in page and keeps where they were going.
  await page.goto(`${base}/console`);
  if (!page.url().includes("/console/login?returnUrl=")) throw new Error(`expected the sign-in page, got ${page.url()}`);

  // 2. A wrong key is refused with a message; the right one lands on the thread list.
  await page.fill("#key", "ck_not_a_real_key");
  await page.click("button[type=submit]");
  await page.getByText("That key is unknown or revoked.").waitFor();
  await page.fill("#key", apiKey);
  await Promise.all([page.waitForURL(`${base}/console`), page.click("button[type=submit]")]);
  say({ step: "signed-in", url: page.url() });

  // 3. The thread is listed; open it.
  const link = page.locator("a.key", { hasText: threadKey });
  await link.waitFor();
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-threads.png"), fullPage: true });
  await Promise.all([page.waitForURL(/\/console\/thread\?key=/), link.click()]);
  await page.locator("#thread").waitFor();
  await page.evaluate(() => { window.__centaurMarker = "same page"; });
  say({ step: "ready" });

  // 4. The C# test starts a turn now: it must stream into this page, partial text first, without a reload.
  const answer = page.locator("#live-answer");
  await page.waitForFunction((full) => {
    const text = document.getElementById("live-answer").textContent;
    return text.length > 0 && text !== full;
  }, expected, { timeout, polling: 20 });
  const partial = await answer.textContent();
  say({ step: "partial", text: partial });
  await page.waitForFunction((full) => document.getElementById("live-answer").textContent === full, expected, { timeout });
  await page.waitForFunction(() => document.getElementById("live-state").textContent === "succeeded", null, { timeout });
  if (await page.evaluate(() => window.__centaurMarker) !== "same page") throw new Error("the page reloaded");
  const rows = await page.locator("#event-log li.ev-execution_state").count();
  say({ step: "streamed", partial, rows });

  // 5. A message sent from the page goes through the public API with the cookie and streams back too.
  await page.fill("#send textarea", "and from the browser?");
  await page.click("#send button");
  await page.waitForFunction(() => /: and from the browser\?$/.test(document.getElementById("live-answer").textContent), null, { timeout });
  await page.waitForFunction(() => document.getElementById("live-state").textContent === "succeeded", null, { timeout });
  await page.locator("#transcript li.msg.user", { hasText: "and from the browser?" }).waitFor();
  // The side column (sandbox, executions, tool calls, side effects, egress) was refreshed in place.
  await page.locator(".col-side td", { hasText: "centaur.thread_status" }).first().waitFor();
  if (process.env.EXPECT_EGRESS_HOST) await page.locator(".col-side code", { hasText: process.env.EXPECT_EGRESS_HOST }).waitFor();

  await page.screenshot({ path: screenshot, fullPage: true });

  // 6. "New conversation" spawns a console thread through the API and opens it.
  await page.goto(`${base}/console`);
  await Promise.all([page.waitForURL(/\/console\/thread\?key=console%3A/), page.click("#new-thread")]);
  await page.getByText("Nothing said yet.").waitFor();
  say({ step: "new-thread", url: page.url() });
  say({ ok: errors.length === 0, errors, partial, screenshot });
} catch (err) {
  if (page) await page.screenshot({ path: screenshot.replace(/\.png$/, "-failure.png"), fullPage: true }).catch(() => {});
  say({ ok: false, error: String(err && err.stack || err), errors });
  process.exitCode = 1;
} finally {
  await browser.close();
}
