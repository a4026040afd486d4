import { defineConfig } from "@playwright/test";

// Browser tests against a running `jeex-idea serve` (backend/tests/e2e/web_stack.py starts
// one with the test model server). The system's Chromium is used; no browser is downloaded.
export default defineConfig({
  testDir: "e2e",
  timeout: 240_000,
  expect: { timeout: 20_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env.JEEX_E2E_BASE_URL,
    browserName: "chromium",
    locale: "en-US",
    viewport: { width: 1280, height: 880 },
    acceptDownloads: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
