"use strict";
// Text in photos: the lines read in the photo on the large view (with a Copy button),
// and the box of the line that matched the search drawn on the picture. Loaded after
// app.js, whose globals it shares ($, api, say, current, pictureRect); the text read is
// user data, always set as text.

async function showText(hit, index) {
  const section = $("v-text-section");
  const layer = $("v-words");
  layer.replaceChildren();
  section.hidden = true;
  let lines;
  try {
    lines = await api(`/api/images/${hit.id}/text`);
  } catch (_) {
    return;  // the text is extra: the photo is shown without it
  }
  if (current !== index) return;
  $("v-text-lines").textContent = lines.map((line) => line.text).join("\n");
  section.hidden = lines.length === 0;
  if (!hit.text_box) return;
  const img = $("v-image");
  const place = () => {
    layer.replaceChildren();
    const p = pictureRect();
    const [left, top, right, bottom] = hit.text_box;
    const box = document.createElement("div");
    box.className = "word";
    box.title = hit.text || "";
    box.style.left = `${p.left - p.img.left + left * p.w}px`;
    box.style.top = `${p.top - p.img.top + top * p.h}px`;
    box.style.width = `${(right - left) * p.w}px`;
    box.style.height = `${(bottom - top) * p.h}px`;
    layer.append(box);
  };
  if (img.complete && img.naturalWidth) place(); else img.addEventListener("load", place, { once: true });
}

async function copyText() {
  const text = $("v-text-lines").textContent;
  try {
    await navigator.clipboard.writeText(text);
    say("Copied the photo's text.");
  } catch (_) {
    // No clipboard (a page served over plain HTTP to another machine): select it.
    const range = document.createRange();
    range.selectNodeContents($("v-text-lines"));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    say("Selected the photo's text: copy it with Ctrl+C.");
  }
}

$("v-copy-text").addEventListener("click", copyText);
