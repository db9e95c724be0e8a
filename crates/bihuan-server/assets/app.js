// bihuan console: confirmation before irreversible actions, and keyboard shortcuts.
document.addEventListener("submit", function (e) {
  var f = e.target;
  var msg = f.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) { e.preventDefault(); }
}, true);
document.addEventListener("keydown", function (e) {
  // Ctrl+Enter submits the form being edited.
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.form) {
    e.preventDefault();
    if (e.target.form.requestSubmit) { e.target.form.requestSubmit(); } else { e.target.form.submit(); }
  }
});
// The category picker: a searchable text field backed by a datalist; the hidden field gets the id.
document.addEventListener("input", function (e) {
  var t = e.target;
  if (t.getAttribute && t.getAttribute("data-picker")) {
    var list = document.getElementById(t.getAttribute("list"));
    var hidden = document.getElementById(t.getAttribute("data-picker"));
    var id = "";
    if (list) { for (var i = 0; i < list.options.length; i++) { if (list.options[i].value === t.value) { id = list.options[i].getAttribute("data-id"); break; } } }
    if (hidden) { hidden.value = id; }
  }
});
// The work order's print button (no inline script: the content security policy refuses it).
document.addEventListener("click", function (e) {
  if (e.target.closest && e.target.closest("[data-print]")) { window.print(); }
});
// Intake suggestions fill the form when clicked: the category (picker text and hidden id) and
// the township recognised in the text.
document.addEventListener("click", function (e) {
  var b = e.target.closest ? e.target.closest("[data-fill-category],[data-fill-township]") : null;
  if (!b) { return; }
  var cat = b.getAttribute("data-fill-category");
  if (cat) {
    var text = document.getElementById("category_text");
    var hidden = document.getElementById("category");
    if (text) { text.value = b.getAttribute("data-fill-category-text") || ""; text.classList.remove("invalid"); }
    if (hidden) { hidden.value = cat; }
  }
  var town = b.getAttribute("data-fill-township");
  if (town) {
    var sel = document.getElementById("township");
    if (sel) { sel.value = town; sel.dispatchEvent(new Event("change", { bubbles: true })); }
  }
  b.classList.add("chosen");
});
