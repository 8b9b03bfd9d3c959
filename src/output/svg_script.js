// pyflame's flame graph: hover shows a frame, a click zooms into it ("Reset Zoom", a click on
// "all" or Escape zooms out), the search box (Ctrl-F) highlights the frames whose name matches
// a regular expression and shows the share of samples they cover. Frames are the <g> elements
// of #frames, parents before their children; a <title> holds "name (N samples, P%)".
"use strict";
(function () {
  var d = document, box = d.getElementById("frames"), frames = [];
  var input = d.getElementById("search"), details = d.getElementById("details");
  var matched = d.getElementById("matched"), unzoom = d.getElementById("unzoom");
  var X0 = num(box, "data-x"), W = num(box, "data-w"), H = num(box, "data-h"), total = 0;

  function num(e, a) { return parseFloat(e.getAttribute(a)); }

  function init() {
    var gs = box.children, open = [], rootY = 0;
    for (var i = 0; i < gs.length; i++) {
      var g = gs[i], r = g.querySelector("rect"), info = g.querySelector("title").textContent;
      var cut = info.lastIndexOf(" (");
      var f = { i: i, g: g, r: r, t: g.querySelector("text"), info: info, name: info.slice(0, cut),
        samples: parseInt(info.slice(cut + 2), 10), x: num(r, "x"), w: num(r, "width"),
        y: num(r, "y"), fill: r.getAttribute("fill"), end: gs.length };
      if (i === 0) rootY = f.y;
      var depth = Math.round((rootY - f.y) / H);
      while (open.length > depth) open.pop().end = i;
      f.parent = open.length ? open[open.length - 1] : null;
      open.push(f);
      g.pyflame = f;
      frames.push(f);
    }
    total = frames.length ? frames[0].samples : 0;
    box.addEventListener("click", function (e) {
      var f = frameOf(e.target);
      if (f) { if (f.i === 0) reset(); else zoom(f); }
    });
    box.addEventListener("mouseover", function (e) {
      var f = frameOf(e.target);
      details.textContent = f ? f.info : "";
    });
    box.addEventListener("mouseout", function () { details.textContent = ""; });
    unzoom.addEventListener("click", reset);
    input.addEventListener("input", function () { search(input.value); });
    d.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) {
        e.preventDefault();
        input.focus();
        input.select();
      } else if (e.key === "Escape") {
        if (input.value) { input.value = ""; search(""); } else reset();
      }
    });
  }

  function frameOf(e) {
    while (e && !e.pyflame) e = e.parentNode;
    return e ? e.pyflame : null;
  }

  function show(f, on) { f.g.style.display = on ? "" : "none"; }

  // Zoom: the frame and its callees fill the width, its callers stay (dimmed), the rest hide.
  function zoom(z) {
    var k, f, scale = W / z.w;
    for (k = 0; k < frames.length; k++) show(frames[k], false);
    for (f = z.parent; f; f = f.parent) {
      show(f, true);
      f.g.classList.add("parent");
      place(f, X0, W);
    }
    for (k = z.i; k < z.end; k++) {
      f = frames[k];
      show(f, true);
      f.g.classList.remove("parent");
      place(f, X0 + (f.x - z.x) * scale, f.w * scale);
    }
    unzoom.classList.remove("hide");
  }

  function reset() {
    for (var k = 0; k < frames.length; k++) {
      var f = frames[k];
      show(f, true);
      f.g.classList.remove("parent");
      place(f, f.x, f.w);
    }
    unzoom.classList.add("hide");
  }

  function place(f, x, w) {
    f.r.setAttribute("x", x.toFixed(2));
    f.r.setAttribute("width", w.toFixed(2));
    var text = fit(f.name, w);
    if (!f.t) {
      if (!text) return;
      f.t = d.createElementNS("http://www.w3.org/2000/svg", "text");
      f.t.setAttribute("y", (f.y + 11.5).toFixed(1));
      f.g.appendChild(f.t);
    }
    f.t.setAttribute("x", (x + 3).toFixed(2));
    f.t.textContent = text;
  }

  // The label, or as much of it as fits followed by "..": the same estimate as svg.rs.
  function fit(name, w) {
    var room = w - 5.99, used = 0, cut = 0, chars = Array.from(name);
    for (var k = 0; k < chars.length; k++) {
      used += chars[k].charCodeAt(0) < 128 ? 7.2 : 12;
      if (used <= room - 14.4) cut = k + 1;
      if (used > room) return cut ? chars.slice(0, cut).join("") + ".." : "";
    }
    return name;
  }

  function search(term) {
    var re = null, sum = 0, until = 0;
    if (term) {
      try { re = new RegExp(term); } catch (e) {
        re = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
      }
    }
    // "all" (the first frame) never matches; a match inside a match is counted once.
    for (var k = 1; k < frames.length; k++) {
      var f = frames[k], hit = re !== null && re.test(f.name);
      f.r.setAttribute("fill", hit ? "rgb(230,0,230)" : f.fill);
      if (hit && k >= until) { sum += f.samples; until = f.end; }
    }
    matched.textContent = re ? "Matched: " + (total ? 100 * sum / total : 0).toFixed(2) + "%" : "";
  }

  init();
})();
