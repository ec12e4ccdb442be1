// The SmartRecruiters consent page, once connected. POPUP mode: tell SmartRecruiters (when it can
// still see us) and close; a page opened in a tab of its own stays open (browsers ignore close()
// there). A file of our own, not inline: the Content-Security-Policy allows scripts from 'self' only.
try { if (window.opener) { window.opener.postMessage({stagehook: "connected"}, "*"); } } catch (e) {}
window.close();
