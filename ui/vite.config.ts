import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";
import { defineConfig } from "vitest/config";

// The Tauri shell loads the built files from ui/dist (tauri.conf.json `frontendDist`) and, under
// `tauri dev`, this dev server on a fixed port (`devUrl`).
export default defineConfig({
  // svelteTesting() only acts under Vitest: browser builds of Svelte, cleanup after each test.
  plugins: [svelte(), svelteTesting()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    target: "es2022",
    // Keep the bundle one small script plus one stylesheet; the CSP allows only 'self'.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    restoreMocks: true,
  },
});
