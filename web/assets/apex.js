// Apex dashboard: small enhancements on top of pages that work without JavaScript.
// Loaded from this site only (the Content-Security-Policy allows no inline script).
"use strict";

// Copy buttons: <button data-copy="ELEMENT-ID">: copies that element's text.
function setupCopy() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      const text = source.value !== undefined ? source.value : source.textContent;
      try {
        await navigator.clipboard.writeText(text.trim());
        button.textContent = "Copied";
      } catch (e) {
        if (source.select) source.select();
        button.textContent = "Press Ctrl+C to copy";
      }
      setTimeout(() => { button.textContent = button.dataset.label || "Copy"; }, 2500);
    });
  }
}

// "Select all" boxes: <input type=checkbox data-select-all="NAME"> ticks every box named NAME.
function setupSelectAll() {
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    all.hidden = false;
    const label = document.querySelector(`label[for="${all.id}"]`);
    if (label) label.hidden = false;
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`)) {
        box.checked = all.checked;
      }
    });
  }
}

// Live receipts: <section data-receipt="URL"> is refreshed from URL (a JSON change state)
// until the change is served everywhere or has failed. Without JavaScript the page reloads
// itself instead (a meta refresh, which this script removes).
function setupReceipts() {
  for (const box of document.querySelectorAll("[data-receipt]")) {
    const refresh = document.querySelector("meta[http-equiv=refresh]");
    if (refresh) refresh.remove();
    const poll = async () => {
      let state;
      try {
        const response = await fetch(box.dataset.receipt, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(response.status);
        state = await response.json();
      } catch (e) {
        setTimeout(poll, 2000);
        return;
      }
      for (const step of box.querySelectorAll("[data-step]")) {
        const done = state.steps[step.dataset.step];
        step.classList.toggle("done", done === true);
        step.classList.toggle("failed", done === "failed");
      }
      const summary = box.querySelector("[data-summary]");
      if (summary) summary.textContent = state.summary;
      if (!state.final) setTimeout(poll, 500);
    };
    poll();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupCopy();
  setupSelectAll();
  setupReceipts();
});
