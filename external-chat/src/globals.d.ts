/** `external-chat/package.json` version, set by vite.config.ts. */
declare const __PLUGIN_VERSION__: string;
/** `EXTERNAL_CHAT_HOST_ORIGIN` at build time, or ''. */
declare const __HOST_ORIGIN__: string;
