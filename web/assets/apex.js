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
    let failures = 0;
    const poll = async () => {
      let state;
      try {
        const response = await fetch(box.dataset.receipt, { credentials: "same-origin", headers: { Accept: "application/json" } });
        // Signed out (sent to the sign-in page), gone, not allowed: nothing more to follow.
        if (response.redirected || (response.status >= 400 && response.status < 500)) return;
        if (!response.ok || !(response.headers.get("Content-Type") || "").startsWith("application/json")) {
          throw new Error(response.status);
        }
        state = await response.json();
        failures = 0;
      } catch (e) {
        // The server or the network: try again, less and less often.
        failures += 1;
        if (failures < 20) setTimeout(poll, Math.min(2000 * failures, 30000));
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

// Inline editing: a link <a data-inline="ROW-ID"> (an "Edit" link) or a GET form
// <form data-inline="CONTAINER-ID"> ("Add a record of type …") opens the form page's
// <form class="card"> in place (below the row, or in the container) instead of on a page of
// its own. The form is the page's own, CSRF token included; saving posts it as usual, and a
// refused save shows the full form page with the errors. Escape or "Cancel" closes it.
async function openInline(url, place) {
  let html;
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return false;
    html = await response.text();
  } catch (e) {
    return false;
  }
  const form = new DOMParser().parseFromString(html, "text/html").querySelector("main form.card");
  if (!form) return false;
  for (const open of document.querySelectorAll(".inline-form")) open.remove();
  const holder = place(form);
  holder.classList.add("inline-form");
  const close = () => holder.remove();
  const cancel = form.querySelector(".actions a");
  if (cancel) cancel.addEventListener("click", (event) => { event.preventDefault(); close(); });
  form.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
  const first = form.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus();
  return true;
}

function setupInline() {
  for (const link of document.querySelectorAll("a[data-inline]")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      const row = document.getElementById(link.dataset.inline);
      const opened = await openInline(link.href, (form) => {
        const tr = document.createElement("tr");
        const td = document.createElement("td");
        td.colSpan = row.children.length;
        td.append(form);
        tr.append(td);
        row.after(tr);
        return tr;
      });
      if (!opened) window.location = link.href;
    });
  }
  for (const picker of document.querySelectorAll("form[data-inline]")) {
    picker.addEventListener("submit", async (event) => {
      event.preventDefault();
      const url = picker.action + "?" + new URLSearchParams(new FormData(picker));
      const container = document.getElementById(picker.dataset.inline);
      const opened = await openInline(url, (form) => {
        const div = document.createElement("div");
        div.append(form);
        container.append(div);
        return div;
      });
      if (!opened) window.location = url;
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupCopy();
  setupSelectAll();
  setupReceipts();
  setupInline();
});
