// hello-fleet's page: shows the version it was loaded from and follows the node's
// install events (GET /apps/hello-fleet/events, Server-Sent Events). When the node
// installs another version, the page shows it and reloads itself from that version's
// address, so every asset of a page always comes from one version.
(function () {
  "use strict";
  // The version is the one in the address the page came from (/apps/APP/VERSION/...).
  var parts = location.pathname.split("/");
  var mine = parts[1] === "apps" && parts.length > 3 ? decodeURIComponent(parts[3])
    : document.querySelector('meta[name="bundlecast-version"]').content;
  var shown = document.getElementById("version");
  var state = document.getElementById("state");
  var events = null;
  var moving = false;
  var retryMs = 2000;

  function follow(message) {
    var change;
    try { change = JSON.parse(message.data); } catch (e) { return; }
    if (moving || !change.version || change.version === mine) return;
    moving = true;
    events.close();
    shown.textContent = change.version;
    document.body.classList.add("updating");
    state.textContent = "version " + change.version + " installed on this node: reloading";
    setTimeout(function () {
      location.replace(new URL("../" + encodeURIComponent(change.version) + "/", location.href));
    }, 1500);
  }

  function connect() {
    events = new EventSource(new URL("../events", location.href));
    events.addEventListener("current", follow);
    events.addEventListener("installed", follow);
    events.onopen = function () {
      retryMs = 2000;
      if (!moving) state.textContent = "live: following this node's installs";
    };
    events.onerror = function () {
      if (moving) return;
      state.textContent = "node unreachable: reconnecting";
      // EventSource retries by itself after a dropped stream, but gives up for good on an
      // answer that is not a stream (a node at its stream limit says 503): start over.
      if (events.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    };
  }

  connect();
})();
