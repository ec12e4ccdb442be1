// Live progress of sync panels: while a panel is live, fetch a fresh copy every 2 s and swap it in.
(function () {
  function poll(panel) {
    if (!panel.dataset.live) return;
    setTimeout(function () {
      fetch(panel.dataset.syncPanel, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("[data-sync-panel]");
          if (!fresh) return;
          panel.replaceWith(fresh);
          poll(fresh);
        })
        .catch(function () { poll(panel); });
    }, 2000);
  }
  document.querySelectorAll("[data-sync-panel]").forEach(poll);
})();
