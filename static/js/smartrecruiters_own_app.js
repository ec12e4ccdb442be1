// SmartRecruiters own app. On the form page: "Connect in a pop-up" opens SmartRecruiters in a
// 600 px window and waits for the callback page's word, then refreshes to the connections page
// (without script the form simply goes full page). On the callback page opened as a pop-up: tell
// the form page (opener, or a BroadcastChannel when SmartRecruiters' page severed the opener) and
// close. A file of our own, not inline: the Content-Security-Policy allows scripts from 'self' only.
(function () {
  var CHANNEL = "stagehook-smartrecruiters-own-app";
  var form = document.getElementById("own-app-form");
  if (form) {
    var popupButton = document.getElementById("own-app-connect-popup");
    var flag = document.getElementById("own-app-popup");
    var target = form.getAttribute("data-connections-url") || "/app/connections/";
    var done = function (data) {
      if (data && data.stagehook === "smartrecruiters-own-app") { window.location.assign(target); }
    };
    popupButton.hidden = false;
    popupButton.addEventListener("click", function (event) {
      event.preventDefault();
      var popup = window.open("", "stagehook-sr-own-app", "width=600,height=720");
      if (!popup) { flag.value = "0"; form.removeAttribute("target"); form.submit(); return; }
      flag.value = "1";
      form.setAttribute("target", "stagehook-sr-own-app");
      form.submit();
      form.removeAttribute("target");
      flag.value = "0";
    });
    window.addEventListener("message", function (event) {
      if (event.origin === window.location.origin) { done(event.data); }
    });
    if (window.BroadcastChannel) { new BroadcastChannel(CHANNEL).onmessage = function (event) { done(event.data); }; }
    return;
  }
  var result = document.getElementById("own-app-result");
  if (!result || result.getAttribute("data-popup") !== "1") { return; }
  var message = {stagehook: "smartrecruiters-own-app", outcome: result.getAttribute("data-outcome")};
  if (message.outcome !== "connected") { return; }  // an error stays readable in the pop-up
  try { if (window.opener) { window.opener.postMessage(message, window.location.origin); } } catch (e) {}
  try { if (window.BroadcastChannel) { new BroadcastChannel(CHANNEL).postMessage(message); } } catch (e) {}
  window.close();
})();
