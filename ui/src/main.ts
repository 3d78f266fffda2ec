import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element to mount into");

// The dev server opened in a plain browser has no Tauri backend: answer with the fake engine so the
// wizard can be tried by hand. Builds drop this branch (import.meta.env.DEV is false).
if (import.meta.env.DEV && !("__TAURI_INTERNALS__" in window)) {
  const { installDevEngine } = await import("./test/dev-engine");
  installDevEngine();
}

export default mount(App, { target });
