import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vitest/config";

// The Tauri shell loads `dist/` (tauri.conf.json `frontendDist`) or, in `tauri dev`,
// this dev server on a fixed port (`devUrl`). `vite build --mode fixture` makes the build
// Playwright runs: the same page with the fixture IPC (src/fixture) included.
export default defineConfig({
  clearScreen: false,
  plugins: [
    svelte({
      // Component styles go to the emitted .css file: the CSP allows no inline styles.
      emitCss: true,
      compilerOptions: { css: "external" },
    }),
  ],
  server: { port: 5173, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK on Debian 12 and Safari 13-era WebViews both handle ES2020.
    target: "es2020",
  },
  resolve: process.env.VITEST ? { conditions: ["browser"] } : undefined,
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts"],
  },
});
