"use strict";
// The page: tabs, model choices, uploads and recordings, results. Everything comes from this
// server (no CDN); the server applies the models.
const $ = (id) => document.getElementById(id);
let MODELS = [];
let recorded = null;   // a WAV Blob recorded in the page
let maskCanvas = null; // completion: the mask painted over the image

function escapeHtml(s) {
  return s.replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}

// The model cards: headings, bullets, tables, code and bold of Markdown.
function markdown(md) {
  const inline = (t) => escapeHtml(t).replace(/`([^`]+)`/g, "<code>$1</code>").replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>");
  const out = [];
  let table = null, list = false, pre = false;
  const flush = () => {
    if (table) { out.push("<table>" + table.join("") + "</table>"); table = null; }
    if (list) { out.push("</ul>"); list = false; }
  };
  for (const line of md.split("\n")) {
    if (line.startsWith("```")) { flush(); out.push(pre ? "</pre>" : "<pre>"); pre = !pre; continue; }
    if (pre) { out.push(escapeHtml(line)); continue; }
    if (/^\|/.test(line)) {
      if (/^\|[\s:|-]+\|$/.test(line)) continue;
      const cells = line.replace(/^\||\|$/g, "").split("|").map((c) => inline(c.trim()));
      const tag = table ? "td" : "th";
      table = table || [];
      table.push("<tr>" + cells.map((c) => `<${tag}>${c}</${tag}>`).join("") + "</tr>");
      continue;
    }
    if (table) flush();
    const h = line.match(/^(#{1,4}) (.*)/);
    if (h) { flush(); out.push(`<h${h[1].length + 2}>${inline(h[2])}</h${h[1].length + 2}>`); continue; }
    if (/^- /.test(line)) { if (!list) { out.push("<ul>"); list = true; } out.push("<li>" + inline(line.slice(2)) + "</li>"); continue; }
    flush();
    if (line.trim()) out.push("<p>" + inline(line) + "</p>");
  }
  flush();
  return out.join("\n");
}

function showMessage(id, text, kind) {
  const el = $(id);
  el.textContent = text || "";
  el.className = "message" + (text ? " " + (kind || "error") : "");
}

async function post(url, form) {
  let res;
  try {
    res = await fetch(url, {method: "POST", body: form});
  } catch (e) {
    return {error: "the server did not answer (" + e + ")"};
  }
  try {
    return await res.json();
  } catch (e) {
    return {error: `the server answered ${res.status} ${res.statusText}`};
  }
}

function modelOf(selectId) { return MODELS.find((m) => m.id === $(selectId).value); }

function fill(select, values, keep) {
  const old = select.value;
  select.innerHTML = "";
  for (const v of values) { const o = document.createElement("option"); o.value = v; o.textContent = v; select.appendChild(o); }
  if (keep && values.includes(old)) select.value = old;
}

function modelChanged(tab) {
  const sel = $(tab + "-model");
  const m = modelOf(tab + "-model");
  $(tab + "-card").innerHTML = m ? markdown(m.card) : "";
  $(tab + "-summary").textContent = m ? [m.summary, m.score && "held-out: " + m.score,
    m.steps && m.steps + " training steps"].filter(Boolean).join(" · ") : "";
  if (!m) return;
  if (tab === "vc") {
    fill($("vc-source"), m.speakers || [], true);
    fill($("vc-target"), m.speakers || [], true);
    if ($("vc-source").value === $("vc-target").value && (m.speakers || []).length > 1) $("vc-target").selectedIndex = 1;
  }
  if (tab === "img") imageModelChanged(m);
  sel.title = m.summary || "";
}

function imageModelChanged(m) {
  const cmd = m.command;
  const isPix2pix = m.task === "pix2pix";
  $("img-target-label").hidden = !(cmd === "translate" && (m.domains || []).length && !isPix2pix);
  fill($("img-target"), m.domains || [], true);
  $("img-input").hidden = cmd === "sample";
  $("img-sample-box").hidden = cmd !== "sample";
  $("img-canvas-box").hidden = !(isPix2pix || cmd === "complete");
  $("img-before-fig").hidden = cmd === "sample";
  $("img-go").textContent = {translate: "Translate", sample: "Sample", complete: "Fill the holes"}[cmd];
  $("img-draw-hint").textContent = isPix2pix ? "or draw edges below (white on black)" :
    cmd === "complete" ? "then paint the holes to fill on it below" : "";
  clearCanvas();
}

// ---------------------------------------------------------------- drawing
function clearCanvas() {
  const c = $("img-canvas"), ctx = c.getContext("2d");
  ctx.fillStyle = "#000"; ctx.fillRect(0, 0, c.width, c.height);
  maskCanvas = null;
  const m = modelOf("img-model");
  if (m && m.command === "complete" && $("img-file").files[0]) drawImageUnderMask();
}

function drawImageUnderMask() {
  const c = $("img-canvas"), ctx = c.getContext("2d");
  const img = new Image();
  img.onload = () => { ctx.drawImage(img, 0, 0, c.width, c.height); URL.revokeObjectURL(img.src); };
  img.src = URL.createObjectURL($("img-file").files[0]);
  maskCanvas = document.createElement("canvas");
  maskCanvas.width = c.width; maskCanvas.height = c.height;
  const m = maskCanvas.getContext("2d");
  m.fillStyle = "#000"; m.fillRect(0, 0, c.width, c.height);
}

function setupCanvas() {
  const c = $("img-canvas"), ctx = c.getContext("2d");
  let last = null;  // the previous point of the stroke being drawn
  const at = (e) => { const r = c.getBoundingClientRect(); return [(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height]; };
  const stroke = (e) => {
    if (!last) return;
    const [x, y] = at(e);
    const complete = modelOf("img-model") && modelOf("img-model").command === "complete";
    const targets = complete && maskCanvas ? [[ctx, "#fff", 26], [maskCanvas.getContext("2d"), "#fff", 26]] : [[ctx, "#fff", 14]];
    for (const [g, color, w] of targets) {  // a segment from the last point: strokes stay whole however fast the pointer moves
      g.strokeStyle = color; g.lineWidth = w; g.lineCap = "round"; g.lineJoin = "round";
      g.beginPath(); g.moveTo(last[0], last[1]); g.lineTo(x, y); g.stroke();
    }
    last = [x, y];
    c.dataset.drawn = "1";
  };
  c.addEventListener("pointerdown", (e) => { last = at(e); stroke(e); });
  c.addEventListener("pointermove", stroke);
  window.addEventListener("pointerup", () => { last = null; });
  $("img-clear").addEventListener("click", () => { c.dataset.drawn = ""; clearCanvas(); });
  $("img-file").addEventListener("change", () => {
    const m = modelOf("img-model");
    if (m && m.command === "complete") { clearCanvas(); drawImageUnderMask(); }
  });
}

const canvasBlob = (canvas) => new Promise((resolve) => canvas.toBlob(resolve, "image/png"));

// ---------------------------------------------------------------- recording (PCM -> WAV in the page)
let rec = null;
function wavBlob(chunks, rate) {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const buf = new ArrayBuffer(44 + 2 * n), v = new DataView(buf);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, "RIFF"); v.setUint32(4, 36 + 2 * n, true); str(8, "WAVE"); str(12, "fmt ");
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, rate, true);
  v.setUint32(28, 2 * rate, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true); str(36, "data"); v.setUint32(40, 2 * n, true);
  let o = 44;
  for (const c of chunks) for (let i = 0; i < c.length; i++, o += 2) v.setInt16(o, Math.max(-1, Math.min(1, c[i])) * 32767, true);
  return new Blob([buf], {type: "audio/wav"});
}

async function toggleRecord() {
  const btn = $("vc-record");
  if (rec) {
    rec.stream.getTracks().forEach((t) => t.stop());
    rec.node.disconnect(); rec.src.disconnect();
    recorded = wavBlob(rec.chunks, rec.ctx.sampleRate);
    const secs = rec.chunks.reduce((a, c) => a + c.length, 0) / rec.ctx.sampleRate;
    await rec.ctx.close();
    rec = null;
    btn.textContent = "Record again"; btn.classList.remove("recording");
    $("vc-record-status").textContent = `recorded ${secs.toFixed(1)} s (used instead of the file)`;
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({audio: true});
    const ctx = new AudioContext();
    const src = ctx.createMediaStreamSource(stream);
    const node = ctx.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    node.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
    src.connect(node); node.connect(ctx.destination);
    rec = {stream, ctx, src, node, chunks};
    btn.textContent = "Stop"; btn.classList.add("recording");
    $("vc-record-status").textContent = "recording...";
  } catch (e) {
    showMessage("vc-message", "the microphone could not be opened (" + e.message + ")");
  }
}

// ---------------------------------------------------------------- actions
async function run(tab, url, form, show) {
  const go = $(tab + "-go");
  go.disabled = true;
  showMessage(tab + "-message", "working...", "note");
  const out = await post(url, form);
  go.disabled = false;
  if (out.error) { showMessage(tab + "-message", out.error); $(tab + "-result").hidden = true; return; }
  showMessage(tab + "-message", (out.notes || []).join("; "), "note");
  show(out);
  const t = out.convert_seconds !== undefined ? `${out.convert_seconds.toFixed(2)} s` : "";
  $(tab + "-time").textContent = `took ${t}` + (out.duration ? ` for ${out.duration.toFixed(1)} s of audio` : "") +
    ` (${out.seconds.toFixed(2)} s with upload and plots)`;
  $(tab + "-result").hidden = false;
}

async function convert() {
  const f = new FormData();
  f.append("model", $("vc-model").value); f.append("source", $("vc-source").value);
  f.append("target", $("vc-target").value); f.append("semitones", $("vc-semitones").value || "0");
  if (recorded) f.append("file", recorded, "recording.wav");
  else if ($("vc-file").files[0]) f.append("file", $("vc-file").files[0]);
  await run("vc", "/api/convert", f, (out) => {
    $("vc-before").src = out.before; $("vc-after").src = out.after; $("vc-plot").src = out.plot;
    $("vc-download").href = out.download + "?download=1";
  });
}

async function convertBatch() {
  const f = new FormData();
  f.append("model", $("vc-model").value); f.append("source", $("vc-source").value);
  f.append("target", $("vc-target").value); f.append("semitones", $("vc-semitones").value || "0");
  for (const file of [...$("vc-folder").files, ...$("vc-files").files]) f.append("files", file, file.name);
  $("vc-batch-go").disabled = true;
  showMessage("vc-batch-message", "working...", "note");
  const out = await post("/api/convert-batch", f);
  $("vc-batch-go").disabled = false;
  if (out.error) { showMessage("vc-batch-message", out.error); $("vc-batch-result").hidden = true; return; }
  showMessage("vc-batch-message", out.skipped.length ? "skipped: " + out.skipped.join("; ") : "", "note");
  $("vc-batch-download").href = out.download + "?download=1";
  $("vc-batch-info").textContent = `${out.converted.length} file(s) converted in ${out.seconds.toFixed(1)} s`;
  $("vc-batch-result").hidden = false;
}

async function postfilter() {
  const f = new FormData();
  f.append("model", $("pf-model").value);
  if ($("pf-file").files[0]) f.append("file", $("pf-file").files[0]);
  await run("pf", "/api/postfilter", f, (out) => {
    $("pf-before").src = out.before; $("pf-after").src = out.after; $("pf-plot").src = out.plot; $("pf-gv").src = out.gv_plot;
    $("pf-download").href = out.download + "?download=1";
  });
}

async function images() {
  const m = modelOf("img-model");
  if (!m) return;
  const f = new FormData();
  f.append("model", m.id);
  let url = "/api/" + m.command;
  if (m.command === "translate") {
    if ($("img-target").value && !$("img-target-label").hidden) f.append("target", $("img-target").value);
    if ($("img-file").files[0]) f.append("file", $("img-file").files[0]);
    else if (m.task === "pix2pix" && $("img-canvas").dataset.drawn) f.append("file", await canvasBlob($("img-canvas")), "drawing.png");
  } else if (m.command === "sample") {
    f.append("n", $("img-n").value); f.append("seed", $("img-seed").value);
  } else {
    if ($("img-file").files[0]) f.append("file", $("img-file").files[0]);
    if (maskCanvas) f.append("mask", await canvasBlob(maskCanvas), "mask.png");
  }
  await run("img", url, f, (out) => {
    if (out.before) $("img-before").src = out.before;
    $("img-after").src = out.after; $("img-download").href = out.download + "?download=1";
  });
}

async function init() {
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => {
    document.querySelectorAll(".tab, .panel").forEach((e) => e.classList.remove("active"));
    b.classList.add("active"); $("tab-" + b.dataset.tab).classList.add("active");
  }));
  let data;
  try { data = await (await fetch("/api/models")).json(); } catch (e) { data = {error: String(e)}; }
  if (data.error) { $("loading").textContent = "The models could not be listed: " + data.error; return; }
  MODELS = data.models;
  $("loading").remove();
  for (const tab of ["vc", "pf", "img"]) {
    const sel = $(tab + "-model");
    const cmds = sel.dataset.command.split(",");
    const mine = MODELS.filter((m) => cmds.includes(m.command));
    sel.innerHTML = "";
    for (const m of mine) { const o = document.createElement("option"); o.value = m.id; o.textContent = m.label; sel.appendChild(o); }
    if (!mine.length) showMessage(tab + "-message", "no model for this tab: pass one with `vcgan ui --checkpoint FILE`", "note");
    sel.addEventListener("change", () => modelChanged(tab));
    modelChanged(tab);
  }
  $("vc-record").addEventListener("click", toggleRecord);
  $("vc-file").addEventListener("change", () => { recorded = null; $("vc-record-status").textContent = ""; });
  $("vc-go").addEventListener("click", convert);
  $("vc-batch-go").addEventListener("click", convertBatch);
  $("pf-go").addEventListener("click", postfilter);
  $("img-go").addEventListener("click", images);
  setupCanvas();
}
init();
