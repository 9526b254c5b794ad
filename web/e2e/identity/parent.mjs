// An embedding application for the tests: a page on its own loopback origin that puts the
// space page in an iframe and hands it tokens the way web/pages/signin.ts documents
// (`meetbridge_token_request` → `meetbridge_token`, answered with the exact origin).
//
// In the page, `embed(src, {tokens, delayMs, push})` makes the iframe: each request of the
// frame takes the next of `tokens` (after `delayMs`; none left: no answer); with `push`
// the parent also posts its first token to the frame every 200 ms to any origin ("*"),
// unasked, as a hostile or misconfigured parent would. `log` holds every message the frame
// sent it, with its origin.
import { createServer } from "node:http";

const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>embedding application</title></head>
<body>
<h1>An application that embeds meetbridge</h1>
<script>
window.log = [];
window.embed = (src, { tokens = [], delayMs = 0, push = false } = {}) => {
  const iframe = document.createElement("iframe");
  iframe.style.width = "1000px";
  iframe.style.height = "700px";
  iframe.src = src;
  document.body.append(iframe);
  const target = new URL(src).origin;
  addEventListener("message", (e) => {
    if (e.source !== iframe.contentWindow) return;
    window.log.push({ origin: e.origin, data: e.data });
    if (e.data && e.data.type === "meetbridge_token_request") {
      const token = tokens.shift();
      if (token) setTimeout(() => iframe.contentWindow.postMessage({ type: "meetbridge_token", token }, target), delayMs);
    }
  });
  if (push) {
    const token = tokens[0];
    setInterval(() => iframe.contentWindow && iframe.contentWindow.postMessage({ type: "meetbridge_token", token }, "*"), 200);
  }
};
</script>
</body></html>`;

/** Serves the embedding page on 127.0.0.1 (a free port); `origin` is its origin. */
export async function startParent() {
  const http = createServer((_req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(html);
  });
  await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
  return {
    origin: `http://127.0.0.1:${http.address().port}`,
    close: () => new Promise((ok) => http.close(ok)),
  };
}
