// The listening page of `audiocodec eval`: blind ABX and MUSHRA-style rating.
//
// Every condition of an item is one AudioBuffer decoded from the base64 FLAC that its
// <script> file put into window.LISTEN_AUDIO. While playing, all buffers of the current
// view run at once, started at the same time and offset on one AudioContext clock; each
// has its own gain, and switching is a short linear crossfade of those gains, so the
// position stays where it is. A loop repeats by scheduling the next pass of the sources to
// start exactly where the last ends, with a short fade over the seam.
"use strict";
(function () {
  const M = window.LISTEN_MANIFEST;
  const FADE = 0.005; // s: crossfades, starts and stops
  const LEAD = 0.05; // s: sources are scheduled this far ahead, so they start together
  const AHEAD = 1.2; // s: the next loop pass is scheduled this long before it starts (timers in a
  // background tab fire about once a second)
  const $ = (id) => document.getElementById(id);
  const api = (window.listen = { ready: false, errors: [], view: "abx", item: null });

  function setStatus(text, bad) {
    $("status").textContent = text;
    $("status").classList.toggle("error", !!bad);
  }
  function fail(msg) {
    api.errors.push(msg);
    console.error("listen: " + msg);
    setStatus(msg, true);
  }
  window.addEventListener("error", (e) => api.errors.push(String(e.message)));

  // ------------------------------------------------------------------ audio loading
  const scripts = {};
  function loadScript(src) {
    if (!scripts[src]) {
      scripts[src] = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = src;
        s.onload = resolve;
        s.onerror = () => reject(new Error("could not load " + src));
        document.head.appendChild(s);
      });
    }
    return scripts[src];
  }
  function base64Bytes(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const contexts = {}; // one AudioContext per sample rate: buffers are never resampled
  function contextFor(rate) {
    if (!contexts[rate]) contexts[rate] = new AudioContext({ sampleRate: rate });
    return contexts[rate];
  }
  const decoded = {}; // item name -> {cid: AudioBuffer}
  async function loadItem(item) {
    if (decoded[item.name]) return decoded[item.name];
    const ctx = contextFor(item.rate);
    const map = {};
    await Promise.all(Object.entries(item.conditions).map(async ([cid, cond]) => {
      await loadScript(cond.script);
      const text = (window.LISTEN_AUDIO || {})[item.name + "/" + cid];
      if (!text) throw new Error(cond.script + " holds no audio for " + cid);
      const buf = await ctx.decodeAudioData(base64Bytes(text).buffer);
      if (buf.length !== item.frames || buf.numberOfChannels !== item.channels) {
        throw new Error(`${cid}: decoded ${buf.length} x ${buf.numberOfChannels}, ` +
                        `expected ${item.frames} x ${item.channels}`);
      }
      map[cid] = buf;
    }));
    decoded[item.name] = map;
    return map;
  }

  // ------------------------------------------------------------------ the player
  function ramp(param, value, now) {
    param.cancelScheduledValues(now);
    param.setValueAtTime(param.value, now);
    param.linearRampToValueAtTime(value, now + FADE);
  }

  class Player {
    constructor() {
      this.ctx = null; this.map = {}; this.group = []; this.current = null;
      this.playing = false; this.pos = 0; this.loopA = 0; this.loopB = 0; this.duration = 0;
      this.seg = null; this.next = null; this.onchange = () => {};
      setInterval(() => this.tick(), 40);
    }
    use(ctx, map, duration) {
      this.halt();
      if (this.ctx && this.ctx !== ctx) this.ctx.suspend();
      this.ctx = ctx; this.map = map; this.duration = duration;
      this.pos = 0; this.loopA = 0; this.loopB = duration;
    }
    setGroup(cids, current) {
      const was = this.playing;
      const at = this.position();
      this.halt();
      this.group = Array.from(new Set(cids));
      this.current = current;
      if (was) this.start(at);
      this.onchange();
    }
    select(cid) {
      this.current = cid;
      if (this.ctx) {
        const now = this.ctx.currentTime;
        for (const seg of [this.seg, this.next]) {
          if (!seg) continue;
          for (const [id, g] of Object.entries(seg.gains)) ramp(g.gain, id === cid ? 1 : 0, now);
        }
      }
      this.onchange();
    }
    segment(when, from) {
      const ctx = this.ctx;
      const dur = Math.max(this.loopB - from, 2 * FADE);
      const master = ctx.createGain();
      master.connect(ctx.destination);
      master.gain.setValueAtTime(0, when);
      master.gain.linearRampToValueAtTime(1, when + FADE);
      master.gain.setValueAtTime(1, when + dur - FADE);
      master.gain.linearRampToValueAtTime(0, when + dur);
      const gains = {}, sources = [];
      for (const cid of this.group) {
        const g = ctx.createGain();
        g.gain.value = cid === this.current ? 1 : 0;
        g.connect(master);
        const s = ctx.createBufferSource();
        s.buffer = this.map[cid];
        s.connect(g);
        s.start(when, from, dur);
        gains[cid] = g; sources.push(s);
      }
      return { when, from, dur, master, gains, sources };
    }
    start(at) {
      if (!this.ctx || !this.group.length) return;
      this.ctx.resume();
      let from = at === undefined ? this.pos : at;
      if (from < this.loopA || from >= this.loopB - 2 * FADE) from = this.loopA;
      this.seg = this.segment(this.ctx.currentTime + LEAD, from);
      this.next = null;
      this.playing = true;
      this.onchange();
    }
    tick() {
      if (!this.playing) return;
      const t = this.ctx.currentTime;
      const end = this.seg.when + this.seg.dur;
      if (!this.next && t > end - AHEAD) this.next = this.segment(end, this.loopA);
      if (this.next && t >= this.next.when) {
        this.drop(this.seg, t);
        this.seg = this.next; this.next = null;
      }
      this.onchange();
    }
    drop(seg, now) {
      ramp(seg.master.gain, 0, now);
      for (const s of seg.sources) {
        try { s.stop(now + 2 * FADE); } catch (e) { /* already stopped */ }
      }
      setTimeout(() => seg.master.disconnect(), 200);
    }
    halt() {
      if (!this.playing) return;
      this.pos = this.position();
      const now = this.ctx.currentTime;
      for (const seg of [this.seg, this.next]) if (seg) this.drop(seg, now);
      this.seg = this.next = null;
      this.playing = false;
    }
    pause() { this.halt(); this.onchange(); }
    toggle() { if (this.playing) this.pause(); else this.start(); }
    position() {
      if (!this.playing) return this.pos;
      const t = this.ctx.currentTime;
      const seg = this.next && t >= this.next.when ? this.next : this.seg;
      return seg.from + Math.min(Math.max(t - seg.when, 0), seg.dur);
    }
    seek(at) {
      const p = Math.min(Math.max(at, 0), this.duration);
      if (this.playing) { this.halt(); this.start(p); } else { this.pos = p; this.onchange(); }
    }
    setLoop(a, b) {
      a = Math.min(Math.max(a, 0), this.duration);
      b = Math.min(Math.max(b, 0), this.duration);
      if (b - a < 0.1) return false;
      const was = this.playing, at = this.position();
      this.halt();
      this.loopA = a; this.loopB = b;
      if (was) this.start(at); else this.onchange();
      return true;
    }
  }
  const player = (api.player = new Player());

  // ------------------------------------------------------------------ helpers
  const item = () => api.item;
  const cond = (cid) => item().conditions[cid];
  function option(select, value, text) {
    const o = document.createElement("option");
    o.value = value; o.textContent = text;
    select.appendChild(o);
  }
  function randomBit() {
    const r = new Uint32Array(1);
    crypto.getRandomValues(r);
    return r[0] & 1;
  }
  function shuffled(list) {
    const a = list.slice(), r = new Uint32Array(a.length);
    crypto.getRandomValues(r);
    for (let i = a.length - 1; i > 0; i--) {
      const j = r[i] % (i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
  // P(K >= k) for K ~ Binomial(n, 1/2): the chance of k or more right answers by guessing
  function pGuess(k, n) {
    let c = 1, p = 0;
    for (let i = 0; i <= n; i++) { if (i >= k) p += c; c = (c * (n - i)) / (i + 1); }
    return p / Math.pow(2, n);
  }
  api.pGuess = pGuess;
  const fmtP = (p) => (p >= 0.001 ? p.toFixed(3) : p.toExponential(1));

  // ------------------------------------------------------------------ ABX
  const abx = { a: null, b: null, xIsA: true, sel: "a", trials: [] };
  const abxDone = []; // finished sessions (pair changed), for the export
  api.abx = abx;
  api.debug = { xIsA: () => abx.xIsA };
  const abxCid = (sel) => (sel === "a" || (sel === "x" && abx.xIsA) ? abx.a : abx.b);
  function abxKeep() {
    if (!abx.trials.length) return;
    const correct = abx.trials.filter((t) => t.correct).length;
    abxDone.push({ item: item().name, a: abx.a, b: abx.b, trials: abx.trials.length, correct,
                   p: pGuess(correct, abx.trials.length) });
  }
  function abxPair(a, b) {
    abxKeep();
    abx.a = a; abx.b = b; abx.trials = []; abx.xIsA = !!randomBit();
    $("abx-a").value = a; $("abx-b").value = b;
    if (api.view === "abx") player.setGroup([a, b], abxCid(abx.sel));
    renderAbx();
  }
  function abxSelect(sel) {
    abx.sel = sel;
    player.select(abxCid(sel));
    renderAbx();
  }
  function abxAnswer(which) {
    if (abx.a === abx.b) return;
    abx.trials.push({ answer: which, correct: (which === "a") === abx.xIsA });
    abx.xIsA = !!randomBit();
    if (abx.sel === "x") player.select(abxCid("x"));
    renderAbx();
  }
  function renderAbx() {
    for (const s of ["a", "b", "x"]) $("sel-" + s).classList.toggle("on", abx.sel === s);
    const n = abx.trials.length, k = abx.trials.filter((t) => t.correct).length;
    const same = abx.a === abx.b;
    $("ans-a").disabled = $("ans-b").disabled = same;
    $("abx-tally").innerHTML = same ? "Choose two different conditions for A and B."
      : n === 0 ? "No answers yet."
      : `${k} / ${n} correct <span class="p">&middot; p = ${fmtP(pGuess(k, n))}` +
        " (probability of this many or more by guessing)</span>";
    const log = $("abx-log");
    log.textContent = "";
    for (const t of abx.trials) {
      const li = document.createElement("li");
      li.textContent = `X is ${t.answer.toUpperCase()}: ${t.correct ? "right" : "wrong"}`;
      if (t.correct) li.className = "ok";
      log.appendChild(li);
    }
  }

  // ------------------------------------------------------------------ MUSHRA
  const mushra = {}; // "item/trial index" -> {order, scores}
  let trialIndex = 0, mushraSel = "ref";
  function trialState() {
    const key = item().name + "/" + trialIndex;
    if (!mushra[key]) {
      mushra[key] = { item: item().name, trial: item().trials[trialIndex],
                      order: shuffled(item().trials[trialIndex].conditions), scores: {} };
    }
    return mushra[key];
  }
  api.trialOrder = () => trialState().order.slice();
  function mushraCid(sel) { return sel === "ref" ? "reference" : trialState().order[sel]; }
  function mushraSelect(sel) {
    if (sel !== "ref" && !(sel >= 0 && sel < trialState().order.length)) return;
    mushraSel = sel;
    player.select(mushraCid(sel));
    renderMushra();
  }
  function mushraRate(index, value) {
    const st = trialState();
    st.scores[st.order[index]] = Math.min(100, Math.max(0, Math.round(value)));
    renderMushra();
  }
  function buildMushra() {
    const st = trialState();
    const rows = $("mushra-rows");
    rows.textContent = "";
    st.order.forEach((cid, i) => {
      const row = document.createElement("div");
      row.className = "mrow"; row.id = "mrow-" + i;
      const b = document.createElement("button");
      b.textContent = String(i + 1); b.title = "key " + ((i + 1) % 10); b.id = "msel-" + i;
      b.addEventListener("click", () => mushraSelect(i));
      const s = document.createElement("input");
      s.type = "range"; s.min = 0; s.max = 100; s.step = 1; s.id = "mslider-" + i;
      s.value = cid in st.scores ? st.scores[cid] : 50;
      s.addEventListener("input", () => { mushraRate(i, Number(s.value)); mushraSelect(i); });
      const v = document.createElement("span");
      v.className = "val"; v.id = "mval-" + i;
      row.append(b, s, v);
      rows.appendChild(row);
    });
    player.setGroup(["reference", ...st.order], mushraCid(mushraSel));
    renderMushra();
  }
  function renderMushra() {
    const st = trialState();
    $("sel-ref").classList.toggle("on", mushraSel === "ref");
    st.order.forEach((cid, i) => {
      const rated = cid in st.scores;
      $("mrow-" + i).classList.toggle("untouched", !rated);
      $("msel-" + i).classList.toggle("on", mushraSel === i);
      $("mval-" + i).textContent = rated ? String(st.scores[cid]) : "-";
      if (rated) $("mslider-" + i).value = st.scores[cid];
    });
    const n = Object.keys(st.scores).length;
    $("mushra-status").textContent = `rated ${n} of ${st.order.length}`;
  }
  function setTrial(i) {
    trialIndex = i; mushraSel = "ref";
    $("trial").value = String(i);
    buildMushra();
  }

  // ------------------------------------------------------------------ export
  function mushraRows() {
    const rows = [];
    for (const st of Object.values(mushra)) {
      const it = M.items.find((x) => x.name === st.item);
      for (const cid of st.order) {
        if (!(cid in st.scores)) continue;
        const c = it.conditions[cid];
        rows.push({ item: st.item, trial: st.trial.bitrate, condition: cid, method: c.method,
                    nominal: c.nominal, bitrate: c.bitrate, score: st.scores[cid],
                    label: cid === "reference" ? "hidden reference" : c.label });
      }
    }
    return rows;
  }
  function exportText(kind) {
    const listener = $("listener").value.trim() || "anonymous";
    const rows = mushraRows().map((r) => ({ listener, ...r }));
    if (kind === "json") {
      const sessions = abxDone.slice();
      const n = abx.trials.length, k = abx.trials.filter((t) => t.correct).length;
      if (n) sessions.push({ item: item().name, a: abx.a, b: abx.b, trials: n, correct: k, p: pGuess(k, n) });
      return JSON.stringify({ format: "audiocodec-listening", version: 1, listener,
                              date: new Date().toISOString(), mushra: rows,
                              abx: sessions.map((s) => ({ listener, ...s })) }, null, 1);
    }
    const cols = ["listener", "item", "trial", "condition", "method", "nominal", "bitrate", "score", "label"];
    const cell = (v) => (v === null || v === undefined ? "" : /[",\n]/.test(String(v))
      ? '"' + String(v).replace(/"/g, '""') + '"' : String(v));
    return [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
  }
  api.exportText = exportText;
  function download(kind) {
    const name = "listening-" + ($("listener").value.trim() || "anonymous").replace(/[^\w.-]/g, "_") +
      "-" + new Date().toISOString().slice(0, 19).replace(/[:T]/g, "") + "." + kind;
    const url = URL.createObjectURL(new Blob([exportText(kind)], { type: kind === "json" ? "application/json" : "text/csv" }));
    const a = document.createElement("a");
    a.href = url; a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 2000);
    api.lastExport = name;
  }

  // ------------------------------------------------------------------ views and items
  function setView(view) {
    api.view = view;
    for (const v of ["abx", "mushra"]) {
      $("view-" + v).hidden = v !== view;
      $("tab-" + v).classList.toggle("on", v === view);
    }
    if (!item()) return;
    if (view === "abx") player.setGroup([abx.a, abx.b], abxCid(abx.sel));
    else buildMushra();
  }
  api.setView = setView;
  function describe(it) {
    const decodes = Object.values(it.conditions).filter((c) => !["reference", "anchor"].includes(c.method));
    const worst = Math.max(0, ...decodes.map((c) => Math.abs(c.level_db || 0)));
    const gain = it.gain_db < 0 ? ` All conditions are attenuated by ${-it.gain_db.toFixed(2)} dB together, so none clips.` : "";
    $("excerpt-note").textContent =
      `Excerpt ${it.start.toFixed(2)}-${(it.start + it.seconds).toFixed(2)} s of ${it.name} ` +
      `(${it.rate} Hz, ${it.channels} ch): ${it.how}. Every condition is delay-aligned to the ` +
      "original and of its length. Not level-matched: each plays as decoded (largest level " +
      `difference of a decode from the original here: ${worst.toFixed(2)} dB).${gain}`;
    const list = $("download-list");
    list.textContent = "";
    for (const c of Object.values(it.conditions)) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = c.flac; a.textContent = c.label; a.download = "";
      const lv = c.level_db === null ? "" : ` (${c.level_db >= 0 ? "+" : ""}${c.level_db.toFixed(2)} dB)`;
      li.append(a, document.createTextNode(lv));
      list.appendChild(li);
    }
  }
  async function selectItem(index) {
    const it = M.items[index];
    api.ready = false;
    player.pause();
    setStatus(`decoding ${Object.keys(it.conditions).length} conditions of ${it.name}...`);
    let map;
    try {
      map = await loadItem(it);
    } catch (e) {
      fail(String(e && e.message ? e.message : e));
      return;
    }
    abxKeep();
    abx.trials = [];
    api.item = it;
    $("item").value = String(index);
    player.use(contextFor(it.rate), map, it.frames / it.rate);
    for (const id of ["abx-a", "abx-b"]) {
      $(id).textContent = "";
      for (const [cid, c] of Object.entries(it.conditions)) option($(id), cid, c.label);
    }
    $("trial").textContent = "";
    it.trials.forEach((t, i) => option($("trial"), i, `at ${t.name} (${t.conditions.length} conditions)`));
    describe(it);
    trialIndex = 0; mushraSel = "ref";
    abx.a = abx.b = null;
    abxPair(it.abx[0], it.abx[1]);
    setView(api.view);
    setLoopInputs();
    setStatus(`ready: ${Object.keys(map).length} conditions of ${it.name} decoded`);
    api.ready = true;
  }
  api.selectItem = selectItem;

  // ------------------------------------------------------------------ transport display
  function setLoopInputs() {
    $("loop-start").value = player.loopA.toFixed(2);
    $("loop-end").value = player.loopB.toFixed(2);
  }
  function renderTransport() {
    const d = player.duration || 1, p = player.position();
    $("cursor").style.left = (100 * p) / d + "%";
    $("loop-region").style.left = (100 * player.loopA) / d + "%";
    $("loop-region").style.width = (100 * (player.loopB - player.loopA)) / d + "%";
    $("time").textContent = `${p.toFixed(2)} / ${player.duration.toFixed(2)} s`;
    $("play").innerHTML = player.playing ? "&#10074;&#10074; Pause" : "&#9654; Play";
    const what = api.view === "abx" ? abx.sel.toUpperCase()
      : mushraSel === "ref" ? "Reference" : "condition " + (mushraSel + 1);
    $("now-playing").textContent = (player.playing ? "playing " : "selected ") + what;
  }
  player.onchange = renderTransport;
  function loopHere(end) {
    const p = player.position();
    if (end ? player.setLoop(player.loopA, p) : player.setLoop(p, player.loopB)) setLoopInputs();
  }

  // ------------------------------------------------------------------ keys and clicks
  function onKey(e) {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === "SELECT" || (t.tagName === "INPUT" && t.type !== "range"))) {
      if (e.key === "Enter" || e.key === "Escape") t.blur(); // back to the keys of the page
      return;
    }
    const k = e.key.toLowerCase();
    const abxView = api.view === "abx";
    const acts = {
      " ": () => player.toggle(),
      "[": () => loopHere(false),
      "]": () => loopHere(true),
      "\\": () => { player.setLoop(0, player.duration); setLoopInputs(); },
      arrowleft: () => player.seek(player.position() - 1),
      arrowright: () => player.seek(player.position() + 1),
      v: () => setView(abxView ? "mushra" : "abx"),
    };
    if (abxView) Object.assign(acts, { a: () => abxSelect("a"), b: () => abxSelect("b"),
      x: () => abxSelect("x"), 1: () => abxAnswer("a"), 2: () => abxAnswer("b") });
    else {
      acts.r = () => mushraSelect("ref");
      for (let i = 0; i < 10; i++) acts[String((i + 1) % 10)] = () => mushraSelect(i);
      const nudge = (d) => () => {
        if (mushraSel === "ref") return;
        const cid = mushraCid(mushraSel), st = trialState();
        mushraRate(mushraSel, (cid in st.scores ? st.scores[cid] : 50) + d);
      };
      acts.arrowup = nudge(5); acts.arrowdown = nudge(-5);
    }
    if (t && t.type === "range" && k.startsWith("arrow")) return;
    if (!acts[k]) return;
    e.preventDefault();
    acts[k]();
  }
  function wire() {
    document.addEventListener("keydown", onKey);
    // a clicked button keeps no focus: Space must play, not press the button again
    document.addEventListener("click", (e) => { if (e.target.closest("button")) e.target.closest("button").blur(); });
    const on = (id, fn) => $(id).addEventListener("click", fn);
    on("play", () => player.toggle());
    for (const s of ["a", "b", "x"]) on("sel-" + s, () => abxSelect(s));
    on("ans-a", () => abxAnswer("a"));
    on("ans-b", () => abxAnswer("b"));
    on("abx-reset", () => abxPair(abx.a, abx.b));
    on("sel-ref", () => mushraSelect("ref"));
    on("next-trial", () => setTrial((trialIndex + 1) % item().trials.length));
    on("tab-abx", () => setView("abx"));
    on("tab-mushra", () => setView("mushra"));
    on("loop-reset", () => { player.setLoop(0, player.duration); setLoopInputs(); });
    on("export-csv", () => download("csv"));
    on("export-json", () => download("json"));
    const change = (id, fn) => $(id).addEventListener("change", (e) => { fn(e.target.value); e.target.blur(); });
    change("item", (v) => selectItem(Number(v)));
    change("trial", (v) => setTrial(Number(v)));
    change("abx-a", (v) => abxPair(v, abx.b));
    change("abx-b", (v) => abxPair(abx.a, v));
    const loopInput = () => {
      if (!player.setLoop(Number($("loop-start").value), Number($("loop-end").value))) setLoopInputs();
    };
    $("loop-start").addEventListener("change", loopInput);
    $("loop-end").addEventListener("change", loopInput);
    $("timeline").addEventListener("click", (e) => {
      const r = e.currentTarget.getBoundingClientRect();
      player.seek(((e.clientX - r.left) / r.width) * player.duration);
    });
  }

  wire();
  M.items.forEach((it, i) => option($("item"), i, `${it.name} (${it.seconds.toFixed(1)} s)`));
  $("notes").textContent = (M.notes || []).join(" ");
  if (!M.items.length) setStatus("no items", true);
  else selectItem(0);
})();
