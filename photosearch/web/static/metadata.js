"use strict";
// What other photo programs know of a photo (title, description, rating, keywords) on
// the large view, each keyword a search; and results taken elsewhere: picked on the
// grid, downloaded as one ZIP or their paths copied. Loaded after app.js, whose globals
// it shares ($, api, say, current, shown, picking, run); what the files say is user
// data, always set as text.

async function showFacts(hit, index) {
  const section = $("v-facts");
  section.hidden = true;
  let facts;
  try {
    facts = await api(`/api/images/${hit.id}/metadata`);
  } catch (_) {
    return;  // extra: the photo is shown without it
  }
  if (current !== index) return;
  $("v-title").textContent = facts.title || "";
  $("v-description").textContent = facts.description || "";
  const stars = facts.rating === null ? "" : facts.rating < 0 ? "rejected"
    : "★".repeat(facts.rating) + "☆".repeat(5 - facts.rating);
  $("v-rating").textContent = [stars, facts.label ? `label ${facts.label}` : ""]
    .filter(Boolean).join(" · ");
  const list = $("v-keywords");
  list.replaceChildren();
  const leaves = [...new Set(facts.keywords.map((k) => k.split("|").pop()))];
  for (const keyword of leaves) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#";
    a.textContent = keyword;
    a.title = `Photos with the keyword ${keyword}`;
    a.addEventListener("click", (event) => {
      event.preventDefault();
      $("viewer").close();
      $("f-keyword").value = keyword;
      run();
    });
    li.append(a);
    list.append(li);
  }
  section.hidden = !(facts.title || facts.description || stars || facts.label || leaves.length);
}

function showPicked() {
  const on = picking !== null;
  $("select").setAttribute("aria-pressed", String(on));
  $("select").textContent = on ? "Done selecting" : "Select";
  $("picked").hidden = !on;
  const count = on ? picking.size : 0;
  $("picked-count").textContent = `${count} selected`;
  $("download-zip").disabled = $("copy-paths").disabled = count === 0;
}

function pick(hit, tile) {
  if (picking.has(hit.id)) picking.delete(hit.id); else picking.set(hit.id, hit);
  tile.classList.toggle("picked", picking.has(hit.id));
  tile.setAttribute("aria-pressed", String(picking.has(hit.id)));
  showPicked();
}

function toggleSelecting() {
  picking = picking === null ? new Map() : null;
  for (const tile of document.querySelectorAll("#grid .tile")) {
    tile.classList.remove("picked");
    tile.removeAttribute("aria-pressed");
  }
  showPicked();
}

async function downloadZip() {
  const ids = [...picking.keys()];
  say(`Packing ${ids.length} photos…`);
  try {
    const response = await fetch("/api/download", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ids }),
    });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON */ }
      throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = "photosearch.zip";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say("");
  } catch (error) {
    say(`Cannot download them: ${error.message}`);
  }
}

async function copyPaths() {
  const paths = [...picking.values()].map((hit) => hit.path).join("\n");
  try {
    await navigator.clipboard.writeText(paths);
    say(`Copied ${picking.size} paths.`);
  } catch (_) {
    // No clipboard (plain HTTP from another machine): show them, to be copied by hand.
    say(paths);
  }
}

$("select").addEventListener("click", toggleSelecting);
$("download-zip").addEventListener("click", downloadZip);
$("copy-paths").addEventListener("click", copyPaths);
