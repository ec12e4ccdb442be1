// Live preview of the branding editor: while the admin types, the form (without the logo file) is
// posted as a preview and the server's rendering replaces the preview panel. No inline script or
// style (the CSP refuses them): the colour changes through the preview stylesheet's URL.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-preview]");
  var root = document.querySelector("[data-preview-root]");
  var theme = document.getElementById("preview-theme");
  if (!form || !root || !window.fetch) { return; }
  var timer = null;
  var sequence = 0;

  function refresh() {
    var data = new FormData(form);
    data.delete("logo");
    data.set("action", "preview");
    var mine = ++sequence;
    // not form.action: the buttons named "action" shadow that property
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null || mine !== sequence) { return; }  // a later edit is on its way
      root.innerHTML = html;
      var colour = form.querySelector("[name=primary_colour]").value || "";
      if (theme && /^#[0-9a-fA-F]{6}$/.test(colour)) {
        theme.href = theme.getAttribute("data-base") + "?c=" + colour.slice(1);
      }
    }).catch(function () { /* the Preview button still works */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
