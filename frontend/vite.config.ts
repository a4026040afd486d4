/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the app with hot reload and forwards the API to a running
// `jeex-idea serve` (JEEX_DEV_BACKEND, default http://127.0.0.1:8000).
const backend = process.env.JEEX_DEV_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: backend, changeOrigin: false },
      "/health": { target: backend },
    },
  },
  build: {
    // The backend's CSP allows no inline script: keep every module in its own file.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
