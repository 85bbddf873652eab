// Small canvas charts for the biofeedback page (no library, nothing loaded from elsewhere).
// lineChart(canvas, spec): lines and/or points over x, shaded x-bands (phases), vertical marks (markers),
// horizontal bands (zones); xReverse draws x from high to low. Interactive: drag to zoom on x, double-click (or Escape) to reset, hover or
// arrow keys for the nearest value. The chart draws numbers it is given; it computes no index.
"use strict";

(function () {
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { return [lo]; }
    const raw = (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) { out.push(+v.toFixed(10)); }
    return out;
  }

  function fmt(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) { return "—"; }
    return Number(v).toFixed(digits === undefined ? 1 : digits);
  }

  function lineChart(canvas, spec) {
    const state = { spec: spec, view: null, hover: null, drag: null };
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "img");
    if (spec.label) { canvas.setAttribute("aria-label", spec.label); }

    function extent() {
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (const s of spec.series) {
        for (let i = 0; i < s.x.length; i++) {
          const x = s.x[i], y = s.y[i];
          if (x === null || y === null || !isFinite(x) || !isFinite(y)) { continue; }
          if (x < x0) { x0 = x; } if (x > x1) { x1 = x; }
          if (y < y0) { y0 = y; } if (y > y1) { y1 = y; }
        }
      }
      if (spec.xRange) { x0 = spec.xRange[0]; x1 = spec.xRange[1]; }
      if (spec.yRange) { y0 = Math.min(y0, spec.yRange[0]); y1 = Math.max(y1, spec.yRange[1]); }
      if (spec.yFixed) { y0 = spec.yFixed[0]; y1 = spec.yFixed[1]; }
      if (!isFinite(x0)) { x0 = 0; x1 = 1; }
      if (!isFinite(y0)) { y0 = 0; y1 = 1; }
      if (x1 === x0) { x1 = x0 + 1; }
      if (y1 === y0) { y0 -= 1; y1 += 1; }
      const pad = (y1 - y0) * 0.06;
      return { x0: x0, x1: x1, y0: spec.yFixed ? y0 : y0 - pad, y1: spec.yFixed ? y1 : y1 + pad };
    }

    function geometry() {
      const dpr = window.devicePixelRatio || 1;
      const w = canvas.clientWidth, h = canvas.clientHeight;
      if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
        canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
      }
      const m = { l: 52, r: 22, t: 10, b: spec.xLabel ? 34 : 22 };
      return { dpr: dpr, w: w, h: h, m: m, pw: Math.max(10, w - m.l - m.r), ph: Math.max(10, h - m.t - m.b) };
    }

    function draw() {
      const g = geometry();
      const ctx = canvas.getContext("2d");
      ctx.setTransform(g.dpr, 0, 0, g.dpr, 0, 0);
      ctx.clearRect(0, 0, g.w, g.h);
      const full = extent();
      const v = state.view || full;
      let y0 = v.y0, y1 = v.y1;
      if (state.view && !spec.yFixed) {  // y follows what is visible
        let lo = Infinity, hi = -Infinity;
        for (const s of spec.series) {
          for (let i = 0; i < s.x.length; i++) {
            if (s.x[i] >= v.x0 && s.x[i] <= v.x1 && s.y[i] !== null && isFinite(s.y[i])) {
              lo = Math.min(lo, s.y[i]); hi = Math.max(hi, s.y[i]);
            }
          }
        }
        if (isFinite(lo) && hi > lo) { const p = (hi - lo) * 0.06; y0 = lo - p; y1 = hi + p; }
      }
      const X = spec.xReverse ? (x) => g.m.l + (v.x1 - x) / (v.x1 - v.x0) * g.pw : (x) => g.m.l + (x - v.x0) / (v.x1 - v.x0) * g.pw;
      const Y = (y) => g.m.t + (1 - (y - y0) / (y1 - y0)) * g.ph;
      state.X = X; state.Y = Y; state.g = g; state.v = v;
      ctx.save();
      ctx.beginPath(); ctx.rect(g.m.l, g.m.t, g.pw, g.ph); ctx.clip();
      for (const b of spec.yBands || []) {
        ctx.fillStyle = b.color;
        const top = Y(b.hi === null || b.hi === undefined ? y1 : Math.min(b.hi, y1));
        const bot = Y(Math.max(b.lo, y0));
        ctx.fillRect(g.m.l, top, g.pw, bot - top);
      }
      for (const b of spec.xBands || []) {
        ctx.fillStyle = b.color;
        ctx.fillRect(X(b.x0), g.m.t, X(b.x1) - X(b.x0), g.ph);
        if (b.label) {
          ctx.fillStyle = css("--muted"); ctx.font = "11px system-ui, sans-serif";
          ctx.fillText(b.label, Math.max(g.m.l, X(b.x0)) + 4, g.m.t + 12);
        }
      }
      for (const s of spec.series) {
        ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = s.width || 1.6;
        if (s.band) {  // a filled band between y (upper) and s.lower
          ctx.beginPath();
          let started = false;
          for (let i = 0; i < s.x.length; i++) {
            if (s.y[i] === null) { continue; }
            if (!started) { ctx.moveTo(X(s.x[i]), Y(s.y[i])); started = true; } else { ctx.lineTo(X(s.x[i]), Y(s.y[i])); }
          }
          for (let i = s.x.length - 1; i >= 0; i--) { if (s.lower[i] !== null) { ctx.lineTo(X(s.x[i]), Y(s.lower[i])); } }
          ctx.closePath(); ctx.fill();
          continue;
        }
        if (s.bars) {
          const bw = Math.max(2, g.pw / Math.max(1, (v.x1 - v.x0)) * 0.7);
          for (let i = 0; i < s.x.length; i++) {
            if (s.y[i] === null) { continue; }
            ctx.fillRect(X(s.x[i]) - bw / 2, Y(s.y[i]), bw, Y(Math.max(0, y0)) - Y(s.y[i]));
          }
          continue;
        }
        if (s.points) {
          for (let i = 0; i < s.x.length; i++) {
            if (s.y[i] === null) { continue; }
            ctx.beginPath(); ctx.arc(X(s.x[i]), Y(s.y[i]), s.radius || 1.8, 0, Math.PI * 2); ctx.fill();
          }
          continue;
        }
        ctx.beginPath();
        let pen = false;
        for (let i = 0; i < s.x.length; i++) {
          const y = s.y[i];
          if (y === null || !isFinite(y) || (s.breaks && s.breaks[i])) { pen = false; if (y === null) { continue; } }
          if (!pen) { ctx.moveTo(X(s.x[i]), Y(y)); pen = true; } else { ctx.lineTo(X(s.x[i]), Y(y)); }
        }
        ctx.stroke();
        if (s.marks) {  // highlighted points (e.g. artifacts)
          ctx.fillStyle = s.markColor || css("--warn");
          for (let i = 0; i < s.x.length; i++) {
            if (s.marks[i] && s.y[i] !== null) { ctx.beginPath(); ctx.arc(X(s.x[i]), Y(s.y[i]), 3, 0, Math.PI * 2); ctx.fill(); }
          }
        }
      }
      for (const m of spec.vlines || []) {
        ctx.strokeStyle = m.color || css("--accent"); ctx.setLineDash(m.dash || [4, 3]); ctx.lineWidth = m.width || 1.2;
        ctx.beginPath(); ctx.moveTo(X(m.x), g.m.t); ctx.lineTo(X(m.x), g.m.t + g.ph); ctx.stroke();
        ctx.setLineDash([]);
      }
      for (const hl of spec.hlines || []) {
        ctx.strokeStyle = hl.color; ctx.setLineDash([6, 4]); ctx.lineWidth = 1.2;
        ctx.beginPath(); ctx.moveTo(g.m.l, Y(hl.y)); ctx.lineTo(g.m.l + g.pw, Y(hl.y)); ctx.stroke();
        ctx.setLineDash([]);
      }
      if (state.drag && state.drag.x1 !== undefined) {
        ctx.fillStyle = "rgba(80,120,200,0.15)";
        ctx.fillRect(Math.min(state.drag.px0, state.drag.px1), g.m.t, Math.abs(state.drag.px1 - state.drag.px0), g.ph);
      }
      ctx.restore();
      // axes
      ctx.strokeStyle = css("--grid"); ctx.fillStyle = css("--muted"); ctx.lineWidth = 1;
      ctx.font = "11px system-ui, sans-serif";
      ctx.strokeRect(g.m.l + 0.5, g.m.t + 0.5, g.pw, g.ph);
      for (const t of niceTicks(y0, y1, Math.max(2, Math.floor(g.ph / 40)))) {
        const y = Y(t);
        ctx.fillText(spec.yFormat ? spec.yFormat(t) : String(t), 4, y + 4);
        ctx.globalAlpha = 0.4; ctx.beginPath(); ctx.moveTo(g.m.l, y); ctx.lineTo(g.m.l + g.pw, y); ctx.stroke(); ctx.globalAlpha = 1;
      }
      for (const t of niceTicks(v.x0, v.x1, Math.max(2, Math.floor(g.pw / 80)))) {
        const x = X(t);
        const label = spec.xFormat ? spec.xFormat(t) : String(t);
        ctx.fillText(label, x - ctx.measureText(label).width / 2, g.m.t + g.ph + 14);
      }
      if (spec.xLabel) { ctx.fillText(spec.xLabel, g.m.l + g.pw / 2 - ctx.measureText(spec.xLabel).width / 2, g.h - 4); }
      if (state.hover) {
        const hv = state.hover;
        const px = X(hv.x), py = Y(hv.y);
        ctx.fillStyle = css("--fg"); ctx.beginPath(); ctx.arc(px, py, 4, 0, Math.PI * 2); ctx.fill();
        const text = (spec.hoverFormat || ((x, y) => fmt(x, 1) + ", " + fmt(y, 1)))(hv.x, hv.y, hv.series);
        const tw = ctx.measureText(text).width + 10;
        const bx = Math.min(g.w - tw - 2, Math.max(2, px + 8)), by = Math.max(2, py - 26);
        ctx.fillStyle = css("--tip-bg"); ctx.fillRect(bx, by, tw, 18);
        ctx.fillStyle = css("--tip-fg"); ctx.fillText(text, bx + 5, by + 13);
      }
      canvas.dataset.xmin = v.x0; canvas.dataset.xmax = v.x1;
    }

    function nearest(px, py) {
      let best = null, bestD = Infinity;
      for (const s of spec.series) {
        if (s.band || s.noHover) { continue; }
        for (let i = 0; i < s.x.length; i++) {
          if (s.y[i] === null || s.x[i] < state.v.x0 || s.x[i] > state.v.x1) { continue; }
          const dx = state.X(s.x[i]) - px, dy = py === null ? 0 : state.Y(s.y[i]) - py;
          const d = dx * dx + dy * dy;
          if (d < bestD) { bestD = d; best = { x: s.x[i], y: s.y[i], series: s.name, i: i }; }
        }
      }
      return best;
    }

    const pos = (ev) => { const r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
    const toX = (px) => {
      const f = (px - state.g.m.l) / state.g.pw * (state.v.x1 - state.v.x0);
      return spec.xReverse ? state.v.x1 - f : state.v.x0 + f;
    };
    canvas.addEventListener("pointermove", (ev) => {
      const [px, py] = pos(ev);
      if (state.drag) { state.drag.px1 = px; state.drag.x1 = toX(px); }
      state.hover = nearest(px, spec.hoverX ? null : py);
      draw();
    });
    canvas.addEventListener("pointerleave", () => { state.hover = null; draw(); });
    if (spec.zoom !== false) {
      canvas.addEventListener("pointerdown", (ev) => { const [px] = pos(ev); state.drag = { px0: px, x0: toX(px) }; });
      canvas.addEventListener("pointerup", () => {
        const d = state.drag; state.drag = null;
        if (d && d.x1 !== undefined && Math.abs(d.px1 - d.px0) > 6) {
          state.view = { x0: Math.min(d.x0, d.x1), x1: Math.max(d.x0, d.x1), y0: state.v.y0, y1: state.v.y1 };
        }
        draw();
      });
      canvas.addEventListener("dblclick", () => { state.view = null; draw(); });
    }
    canvas.addEventListener("keydown", (ev) => {
      const v = state.v, span = v.x1 - v.x0;
      if (ev.key === "Escape") { state.view = null; }
      else if (ev.key === "+" || ev.key === "=") { state.view = { x0: v.x0 + span / 4, x1: v.x1 - span / 4, y0: v.y0, y1: v.y1 }; }
      else if (ev.key === "-") { state.view = null; }
      else if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
        const all = spec.series.filter((s) => !s.band && !s.noHover)[0];
        if (all && all.x.length) {
          let i = state.hover && state.hover.series === all.name ? state.hover.i : -1;
          i = ev.key === "ArrowRight" ? Math.min(all.x.length - 1, i + 1) : Math.max(0, i - 1);
          state.hover = { x: all.x[i], y: all.y[i], series: all.name, i: i };
        }
      } else { return; }
      ev.preventDefault(); draw();
    });
    const ro = new ResizeObserver(() => draw());
    ro.observe(canvas);
    draw();
    return { draw: draw, set: (s) => { spec = s; state.spec = s; draw(); }, reset: () => { state.view = null; draw(); } };
  }

  window.BFCharts = { lineChart: lineChart, fmt: fmt };
})();
