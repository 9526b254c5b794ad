// Takes the README's screenshots: starts a `meetbridge` server (demo mode, scratch data),
// opens the meeting page as Alice and Bob in headless Chromium (the Web App 3 stand-in, the
// chat room beside it), has them chat, react and dial someone in, then opens the space view
// and the multi-user dev view. Each page at a phone's width and a desktop's:
// <out>/{meeting,space,dev}-{390,1440}.png (default out: docs/screenshots).
//
// Needs what `bash scripts/screenshots.sh` builds first: target/debug/meetbridge, web/dist
// (with the meeting page) and the deployed plugin in webapp3/branding/plugins/.
// Usage: node scripts/screenshots.mjs [--out <dir>]
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { launch, openMeeting, repo, say, startServer } from "../web/e2e/meeting/harness.mjs";

const i = process.argv.indexOf("--out");
const out = resolve(i > 0 ? process.argv[i + 1] : join(repo, "docs/screenshots"));
mkdirSync(out, { recursive: true });
const viewport = { width: 1440, height: 900 };
/** The widths of the screenshots, with a height that suits each. */
const SIZES = [
  { width: 390, height: 844 },
  { width: 1440, height: 900 },
];
const SHOTS = SIZES.flatMap(({ width }) => ["meeting", "space", "dev"].map((p) => `${p}-${width}.png`));

/** Screenshots `page` at each size as <name>-<width>.png; `before(size)` may arrange it first. */
async function shoot(page, name, before) {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    if (before) await before(size);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, `${name}-${size.width}.png`) });
  }
}

const server = await startServer();
const browser = await launch();
try {
  const alice = await openMeeting(browser, server, { name: "Alice", meeting: "standup", viewport });
  const bob = await openMeeting(browser, server, { name: "Bob", meeting: "standup", viewport });
  await alice.join();
  await bob.join();
  for (const u of [alice, bob]) await u.waitFor("in the call", () => u.chatEval(() => window.chat.status === "joined"));
  await alice.clickChatButton();
  await bob.clickChatButton();
  await say(bob, "Morning! Yesterday's notes: https://example.com/standup/notes");
  await alice.waitFor("Bob's message", async () => (await alice.messages()).length === 1);
  await say(alice, "Thanks Bob 🎉 Carol is joining by phone, dialing her in now.");
  await alice.page.click("#dial summary");
  await alice.page.fill('#dial-form [name="destination"]', "sip:carol@example.com");
  await alice.page.fill('#dial-form [name="remote_display_name"]', "Carol");
  await alice.page.click("#dial-send");
  await alice.waitFor("the dial-out notice", async () => (await alice.messages()).some((m) => m.system));
  await say(bob, "👋 Welcome Carol! The <b>agenda</b> is in the notes, @Alice.");
  await alice.waitFor("Bob's welcome", async () => (await alice.messages()).length === 4);
  // Bob reacts to Alice's thanks.
  const thanks = (await bob.messages()).find((m) => m.text.startsWith("Thanks Bob"));
  await bob.chatEval((id) => window.chat.react(id, "🎉"), thanks.id);
  await alice.waitFor("the reaction", async () => Object.keys((await alice.messages()).find((m) => m.id === thanks.id).reactions).length === 1);
  await alice.page.click("#dial summary"); // fold the form again
  await alice.waitFor("Alice's messages sent", async () => (await alice.messages()).every((m) => !m.mine || m.system || m.delivery === "sent"));
  await shoot(alice.page, "meeting");

  // The space: the meeting's chat is an object there too (same plugin, same history).
  const space = await alice.context.newPage();
  await space.setViewportSize(viewport);
  await space.goto(`${server.base}/?name=Alice`);
  await space.waitForFunction(() => window.meetbridge?.objects?.get("standup"));
  await space.evaluate(() => {
    const o = window.meetbridge.objects.get("standup");
    window.meetbridge.moveTo(o.x + 40, o.y + 50);
  });
  await space.waitForSelector('.panel[data-object="standup"] button.link');
  await space.click('.panel[data-object="standup"] button.link');
  const frame = await (await space.waitForSelector('.panel[data-object="standup"] iframe')).contentFrame();
  // The history came along (the meetbridge history extension).
  await frame.waitForFunction(() => window.chat?.status === "joined" && window.chat.history === "loaded" && window.chat.messages().length >= 4);
  // Live in the space too: Bob writes from the meeting page.
  await say(bob, "Alice, I see you're in the space too 🙂");
  await frame.waitForFunction(() => window.chat.messages().some((m) => m.text.includes("in the space too")));
  await shoot(space, "space", async () => {
    await frame.evaluate(() => (document.getElementById("log").scrollTop = 1e9));
  });

  // The multi-user dev view: the poll as two users.
  const dev = await alice.context.newPage();
  await dev.setViewportSize(viewport);
  await dev.goto(`${server.base}/dev.html?object=demo-poll&users=2&names=Ann,Ben`);
  await dev.waitForSelector('iframe[data-object="demo-poll"]');
  await dev.waitForTimeout(800);
  await shoot(dev, "dev");
  console.log(`screenshots written to ${out}: ${SHOTS.join(", ")}`);
} finally {
  await browser.close();
  await server.stop();
  server.cleanup();
}
