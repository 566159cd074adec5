import { defineConfig } from "vitest/config";

// The Tauri shell loads `dist/` (tauri.conf.json `frontendDist`) or, in `tauri dev`,
// this dev server on a fixed port (`devUrl`).
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK on Debian 12 and Safari 13-era WebViews both handle ES2020.
    target: "es2020",
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts"],
  },
});
