"use strict";
// The page talks only to the JSON API (see /api/docs). File names and tags are user data:
// they are always set as text, never as HTML.

const $ = (id) => document.getElementById(id);
const PAGE = 60;
const TYPING_PAUSE_MS = 300;

// What the grid shows: {kind: "browse" | "text" | "similar" | "upload", q, id, file, label}.
let mode = { kind: "browse" };
let offset = 0;
let shown = [];       // hits in the grid, in order (the viewer steps through them)
let current = -1;     // index in `shown` of the photo open in the viewer
let generation = 0;   // bumps with every new search; late answers to older ones are dropped
let typingTimer = null;
// Results of a text search marked good or bad (ids): "Refine" moves the query toward the
// good ones and away from the bad ones (relevance feedback), through weighted terms.
let marks = { good: new Set(), bad: new Set() };
let picking = null;   // while results are being picked (metadata.js): id -> hit

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  }
  return body;
}

function say(text) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

function thumb(hit, size = 320) {
  // A video's tile shows the frame of its best moment.
  const at = hit.kind === "video" && hit.t !== null && hit.t !== undefined ? `&t=${hit.t}` : "";
  return `/api/images/${hit.id}/thumbnail?size=${size}&v=${hit.version}${at}`;
}

// Seconds as a player shows them: 0:07, 1:02:03.
function clock(seconds) {
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

const FILTER_IDS = ["f-folder", "f-tag", "f-from", "f-to", "f-place", "f-near", "f-camera",
                    "f-person", "f-contains", "f-keyword", "f-rating", "f-label",
                    "f-score", "f-sort"];

function filterParams() {
  const params = new URLSearchParams();
  const pairs = [["folder", "f-folder"], ["tag", "f-tag"], ["date_from", "f-from"],
                 ["date_to", "f-to"], ["place", "f-place"], ["near", "f-near"],
                 ["camera", "f-camera"], ["contains", "f-contains"],
                 ["rating", "f-rating"], ["label", "f-label"],
                 ["min_score", "f-score"], ["sort", "f-sort"]];
  for (const [name, id] of pairs) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  for (const person of $("f-person").value.split(",")) {
    if (person.trim()) params.append("person", person.trim());
  }
  for (const keyword of $("f-keyword").value.split(",")) {
    if (keyword.trim()) params.append("keyword", keyword.trim());
  }
  return params;
}

function tile(hit, index, scoreText) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "tile";
  button.dataset.id = hit.id;
  const label = scoreText ? `${hit.name}, ${scoreText}` : hit.name;
  button.title = label;
  button.setAttribute("aria-label", label);
  const img = document.createElement("img");
  img.src = thumb(hit);
  img.alt = hit.name;
  if (index !== null && index >= 24) img.loading = "lazy";  // the first screenful at once
  img.decoding = "async";
  button.append(img);
  if (scoreText) {
    const badge = document.createElement("span");
    badge.className = "score";
    badge.textContent = scoreText;
    button.append(badge);
  }
  if (hit.video) {
    // A video (or a Live Photo's motion part): where its best moment is, or its length.
    const badge = document.createElement("span");
    badge.className = "moment";
    const at = hit.t ?? null;
    badge.textContent = at !== null ? `▶ ${clock(at)}` : (hit.duration ? `▶ ${clock(hit.duration)}` : "▶");
    button.append(badge);
  }
  if (index !== null) {
    // While results are being picked (metadata.js), a click picks instead of opening.
    button.addEventListener("click", () => (picking ? pick(hit, button) : openViewer(index)));
    if (picking && picking.has(hit.id)) button.classList.add("picked");
  }
  return button;
}

function describeMode() {
  switch (mode.kind) {
    case "text": return `Best matches for “${mode.q}”`;
    case "refined":
      return `Best matches for “${mode.q}”, refined by ${mode.good.length} good and ` +
             `${mode.bad.length} bad`;
    case "similar": return `Photos like ${mode.label}`;
    case "upload": return `Photos like your image ${mode.file.name}`;
    case "today": return "On this day, in earlier years";
    case "person": return `Photos of ${mode.name}`;
    default:
      return filterParams().toString() ? "Photos the filters leave, by date"
                                        : "All photos, newest first";
  }
}

async function fetchPage() {
  const params = filterParams();
  if (mode.kind === "browse") params.delete("min_score");  // a score needs a query
  if (mode.kind === "today") {
    const today = new Date();
    params.set("month_day", `${today.getMonth() + 1}-${today.getDate()}`);
    return api(`/api/images?${params}`);
  }
  params.set("limit", PAGE);
  if (mode.kind === "person") {
    params.append("person", mode.id);
    params.set("offset", offset);
    return api(`/api/images?${params}`);
  }
  params.set("offset", offset);
  if (mode.kind === "text") {
    params.set("q", mode.q);
    return api(`/api/search?${params}`);
  }
  if (mode.kind === "similar") {
    if (mode.box) params.set("box", mode.box);
    return api(`/api/images/${mode.id}/similar?${params}`);
  }
  if (mode.kind === "refined") return api("/api/search", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(refineBody(params)),
  });
  if (mode.kind === "upload") {
    const form = new FormData();
    form.append("file", mode.file);
    return api(`/api/search/image?${params}`, { method: "POST", body: form });
  }
  return api(`/api/images?${params}`);
}

async function run(newMode, { append = false } = {}) {
  if (newMode) mode = newMode;
  if (!append) offset = 0;
  const mine = ++generation;
  $("summary").textContent = append ? $("summary").textContent : "Searching…";
  try {
    const page = await fetchPage();
    if (mine !== generation) return;
    say("");
    const grid = $("grid");
    if (!append) { grid.replaceChildren(); shown = []; }
    for (const hit of page.results) {
      const scoreText = hit.score === null ? "" : hit.score.toFixed(3);
      grid.append(tile(hit, shown.length, scoreText));
      shown.push(hit);
    }
    $("more").hidden = !page.more;
    $("reset").hidden = mode.kind === "browse";
    $("person-bar").hidden = mode.kind !== "person";
    showMarks();
    const count = shown.length ? `${shown.length}${page.more ? "+" : ""} photos` : "nothing found";
    // Faces or text still being looked for: the results may miss those photos.
    const pending = (page.pending || []).map((p) => ` · ${p.message}`).join("");
    $("summary").textContent = `${describeMode()}: ${count}${pending}`;
  } catch (error) {
    if (mine !== generation) return;
    say(error.message);
    $("summary").textContent = describeMode();
  }
}

function searchTyped() {
  const q = $("q").value.trim();
  marks = { good: new Set(), bad: new Set() };
  showMarks();
  run(q ? { kind: "text", q } : { kind: "browse" });
}

// The query refined by the marks: the sentence, plus each good photo and minus each bad
// one, weighted so that all good ones together count as much as the sentence (Rocchio).
function refineBody(params) {
  const terms = [{ text: mode.q }];
  for (const id of mode.good) terms.push({ image_id: id, weight: 1 / mode.good.length });
  for (const id of mode.bad) terms.push({ image_id: id, weight: -0.5 / mode.bad.length });
  const body = { terms };
  for (const [name, value] of params) {
    body[name] = ["limit", "offset", "min_score"].includes(name) ? Number(value) : value;
  }
  return body;
}

function markCurrent(kind) {
  const hit = shown[current];
  if (!hit) return;
  const other = kind === "good" ? "bad" : "good";
  if (marks[kind].has(hit.id)) marks[kind].delete(hit.id);
  else { marks[kind].add(hit.id); marks[other].delete(hit.id); }
  showMarks();
}

function showMarks() {
  const hit = shown[current];
  for (const kind of ["good", "bad"]) {
    const button = $(`v-${kind}`);
    button.setAttribute("aria-pressed", String(Boolean(hit && marks[kind].has(hit.id))));
  }
  for (const tile of document.querySelectorAll("#grid .tile")) {
    const id = Number(tile.dataset.id);
    tile.classList.toggle("good", marks.good.has(id));
    tile.classList.toggle("bad", marks.bad.has(id));
  }
  $("refine").hidden = !(marks.good.size + marks.bad.size) ||
    !["text", "refined"].includes(mode.kind);
}

function refine() {
  run({ kind: "refined", q: mode.q, good: [...marks.good], bad: [...marks.bad] });
}

// --- the viewer ---------------------------------------------------------------------

async function openViewer(index) {
  if (index < 0 || index >= shown.length) return;
  current = index;
  const hit = shown[index];
  const dialog = $("viewer");
  $("v-box").hidden = true;
  $("v-image").src = thumb(hit, 1280);
  $("v-image").alt = hit.name;
  showPlayer(hit);
  $("v-name").textContent = hit.name;
  $("v-path").textContent = hit.path;
  $("v-meta").textContent = "";
  $("v-tags").replaceChildren();
  $("v-original").href = `/api/images/${hit.id}/original`;
  const rateable = ["text", "refined"].includes(mode.kind);
  $("v-good").hidden = $("v-bad").hidden = !rateable;
  showMarks();
  $("v-prev").disabled = index === 0;
  $("v-next").disabled = index === shown.length - 1;
  if (!dialog.open) {
    dialog.showModal();
    // The dialog itself, not its first control (the player, or a text box), takes the
    // keys: arrows step through the photos, Escape closes.
    dialog.focus();
  }
  try {
    const detail = await api(`/api/images/${hit.id}`);
    if (current !== index) return;
    const parts = [];
    if (detail.taken_at) parts.push(new Date(detail.taken_at).toLocaleString());
    if (detail.place) parts.push(detail.place);
    if (detail.camera) parts.push(detail.lens ? `${detail.camera}, ${detail.lens}` : detail.camera);
    if (detail.exposure) parts.push(detail.exposure);
    if (detail.width) parts.push(`${detail.width} × ${detail.height}`);
    parts.push(detail.size >= 1e6 ? `${(detail.size / 1e6).toFixed(1)} MB`
                                  : `${Math.ceil(detail.size / 1e3)} kB`);
    if (hit.score !== null) parts.push(`score ${hit.score.toFixed(3)}`);
    $("v-meta").textContent = parts.join(" · ");
    for (const tag of detail.tags.filter((t) => t.assigned || t.score >= 0.2)) {
      const li = document.createElement("li");
      const where = (tag.ranges || []).map(([a, b]) => `${clock(a)}–${clock(b)}`).join(", ");
      li.textContent = `${tag.label} ${(tag.score * 100).toFixed(0)}%${where ? ` (${where})` : ""}`;
      if (tag.assigned) li.className = "assigned";
      li.title = `label set ${tag.label_set}`;
      $("v-tags").append(li);
    }
  } catch (error) {
    $("v-meta").textContent = error.message;
  }
  showFaces(hit, index);
  showText(hit, index);
  showFacts(hit, index);
  showConcepts(hit, index);
}

// --- videos: played from the moment that matched, the moments marked ------------------

function showPlayer(hit) {
  const video = $("v-video");
  const marks = $("v-moments");
  marks.replaceChildren();
  if (!hit.video) {
    video.hidden = marks.hidden = true;
    video.removeAttribute("src");
    video.load();
    $("v-image").hidden = false;
    return;
  }
  $("v-image").hidden = true;
  video.hidden = marks.hidden = false;
  const start = hit.t ?? 0;
  video.poster = thumb(hit, 1280);
  // Seek once the metadata is in (the server answers Range requests, so only the part
  // around the moment is fetched), then play from there.
  video.addEventListener("loadedmetadata", () => {
    video.currentTime = Math.min(start, video.duration || start);
    video.play().catch(() => {});  // a browser may refuse to autoplay: the controls stay
  }, { once: true });
  video.src = `/api/images/${hit.video}/original`;
  const length = hit.duration || Math.max(...(hit.moments || []).map((m) => m.t), 1);
  for (const moment of hit.moments || []) {
    const mark = document.createElement("button");
    mark.type = "button";
    mark.className = "mark";
    mark.style.left = `${Math.min(100, (100 * moment.t) / length)}%`;
    mark.title = `${clock(moment.t)} (score ${moment.score.toFixed(3)})`;
    mark.setAttribute("aria-label", `play from ${clock(moment.t)}`);
    mark.addEventListener("click", () => { video.currentTime = moment.t; video.play().catch(() => {}); });
    marks.append(mark);
  }
}

// --- what is in this photo: the vocabulary's concepts, a caption, your own texts ------

async function showConcepts(hit, index) {
  $("v-caption").textContent = "";
  $("v-concepts").replaceChildren();
  $("v-ranked").replaceChildren();
  try {
    const found = await api(`/api/images/${hit.id}/concepts`);
    if (current !== index) return;
    $("v-caption").textContent = found.caption
      ? `“${found.caption}” (assembled from concepts)`
      : "none of the vocabulary's concepts";
    for (const concept of found.concepts) {
      const li = document.createElement("li");
      const link = document.createElement("a");
      link.href = "#";
      link.textContent = `${concept.text} ${(concept.probability * 100).toFixed(0)}%`;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        $("viewer").close();
        $("q").value = concept.text;
        run({ kind: "text", q: concept.text });
      });
      li.append(link);
      $("v-concepts").append(li);
    }
  } catch (error) {
    $("v-caption").textContent = error.message;
  }
}

async function rankTexts(event) {
  event.preventDefault();
  const hit = shown[current];
  const texts = $("v-text").value.split(";").map((t) => t.trim()).filter(Boolean);
  if (!hit || !texts.length) return;
  try {
    const ranked = await api(`/api/images/${hit.id}/describe`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ texts }),
    });
    $("v-ranked").replaceChildren(...ranked.results.map((r) => {
      const li = document.createElement("li");
      li.textContent = `${r.text}: ${(r.probability * 100).toFixed(0)}% (score ${r.score.toFixed(3)})`;
      return li;
    }));
  } catch (error) {
    $("v-ranked").replaceChildren(Object.assign(document.createElement("li"),
                                                { textContent: error.message }));
  }
}

// --- region search: drag a box on the large view -------------------------------------

let dragStart = null;  // {x, y} in page pixels while a box is being drawn

// The part of the <img> the picture fills (object-fit: contain leaves bars around it).
function pictureRect() {
  const img = $("v-image");
  const r = img.getBoundingClientRect();
  const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
  const w = img.naturalWidth * scale, h = img.naturalHeight * scale;
  return { left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, w, h, img: r };
}

function drawBox(a, b) {
  const { img } = pictureRect();
  const box = $("v-box");
  box.hidden = false;
  box.style.left = `${Math.min(a.x, b.x) - img.left}px`;
  box.style.top = `${Math.min(a.y, b.y) - img.top}px`;
  box.style.width = `${Math.abs(a.x - b.x)}px`;
  box.style.height = `${Math.abs(a.y - b.y)}px`;
}

function searchRegion(a, b) {
  const p = pictureRect();
  const clip = (v) => Math.min(1, Math.max(0, v));
  const x0 = clip((Math.min(a.x, b.x) - p.left) / p.w), x1 = clip((Math.max(a.x, b.x) - p.left) / p.w);
  const y0 = clip((Math.min(a.y, b.y) - p.top) / p.h), y1 = clip((Math.max(a.y, b.y) - p.top) / p.h);
  if (x1 - x0 < 0.02 || y1 - y0 < 0.02) return;  // a click, not a box
  const hit = shown[current];
  const box = [x0, y0, x1 - x0, y1 - y0].map((v) => v.toFixed(4)).join(",");
  $("viewer").close();
  $("q").value = "";
  run({ kind: "similar", id: hit.id, label: `a region of ${hit.name}`, box });
  window.scrollTo(0, 0);
}

function wireRegionSearch() {
  const img = $("v-image");
  img.addEventListener("pointerdown", (event) => {
    dragStart = { x: event.clientX, y: event.clientY };
    img.setPointerCapture(event.pointerId);
  });
  img.addEventListener("pointermove", (event) => {
    if (dragStart) drawBox(dragStart, { x: event.clientX, y: event.clientY });
  });
  img.addEventListener("pointerup", (event) => {
    if (!dragStart) return;
    const start = dragStart;
    dragStart = null;
    $("v-box").hidden = true;
    searchRegion(start, { x: event.clientX, y: event.clientY });
  });
}

function moreLikeThis() {
  const hit = shown[current];
  if (!hit) return;
  $("viewer").close();
  $("q").value = "";
  run({ kind: "similar", id: hit.id, label: hit.name });
  window.scrollTo(0, 0);
}

// --- tags -----------------------------------------------------------------------------

function optionFor(label) {
  const option = document.createElement("option");
  option.value = label;
  option.textContent = label;
  return option;
}

async function loadLabelSets() {
  let sets = [];
  try { sets = await api("/api/labelsets"); } catch (error) { say(error.message); return; }
  const list = $("labelsets");
  list.replaceChildren();
  const tagSelect = $("f-tag");
  const chosen = tagSelect.value;
  tagSelect.replaceChildren(optionFor(""));
  tagSelect.firstChild.textContent = "any";
  if (!sets.length) list.textContent = "None yet: make one above.";
  for (const set of sets) {
    const box = document.createElement("div");
    box.className = "labelset";
    box.dataset.name = set.name;
    const title = document.createElement("h3");
    const kind = set.exclusive ? "exclusive" : "open-world";
    title.textContent = `${set.name} (${kind}, threshold ${set.threshold}, ${set.top} per photo)`;
    const chips = document.createElement("div");
    chips.className = "chips";
    for (const label of set.labels) {
      tagSelect.append(optionFor(label));
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.textContent = `${label} · ${set.counts[label] ?? 0}`;
      chip.title = `Show photos tagged ${label}`;
      chip.addEventListener("click", () => {
        $("f-tag").value = label;
        $("filters").hidden = false;
        $("q").value = label;
        showView("photos");
        run({ kind: "text", q: label });
      });
      chips.append(chip);
    }
    const actions = document.createElement("div");
    actions.className = "row";
    const again = document.createElement("button");
    again.type = "button";
    again.textContent = "Tag again";
    again.addEventListener("click", () => applySet(set.name, again));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.addEventListener("click", async () => {
      if (!confirm(`Delete label set ${set.name} and its tags?`)) return;
      try {
        await api(`/api/labelsets/${encodeURIComponent(set.name)}`, { method: "DELETE" });
        loadLabelSets();
      } catch (error) { say(error.message); }
    });
    actions.append(again, remove);
    box.append(title, chips, actions);
    list.append(box);
  }
  tagSelect.value = chosen;
}

async function applySet(name, button) {
  button.disabled = true;
  try {
    await api(`/api/labelsets/${encodeURIComponent(name)}/apply`, { method: "POST" });
    say("");
    loadLabelSets();
  } catch (error) { say(error.message); } finally { button.disabled = false; }
}

async function createLabelSet(event) {
  event.preventDefault();
  const body = {
    name: $("ls-name").value.trim(),
    labels: $("ls-labels").value.split("\n").map((l) => l.trim()).filter(Boolean),
  };
  if ($("ls-threshold").value) body.threshold = Number($("ls-threshold").value);
  if ($("ls-top").value) body.top = Number($("ls-top").value);
  if ($("ls-exclusive").checked) body.exclusive = true;
  const submit = $("ls-submit");
  submit.disabled = true;
  submit.textContent = "Tagging…";
  try {
    await api("/api/labelsets", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    say("");
    $("labelset-form").reset();
    loadLabelSets();
  } catch (error) { say(error.message); } finally {
    submit.disabled = false;
    submit.textContent = "Tag every photo";
  }
}

// --- duplicates -------------------------------------------------------------------------

async function findDuplicates(event) {
  event.preventDefault();
  const params = new URLSearchParams();
  if ($("dups-threshold").value) params.set("threshold", $("dups-threshold").value);
  const box = $("dups");
  box.textContent = "Comparing every photo with every other…";
  try {
    const answer = await api(`/api/duplicates?${params}`);
    say("");
    box.replaceChildren();
    if (!answer.groups.length) {
      box.textContent = `No near-duplicates at similarity ≥ ${answer.threshold}.`;
    }
    answer.groups.forEach((group, n) => {
      const section = document.createElement("section");
      section.className = "group";
      const title = document.createElement("h3");
      title.textContent = `Group ${n + 1}: ${group.length} photos`;
      const grid = document.createElement("div");
      grid.className = "grid";
      for (const member of group) {
        const item = tile(member, null, member.similarity.toFixed(3));
        item.title = `${member.path}, similarity ${member.similarity.toFixed(4)}`;
        item.addEventListener("click", () => {
          shown = group.map((m) => ({ ...m, score: m.similarity }));
          openViewer(group.indexOf(member));
        });
        grid.append(item);
      }
      section.append(title, grid);
      box.append(section);
    });
  } catch (error) {
    box.textContent = "";
    say(error.message);
  }
}

// --- views, status, wiring ------------------------------------------------------------

function showView(name) {
  for (const view of ["photos", "tags", "dups", "people"]) {
    $(`${view}-view`).hidden = view !== name;
    $(`tab-${view}`).setAttribute("aria-selected", String(view === name));
  }
  if (name === "tags") loadLabelSets();
  if (name === "people") loadPeople();
}

async function refreshStatus() {
  try {
    const s = await api("/api/status");
    const daemon = s.daemon ? `watch daemon running (pid ${s.daemon.pid})` : "no watch daemon";
    const failed = s.failed ? ` · ${s.failed} could not be read` : "";
    const offline = (s.roots || []).filter((r) => !r.online).map((r) => r.path);
    const away = offline.length ? ` · offline (photos kept): ${offline.join(", ")}` : "";
    const most = (pairs, n) => (pairs || []).slice(0, n).map(([k, c]) => `${k} ${c}`).join(", ");
    const spread = [most(s.by_year, 3), most(s.by_country, 3), most(s.by_camera, 2)]
      .filter(Boolean).map((part) => ` · ${part}`).join("");
    const videos = s.videos ? ` (${s.videos} of them videos, ${clock(s.video_seconds)})` : "";
    $("status").textContent =
      `${s.images} photos${videos}${failed} · ${daemon} · ${s.model}${away}${spread}` +
      analysesLine(s.analyses);
  } catch (error) {
    $("status").textContent = `status unavailable: ${error.message}`;
  }
}

// How far each analysis has got: "faces 120/300 (2 failed)"; nothing once all are done.
const ANALYSIS_NAMES = { views: "wide views", faces: "faces", text: "text", metadata: "metadata", exif: "EXIF" };

function analysesLine(analyses) {
  const parts = Object.entries(analyses || {})
    .filter(([, c]) => c.enabled && (c.pending || c.failed))
    .map(([name, c]) => {
      const label = name === "clip" ? "searchable" : ANALYSIS_NAMES[name] || name;
      const failed = c.failed ? ` (${c.failed} failed)` : "";
      return `${label} ${c.done}/${c.done + c.pending + c.failed}${failed}`;
    });
  return parts.length ? ` · analysing: ${parts.join(", ")}` : "";
}

function searchByFile(file) {
  if (!file) return;
  if (!file.type.startsWith("image/")) {
    say(`${file.name} is not an image: choose a JPEG, PNG, WebP or similar file`);
    return;
  }
  $("q").value = "";
  showView("photos");
  run({ kind: "upload", file });
}

function wire() {
  $("q").addEventListener("input", () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(searchTyped, TYPING_PAUSE_MS);
  });
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typingTimer);
    showView("photos");
    searchTyped();
  });
  $("upload").addEventListener("change", (event) => {
    searchByFile(event.target.files[0]);
    event.target.value = "";
  });
  $("filters-toggle").addEventListener("click", () => {
    const open = $("filters").hidden;
    $("filters").hidden = !open;
    $("filters-toggle").setAttribute("aria-expanded", String(open));
  });
  for (const id of FILTER_IDS) $(id).addEventListener("change", () => run());
  $("f-clear").addEventListener("click", () => {
    for (const id of FILTER_IDS) $(id).value = "";
    run();
  });
  $("f-today").addEventListener("click", () => run({ kind: "today" }));
  $("reset").addEventListener("click", () => { $("q").value = ""; run({ kind: "browse" }); });
  $("more").addEventListener("click", () => { offset += PAGE; run(null, { append: true }); });
  $("tab-photos").addEventListener("click", () => showView("photos"));
  $("v-rank").addEventListener("submit", rankTexts);
  $("tab-tags").addEventListener("click", () => showView("tags"));
  $("tab-dups").addEventListener("click", () => showView("dups"));
  $("labelset-form").addEventListener("submit", createLabelSet);
  $("dups-form").addEventListener("submit", findDuplicates);
  $("v-similar").addEventListener("click", moreLikeThis);
  wireRegionSearch();
  $("v-good").addEventListener("click", () => markCurrent("good"));
  $("v-bad").addEventListener("click", () => markCurrent("bad"));
  $("refine").addEventListener("click", refine);
  $("v-close").addEventListener("click", () => $("viewer").close());
  $("viewer").addEventListener("close", () => $("v-video").pause());
  $("v-prev").addEventListener("click", () => openViewer(current - 1));
  $("v-next").addEventListener("click", () => openViewer(current + 1));
  $("viewer").addEventListener("keydown", (event) => {
    // The player keeps its own arrows (seeking) and may swallow Escape's cancel.
    if (event.key === "Escape") { event.preventDefault(); $("viewer").close(); return; }
    if (event.target === $("v-video")) return;
    if (event.key === "ArrowLeft") openViewer(current - 1);
    if (event.key === "ArrowRight") openViewer(current + 1);
  });
  $("viewer").addEventListener("close", () => {
    const tileEl = document.querySelector(`.tile[data-id="${shown[current]?.id}"]`);
    if (tileEl) tileEl.focus();
  });
  // Drop an image anywhere on the page to search by it.
  let depth = 0;
  document.addEventListener("dragenter", (e) => {
    if ([...e.dataTransfer.types].includes("Files")) { depth++; $("drop").hidden = false; }
  });
  document.addEventListener("dragleave", () => { if (--depth <= 0) { depth = 0; $("drop").hidden = true; } });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    $("drop").hidden = true;
    searchByFile(e.dataTransfer.files[0]);
  });
}

wire();
run({ kind: "browse" });
loadLabelSets();
refreshStatus();
setInterval(refreshStatus, 15000);
