// Drives pyflame's SVG in a headless browser for tests/browser.rs, as a user would: it finds
// frames by their label, hovers and clicks at their centres (whatever element the browser
// hit-tests there receives the events), presses Ctrl-F, types a search character by
// character and presses Escape. It judges nothing: it writes what it observed, one
// "key<TAB>value" line each, into <desc id="driver-result">, which the test reads from the
// dumped DOM. PYFLAME_DRIVER (set by the test before this script) names the frames to use:
// { zoom: label prefix of a frame with a callee, child: its callee, other: a frame
//   elsewhere, narrow, nested, search: what to type in the search box, in that order }.
(function () {
  "use strict";
  var d = document, cfg = window.PYFLAME_DRIVER, lines = [];
  var W = parseFloat(d.getElementById("frames").getAttribute("data-w"));
  function note(key, value) { lines.push(key + "\t" + String(value).replace(/[\t\n]/g, " ")); }
  function groups() { return Array.prototype.slice.call(d.querySelectorAll("#frames > g")); }
  function title(g) { return g.querySelector("title").textContent; }
  function find(prefix) {
    var all = groups().filter(function (g) { return title(g).indexOf(prefix) === 0; });
    if (all.length !== 1) throw new Error(all.length + " frames start with " + prefix);
    return all[0];
  }
  function width(g) { return parseFloat(g.querySelector("rect").getAttribute("width")); }
  function label(g) { var t = g.querySelector("text"); return t ? t.textContent : ""; }
  function shown(g) { return getComputedStyle(g).display !== "none"; }
  // The element the browser finds at the centre of `el` (a frame's rectangle, a button), and
  // the frame it belongs to.
  function at(el) {
    var box = el.getBoundingClientRect();
    var x = box.left + box.width / 2, y = box.top + box.height / 2;
    var hit = d.elementFromPoint(x, y);
    return { el: hit, x: x, y: y, frame: hit && hit.closest ? hit.closest("#frames > g") : null };
  }
  function mouse(type, where) {
    where.el.dispatchEvent(new MouseEvent(type, {
      bubbles: true, cancelable: true, view: window, clientX: where.x, clientY: where.y, button: 0
    }));
  }
  function key(k, ctrl) {
    var e = new KeyboardEvent("keydown", { key: k, ctrlKey: !!ctrl, bubbles: true, cancelable: true });
    var target = d.activeElement || d.documentElement;
    return !target.dispatchEvent(e); // true: the page handled it (preventDefault)
  }
  function highlighted() {
    return groups().filter(function (g) {
      return g.querySelector("rect").getAttribute("fill") === "rgb(230,0,230)";
    }).map(function (g) { var t = title(g); return t.slice(0, t.indexOf(" (")); }).join("|");
  }
  function type(text) {
    var input = d.getElementById("search");
    for (var i = 0; i < text.length; i++) {
      input.value += text[i];
      input.dispatchEvent(new InputEvent("input", { bubbles: true, data: text[i], inputType: "insertText" }));
    }
  }
  try {
    var zoomed = find(cfg.zoom), child = find(cfg.child), other = find(cfg.other);
    var parent = groups()[0];
    note("frames", groups().length);
    note("full_width", W);
    note("zoom_before", width(zoomed));
    note("zoom_text_before", label(zoomed));

    var spot = at(other.querySelector("rect"));
    note("hover_hit", spot.frame ? title(spot.frame) : "nothing");
    mouse("mouseover", spot);
    note("hover_details", d.getElementById("details").textContent);

    spot = at(zoomed.querySelector("rect"));
    note("click_hit", spot.frame ? title(spot.frame) : "nothing");
    mouse("mousedown", spot);
    mouse("mouseup", spot);
    mouse("click", spot);
    note("zoom_width", width(zoomed));
    note("zoom_child_width", width(child));
    note("zoom_child_text", label(child));
    note("zoom_other_shown", shown(other));
    note("zoom_root_dimmed", parent.classList.contains("parent"));
    note("zoom_root_width", width(parent));
    note("unzoom_shown", shown(d.getElementById("unzoom")));

    spot = at(d.getElementById("unzoom"));
    note("reset_hit", spot.el ? spot.el.id : "nothing");
    mouse("click", spot);
    note("reset_width", width(zoomed));
    note("reset_text", label(zoomed));
    note("reset_other_shown", shown(other));
    note("unzoom_after_reset", shown(d.getElementById("unzoom")));

    note("ctrl_f_handled", key("f", true));
    note("focused", d.activeElement ? d.activeElement.id : "none");
    type(cfg.narrow);
    note("narrow_highlighted", highlighted());
    note("narrow_matched", d.getElementById("matched").textContent);
    key("Escape");
    note("cleared_value", JSON.stringify(d.getElementById("search").value));
    note("cleared_highlighted", highlighted());
    note("cleared_matched", d.getElementById("matched").textContent);
    type(cfg.nested);
    note("nested_highlighted", highlighted());
    note("nested_matched", d.getElementById("matched").textContent);
    key("Escape");
    type(cfg.search);
    note("search_highlighted", highlighted());
    note("search_matched", d.getElementById("matched").textContent);
  } catch (e) {
    note("error", e && e.stack ? e.stack : e);
  }
  note("done", "yes");
  var desc = d.createElementNS("http://www.w3.org/2000/svg", "desc");
  desc.setAttribute("id", "driver-result");
  desc.textContent = "\n" + lines.join("\n") + "\n";
  d.documentElement.appendChild(desc);
})();
