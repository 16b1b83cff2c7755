// thinklint report: filters for the findings table and the sample views, token ids, token info.
// No data is read from anywhere but the page's own attributes; the page makes no request.
(function () {
  "use strict";
  var keys = ["rule", "dataset", "severity"];
  var selects = {};
  keys.forEach(function (k) { selects[k] = document.getElementById("f-" + k); });
  var rows = Array.prototype.slice.call(document.querySelectorAll("#findings-table tbody tr"));
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.sample"));
  var count = document.getElementById("f-count");

  function wanted() {
    var w = {};
    keys.forEach(function (k) { w[k] = selects[k] ? selects[k].value : ""; });
    return w;
  }
  function matches(el, w, skipDataset) {
    return (!w.rule || el.getAttribute("data-rule") === w.rule) &&
      (!w.severity || el.getAttribute("data-severity") === w.severity) &&
      (skipDataset || !w.dataset || el.getAttribute("data-dataset") === w.dataset);
  }
  function apply() {
    var w = wanted(), shown = 0, cardsShown = 0;
    rows.forEach(function (tr) { var ok = matches(tr, w, false); tr.hidden = !ok; if (ok) shown++; });
    cards.forEach(function (card) {
      var any = false;
      card.querySelectorAll(".sf li").forEach(function (li) {
        var ok = matches(li, w, true);
        li.classList.toggle("dim", !ok);
        any = any || ok;
      });
      var ok = any && (!w.dataset || card.getAttribute("data-dataset") === w.dataset);
      card.hidden = !ok;
      if (ok) cardsShown++;
    });
    if (count) {
      count.textContent = shown + " of " + rows.length + " findings shown" +
        (cards.length ? " · " + cardsShown + " of " + cards.length + " sample views" : "");
    }
    var parts = keys.filter(function (k) { return w[k]; }).map(function (k) {
      return k + "=" + encodeURIComponent(w[k]);
    });
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname); } catch (e) { /* file: URLs may refuse */ }
  }
  function fromHash() {
    var h = location.hash.replace(/^#/, "");
    if (h.indexOf("=") < 0) return;
    h.split("&").forEach(function (p) {
      var kv = p.split("="), sel = selects[kv[0]];
      if (!sel) return;
      var v = decodeURIComponent(kv[1] || "");
      if (Array.prototype.some.call(sel.options, function (o) { return o.value === v; })) sel.value = v;
    });
  }
  keys.forEach(function (k) { if (selects[k]) selects[k].addEventListener("change", apply); });
  var form = document.getElementById("filters");
  if (form) {
    // reset by hand: the reset event fires before the form resets, and the page should update at once
    form.addEventListener("reset", function (ev) {
      ev.preventDefault();
      keys.forEach(function (k) { if (selects[k]) selects[k].value = ""; });
      apply();
    });
  }
  document.querySelectorAll("button.rulebtn").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!selects.rule) return;
      selects.rule.value = b.getAttribute("data-rule");
      apply();
      document.getElementById("findings").scrollIntoView();
    });
  });
  var ids = document.getElementById("show-ids");
  if (ids) ids.addEventListener("change", function () { document.body.classList.toggle("ids", ids.checked); });
  var info = document.getElementById("tok-info");
  document.addEventListener("mouseover", function (ev) {
    var t = ev.target;
    if (!info || !t.getAttribute || !t.getAttribute("data-i")) return;
    var seg = t.closest(".seg"), label = seg ? seg.querySelector(".sl b").textContent : "";
    info.textContent = "token " + t.getAttribute("data-i") + " · " +
      (t.classList.contains("t") ? "trained (takes loss)" : "masked (label -100)") + " · " + label;
  });
  fromHash();
  apply();
})();
