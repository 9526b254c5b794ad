// The pages as a new user meets them: the first screen and the name form (trimmed,
// refused with a message when empty, a failed login not remembered), the space reached and
// opened with the keyboard (the list of objects, a visible focus ring, panels announced,
// buttons that say what they act on, human presence words), avatars that do not pile up
// and initials by grapheme, the meeting page's id check, every page at 390, 768, 1024 and
// 1440 px without horizontal scrolling, and axe-core on every page with no serious or
// critical violation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { WIDTHS, axeProblems, openMeeting, overflowX, sleep, startServer, startSuite, stopSuite, until } from "./harness.mjs";

let server;
let browser;

before(async () => ({ server, browser } = await startSuite(startServer)));
after(() => stopSuite({ server, browser }));

async function newPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return { context, page, errors };
}

/** The space as `name`, logged in through `?name=`, with the floor drawn. */
async function enterSpace(name, viewport) {
  const u = await newPage(viewport);
  await u.page.goto(`${server.base}/?name=${encodeURIComponent(name)}`);
  await u.page.waitForSelector("#conn.open");
  await u.page.waitForFunction(() => window.meetbridge?.objects?.size > 0);
  return u;
}

test("first screen: what the demo holds, and a name form that explains what it refuses", async () => {
  const { context, page } = await newPage();
  await page.goto(`${server.base}/`);
  await page.waitForSelector("#login:not([hidden])");
  const intro = await page.textContent("#login .intro");
  assert.match(intro, /objects/);
  assert.match(intro, /meeting page/);
  assert.match(intro, /dev view/);
  assert.equal(await page.isVisible("#space"), false, "no floor under the login form");
  assert.equal(await page.getAttribute("#name", "maxlength"), "64");
  assert.deepEqual(await axeProblems(page), [], "the login screen");

  // Empty (spaces only): refused, in words, and the form stays.
  await page.fill("#name", "   ");
  await page.click("#login button");
  assert.match(await page.textContent("#login-error"), /Enter a name/);
  assert.equal(await page.getAttribute("#name", "aria-invalid"), "true");
  assert.equal(await page.isVisible("#space"), false);

  // A failed login: said in words, the name not remembered in the tab, the form still there.
  await page.route("**/api/dev/login", (route) => route.fulfill({ status: 503, contentType: "application/json", body: '{"code":"internal","message":"boom"}' }));
  await page.fill("#name", "  Zoë  ");
  await page.click("#login button");
  await until("the login error", async () => /Logging in failed/.test(await page.textContent("#login-error")));
  assert.doesNotMatch(await page.textContent("body"), /internal|boom|\{/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("meetbridge-name")), null);
  // Then it works, with the name trimmed, and is remembered.
  await page.unroute("**/api/dev/login");
  await page.click("#login button");
  await page.waitForSelector("#space:not([hidden])");
  assert.equal(await page.isVisible("#login"), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("meetbridge-name")), "Zoë");
  assert.equal(await page.textContent("#me"), "Zoë");
  await context.close();
});

test("the space with the keyboard: a list of objects, a focus ring, panels announced, buttons that name their object", async () => {
  const { context, page, errors } = await enterSpace("Kim");
  // The floor has focus and shows it.
  assert.equal(await page.evaluate(() => document.activeElement.id), "floor");
  await page.keyboard.press("ArrowLeft"); // keyboard use: focus-visible
  const ring = await page.evaluate(() => getComputedStyle(document.getElementById("floor")).outlineStyle);
  assert.notEqual(ring, "none", "a visible focus ring on the floor");
  // No protocol words on screen.
  const floorText = await page.textContent("#floor");
  assert.doesNotMatch(floorText, /static|dynamic|\/plugins\//);

  // Tab to the list of objects and open one with Enter.
  const names = await page.$$eval("#object-list button", (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(names.sort(), ["Walk to Alice's chat", "Walk to Poll", "Walk to Shared notes"]);
  await page.focus('#object-list button[data-object="demo-notes"]');
  await page.keyboard.press("Enter");
  const panel = '.panel[data-object="demo-notes"]';
  await page.waitForSelector(`${panel} iframe`);
  assert.equal(await page.getAttribute(`${panel} button.link`, "aria-label"), "Link Shared notes");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Link Shared notes", "focus goes to the panel");
  assert.equal(await page.textContent('#object-list li:has([data-object="demo-notes"]) .state'), "near");
  await until("the announcement", async () => /Shared notes opened/.test(await page.textContent("#announce")));
  assert.equal(await page.getAttribute("#announce", "aria-live"), "polite");
  assert.match(await page.textContent(`${panel} .what`), /You are near Shared notes: Link to take part/);
  await until("near in the people line", async () => /Kim \(you\): near/.test(await page.textContent(`${panel} .people`)));
  await page.keyboard.press("Enter"); // Link
  await until("linked", async () => /Kim \(you\): linked/.test(await page.textContent(`${panel} .people`)));
  assert.equal(await page.getAttribute(`${panel} button.link`, "aria-label"), "Unlink Shared notes");
  assert.match(await page.textContent("#announce"), /Linked to Shared notes/);
  assert.doesNotMatch(await page.textContent(`${panel} .people`), /subscribed|joined/);
  assert.deepEqual(await axeProblems(page), [], "the space with a panel open");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the meeting's chat as an object of the space says what it is and how to write", async () => {
  const m = await newPage();
  await m.page.goto(`${server.base}/meeting/?meeting=weekly&name=Hana`);
  await m.page.waitForFunction(() => window.meeting?.state?.pluginReady);
  const s = await enterSpace("Ivo");
  await s.page.click('#object-list button[data-object="weekly"]');
  const panel = '.panel[data-object="weekly"]';
  await s.page.waitForSelector(`${panel} iframe`);
  assert.match(await s.page.textContent(`${panel} .what`), /This is the meeting's chat: you can read it; Link to write/);
  const frame = await (await s.page.$(`${panel} iframe`)).contentFrame();
  await until("the chat's status line", async () => /meeting's chat: Link it to write/.test(await frame.textContent("#status")));
  assert.match(await s.page.textContent('.object[data-object="weekly"]'), /meeting chat/);
  await m.context.close();
  await s.context.close();
});

test("avatars at the same place are spread, long names are cut with a tooltip, initials by grapheme", async () => {
  const a = await enterSpace("🎉 Party Person");
  const b = await enterSpace("Bartholomew Maximilian Fitzgerald-Ashworth");
  // Both start at the same place: each sees two avatars, apart.
  await a.page.waitForSelector('.avatar[data-user="dev-bartholomew-maximilian-fitzgerald-ashworth"]');
  const spots = await a.page.$$eval(".avatar", (els) => els.map((e) => [e.style.left, e.style.top].join(",")));
  assert.equal(new Set(spots).size, spots.length, `no two avatars on one spot: ${spots}`);
  assert.equal(await a.page.evaluate(() => window.meetbridge.initials("🎉 Party Person")), "🎉P");
  assert.equal(await a.page.evaluate(() => window.meetbridge.initials("👩‍👩‍👧 family")), "👩‍👩‍👧F");
  assert.equal(await a.page.evaluate(() => window.meetbridge.initials("élodie durand")), "ÉD");
  const long = '.avatar[data-user="dev-bartholomew-maximilian-fitzgerald-ashworth"]';
  assert.equal(await a.page.getAttribute(long, "title"), "Bartholomew Maximilian Fitzgerald-Ashworth");
  const cut = await a.page.$eval(`${long} .label`, (l) => ({ sw: l.scrollWidth, cw: l.clientWidth, to: getComputedStyle(l).textOverflow }));
  assert.ok(cut.sw > cut.cw && cut.to === "ellipsis", JSON.stringify(cut));
  await a.context.close();
  await b.context.close();
});

test("on the meeting page a mention raises the badge, with @, while the chat is closed", async () => {
  const ann = await openMeeting(browser, server, { name: "Ann", meeting: "mentions" });
  const ben = await openMeeting(browser, server, { name: "Ben", meeting: "mentions" });
  for (const u of [ann, ben]) {
    await u.join();
    await u.waitFor("in the call", () => u.chatEval(() => window.chat.status === "joined"));
  }
  await ann.clickChatButton();
  await ann.waitFor("Ann's panel", async () => (await ann.state()).panelOpen);
  await ann.chatEval(() => window.chat.send("Plain hello"));
  await ben.waitFor("the badge", async () => (await ben.chatButton()).badge);
  assert.equal(await ben.page.textContent("#unread"), "1");
  await ann.chatEval(() => window.chat.send("@Ben can you share the slides?"));
  await ben.waitFor("the mention", async () => (await ben.state()).mentioned);
  assert.equal(await ben.page.textContent("#unread"), "@2");
  assert.equal(await ben.page.getAttribute("#unread", "aria-label"), "2 unread, you were mentioned");
  await ben.clickChatButton();
  await ben.waitFor("cleared", async () => !(await ben.state()).mentioned && (await ben.state()).unread === 0);
  const msg = (await ben.messages()).find((m) => m.text.startsWith("@Ben"));
  assert.equal(msg.mention, true, "highlighted for Ben");
  await ann.close();
  await ben.close();
});

test("the meeting page refuses a meeting id it cannot use, naming the allowed characters", async () => {
  const { context, page } = await newPage();
  await page.goto(`${server.base}/meeting/?meeting=${encodeURIComponent("team standup!")}&name=Lee`);
  const text = await page.locator(".fatal").textContent();
  assert.match(text, /“team standup!” cannot be a meeting id/);
  assert.match(text, /letters A–Z and a–z, digits 0–9, and - _ \./);
  assert.equal(await page.isVisible("#meeting"), false);
  assert.equal(await page.isVisible("#login"), false);
  assert.deepEqual(await axeProblems(page), []);
  await context.close();
});

test("every page at 390, 768, 1024 and 1440 px: no horizontal scrolling; the panel is a sheet on a phone", async () => {
  const space = await enterSpace("Wanda", { width: 1440, height: 900 });
  const dev = await newPage({ width: 1440, height: 900 });
  await dev.page.goto(`${server.base}/dev.html?object=demo-poll&users=2&names=Ann,Ben`);
  await dev.page.waitForSelector('iframe[data-object="demo-poll"]');
  const meeting = await openMeeting(browser, server, { name: "Mo", meeting: "widths", viewport: { width: 1440, height: 900 } });
  await meeting.join();
  await meeting.waitFor("in the call", () => meeting.chatEval(() => window.chat.status === "joined"));
  await meeting.page.click("#chat-toggle");
  // The space with a plugin open.
  await space.page.evaluate(() => window.meetbridge.walkTo("demo-notes"));
  await space.page.waitForSelector('.panel[data-object="demo-notes"] iframe');
  const pages = { space: space.page, dev: dev.page, meeting: meeting.page };
  for (const width of WIDTHS) {
    for (const [name, page] of Object.entries(pages)) {
      await page.setViewportSize({ width, height: 800 });
      await sleep(150);
      assert.ok((await overflowX(page)) <= 0, `${name} at ${width} px scrolls sideways by ${await overflowX(page)} px`);
    }
    const chat = meeting.chat();
    assert.ok((await overflowX(chat)) <= 0, `the meeting's chat at ${width} px`);
    // Send is on screen, not under anything.
    const box = await (await chat.frameElement()).boundingBox();
    const send = await chat.$eval("#send", (b) => b.getBoundingClientRect().toJSON());
    assert.ok(box.y + send.bottom <= 800 && box.x + send.right <= width, `Send visible at ${width} px: ${JSON.stringify({ box, send })}`);
    // The floor fits (scaled) or pans inside its own frame, never the page.
    const floor = await space.page.$eval("#floor-wrap", (w) => ({ cw: w.clientWidth, sw: w.scrollWidth, right: w.getBoundingClientRect().right }));
    assert.ok(floor.right <= width, JSON.stringify(floor));
  }
  await space.page.setViewportSize({ width: 390, height: 800 });
  assert.equal(await space.page.$eval("#panels", (p) => getComputedStyle(p).position), "fixed", "a sheet on a phone");
  await space.page.setViewportSize({ width: 1440, height: 800 });
  assert.equal(await space.page.$eval("#panels", (p) => getComputedStyle(p).position), "static");

  // And axe on each, at a phone's width and a desktop's.
  for (const width of [390, 1440]) {
    for (const [name, page] of Object.entries(pages)) {
      await page.setViewportSize({ width, height: 800 });
      assert.deepEqual(await axeProblems(page), [], `${name} at ${width} px`);
    }
    assert.deepEqual(await axeProblems(meeting.chat()), [], `the meeting's chat at ${width} px`);
  }
  for (const c of [space.context, dev.context, meeting.context]) await c.close();
});

test("make run: the port check comes first and names how to choose another", async () => {
  // Only the port check: a taken port is reported before any build starts.
  const { execFile } = await import("node:child_process");
  const { repo } = await import("../lib/server.mjs");
  const out = await new Promise((ok) =>
    execFile("bash", ["scripts/run.sh", "--check-port-only"], { cwd: repo, env: { ...process.env, MEETBRIDGE_LISTEN: server.addr } }, (err, stdout, stderr) =>
      ok({ code: err?.code ?? 0, text: stdout + stderr }),
    ),
  );
  assert.notEqual(out.code, 0);
  assert.match(out.text, new RegExp(`${server.addr.replace(/\./g, "\\.")} is already in use`));
  assert.match(out.text, /--listen/);
  assert.match(out.text, /MEETBRIDGE_LISTEN/);
  assert.doesNotMatch(out.text, /building/);
});
