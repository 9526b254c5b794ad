// Headless Chromium for every end-to-end suite (space, meeting, pexip): playwright-core
// driving Debian's /usr/bin/chromium (or $CHROMIUM), with one set of flags.
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}
