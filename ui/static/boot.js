// A file rather than an inline script, so the CSP can forbid inline scripts outright.
// A UI that cannot start says why on screen instead of leaving a blank window.
const fail = (e) => {
  document.body.innerHTML = "";
  const p = document.createElement("p");
  p.className = "error";
  p.setAttribute("role", "alert");
  p.textContent = "Telltale's interface failed to start: " + e;
  document.body.append(p);
};
// The module's bytes whole, then compiled: JavaScriptCore's streaming compilation (what a URL
// or a Response would get) left the web process holding about 1 MiB more for the same UI.
const wasm = fetch(new URL("telltale_ui_bg.wasm", import.meta.url)).then((r) => {
  if (!r.ok) throw new Error(`telltale_ui_bg.wasm: ${r.status} ${r.statusText}`);
  return r.arrayBuffer();
});
Promise.all([import("./telltale_ui.js"), wasm])
  .then(([m, bytes]) => m.default({ module_or_path: bytes }))
  .catch(fail);
