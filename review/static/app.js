// Copywatch: CSRF-aware fetch and the review queue's keyboard shortcuts. No inline scripts (CSP).
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// fetch with the session cookie and the CSRF token header Flask-WTF checks.
window.copywatchFetch = function (url, options) {
  const opts = Object.assign({ credentials: "same-origin" }, options || {});
  opts.headers = Object.assign({ "X-CSRFToken": csrfToken(), Accept: "application/json" }, opts.headers || {});
  return fetch(url, opts);
};

function typingInField(event) {
  const t = event.target;
  return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
}

function initQueue() {
  const table = document.getElementById("queue-table");
  const rows = () => Array.from(document.querySelectorAll(".queue-row:not(.gone)"));
  const selectAll = document.getElementById("select-all");
  const selectedCount = document.getElementById("selected-count");
  let current = 0;

  function updateSelection() {
    const checks = document.querySelectorAll(".queue-row:not(.gone) .row-check");
    let n = 0;
    checks.forEach((c) => { c.closest("tr").classList.toggle("selected", c.checked); if (c.checked) n++; });
    if (selectedCount) selectedCount.textContent = n + " selected";
  }
  function focusRow(i) {
    const list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(i, list.length - 1));
    list.forEach((r, j) => r.classList.toggle("current", j === current));
    list[current].scrollIntoView({ block: "nearest" });
  }
  async function review(action) {
    const list = rows();
    const chosen = list.filter((r) => r.querySelector(".row-check").checked);
    const targets = chosen.length ? chosen : (list[current] ? [list[current]] : []);
    for (const row of targets) {
      row.classList.add("leaving");
      const res = await window.copywatchFetch("/api/detections/" + row.dataset.id + "/review", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ action: action }),
      });
      if (res.ok) {
        row.classList.add("gone");
        row.remove();
        const total = document.getElementById("queue-total");
        if (total) total.textContent = Math.max(0, parseInt(total.textContent.replace(/,/g, ""), 10) - 1).toLocaleString("en-US");
      } else {
        row.classList.remove("leaving");
        const body = await res.json().catch(() => ({}));
        alert(body.error || "The review was not saved.");
        break;
      }
    }
    updateSelection();
    focusRow(current);
  }

  if (table) {
    table.addEventListener("click", (e) => {
      if (e.target.closest("input, a, button")) return;
      const row = e.target.closest(".queue-row");
      if (row) window.location = row.dataset.href;
    });
    table.addEventListener("change", updateSelection);
    focusRow(0);
  }
  if (selectAll) {
    selectAll.addEventListener("change", () => {
      document.querySelectorAll(".row-check").forEach((c) => { c.checked = selectAll.checked; });
      updateSelection();
    });
  }
  document.addEventListener("keydown", (e) => {
    if (typingInField(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    const list = rows();
    if (e.key === "j") focusRow(current + 1);
    else if (e.key === "k") focusRow(current - 1);
    else if (e.key === "x" && list[current]) {
      const c = list[current].querySelector(".row-check"); c.checked = !c.checked; updateSelection();
    } else if ((e.key === "o" || e.key === "Enter") && list[current]) window.location = list[current].dataset.href;
    else if (e.key === "c") review("confirm");
    else if (e.key === "d") review("dismiss");
    else if (e.key === "n") { const next = document.getElementById("next-page"); if (next) window.location = next.href; }
    else return;
    e.preventDefault();
  });
}

function initDetail() {
  const form = document.getElementById("review-form");
  document.addEventListener("keydown", (e) => {
    if (typingInField(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      const back = document.querySelector("a.back"); if (back) window.location = back.href;
    } else if (form && (e.key === "c" || e.key === "d")) {
      document.getElementById(e.key === "c" ? "confirm-button" : "dismiss-button").click();
    } else if (e.key === "j") {
      const next = document.getElementById("next-detection"); if (next) window.location = next.href;
    } else if (form && e.key === "n") {
      document.getElementById("note").focus();
    } else return;
    e.preventDefault();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.classList.contains("queue-page")) initQueue();
  if (document.body.classList.contains("detail-page")) initDetail();
});
