// The biofeedback page: a view of the server's session, store and comparison. It shows numbers the server
// computed (per-beat objects of `--jsonl`, `compare --json`, `trends --json`); it computes no index.
"use strict";

(function () {
  const C = window.BFCharts;
  const S = {
    setup: null, lang: "en", live: null, last: null, ws: null, wsState: "connecting",
    frame: null, frameAt: 0, sound: false, audio: null, lastCue: null, charts: {}, replayWs: null,
  };
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
  const main = document.getElementById("main");
  const DIGITS = { hr_bpm: 1, coherence: 2, rmssd_ms: 1, relaxation: 0, artifacts_pct: 1, mean_hr_bpm: 1,
    ln_rmssd: 2, sdnn_ms: 1, lf_ms2: 0, hf_ms2: 0, lf_hf: 2 };

  // ---- helpers ---------------------------------------------------------------------------------------
  function T(key, fallback) {
    const texts = S.setup ? S.setup.texts[S.lang] : null;
    return (texts && texts[key]) || fallback || key;
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) { continue; }
      if (k === "text") { e.textContent = v; } else if (k.startsWith("on")) { e.addEventListener(k.slice(2), v); }
      else { e.setAttribute(k, v === true ? "" : v); }
    }
    for (const k of kids) { if (k !== null && k !== undefined) { e.append(k); } }
    return e;
  }
  const fmt = (v, key) => C.fmt(v, DIGITS[key] === undefined ? 1 : DIGITS[key]);
  function clock(s) {
    if (s === null || s === undefined || !isFinite(s)) { return "—"; }
    s = Math.max(0, Math.round(s));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  async function api(path, opts) {
    const r = await fetch(path, Object.assign({ credentials: "same-origin", headers: { "content-type": "application/json" } }, opts || {}));
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { throw new Error(body.error || (r.status + " " + r.statusText)); }
    return body;
  }
  const post = (path, data) => api(path, { method: "POST", body: JSON.stringify(data || {}) });
  function zoneOf(v) {
    if (v === null || v === undefined) { return ""; }
    for (const z of S.setup.coherence_zones) { if (v >= z.lo && (z.hi === null || v < z.hi)) { return z.name; } }
    return "";
  }
  function applyTexts(root) {
    for (const e of (root || document).querySelectorAll("[data-t]")) { e.textContent = T(e.dataset.t, e.textContent); }
    document.documentElement.lang = S.lang;
  }
  function practiceTitle(L) {
    const p = S.setup.practices.find((x) => x.name === L.practice);
    return p ? p.title[S.lang] : L.title;
  }
  // A rate for people: 5.5 (5,5 in Dutch), as the terminal writes it (run_assessment.rate_text).
  function rateText(v) {
    if (v === null || v === undefined || !isFinite(v)) { return "—"; }
    const t = String(+Number(v).toFixed(2));
    return S.lang === "nl" ? t.replace(".", ",") : t;
  }
  function fill(text, values) { return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m)); }
  const liveRoute = () => ["practise", "assessment"].includes(route().name);
  function verdictText(v) {
    const key = { "higher (beyond noise)": "higher", "lower (beyond noise)": "lower", "no clear change": "no_change",
      "not judged": "not_judged", "not available": "not_available" }[v];
    return key ? T("web.verdict." + key, v) : v;
  }

  // ---- live connection -------------------------------------------------------------------------------
  function connect() {
    const ws = new WebSocket("ws://" + location.host + "/ws/live");
    S.ws = ws;
    setWs("connecting");
    ws.onopen = () => setWs("connected");
    ws.onmessage = (ev) => onLive(JSON.parse(ev.data));
    ws.onclose = () => { setWs("disconnected"); setTimeout(connect, 1000); };
  }
  function setWs(state) {
    S.wsState = state;
    const e = document.querySelector("[data-live=ws]");
    if (e) { e.dataset.state = state; e.textContent = state === "connected" ? "●" : "○"; e.title = state; }
  }
  function onLive(m) {
    if (m.type === "snapshot") {
      // sent when the link opens (just after the page loads, and at every reconnect): on an idle page
      // that already shows this state, the start form keeps what the user has chosen and typed
      const same = !S.live && !m.live && JSON.stringify(S.last) === JSON.stringify(m.last);
      S.live = m.live; S.last = m.last; S.pacerTrace = [];
      if (S.live && S.live.frame) { S.frame = S.live.frame; S.frameAt = performance.now(); }
      if (liveRoute() && !same) { render(); }
      return;
    }
    if (m.type === "frame") {
      if (S.live) {
        S.frame = m; S.frameAt = performance.now(); updateClock(); cue(m);
        // the pacer's lung volume drawn under the heart-rate wave (the breath the heart follows)
        S.pacerTrace = S.pacerTrace || [];
        if (m.pacer) { S.pacerTrace.push([m.t_s, m.pacer.lung_volume]); }
        if (S.pacerTrace.length > 1200) { S.pacerTrace.splice(0, S.pacerTrace.length - 1200); }
      }
      return;
    }
    if (m.type === "stored" || m.type === "error") {
      S.last = m; const was = S.live; S.live = null;
      if (liveRoute()) {
        if (m.type === "stored" && was) { location.hash = (m.assessment ? "#/assessment/" : "#/after/") + m.session_id; } else { render(); }
      }
      return;
    }
    if (m.type === "assessment") { return; }  // its result: the page reads it from /api/assessments/ID
    if (!S.live) { return; }
    if (m.type === "beat") {
      S.live.beat = m;
      S.live.recent.push([m.t_s, m.hr_bpm, m.coherence]);
      if (S.live.recent.length > 300) { S.live.recent.shift(); }
      showBeat(m, document);
      if (!S.wavePending) { S.wavePending = true; requestAnimationFrame(() => { S.wavePending = false; drawWave(); }); }
    } else if (m.type === "event") {
      const d = m.data || {};
      if (m.kind === "prompt_shown") { S.live.prompt = d.text; }
      else if (m.kind === "connected" || m.kind === "contact_regained") { S.live.connection = "connected"; }
      else if (m.kind === "disconnected") { S.live.connection = "disconnected"; }
      else if (m.kind === "reconnecting") { S.live.connection = "reconnecting"; S.live.reconnects += 1; }
      else if (m.kind === "contact_lost") { S.live.connection = "contact_lost"; }
      else if (m.kind === "battery") { S.live.battery_pct = d.battery_pct; }
      else if (m.kind === "user_marker") { S.live.markers += 1; }
      showStatus();
    }
  }

  // ---- views -----------------------------------------------------------------------------------------
  function route() {
    const parts = location.hash.replace(/^#\/?/, "").split("/");
    if (parts[0] === "after" && parts[1]) { return { name: "after", id: parts[1] }; }
    if (parts[0] === "history") { return { name: "history" }; }
    if (parts[0] === "session" && parts[1]) { return { name: "session", id: parts[1] }; }
    if (parts[0] === "trends") { return { name: "trends" }; }
    if (parts[0] === "assessment" && parts[1]) { return { name: "assessment_result", id: parts[1] }; }
    if (parts[0] === "assessment") { return { name: "assessment" }; }
    return { name: "practise" };
  }
  function render() {
    stopReplay();
    const r = route();
    for (const a of document.querySelectorAll("[data-nav]")) {
      const on = a.dataset.nav === r.name || (a.dataset.nav === "history" && (r.name === "session" || r.name === "after"))
        || (a.dataset.nav === "assessment" && r.name === "assessment_result");
      if (on) { a.setAttribute("aria-current", "page"); } else { a.removeAttribute("aria-current"); }
    }
    main.replaceChildren();
    main.dataset.view = r.name;
    S.charts = {};
    ({ practise: viewPractise, after: viewAfter, history: viewHistory, session: viewSession, trends: viewTrends,
      assessment: viewAssessment, assessment_result: viewAssessmentResult })[r.name](r);
    applyTexts(main);
  }

  // -- start and practise --
  function viewPractise() {
    if (S.live) { return viewLive(); }
    const sec = el("section", { class: "card start", "aria-labelledby": "start-h" });
    sec.append(el("h1", { id: "start-h", "data-t": "web.start_title" }));
    if (S.last && S.last.session_id) {
      sec.append(el("p", { class: "note", "data-last": S.last.type }, el("span", { "data-t": "web.ended" }), " ",
        S.last.assessment ? el("a", { href: "#/assessment/" + S.last.session_id, "data-t": "web.see_assessment" })
          : el("a", { href: "#/after/" + S.last.session_id, "data-t": "web.see_comparison" })));
    }
    if (S.last && S.last.type === "error") { sec.append(el("p", { class: "error", role: "alert", text: S.last.message })); }
    const d = S.setup.defaults;
    const form = el("form", { id: "start-form" });
    const strapBox = el("div", { class: "strap", id: "strap", hidden: true });
    const practice = el("select", { id: "f-practice", name: "practice" });
    for (const p of S.setup.practices) {
      practice.append(el("option", { value: p.name, selected: p.name === d.practice, text: p.title[S.lang] || p.name }));
    }
    const desc = el("p", { class: "muted", id: "f-desc" });
    const rateBox = el("div", { class: "field", id: "rate-field", hidden: true });
    const showDesc = () => {
      const p = S.setup.practices.find((x) => x.name === practice.value); desc.textContent = p ? p.description[S.lang] : "";
      rateBox.hidden = practice.value !== "resonance";
    };
    practice.addEventListener("change", showDesc);
    const rate = rateChoice(rateBox);
    const num = (id, value, step) => el("input", { id: id, type: "number", min: "0", max: "240", step: step, value: value, inputmode: "decimal" });
    const lang = el("select", { id: "f-lang" }, el("option", { value: "en", text: "English" }), el("option", { value: "nl", text: "Nederlands" }));
    lang.value = S.lang;
    const source = el("select", { id: "f-source" },
      el("option", { value: "simulator", "data-t": "web.simulator" }), el("option", { value: "strap", "data-t": "web.strap" }));
    const speed = el("select", { id: "f-speed" });
    for (const x of [1, 2, 5, 10, 20, 30, 60]) { speed.append(el("option", { value: String(x), text: x + "×" })); }
    const field = (id, key, input) => el("div", { class: "field" }, el("label", { for: id, "data-t": key }), input);
    form.append(
      field("f-practice", "web.practice", practice), desc, rateBox,
      el("fieldset", {}, el("legend", { "data-t": "web.start_phases" }),
        el("div", { class: "row3 keep3" },
          field("f-base", "web.baseline_min", num("f-base", d.baseline_s / 60, "any")),
          field("f-prac", "web.practice_min", num("f-prac", d.practice_s / 60, "any")),
          field("f-rec", "web.recovery_min", num("f-rec", d.recovery_s / 60, "any")))),
      el("div", { class: "row3" }, field("f-lang", "web.language", lang), field("f-source", "web.source", source),
        field("f-speed", "web.speed", speed)),
      strapBox,
      el("p", { class: "error", role: "alert", id: "start-error" }),
      el("button", { type: "submit", class: "primary", id: "start", "data-t": "web.start" }));
    source.addEventListener("change", () => {
      speed.disabled = source.value === "strap"; if (speed.disabled) { speed.value = "1"; }
      strapBox.hidden = source.value !== "strap";
      if (!strapBox.hidden) { showStrap(strapBox); }
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const req = { practice: practice.value, lang: lang.value, source: source.value, speed: Number(speed.value),
        baseline_s: Number(form.querySelector("#f-base").value) * 60, practice_s: Number(form.querySelector("#f-prac").value) * 60,
        recovery_s: Number(form.querySelector("#f-rec").value) * 60, rate_bpm: practice.value === "resonance" ? rate() : null };
      try { await post("/api/session/start", req); } catch (e) { form.querySelector("#start-error").textContent = e.message; }
    });
    sec.append(form);
    main.append(sec);
    applyTexts(sec); showDesc();
  }

  // The resonance practice's rate: the user's resonance rate from their latest assessment, pre-selected and
  // saying where it came from (as the terminal's live screen does), the practice's own rate, or another.
  // Returns a function giving the request's rate_bpm (null: as the terminal chooses, i.e. the stored rate).
  function rateChoice(box) {
    const own = (S.setup.practices.find((x) => x.name === "resonance") || {}).rate_bpm;
    const sel = el("select", { id: "f-rate", name: "rate" });
    const other = el("input", { id: "f-rate-other", type: "number", min: "3", max: "9", step: "0.25", value: own || 6,
      inputmode: "decimal", hidden: true, "aria-label": T("web.rate_bpm") });
    const note = el("p", { class: "muted small", id: "rate-note" });
    box.append(el("label", { for: "f-rate", "data-t": "web.rate" }), el("div", { class: "rate-row" }, sel, other), note);
    let stored = null;
    const fillOptions = () => {
      sel.replaceChildren();
      if (stored) {
        sel.append(el("option", { value: "assessed", "data-rate-source": "assessment",
          text: fill(T("web.rate_assessed"), { rate_bpm: rateText(stored.rate_bpm), date: stored.assessed_wall.slice(0, 10) }) }));
      }
      sel.append(el("option", { value: "own", "data-rate-source": "default", text: fill(T("web.rate_own"), { rate_bpm: rateText(own) }) }),
        el("option", { value: "other", "data-rate-source": "given", text: T("web.rate_other") }));
      note.replaceChildren(stored ? el("a", { href: "#/assessment/" + stored.session_id, "data-t": "web.rate_see_assessment" })
        : el("a", { href: "#/assessment", "data-t": "web.rate_find_yours" }));
      applyTexts(note);
      other.hidden = sel.value !== "other";
    };
    sel.addEventListener("change", () => { other.hidden = sel.value !== "other"; if (!other.hidden) { other.focus(); } });
    fillOptions();
    api("/api/resonance-rate").then((r) => { stored = r.resonance_rate; fillOptions(); box.dataset.loaded = "1"; })
      .catch(() => { box.dataset.loaded = "1"; });
    return () => sel.value === "assessed" ? null : sel.value === "own" ? (stored ? own : null) : Number(other.value);
  }

  // The strap: the remembered default, a scan (`biofeedback scan`), and pairing one (`biofeedback pair`).
  async function showStrap(box) {
    box.replaceChildren(el("p", { class: "muted", "data-t": "web.scanning_default" }));
    const current = el("p", { id: "strap-default" });
    const list = el("ul", { class: "found", id: "strap-found" });
    const status = el("p", { class: "muted small", role: "status", id: "strap-status" });
    const scan = el("button", { type: "button", id: "strap-scan", "data-t": "web.scan" });
    const showDefault = (d) => {
      current.replaceChildren(el("span", { "data-t": "web.default_strap" }), ": ",
        d ? el("strong", { "data-address": d.address, text: (d.name || "?") + " (" + d.address + ")" }) : el("span", { "data-t": "web.none" }));
      applyTexts(current);
    };
    scan.addEventListener("click", async () => {
      scan.disabled = true; list.replaceChildren(); status.textContent = T("web.scanning");
      try {
        const found = await post("/api/strap/scan");
        status.textContent = found.length ? "" : T("web.no_devices");
        for (const d of found) {
          const use = el("button", { type: "button", "data-pair": d.address, "data-t": "web.pair" });
          use.addEventListener("click", async () => {
            status.textContent = T("web.pairing");
            try { showDefault((await post("/api/strap/pair", { address: d.address })).default); status.textContent = ""; }
            catch (e) { status.textContent = e.message; }
          });
          list.append(el("li", {}, el("span", { text: (d.name || "?") + " · " + d.address + " · " + d.rssi + " dBm" }), " ", use));
        }
        applyTexts(list);
      } catch (e) { status.textContent = e.message; }
      scan.disabled = false;
    });
    box.replaceChildren(current, el("div", { class: "actions" }, scan), status, list);
    applyTexts(box);
    try { showDefault((await api("/api/strap")).default); } catch (e) { status.textContent = e.message; }
  }

  function viewLive() {
    const L = S.live;
    const top = el("section", { class: "card live", "aria-label": L.title, "data-session": L.session_id },
      el("div", { class: "phasebar" },
        el("span", { class: "phase", "data-live": "phase" }),
        el("span", { class: "time", "data-live": "phase_remaining" }),
        el("span", { class: "title", text: practiceTitle(L) })),
      el("p", { class: "ratebar", id: "ratebar", "data-assessment": L.assessment ? L.assessment.protocol : null },
        el("span", { "data-live": "rate_text" }), el("span", { class: "muted", "data-live": "step" })),
      el("div", { class: "guide-wrap" },
        el("div", { class: "guide", "aria-hidden": "true" }, el("div", { class: "lung", "data-live": "lung" })),
        el("div", { class: "guide-text" },
          el("div", { class: "cue", "data-live": "cue", "aria-live": "off" }),
          el("div", { class: "count", "data-live": "count" }),
          el("p", { class: "prompt", "data-live": "prompt", "aria-live": "polite" }))));
    const metric = (key, label, extra) => el("div", { class: "metric", "data-metric": key },
      el("div", { class: "mlabel", "data-t": label }),
      el("div", { class: "mvalue" }, el("span", { "data-index": key, text: "—" }), extra || null));
    const scale = el("div", { class: "scale", "aria-hidden": "true" }, el("div", { class: "scale-fill", "data-live": "relaxation_bar" }));
    const zones = el("div", { class: "zones" });
    for (const z of S.setup.coherence_zones) { zones.append(el("span", { class: "zone z-" + z.name, "data-zone-name": z.name, "data-t": "web." + z.name })); }
    const metrics = el("section", { class: "metrics", "aria-label": "indices" },
      metric("hr_bpm", "label.heart_rate", el("small", { text: " bpm" })),
      el("div", { class: "metric", "data-metric": "coherence" }, el("div", { class: "mlabel", "data-t": "label.coherence" }),
        el("div", { class: "mvalue" }, el("span", { "data-index": "coherence", text: "—" })), zones),
      el("div", { class: "metric", "data-metric": "relaxation" }, el("div", { class: "mlabel", "data-t": "label.relaxation" }),
        el("div", { class: "mvalue" }, el("span", { "data-index": "relaxation", text: "—" }), el("small", { text: " / 100" })), scale),
      metric("rmssd_ms", "label.rmssd", el("small", { text: " ms" })),
      el("div", { class: "metric", "data-metric": "signal" }, el("div", { class: "mlabel", "data-t": "web.signal" }),
        el("div", { class: "mvalue" }, el("span", { "data-index": "artifacts_pct", text: "—" }), el("small", { text: "% " }),
          el("small", { "data-t": "label.artifacts" })),
        el("div", { class: "muted small" }, el("span", { "data-t": "web.connection" }), ": ", el("span", { "data-live": "connection" }),
          el("span", { "data-live": "battery" }), el("span", { "data-live": "reconnects" }))));
    const waves = el("section", { class: "card waves" },
      el("h2", { class: "wave-title" }, el("span", { "data-t": "label.heart_rate" }), el("small", { class: "muted", text: " bpm" })),
      el("canvas", { class: "wave", id: "hr-wave", "aria-label": T("label.heart_rate") }),
      el("h2", { class: "wave-title", "data-t": "label.coherence" }),
      el("canvas", { class: "wave small-wave", id: "coh-wave", "aria-label": T("label.coherence") }));
    const sound = el("input", { type: "checkbox", id: "sound", checked: S.sound });
    sound.addEventListener("change", () => { S.sound = sound.checked; if (S.sound) { audio(); } });
    const controls = el("section", { class: "controls" },
      el("button", { id: "marker", type: "button", onclick: () => post("/api/session/marker").catch(() => {}) },
        el("span", { "data-t": "web.marker" }), " ", el("span", { class: "badge", "data-live": "markers" })),
      el("button", { id: "end", type: "button", class: "danger", "data-t": "web.end", onclick: () => post("/api/session/stop").catch(() => {}) }),
      el("label", { class: "check" }, sound, el("span", { "data-t": "web.sound" })));
    main.append(top, metrics, waves, controls);
    applyTexts(main);
    if (L.beat) { showBeat(L.beat, document); } else { document.querySelector("[data-live=prompt]").textContent = T("web.waiting"); }
    if (L.prompt) { document.querySelector("[data-live=prompt]").textContent = L.prompt; }
    showStatus(); updateClock(); drawWave();
  }

  function showBeat(b, root) {
    for (const e of root.querySelectorAll("[data-index]")) {
      const key = e.dataset.index;
      if (key in b) { e.textContent = fmt(b[key], key); e.dataset.value = b[key] === null ? "" : b[key]; }
    }
    const box = root.querySelector(".metrics");
    if (box) {
      box.dataset.beatT = b.t_s;
      if (!performance.getEntriesByName("bf-first-value").length) { performance.mark("bf-first-value"); }
    }  // which beat is on screen (tests and benchmarks read it)
    const coh = root.querySelector("[data-metric=coherence]");
    if (coh) {
      const z = zoneOf(b.coherence);
      coh.dataset.zone = z;
      for (const s of coh.querySelectorAll("[data-zone-name]")) { s.classList.toggle("on", s.dataset.zoneName === z); }
    }
    const bar = root.querySelector("[data-live=relaxation_bar]");
    if (bar) {
      const [lo, hi] = S.setup.relaxation_scale;
      const v = b.relaxation === null || b.relaxation === undefined ? 0 : (b.relaxation - lo) / (hi - lo);
      bar.style.width = (Math.max(0, Math.min(1, v)) * 100).toFixed(1) + "%";
    }
  }

  function showStatus() {
    const L = S.live; if (!L) { return; }
    const q = (k) => document.querySelector("[data-live=" + k + "]");
    if (q("prompt") && L.prompt) { q("prompt").textContent = L.prompt; }
    if (q("connection")) { q("connection").textContent = T("web." + L.connection, L.connection); q("connection").dataset.state = L.connection; }
    if (q("battery")) { q("battery").textContent = L.battery_pct === null || L.battery_pct === undefined ? "" : " · " + T("label.battery") + " " + Math.round(L.battery_pct) + "%"; }
    if (q("reconnects")) { q("reconnects").textContent = L.reconnects ? " · " + L.reconnects + " " + T("web.reconnects") : ""; }
    if (q("markers")) { q("markers").textContent = String(L.markers); }
  }

  // The pacer's rate: an assessment's changes (the frame carries it, and the step); a practice's says
  // where it came from (the runner's rate note, as on the terminal's live screen).
  function updateRate() {
    const L = S.live, box = document.getElementById("ratebar"); if (!L || !box) { return; }
    const f = S.frame, txt = box.querySelector("[data-live=rate_text]"), step = box.querySelector("[data-live=step]");
    if (!L.assessment) {
      txt.textContent = L.rate_note ? T("web.pace") + ": " + L.rate_note : ""; step.textContent = "";
      box.hidden = !L.rate_note; return;
    }
    const rate = f && f.pacer ? f.pacer.rate_bpm : null;
    box.dataset.rate = rate === null ? "" : rate;
    if (rate === null) {
      txt.textContent = fill(T("web.rate_first"), { rate_bpm: rateText(L.assessment.start_bpm) }); step.textContent = ""; return;
    }
    txt.replaceChildren(T("web.pace") + ": ", el("strong", { "data-live": "rate", text: rateText(rate) }), " " + T("web.per_min"));
    step.textContent = f.step ? " · " + fill(T("web.step_of"), { n: f.step.index + 1, count: f.step.count }) + " · "
      + clock(f.step.remaining_s) + " " + T("web.time_left") + (f.step.settling ? " · " + T("web.settling") : "") : "";
  }

  function updateClock() {
    updateRate();
    const f = S.frame; if (!f) { return; }
    const p = document.querySelector("[data-live=phase]"); if (!p) { return; }
    p.textContent = T("label." + f.phase, f.phase); p.dataset.phase = f.phase;
    document.querySelector("[data-live=phase_remaining]").textContent = clock(f.phase_remaining_s) + " " + T("web.time_left");
    if (reduced.matches) { drawGuide(); }
  }

  // The guide follows the session's pacer: the server sends its state 15 times a second; between frames
  // the page moves the phase progress on at the session's speed and eases the lung volume the way the
  // pacer does (half-cosine, biofeedback/practices/pacer.py).
  function pacerNow() {
    const f = S.frame; if (!f || !f.pacer) { return null; }
    const p = f.pacer;
    const dt = reduced.matches ? 0 : (performance.now() - S.frameAt) / 1000 * (f.speed || 1);
    const progress = Math.min(1, p.phase_progress + dt / p.phase_duration_s);
    let vol = p.phase === "inhale" ? (1 - Math.cos(Math.PI * progress)) / 2 : p.phase === "exhale" ? (1 + Math.cos(Math.PI * progress)) / 2 : p.phase === "hold_in" ? 1 : 0;
    return { phase: p.phase, volume: vol, left: Math.max(0, p.seconds_left_in_phase - dt) };
  }
  function drawGuide() {
    const lung = document.querySelector("[data-live=lung]"); if (!lung) { return; }
    const p = pacerNow();
    const cueEl = document.querySelector("[data-live=cue]"), count = document.querySelector("[data-live=count]");
    if (!p) {
      lung.style.transform = "scale(0.55)"; lung.dataset.phase = "";
      cueEl.textContent = S.frame && S.live && S.live.kind === "touch" && S.frame.phase === "practice" ? T("label.touch") : "";
      count.textContent = "";
      return;
    }
    // Reduced motion: the circle stays still; the cue and the countdown carry the guide.
    lung.style.transform = reduced.matches ? "scale(0.8)" : "scale(" + (0.35 + 0.65 * p.volume).toFixed(4) + ")";
    lung.dataset.phase = p.phase;
    const label = { inhale: "label.inhale", exhale: "label.exhale", hold_in: "label.hold", hold_out: "label.hold" }[p.phase];
    cueEl.textContent = T(label); count.textContent = String(Math.ceil(p.left - 1e-9));
  }
  function animate() {
    if (!reduced.matches && liveRoute() && S.live) { drawGuide(); }
    requestAnimationFrame(animate);
  }

  function drawWave() {
    const L = S.live; if (!L) { return; }
    const hr = document.getElementById("hr-wave"), coh = document.getElementById("coh-wave");
    if (!hr) { return; }
    const pts = L.recent;
    const tEnd = pts.length ? pts[pts.length - 1][0] : 0;
    const x0 = Math.max(0, tEnd - 60);
    const xs = pts.map((r) => r[0]);
    const hrs = pts.filter((r) => r[0] >= x0 && r[1] !== null).map((r) => r[1]);
    const lo = hrs.length ? Math.min(...hrs) : 60, hi = hrs.length ? Math.max(...hrs) : 80;
    const trace = (S.pacerTrace || []).filter((r) => r[0] >= x0);
    const breath = { name: "pacer", band: true, noHover: true, x: trace.map((r) => r[0]), y: trace.map((r) => lo + r[1] * (hi - lo)),
      lower: trace.map(() => lo), color: getComputedStyle(document.documentElement).getPropertyValue("--breath").trim() };
    const spec = { label: T("label.heart_rate"), zoom: false, xRange: [x0, Math.max(x0 + 60, tEnd)], hoverX: true,
      xFormat: clock, series: [breath, { name: "hr", x: xs, y: pts.map((r) => r[1]), color: getComputedStyle(document.documentElement).getPropertyValue("--hr").trim(), width: 2.2 }],
      hoverFormat: (x, y) => clock(x) + "  " + C.fmt(y, 1) + " bpm" };
    const zonesBand = S.setup.coherence_zones.map((z) => ({ lo: z.lo, hi: z.hi, color: "var" }));
    const zc = { low: "--zone-low", medium: "--zone-medium", high: "--zone-high" };
    const cs = getComputedStyle(document.documentElement);
    const cspec = { label: T("label.coherence"), zoom: false, xRange: spec.xRange, yRange: [0, 3], hoverX: true, xFormat: clock,
      yBands: S.setup.coherence_zones.map((z, i) => ({ lo: z.lo, hi: z.hi, color: cs.getPropertyValue(zc[z.name] || "--grid").trim() })),
      series: [{ name: "coherence", x: xs, y: pts.map((r) => r[2]), color: cs.getPropertyValue("--fg").trim(), width: 1.8 }],
      hoverFormat: (x, y) => clock(x) + "  " + C.fmt(y, 2) };
    void zonesBand;
    if (!S.charts.hr) { S.charts.hr = C.lineChart(hr, spec); S.charts.coh = C.lineChart(coh, cspec); }
    else { S.charts.hr.set(spec); S.charts.coh.set(cspec); }
  }

  // Soft sound cues at the start of inhale and exhale (Web Audio, off by default; no file is loaded).
  function audio() {
    if (!S.audio) { const A = window.AudioContext || window.webkitAudioContext; if (A) { S.audio = new A(); } }
    if (S.audio && S.audio.state === "suspended") { S.audio.resume(); }
    return S.audio;
  }
  function cue(frame) {
    const ph = frame.pacer ? frame.pacer.phase + ":" + frame.pacer.breath_index : null;
    if (!S.sound || !ph || ph === S.lastCue) { S.lastCue = ph; return; }
    S.lastCue = ph;
    const kind = frame.pacer.phase;
    if (kind !== "inhale" && kind !== "exhale") { return; }
    const ctx = audio(); if (!ctx) { return; }
    const o = ctx.createOscillator(), g = ctx.createGain(), t = ctx.currentTime;
    o.type = "sine"; o.frequency.setValueAtTime(kind === "inhale" ? 392 : 294, t);
    g.gain.setValueAtTime(0, t); g.gain.linearRampToValueAtTime(0.06, t + 0.25); g.gain.linearRampToValueAtTime(0, t + 1.2);
    o.connect(g); g.connect(ctx.destination); o.start(t); o.stop(t + 1.3);
  }

  // -- after: the comparison (compare --json) --
  function comparisonTable(cmp) {
    const phases = Object.keys(cmp.phases);
    const changes = Object.keys(cmp.changes);
    const table = el("table", { class: "cmp", id: "comparison", "data-session": cmp.session_id });
    const head = el("tr", {}, el("th", { scope: "col", "data-t": "web.index" }));
    for (const p of phases) { head.append(el("th", { scope: "col", "data-t": "label." + p })); }
    for (const c of changes) { head.append(el("th", { scope: "col" }, el("span", { "data-t": "label." + c }), " − ", el("span", { "data-t": "label.baseline" }))); }
    table.append(el("thead", {}, head));
    const body = el("tbody");
    const keys = S.setup.compare_keys;
    for (const k of keys) {
      const tr = el("tr", { "data-key": k }, el("th", { scope: "row" }, el("span", { "data-t": "web.idx." + k }),
        el("small", { class: "muted", text: S.setup.compare_units[k] ? " " + S.setup.compare_units[k] : "" })));
      for (const p of phases) {
        const iv = cmp.phases[p].indices[k];
        tr.append(el("td", { "data-phase": p, "data-key": k, "data-label": T("label." + p, p), title: iv.reason || null, text: fmt(iv.value, k) }));
      }
      for (const c of changes) {
        const ch = cmp.changes[c][k];
        const cell = el("td", { "data-change": c, "data-key": k, "data-verdict": ch.verdict, title: ch.reason || null,
          "data-label": T("label." + c, c) + " − " + T("label.baseline"),
          class: ch.beyond_noise ? "beyond" : null },
          el("span", { class: "abs", text: ch.abs === null ? "—" : (ch.abs > 0 ? "+" : "") + fmt(ch.abs, k) }), " ",
          el("span", { class: "verdict", text: verdictText(ch.verdict) }));
        tr.append(cell);
      }
      body.append(tr);
    }
    table.append(body);
    const wrap = el("div", { class: "table-wrap" }, table);
    if (cmp.note) { wrap.append(el("p", { class: "note", text: cmp.note })); }
    return wrap;
  }
  async function viewAfter(r) {
    const sec = el("section", { class: "card" }, el("h1", { "data-t": "web.after_title" }));
    main.append(sec);
    try {
      const cmp = await api("/api/sessions/" + encodeURIComponent(r.id) + "/compare");
      sec.append(comparisonTable(cmp),
        el("p", {}, el("a", { href: "#/session/" + cmp.session_id, class: "button" }, el("span", { "data-t": "web.charts" }))));
    } catch (e) { sec.append(el("p", { class: "error", role: "alert", text: e.message })); }
    applyTexts(main);
  }

  // -- history --
  async function viewHistory() {
    const sec = el("section", { class: "card" }, el("h1", { "data-t": "web.history_title" }));
    main.append(sec);
    const list = await api("/api/sessions");
    if (!list.length) { sec.append(el("p", { "data-t": "web.no_sessions" })); applyTexts(main); return; }
    const table = el("table", { class: "list", id: "sessions" });
    table.append(el("thead", {}, el("tr", {}, ...["when", "what", "length", "beats", "status"].map((k) => el("th", { scope: "col", "data-t": "web." + k })))));
    const body = el("tbody");
    for (const s of list.slice().reverse()) {
      const what = el("td", {}, el("a", { href: "#/session/" + s.id, text: s.practice || (s.import_format ? "import " + s.import_format : s.source_kind) }));
      if (s.simulated) { what.append(" ", el("span", { class: "tag", "data-simulated": "", "data-t": "web.simulated" })); }
      body.append(el("tr", { "data-session": s.id },
        el("td", { text: s.start_wall.slice(0, 16).replace("T", " ") }), what,
        el("td", { text: clock(s.duration_s) }), el("td", { text: String(s.n_beats) }), el("td", { text: s.status })));
    }
    table.append(body);
    sec.append(el("div", { class: "table-wrap" }, table));
    applyTexts(main);
  }

  // -- one session: comparison, charts, replay, export, delete --
  async function viewSession(r) {
    const id = encodeURIComponent(r.id);
    const sec = el("section", { class: "card" });
    main.append(sec);
    let info;
    try { info = await api("/api/sessions/" + id); } catch (e) { sec.append(el("p", { class: "error", role: "alert", text: e.message })); return; }
    sec.dataset.session = info.id;
    const title = el("h1", {}, el("span", { "data-t": "web.session_title" }), " " + info.id);
    if (info.simulated) { title.append(" ", el("span", { class: "tag", "data-simulated": "", "data-t": "web.simulated" })); }
    sec.append(title, el("p", { class: "muted", text: info.start_wall.slice(0, 16).replace("T", " ") + " · " + (info.practice || info.source_kind) + " · " + info.n_beats + " " + T("web.beats").toLowerCase() + " · " + clock(info.duration_s) + " · " + info.status }));
    const actions = el("div", { class: "actions" });
    for (const f of S.setup.export_formats) {
      actions.append(el("a", { class: "button", href: "/api/sessions/" + id + "/export?format=" + f, download: "", "data-export": f },
        el("span", { "data-t": "web.export" }), " " + f));
    }
    if (info.practice && info.practice.startsWith("assess-")) {
      actions.append(el("a", { href: "#/assessment/" + info.id, class: "button", id: "see-assessment", "data-t": "web.see_assessment" }));
    }
    actions.append(el("button", { type: "button", class: "danger", id: "delete", "data-t": "web.delete", onclick: () => confirmDelete(info.id) }));
    sec.append(actions);
    // replay
    const speed = el("select", { id: "replay-speed", "aria-label": T("web.replay_speed") });
    for (const x of [1, 2, 5, 10, 20]) { speed.append(el("option", { value: String(x), text: x + "×", selected: x === 10 })); }
    const replay = el("section", { class: "card replay", id: "replay", "aria-label": T("web.replay") },
      el("h2", { "data-t": "web.replay" }),
      el("div", { class: "actions" }, speed,
        el("button", { type: "button", id: "replay-start", "data-t": "web.replay", onclick: () => startReplay(info.id, Number(speed.value)) }),
        el("button", { type: "button", id: "replay-stop", "data-t": "web.stop", onclick: stopReplay })),
      el("div", { class: "metrics compact" },
        ...[["label.heart_rate", "hr_bpm"], ["label.coherence", "coherence"], ["label.relaxation", "relaxation"], ["label.rmssd", "rmssd_ms"]].map(([l, k]) =>
          el("div", { class: "metric" }, el("div", { class: "mlabel", "data-t": l }), el("div", { class: "mvalue" }, el("span", { "data-index": k, text: "—" }))))),
      el("div", { class: "muted small" }, el("span", { "data-replay": "phase" }), " ", el("span", { "data-replay": "time" }), " ", el("span", { "data-replay": "status" })),
      el("canvas", { class: "wave", id: "replay-wave", "aria-label": T("label.heart_rate") }));
    main.append(replay);
    const cmpSec = el("section", { class: "card" }, el("h2", { "data-t": "web.after_title" }));
    main.append(cmpSec);
    const chartSec = el("section", { class: "card charts" }, el("h2", { "data-t": "web.charts" }), el("p", { class: "muted small", "data-t": "web.zoom_hint" }));
    main.append(chartSec);
    applyTexts(main);
    api("/api/sessions/" + id + "/compare").then((cmp) => { cmpSec.append(comparisonTable(cmp)); applyTexts(cmpSec); })
      .catch((e) => cmpSec.append(el("p", { class: "error", text: e.message })));
    if (!info.n_beats) { return; }
    try { drawSessionCharts(chartSec, await api("/api/sessions/" + id + "/charts")); }
    catch (e) { chartSec.append(el("p", { class: "error", text: e.message })); }
    applyTexts(chartSec);
  }

  function drawSessionCharts(sec, d) {
    const cs = getComputedStyle(document.documentElement);
    const col = (n) => cs.getPropertyValue(n).trim();
    const phaseColor = { baseline: col("--ph-baseline"), practice: col("--ph-practice"), recovery: col("--ph-recovery") };
    const tach = el("canvas", { class: "chart", id: "chart-tachogram" });
    sec.append(el("h3", { "data-t": "web.tachogram" }), tach);
    C.lineChart(tach, { label: T("web.tachogram"), xFormat: clock, xLabel: "t (min:s)", yFormat: (y) => y + " ms",
      xBands: d.phases.map((p) => ({ x0: p.start_s, x1: p.end_s, color: phaseColor[p.name] || col("--grid"), label: T("label." + p.name, p.name) })),
      vlines: d.events.filter((e) => e.kind === "user_marker").map((e) => ({ x: e.t_s })),
      series: [{ name: "rr", x: d.beat_t_s, y: d.rr_ms, color: col("--hr"), marks: d.artifact }],
      hoverFormat: (x, y) => clock(x) + "  RR " + C.fmt(y, 0) + " ms" });
    const spec = el("canvas", { class: "chart", id: "chart-spectra" });
    sec.append(el("h3", { "data-t": "web.spectra" }), spec);
    const legend = el("p", { class: "legend" });
    const series = d.spectra.map((s) => {
      legend.append(el("span", { class: "key", style: null, "data-phase": s.phase }, el("i", { class: "sw sw-" + s.phase }), el("span", { "data-t": "label." + s.phase })));
      const keep = s.freq_hz.map((f) => f <= 0.5);
      return { name: s.phase, x: s.freq_hz.filter((_, i) => keep[i]), y: s.psd_ms2_hz.filter((_, i) => keep[i]), color: col("--line-" + s.phase) || col("--fg") };
    });
    sec.append(legend);
    C.lineChart(spec, { label: T("web.spectra"), xLabel: "Hz · ms²/Hz", series: series, xFormat: (x) => x.toFixed(2),
      yFormat: (y) => y >= 1e6 ? (y / 1e6) + "M" : y >= 1e3 ? (y / 1e3) + "k" : String(y),
      xBands: [{ x0: 0.04, x1: 0.15, color: col("--band-lf"), label: "LF" }, { x0: 0.15, x1: 0.4, color: col("--band-hf"), label: "HF" }],
      hoverFormat: (x, y, n) => T("label." + n, n) + "  " + x.toFixed(3) + " Hz  " + C.fmt(y, 0) + " ms²/Hz" });
    const poi = el("canvas", { class: "chart square", id: "chart-poincare" });
    sec.append(el("h3", { "data-t": "web.poincare" }), poi);
    const pv = d.poincare.x_ms.concat(d.poincare.y_ms).filter((v) => v !== null);
    const plo = Math.min(...pv), phi = Math.max(...pv), ppad = (phi - plo) * 0.05 + 1;
    C.lineChart(poi, { label: T("web.poincare"), xLabel: "RR(n) ms", xRange: [plo - ppad, phi + ppad], yFixed: [plo - ppad, phi + ppad], series: [{ name: "poincare", x: d.poincare.x_ms, y: d.poincare.y_ms, color: col("--hr"), points: true }],
      xFormat: (x) => String(Math.round(x)), hoverFormat: (x, y) => "RR(n) " + C.fmt(x, 0) + ", RR(n+1) " + C.fmt(y, 0) + " ms" });
  }

  function startReplay(id, speed) {
    stopReplay();
    const box = document.getElementById("replay");
    const status = box.querySelector("[data-replay=status]");
    const ws = new WebSocket("ws://" + location.host + "/ws/replay/" + encodeURIComponent(id) + "?speed=" + speed);
    S.replayWs = ws;
    box.dataset.state = "running";
    const pts = [];
    let chart = null, pending = false;
    const draw = () => {
      pending = false;
      const tEnd = pts.length ? pts[pts.length - 1][0] : 0, x0 = Math.max(0, tEnd - 60);
      const spec = { label: T("label.heart_rate"), zoom: false, hoverX: true, xFormat: clock, xRange: [x0, Math.max(x0 + 60, tEnd)],
        series: [{ name: "hr", x: pts.map((r) => r[0]), y: pts.map((r) => r[1]), color: getComputedStyle(document.documentElement).getPropertyValue("--hr").trim(), width: 2 }],
        hoverFormat: (x, y) => clock(x) + "  " + C.fmt(y, 1) + " bpm" };
      if (!chart) { chart = C.lineChart(document.getElementById("replay-wave"), spec); } else { chart.set(spec); }
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "beat") {
        pts.push([m.t_s, m.hr_bpm]);
        if (pts.length > 400) { pts.shift(); }
        if (!pending && document.getElementById("replay-wave")) { pending = true; requestAnimationFrame(draw); }
        showBeat(m, box);
        box.querySelector("[data-replay=phase]").textContent = m.phase ? T("label." + m.phase, m.phase) : "";
        box.querySelector("[data-replay=time]").textContent = clock(m.t_s);
        box.dataset.beats = String((Number(box.dataset.beats) || 0) + 1);
      } else if (m.type === "replay_end") { status.textContent = m.summary; box.dataset.state = "done"; }
      else if (m.type === "error") { status.textContent = m.message; box.dataset.state = "error"; }
    };
    ws.onclose = () => { if (box.dataset.state === "running") { box.dataset.state = "stopped"; } };
  }
  function stopReplay() { if (S.replayWs) { S.replayWs.close(); S.replayWs = null; } }

  function confirmDelete(id) {
    const dlg = document.getElementById("confirm");
    document.getElementById("confirm-text").textContent = T("web.delete_confirm") + " (" + id + ")";
    applyTexts(dlg);
    dlg.returnValue = "";
    dlg.onclose = async () => {
      if (dlg.returnValue !== "ok") { return; }
      try { await post("/api/sessions/" + encodeURIComponent(id) + "/delete"); location.hash = "#/history"; }
      catch (e) { alert(e.message); }
    };
    dlg.showModal();
    document.getElementById("confirm-cancel").focus();
  }

  // -- trends --
  async function viewTrends() {
    const sec = el("section", { class: "card" }, el("h1", { "data-t": "web.trends_title" }));
    main.append(sec);
    const tr = await api("/api/trends?days=30");
    const rows = tr.rows || [];
    const cs = getComputedStyle(document.documentElement);
    const xs = rows.map((_, i) => i - rows.length + 1);
    const label = (x) => { const r = Number.isInteger(x) ? rows[x + rows.length - 1] : null; return r ? r.date.slice(5) : ""; };
    const xRange = [-rows.length + 0.5, 0.5];
    const c1 = el("canvas", { class: "chart", id: "chart-ln-rmssd" });
    const c2 = el("canvas", { class: "chart", id: "chart-minutes" });
    sec.append(el("h2", { "data-t": "web.baseline_ln_rmssd" }), el("p", { class: "muted small", "data-t": "web.band_7d" }), c1,
      el("h2", { "data-t": "web.practice_minutes" }), c2);
    applyTexts(main);
    // The band: the 7-day mean ± its coefficient of variation, as `trends --json` reports them.
    const up = rows.map((r) => r.rolling_mean_7d === null || r.cv_7d_pct === null ? null : r.rolling_mean_7d * (1 + r.cv_7d_pct / 100));
    const lo = rows.map((r) => r.rolling_mean_7d === null || r.cv_7d_pct === null ? null : r.rolling_mean_7d * (1 - r.cv_7d_pct / 100));
    C.lineChart(c1, { label: T("web.baseline_ln_rmssd"), xFormat: label, xRange: xRange, series: [
      { name: "band", x: xs, y: up, lower: lo, band: true, color: cs.getPropertyValue("--band-hf").trim() },
      { name: "mean", x: xs, y: rows.map((r) => r.rolling_mean_7d), color: cs.getPropertyValue("--muted").trim(), noHover: true },
      { name: "ln RMSSD", x: xs, y: rows.map((r) => r.baseline_ln_rmssd), color: cs.getPropertyValue("--hr").trim(), points: true, radius: 3.5 }],
      hoverFormat: (x, y) => label(x) + "  ln RMSSD " + C.fmt(y, 2) });
    C.lineChart(c2, { label: T("web.practice_minutes"), xFormat: label, xRange: xRange, yRange: [0, (tr.goal_min || 20) * 1.2],
      hlines: [{ y: tr.goal_min || 20, color: cs.getPropertyValue("--accent").trim() }],
      series: [{ name: "min", x: xs, y: rows.map((r) => r.practice_min), color: cs.getPropertyValue("--ph-practice-solid").trim(), bars: true }],
      hoverFormat: (x, y) => label(x) + "  " + C.fmt(y, 1) + " min" });
  }

  // -- the resonance-frequency assessment (`biofeedback assess`, `demo --assess`, `assessments`) --
  async function viewAssessment() {
    if (S.live) { return viewLive(); }
    const d = S.setup.assessment_defaults;
    const sec = el("section", { class: "card start", "aria-labelledby": "assess-h" }, el("h1", { id: "assess-h", "data-t": "web.assessment" }),
      el("p", { class: "muted", "data-t": "web.assess_intro" }));
    const current = el("p", { class: "note", id: "resonance-rate" });
    if (S.last && S.last.type === "error") { sec.append(el("p", { class: "error", role: "alert", text: S.last.message })); }
    const form = el("form", { id: "assess-form" });
    const protocol = el("select", { id: "a-protocol" },
      el("option", { value: "stepped", "data-t": "practice.assess-stepped.title" }), el("option", { value: "sliding", "data-t": "practice.assess-sliding.title" }));
    const desc = el("p", { class: "muted", id: "a-desc" });
    const lang = el("select", { id: "a-lang" }, el("option", { value: "en", text: "English" }), el("option", { value: "nl", text: "Nederlands" }));
    lang.value = S.lang;
    const source = el("select", { id: "a-source" },
      el("option", { value: "simulator", "data-t": "web.simulator" }), el("option", { value: "strap", "data-t": "web.strap" }));
    const speed = el("select", { id: "a-speed" });
    for (const x of [1, 2, 5, 10, 20, 30, 60]) { speed.append(el("option", { value: String(x), text: x + "×" })); }
    const num = (id, value, attrs) => el("input", Object.assign({ id: id, type: "number", value: value, inputmode: "decimal", step: "any" }, attrs || {}));
    const person = num("a-person", d.resonance_rate_bpm, { min: "3", max: "9", step: "0.1" });
    const personField = el("div", { class: "field", id: "a-person-field" }, el("label", { for: "a-person", "data-t": "web.assess_person" }), person);
    const field = (id, key, input) => el("div", { class: "field" }, el("label", { for: id, "data-t": key }), input);
    const rest = num("a-rest", d.rest_s / 60, { min: "0", max: "60" });
    const step = num("a-step", 2, { min: "0.5", max: "10" });
    const settle = num("a-settle", 20, { min: "0", max: "120" });
    const stepFields = el("div", { class: "row3 keep3", id: "a-step-fields" },
      field("a-step", "web.assess_step_min", step), field("a-settle", "web.assess_settle_s", settle));
    const options = el("details", { id: "a-options" }, el("summary", { "data-t": "web.assess_options" }),
      el("div", { class: "row3 keep3" }, field("a-rest", "web.assess_rest_min", rest)), stepFields);
    const strapBox = el("div", { class: "strap", id: "a-strap", hidden: true });
    const showProtocol = () => {
      desc.textContent = T("practice.assess-" + protocol.value + ".description");
      stepFields.hidden = protocol.value !== "stepped";
    };
    protocol.addEventListener("change", showProtocol);
    source.addEventListener("change", () => {
      speed.disabled = source.value === "strap"; if (speed.disabled) { speed.value = "1"; }
      personField.hidden = source.value === "strap";
      strapBox.hidden = source.value !== "strap";
      if (!strapBox.hidden) { showStrap(strapBox); }
    });
    form.append(field("a-protocol", "web.assess_protocol", protocol), desc,
      el("div", { class: "row3" }, field("a-lang", "web.language", lang), field("a-source", "web.source", source), field("a-speed", "web.speed", speed)),
      personField, options, strapBox,
      el("p", { class: "error", role: "alert", id: "assess-error" }),
      el("button", { type: "submit", class: "primary", id: "assess-start", "data-t": "web.assess_start" }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const req = { protocol: protocol.value, lang: lang.value, source: source.value, speed: Number(speed.value), rest_s: Number(rest.value) * 60 };
      if (source.value === "simulator") { req.resonance_rate_bpm = Number(person.value); }
      if (protocol.value === "stepped") { req.step_s = Number(step.value) * 60; req.settle_s = Number(settle.value); }
      try { await post("/api/assessment/start", req); } catch (e) { form.querySelector("#assess-error").textContent = e.message; }
    });
    sec.append(current, form);
    const past = el("section", { class: "card", "aria-labelledby": "past-h" }, el("h2", { id: "past-h", "data-t": "web.assess_past" }));
    main.append(sec, past);
    applyTexts(main); showProtocol();
    const [rate, list] = await Promise.all([api("/api/resonance-rate"), api("/api/assessments")]);
    const r = rate.resonance_rate;
    current.replaceChildren(...(r ? [el("span", { "data-t": "web.your_rate" }), ": ",
      el("strong", { "data-rate": r.rate_bpm, text: rateText(r.rate_bpm) + " " + T("web.per_min") }), " (",
      el("a", { href: "#/assessment/" + r.session_id, text: r.assessed_wall.slice(0, 10) }), ")"]
      : [el("span", { "data-t": "web.no_rate_yet" })]));
    if (!list.length) { past.append(el("p", { "data-t": "web.no_assessments" })); }
    else {
      const table = el("table", { class: "list", id: "assessments" });
      table.append(el("thead", {}, el("tr", {}, ...["when", "assess_protocol", "assess_rate", "assess_runner_up", "assess_usable", "assess_result"]
        .map((k) => el("th", { scope: "col", "data-t": "web." + k })))));
      const body = el("tbody");
      for (const a of list.slice().reverse()) {
        body.append(el("tr", { "data-session": a.session_id, "data-status": a.status },
          el("td", {}, el("a", { href: "#/assessment/" + a.session_id, text: a.assessed_wall.slice(0, 16).replace("T", " ") })),
          el("td", { "data-t": "web.protocol_" + a.protocol }),
          el("td", { "data-key": "resonance_rate_bpm", text: rateText(a.resonance_rate_bpm) }),
          el("td", { "data-key": "runner_up_bpm", text: rateText(a.runner_up_bpm) }),
          el("td", { text: Math.round(100 * a.usable_share) + " %" }),
          el("td", { "data-t": a.status === "ok" ? "web.assess_ok" : "web.assess_repeat_short" })));
      }
      table.append(body);
      past.append(el("div", { class: "table-wrap" }, table));
    }
    applyTexts(main);
  }

  // The columns of the result table: the keys of `biofeedback assess --json`'s rates (and their digits).
  const ASSESS_COLS = [["rate_bpm", "web.col_rate", null], ["lf_peak_power_ms2", "web.col_lf_power", 0], ["lf_peak_hz", "web.col_lf_hz", 3],
    ["peak_trough_bpm", "web.col_peak_trough", 1], ["phase_deg", "web.col_phase", 0], ["coherence", "web.col_coherence", 2],
    ["smoothness", "web.col_smoothness", 2], ["artifacts_pct", "web.col_artifacts", 1], ["usable", "web.col_usable", null], ["score", "web.col_score", 2]];

  async function viewAssessmentResult(r) {
    const sec = el("section", { class: "card", id: "assessment-result" });
    main.append(sec);
    let a;
    try { a = await api("/api/assessments/" + encodeURIComponent(r.id)); }
    catch (e) { sec.append(el("h1", { "data-t": "web.assessment" }), el("p", { class: "error", role: "alert", text: e.message })); applyTexts(main); return; }
    sec.dataset.session = a.session_id; sec.dataset.status = a.status;
    const title = el("h1", {}, el("span", { "data-t": "practice.assess-" + a.protocol + ".title" }));
    if (a.simulated) { title.append(" ", el("span", { class: "tag", "data-simulated": "", "data-t": "web.simulated" })); }
    const same = (x, y) => x !== null && y !== null && Math.abs(x - y) < 0.13;
    const verdict = a.status === "ok"
      ? fill(T("assess.result"), { rate_bpm: rateText(a.resonance_rate_bpm), runner_up: rateText(a.runner_up_bpm) })
      : T("assess.repeat") + (a.reason ? " (" + T("web.reason_" + a.reason, a.reason) + ")" : "");
    sec.append(title, el("p", { class: "muted", text: a.assessed_wall.slice(0, 16).replace("T", " ") + " · " + Math.round(100 * a.usable_share) + " % " + T("web.assess_usable").toLowerCase() }),
      el("p", { class: "verdict-line " + (a.status === "ok" ? "ok" : "repeat"), id: "assess-verdict", "data-status": a.status,
        "data-rate": a.resonance_rate_bpm === null ? "" : a.resonance_rate_bpm, "data-runner-up": a.runner_up_bpm === null ? "" : a.runner_up_bpm, text: verdict }));
    const cols = ASSESS_COLS.filter(([k]) => k !== "score" || a.protocol === "stepped");  // sliding: no score
    const table = el("table", { id: "assess-table" });
    table.append(el("thead", {}, el("tr", {}, ...cols.map(([k, t]) => el("th", { scope: "col", "data-t": t, "data-key": k })))));
    const body = el("tbody");
    for (const row of a.rates) {
      const tr = el("tr", { "data-rate": row.rate_bpm, class: same(row.rate_bpm, a.resonance_rate_bpm) ? "chosen" : same(row.rate_bpm, a.runner_up_bpm) ? "runner-up" : null,
        "data-chosen": same(row.rate_bpm, a.resonance_rate_bpm) ? "" : null, "data-runner-up": same(row.rate_bpm, a.runner_up_bpm) ? "" : null });
      for (const [k, , digits] of cols) {
        const v = row[k];
        let text;
        if (k === "rate_bpm") { text = rateText(v) + (same(v, a.resonance_rate_bpm) ? " ◀" : ""); }
        else if (k === "usable") { text = v ? T("web.yes") : T("web.no") + (row.reason ? " (" + row.reason + ")" : ""); }
        else { text = C.fmt(v, digits); }
        tr.append(el(k === "rate_bpm" ? "th" : "td", { scope: k === "rate_bpm" ? "row" : null, "data-key": k, "data-label": T(ASSESS_COLS.find((c) => c[0] === k)[1]),
          "data-value": v === null || v === undefined ? "" : String(v), text: text }));
      }
      body.append(tr);
    }
    table.append(body);
    sec.append(el("div", { class: "table-wrap" }, table),
      el("p", { class: "actions" }, el("a", { href: "#/session/" + a.session_id, class: "button", "data-t": "web.session_details" }),
        el("a", { href: "#/assessment", class: "button", "data-t": "web.assess_again" })));
    const charts = el("section", { class: "card charts", id: "assessment-charts" }, el("h2", { "data-t": "web.assess_waves" }),
      el("p", { class: "muted small", "data-t": "web.assess_waves_hint" }));
    main.append(charts);
    applyTexts(main);
    drawAssessmentCharts(charts, a);
    applyTexts(charts);
  }

  // The assessment's figure (as `biofeedback report` draws it): the heart-rate wave at each rate with the
  // pacer's inhalations, and the criteria against the rate, fastest rate first. Numbers from the server.
  function drawAssessmentCharts(sec, a) {
    const cs = getComputedStyle(document.documentElement);
    const col = (n) => cs.getPropertyValue(n).trim();
    const same = (x, y) => x !== null && y !== null && Math.abs(x - y) < 0.13;
    const grid = el("div", { class: "mini-grid" });
    sec.append(grid);
    a.waves.forEach((w, i) => {
      const chosen = same(w.rate_bpm, a.resonance_rate_bpm);
      const cv = el("canvas", { class: "chart mini", id: "chart-wave-" + i, "data-rate": w.rate_bpm });
      grid.append(el("figure", { class: "mini-fig" + (chosen ? " chosen" : "") },
        el("figcaption", { text: rateText(w.rate_bpm) + " " + T("web.per_min") + (chosen ? " ◀" : "") }), cv));
      C.lineChart(cv, { label: T("label.heart_rate") + " " + rateText(w.rate_bpm) + " " + T("web.per_min"), xFormat: (x) => Math.round(x) + " s",
        xBands: w.inhalations.map(([x0, x1]) => ({ x0: x0, x1: x1, color: col("--breath") })),
        series: [{ name: "hr", x: w.t_s, y: w.hr_bpm, color: chosen ? col("--hr") : col("--line-baseline"), width: chosen ? 2.4 : 1.6 }],
        yFormat: (y) => String(Math.round(y)), hoverFormat: (x, y) => C.fmt(x, 1) + " s  " + C.fmt(y, 1) + " bpm" });
    });
    const rates = a.rates.map((r) => r.rate_bpm);
    const usable = a.rates.map((r) => r.usable);
    const vlines = [];
    if (a.resonance_rate_bpm !== null) { vlines.push({ x: a.resonance_rate_bpm, color: col("--hr"), dash: [], width: 1.6 }); }
    if (a.runner_up_bpm !== null) { vlines.push({ x: a.runner_up_bpm, color: col("--muted") }); }
    const lo = Math.min(...rates, ...(a.sweep ? a.sweep.rate_bpm : [])), hi = Math.max(...rates, ...(a.sweep ? a.sweep.rate_bpm : []));
    const xRange = [lo - 0.15, hi + 0.15];
    const critGrid = el("div", { class: "crit-grid" });
    const crit = (id, key, unit, name, color, extra) => {
      const cv = el("canvas", { class: "chart crit", id: id });
      critGrid.append(el("figure", { class: "crit-fig" }, el("figcaption", { "data-t": key }), cv));
      const ys = a.rates.map((r) => r[name]);
      const series = (extra || []).concat([
        { name: name, x: rates, y: ys, color: color, noHover: true },
        { name: name, x: rates, y: ys.map((v, i) => usable[i] ? v : null), color: color, points: true, radius: 4 },
        { name: name + "_unusable", x: rates, y: ys.map((v, i) => usable[i] ? null : v), color: col("--warn"), points: true, radius: 4 }]);
      C.lineChart(cv, { label: T(key), xReverse: true, xRange: xRange, xLabel: T("web.col_rate"), xFormat: (x) => rateText(x), vlines: vlines,
        hlines: name === "phase_deg" ? [{ y: 0, color: col("--grid") }] : [], series: series,
        hoverFormat: (x, y, n) => rateText(x) + " " + T("web.per_min") + "  " + C.fmt(y, name === "coherence" || name === "smoothness" ? 2 : 1) + (unit ? " " + unit : "")
          + (n.endsWith("_unusable") ? " (" + T("web.not_usable") + ")" : "") });
    };
    sec.append(el("h2", { "data-t": "web.assess_criteria" }), el("p", { class: "legend" },
      el("span", {}, el("i", { class: "sw sw-chosen" }), el("span", { "data-t": "web.chosen" })),
      el("span", {}, el("i", { class: "sw sw-runner" }), el("span", { "data-t": "web.runner_up" })),
      el("span", {}, el("i", { class: "sw sw-unusable" }), el("span", { "data-t": "web.not_usable" }))));
    sec.append(critGrid);
    const sweep = a.sweep ? [
      { name: "breath", x: a.sweep.rate_bpm, y: a.sweep.peak_trough_bpm, color: col("--grid"), points: true, radius: 2, noHover: true },
      { name: "smoothed", x: a.sweep.rate_bpm, y: a.sweep.smoothed_bpm, color: col("--muted"), noHover: true }] : [];
    crit("chart-peak-trough", "web.col_peak_trough", "bpm", "peak_trough_bpm", col("--hr"), sweep);
    crit("chart-lf-power", "web.col_lf_power", "ms²", "lf_peak_power_ms2", col("--accent"));
    crit("chart-phase", "web.col_phase", "°", "phase_deg", col("--line-recovery"));
    crit("chart-coherence", "web.col_coherence", "", "coherence", col("--line-practice"));
    crit("chart-smoothness", "web.col_smoothness", "", "smoothness", col("--zone-medium-solid"));
  }

  // ---- start ----------------------------------------------------------------------------------------
  async function boot() {
    S.setup = await api("/api/setup");
    S.lang = localStorage.getItem("bf-lang") || S.setup.lang;
    const sel = document.getElementById("lang");
    sel.value = S.lang;
    sel.addEventListener("change", () => { S.lang = sel.value; localStorage.setItem("bf-lang", S.lang); applyTexts(); render(); });
    applyTexts();
    window.addEventListener("hashchange", render);
    document.addEventListener("keydown", (ev) => {
      if (ev.key === " " && S.live && liveRoute() && !["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(document.activeElement.tagName)) {
        ev.preventDefault(); post("/api/session/marker").catch(() => {});
      }
    });
    reduced.addEventListener("change", () => render());
    const snap = await api("/api/state");
    S.live = snap.live; S.last = snap.last;
    if (S.live && S.live.frame) { S.frame = S.live.frame; S.frameAt = performance.now(); }
    render();
    connect();
    requestAnimationFrame(animate);
    document.body.dataset.ready = "1";
  }
  boot().catch((e) => { main.textContent = e.message; });
})();
