// The seed's search page: drop or pick an image, upload it, list the 10 most similar originals,
// filter them by a similarity threshold, and outline the matched region on both images.
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  let chosenFile = null;
  let queryUrl = null;
  let results = [];
  let selected = null;

  const $ = (id) => document.getElementById(id);

  function showError(message) {
    const box = $("search-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setPolygon(polygon, points) {
    polygon.setAttribute("points", points ? points.map((p) => p[0] + "," + p[1]).join(" ") : "");
  }

  function drawPair(result) {
    const panel = $("query-panel");
    panel.hidden = false;
    if (!result) return;
    const mSvg = $("match-svg");
    const w = result.width || 100;
    const h = result.height || 100;
    mSvg.setAttribute("viewBox", "0 0 " + w + " " + h);
    const img = $("match-image");
    img.setAttribute("href", result.image_url || "");
    img.setAttribute("width", w);
    img.setAttribute("height", h);
    setPolygon($("match-region"), result.region_original);
    setPolygon($("query-region"), result.region_query);
    $("match-caption").textContent = "#" + result.rank + " · " + result.title + " · " + result.percent.toFixed(1) + "%";
  }

  function threshold() {
    const v = parseFloat($("threshold").value);
    return isNaN(v) ? 0 : Math.max(0, Math.min(100, v));
  }

  function render() {
    const list = $("results");
    list.textContent = "";
    const min = threshold();
    const shown = results.filter((r) => r.percent >= min);
    shown.forEach((r) => {
      const li = document.createElement("li");
      li.className = "result" + (selected && selected.rank === r.rank ? " selected" : "");
      li.dataset.rank = r.rank;
      const rank = document.createElement("span");
      rank.className = "rank";
      rank.textContent = r.rank;
      const img = document.createElement("img");
      img.alt = "";
      img.loading = "lazy";
      if (r.image_url) img.src = r.image_url + "?size=thumb";
      const text = document.createElement("div");
      const name = document.createElement("div");
      name.className = "name";
      name.textContent = r.title;
      const sub = document.createElement("div");
      sub.className = "sub";
      sub.textContent = [r.brand, r.sku, r.transform].filter(Boolean).join(" · ");
      text.append(name, sub);
      const pct = document.createElement("span");
      pct.className = "percent";
      pct.textContent = r.percent.toFixed(1) + "%";
      li.append(rank, img, text, pct);
      li.addEventListener("click", () => { selected = r; drawPair(r); render(); });
      list.append(li);
    });
    $("results-empty").hidden = shown.length > 0;
    $("results-empty").textContent = results.length ? "No original at or above " + min + "%." : "Upload an image to see its matches.";
    $("shown-count").textContent = results.length ? shown.length + " of " + results.length + " shown" : "";
  }

  function choose(file) {
    if (!file) return;
    chosenFile = file;
    $("file-name").textContent = file.name + " (" + Math.round(file.size / 1024) + " KB)";
    $("upload-button").disabled = false;
    showError("");
  }

  async function upload() {
    if (!chosenFile) return;
    const button = $("upload-button");
    button.disabled = true;
    $("search-status").textContent = "Searching…";
    showError("");
    const body = new FormData();
    body.append("image", chosenFile, "upload");
    try {
      const res = await window.copywatchFetch($("search-form").action, { method: "POST", body: body });
      const data = await res.json().catch(() => ({ error: "The server answered " + res.status + "." }));
      if (!res.ok) {
        results = [];
        render();
        $("query-panel").hidden = true;
        showError(data.error || "The upload failed.");
        $("search-status").textContent = "";
        return;
      }
      if (queryUrl) URL.revokeObjectURL(queryUrl);
      queryUrl = URL.createObjectURL(chosenFile);
      const qSvg = $("query-svg");
      qSvg.setAttribute("viewBox", "0 0 " + data.query.width + " " + data.query.height);
      const qImg = $("query-image");
      qImg.setAttribute("href", queryUrl);
      qImg.setAttribute("width", data.query.width);
      qImg.setAttribute("height", data.query.height);
      results = data.results;
      selected = results[0] || null;
      render();
      drawPair(selected);
      $("search-status").textContent = "Searched in " + Math.round(data.ms) + " ms.";
    } catch (err) {
      showError("The upload failed: " + err);
      $("search-status").textContent = "";
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const zone = $("drop-zone");
    const input = $("file-input");
    ["dragenter", "dragover"].forEach((type) =>
      zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("dragover"); }));
    ["dragleave", "drop"].forEach((type) =>
      zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.remove("dragover"); }));
    // A dropped image is searched at once; a picked file waits for the Upload button (as in the seed).
    zone.addEventListener("drop", (e) => {
      const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      if (file) { choose(file); upload(); }
    });
    zone.addEventListener("click", (e) => { if (!e.target.closest("label")) input.click(); });
    zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
    input.addEventListener("change", () => choose(input.files[0]));
    $("search-form").addEventListener("submit", (e) => { e.preventDefault(); upload(); });
    $("threshold").addEventListener("input", render);
    // Nothing dropped outside the zone should make the browser navigate away to the file.
    window.addEventListener("dragover", (e) => e.preventDefault());
    window.addEventListener("drop", (e) => e.preventDefault());
  });
})();
