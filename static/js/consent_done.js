// SmartRecruiters consent, POPUP mode: tell SmartRecruiters (when it can still see us) and close.
// A page opened in a tab of its own stays open (browsers ignore close() there).
(function () {
  if (!document.getElementById("consent-done")) return;
  try { if (window.opener) { window.opener.postMessage({stagehook: "connected"}, "*"); } } catch (e) {}
  window.close();
})();
