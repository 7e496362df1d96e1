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
import("./telltale_ui.js")
  .then((m) => m.default({ module_or_path: new URL("telltale_ui_bg.wasm", import.meta.url) }))
  .catch(fail);
