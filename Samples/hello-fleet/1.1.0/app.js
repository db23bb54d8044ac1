// hello-fleet's page: shows the version it was loaded from and follows the node's
// install events (GET /apps/hello-fleet/events, Server-Sent Events). When the node
// installs another version, the page shows it and reloads itself from that version's
// address, so every asset of a page always comes from one version.
(function () {
  "use strict";
  var mine = document.querySelector('meta[name="bundlecast-version"]').content;
  var shown = document.getElementById("version");
  var state = document.getElementById("state");
  var events = new EventSource(new URL("../events", location.href));

  function follow(message) {
    var change;
    try { change = JSON.parse(message.data); } catch (e) { return; }
    if (!change.version || change.version === mine) return;
    shown.textContent = change.version;
    document.body.classList.add("updating");
    state.textContent = "version " + change.version + " installed on this node: reloading";
    setTimeout(function () {
      location.replace(new URL("../" + encodeURIComponent(change.version) + "/", location.href));
    }, 1500);
  }

  events.addEventListener("current", follow);
  events.addEventListener("installed", follow);
  events.onopen = function () {
    if (!document.body.classList.contains("updating")) state.textContent = "live: following this node's installs";
  };
  events.onerror = function () {
    // EventSource reconnects by itself (the node sends a retry hint).
    if (!document.body.classList.contains("updating")) state.textContent = "node unreachable: reconnecting";
  };
})();
