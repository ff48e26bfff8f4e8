// posecheck review page: draws the hip-angle curve as SVG and ties it, the rep table and the
// keys to the video. Plain ES5, no library: the page must work offline from one file.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("review-data").textContent);
  var video = document.getElementById("video");
  var chart = document.getElementById("chart");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#reps tr[data-start]"));
  var NS = "http://www.w3.org/2000/svg";
  var off = D.offset || 0; // video time = timeline time - off
  var stopAt = null;
  var map = null; // {x0, x1, t0, t1}
  var cursor = null;

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function now() { return video ? video.currentTime + off : 0; }

  function niceStep(span, target) {
    var raw = span / target, p = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    var m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
  }

  function draw() {
    var C = D.chart, w = Math.max(280, chart.clientWidth), narrow = w < 560;
    var h = narrow ? 230 : 270, L = narrow ? 48 : 58, R = 8, T = 20, B = 24;
    var t0 = C.t.length ? C.t[0] : 0, t1 = C.t.length ? C.t[C.t.length - 1] : 1;
    if (t1 <= t0) t1 = t0 + 1;
    var ys = C.y.filter(function (v) { return v !== null; });
    var lo = Math.min(-C.normal.extension - 8, Math.min.apply(null, ys.concat([0])) - 5);
    var hi = Math.max(C.normal.flexion + 8, Math.max.apply(null, ys.concat([0])) + 5);
    var X = function (t) { return L + (t - t0) / (t1 - t0) * (w - L - R); };
    var Y = function (v) { return T + (hi - v) / (hi - lo) * (h - T - B); };
    map = { x0: L, x1: w - R, t0: t0, t1: t1 };
    chart.textContent = "";
    var svg = el("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img",
      "aria-label": "hip angle over time" }, chart);
    svg.dataset.x0 = L; svg.dataset.x1 = w - R; svg.dataset.t0 = t0; svg.dataset.t1 = t1;
    var band = function (a, b, cls, top, bottom) {
      el("rect", { x: X(a), y: top, width: Math.max(1, X(b) - X(a)), height: bottom - top,
        "class": cls }, svg);
    };
    C.reps.forEach(function (r) { band(r.start, r.end, "rep", T, h - B); });
    C.partials.forEach(function (r) { band(r.start, r.end, "partial", T, h - B); });
    C.holds.forEach(function (p) {
      band(p.start, p.end, p.met ? "pause met" : "pause short", T, h - B);
    });
    for (var v = Math.ceil(lo / 30) * 30; v <= hi; v += 30) {
      el("line", { x1: L, x2: w - R, y1: Y(v), y2: Y(v), "class": v === 0 ? "zero" : "grid" }, svg);
      el("text", { x: L - 4, y: Y(v) + 4, "class": "ytick" }, svg, (v > 0 ? "+" : "") + v + "°");
    }
    [[C.normal.flexion, "normal flexion ≈" + C.normal.flexion + "°"],
     [-C.normal.extension, "normal extension ≈" + C.normal.extension + "°"]].forEach(function (n) {
      el("line", { x1: L, x2: w - R, y1: Y(n[0]), y2: Y(n[0]), "class": "normal" }, svg);
      el("text", { x: w - R - 4, y: Y(n[0]) + (n[0] > 0 ? 14 : -5), "class": "nlabel" }, svg,
        n[1]);
    });
    var mid = (T + h - B) / 2;  // rotated: the left arrow points down, the right one up
    el("text", { x: 12, y: mid, "class": "axis", transform: "rotate(-90 12 " + mid + ")" },
      svg, "◀ extension · flexion ▶");
    var step = niceStep(t1 - t0, narrow ? 4 : 8);
    for (var s = Math.ceil(t0 / step) * step; s <= t1 + 1e-9; s += step) {
      el("text", { x: X(s), y: h - 7, "class": "xtick" }, svg, +s.toFixed(2) + " s");
    }
    var d = "", pen = false;
    for (var i = 0; i < C.t.length; i++) {
      if (C.y[i] === null) { pen = false; continue; }
      d += (pen ? "L" : "M") + X(C.t[i]).toFixed(1) + " " + Y(C.y[i]).toFixed(1);
      pen = true;
    }
    el("path", { d: d, "class": "curve" }, svg);
    C.reps.forEach(function (r) {
      el("text", { x: X(r.top), y: T - 5, "class": "replabel" }, svg, "R" + r.i);
    });
    C.cues.forEach(function (c) {
      var x = X(c.t), y = T + 2;
      var m = el("path", { d: "M" + (x - 6) + " " + y + "h12l-6 10z", "class": "cue " + c.sev }, svg);
      el("title", {}, m, c.msg);
    });
    cursor = el("line", { x1: 0, x2: 0, y1: T, y2: h - B, "class": "cursor" }, svg);
    moveCursor();
  }

  function moveCursor() {
    if (!cursor || !map) return;
    var t = Math.min(Math.max(now(), map.t0), map.t1);
    var x = map.x0 + (t - map.t0) / (map.t1 - map.t0) * (map.x1 - map.x0);
    cursor.setAttribute("x1", x); cursor.setAttribute("x2", x);
    var t2 = now();
    rows.forEach(function (r) {
      var on = t2 >= +r.dataset.start && t2 <= +r.dataset.end;
      if (r.classList.contains("on") !== on) r.classList.toggle("on", on);
    });
  }

  function seek(t, play, end) {
    stopAt = end === undefined ? null : end;
    if (video) {
      video.currentTime = Math.max(0, t - off);
      if (play) { var p = video.play(); if (p && p.catch) p.catch(function () {}); }
    }
    moveCursor();
  }

  function tick() {
    if (stopAt !== null && now() >= stopAt) { video.pause(); stopAt = null; }
    moveCursor();
    if (video && !video.paused) window.requestAnimationFrame(tick);
  }

  if (video) {
    ["timeupdate", "seeked", "play", "loadedmetadata"].forEach(function (ev) {
      video.addEventListener(ev, tick);
    });
    video.addEventListener("pause", function () { stopAt = null; moveCursor(); });
    video.addEventListener("error", function () {
      document.getElementById("video-note").hidden = false;
    });
  }

  chart.addEventListener("click", function (ev) {
    if (!map) return;
    var box = chart.firstChild.getBoundingClientRect();
    var f = (ev.clientX - box.left - map.x0) / (map.x1 - map.x0);
    seek(map.t0 + Math.min(1, Math.max(0, f)) * (map.t1 - map.t0), false);
  });

  rows.forEach(function (r) {
    var go = function () { seek(+r.dataset.start, true, +r.dataset.end); };
    r.addEventListener("click", go);
    r.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { ev.preventDefault(); go(); } });
  });

  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target && ev.target.tagName) || "";
    if (ev.altKey || ev.ctrlKey || ev.metaKey || /INPUT|TEXTAREA|SELECT/.test(tag)) return;
    var starts = D.chart.reps, t = now(), pick = null, i;
    if (ev.key === "ArrowRight") {
      for (i = 0; i < starts.length && !pick; i++) if (starts[i].start > t + 0.05) pick = starts[i];
    } else if (ev.key === "ArrowLeft") {
      for (i = starts.length - 1; i >= 0 && !pick; i--) if (starts[i].start < t - 0.5) pick = starts[i];
    } else if (ev.key === " " && tag !== "VIDEO" && tag !== "BUTTON" && video) {
      ev.preventDefault();
      if (video.paused) { var p = video.play(); if (p && p.catch) p.catch(function () {}); }
      else video.pause();
      return;
    } else return;
    ev.preventDefault();
    if (pick) seek(pick.start, false);
  });

  var pending = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(draw, 100);
  });
  draw();
})();
