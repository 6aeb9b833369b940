"use strict";
// People: the persons the library's faces form (the People view, a person's photos and
// their bar), and the faces on the large view, named or corrected with a click. Loaded
// after app.js, whose globals it shares ($, api, say, run, mode, shown, current,
// pictureRect); names are user data, always set as text.

let persons = [];  // the last /api/people answer

function personLabel(person) {
  return person.name || `Person ${person.id}`;
}

async function loadPeople() {
  try {
    persons = await api("/api/people");
  } catch (error) {
    say(error.message);
    return;
  }
  const box = $("people");
  box.replaceChildren();
  $("people-summary").textContent = persons.length
    ? `${persons.length} persons, most photos first`
    : "No persons yet: they form once two photos show the same face (photosearch index looks for faces).";
  for (const person of persons) {
    const card = document.createElement("button");
    card.type = "button";
    card.className = "tile person";
    const label = `${personLabel(person)}, ${person.photos} photos`;
    card.title = label;
    card.setAttribute("aria-label", label);
    const img = document.createElement("img");
    img.alt = personLabel(person);
    if (person.cover_face) img.src = `/api/faces/${person.cover_face}/thumbnail`;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = `${personLabel(person)} · ${person.photos}`;
    card.append(img, name);
    card.addEventListener("click", () => openPerson(person));
    box.append(card);
  }
}

function openPerson(person) {
  showView("photos");
  $("q").value = "";
  $("p-name").value = person.name || "";
  const merge = $("p-merge");
  merge.replaceChildren(new Option("Merge with…", ""));
  for (const other of persons.filter((p) => p.id !== person.id)) {
    merge.append(new Option(`${personLabel(other)} (${other.photos} photos)`, other.id));
  }
  run({ kind: "person", id: person.id, name: personLabel(person) });
}

async function personChanged(request, done) {
  try {
    const person = await request;
    await loadPeople();
    openPerson(person);
    if (done) say(done);
  } catch (error) {
    say(error.message);
  }
}

const json = (method, body) => ({
  method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
});

// --- faces on the large view -------------------------------------------------------------

async function showFaces(hit, index) {
  const layer = $("v-faces");
  layer.replaceChildren();
  $("v-not-person").hidden = !(mode.kind === "person");
  if (mode.kind === "person") $("v-not-person").textContent = `Not ${mode.name}`;
  let faces;
  try {
    faces = await api(`/api/images/${hit.id}/faces`);
  } catch (_) {
    return;  // faces are extra: the photo is shown without them
  }
  if (current !== index) return;
  const img = $("v-image");
  const place = () => {
    layer.replaceChildren();
    const p = pictureRect();
    for (const face of faces.filter((f) => f.t === null || hit.kind !== "video")) {
      const [left, top, right, bottom] = face.box;
      const box = document.createElement("button");
      box.type = "button";
      box.className = "face";
      box.style.left = `${p.left - p.img.left + left * p.w}px`;
      box.style.top = `${p.top - p.img.top + top * p.h}px`;
      box.style.width = `${(right - left) * p.w}px`;
      box.style.height = `${(bottom - top) * p.h}px`;
      const who = face.name || (face.person ? `Person ${face.person}` : "Who is this?");
      box.title = `${who}: click to name or correct`;
      box.setAttribute("aria-label", box.title);
      const tag = document.createElement("span");
      tag.textContent = who;
      box.append(tag);
      box.addEventListener("pointerdown", (event) => event.stopPropagation());
      box.addEventListener("click", () => nameFace(face, hit, index));
      layer.append(box);
    }
  };
  if (img.complete && img.naturalWidth) place(); else img.addEventListener("load", place, { once: true });
}

async function nameFace(face, hit, index) {
  const now = face.name || "";
  const answer = window.prompt("Who is this? (a name; empty: not this person)", now);
  if (answer === null || (answer.trim() === now && now)) return;
  const body = answer.trim() ? { name: answer.trim() } : {};
  try {
    await api(`/api/faces/${face.id}/person`, json("PUT", body));
    showFaces(hit, index);
  } catch (error) {
    say(error.message);
  }
}

async function notThisPerson() {
  const hit = shown[current];
  if (!hit || mode.kind !== "person") return;
  try {
    await api(`/api/people/${mode.id}/remove`, json("POST", { image_id: hit.id }));
    $("viewer").close();
    run();
  } catch (error) {
    say(error.message);
  }
}

function wirePeople() {
  $("tab-people").addEventListener("click", () => showView("people"));
  $("v-not-person").addEventListener("click", notThisPerson);
  $("person-bar").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("p-name").value.trim();
    personChanged(api(`/api/people/${mode.id}/name`, json("PUT", { name: name || null })));
  });
  $("p-merge").addEventListener("change", () => {
    const other = Number($("p-merge").value);
    if (!other) return;
    personChanged(api(`/api/people/${mode.id}/merge`, json("POST", { others: [other] })),
                  "Merged: one person now.");
  });
  $("p-hide").addEventListener("click", async () => {
    try {
      await api(`/api/people/${mode.id}/hidden`, json("PUT", { hidden: true }));
      showView("people");
    } catch (error) {
      say(error.message);
    }
  });
}

wirePeople();
