// The server and the browser one test file shares, started in its `before` hook and
// stopped in its `after` hook:
//   before(async () => ({ server, browser } = await startSuite(startServer)));
//   after(() => stopSuite({ server, browser }));
import { launch } from "./chromium.mjs";

/** Starts the server with `start` (a harness's startServer), then Chromium. */
export async function startSuite(start) {
  const server = await start();
  try {
    return { server, browser: await launch() };
  } catch (e) {
    await server.stop();
    server.cleanup();
    throw e;
  }
}

/** Closes the browser, stops the server and removes its data; either may be missing (a failed `before`). */
export async function stopSuite({ server, browser }) {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
}
