import HTTPTypes
import Hummingbird

/// `GET /ui`: the fleet as this node sees it, in a browser — what `bundlecast status
/// --members --watch` prints in a terminal, live from `GET /v1/status/events`.
///
/// One self-contained page: inline CSS and script, no CDN, no build step. Everything it
/// shows comes from the status JSON, much of it from other members' gossip, so the
/// script only ever sets text (`textContent`, `data-*`), never HTML. The policy header
/// lets it run its own inline script and talk to its own origin only.
///
/// Hooks for browser tests: `#member-count` (live members, this node included);
/// per app a `section[data-app]` with one `.bar[data-version][data-percent]` per
/// installed version (`data-percent` an integer 0–100; its text holds the version and
/// `P%`); `#connection`, whose text is `live` while the event stream is open.
enum FleetPage {
    static func response() -> Response {
        Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-cache",
        .contentSecurityPolicy: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        .xContentTypeOptions: "nosniff",
        // The page's URL may hold the admin token: never pass it on.
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="color-scheme" content="light dark">
    <link rel="icon" href="data:,">
    <title>Bundlecast fleet</title>
    <style>
    :root { --bg: #f5f6f8; --card: #fff; --fg: #1c2230; --muted: #687385; --line: #e3e6eb; --track: #e8ebf0;
            --accent: #2f6fde; --ok: #1e9a57; --warn: #b7791f; --bad: #cf3a3a; }
    @media (prefers-color-scheme: dark) {
      :root { --bg: #0f1217; --card: #171b22; --fg: #e5e8ee; --muted: #97a1b2; --line: #272d37; --track: #252c37;
              --accent: #6196f4; --ok: #43c383; --warn: #e2a84a; --bad: #f07272; }
    }
    * { box-sizing: border-box; }
    body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .4rem 1.2rem; padding: .9rem 1.5rem;
             background: var(--card); border-bottom: 1px solid var(--line); }
    h1 { margin: 0; font-size: 1.1rem; }
    h2 { margin: 0; font-size: 1rem; }
    #apps { display: grid; gap: 1rem; }
    main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 3rem; display: grid; gap: 1rem; }
    body[data-live="0"] main { opacity: .55; }
    .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: .9rem 1.1rem; }
    .card > h2 { margin-bottom: .5rem; }
    .muted, .empty { color: var(--muted); }
    .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
    #summary { font-size: 1.05rem; }
    #member-count { font-weight: 650; font-size: 1.3rem; }
    #connection { margin-left: auto; padding: .1rem .6rem; border-radius: 99px; font-size: .85rem; background: var(--track); color: var(--muted); }
    #connection[data-state="live"] { color: var(--ok); }
    #connection[data-state="live"]::before { content: "● "; }
    #connection[data-state="down"] { color: var(--bad); }
    .app-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .2rem 1rem; margin-bottom: .5rem; }
    .bar, .none { display: grid; grid-template-columns: minmax(5rem, max-content) 3rem minmax(6rem, 1fr) 3.2rem 5rem;
                  align-items: center; gap: .7rem; padding: .15rem 0; font-variant-numeric: tabular-nums; }
    .version { font-weight: 600; }
    .seq, .nodes { color: var(--muted); }
    .pct { text-align: right; font-weight: 600; }
    .track { height: .7rem; background: var(--track); border-radius: 99px; overflow: hidden; }
    .fill { display: block; height: 100%; border-radius: 99px; background: var(--accent); transition: width .4s ease; }
    .bar[data-newest] .fill { background: var(--ok); }
    .none .fill { background: var(--muted); }
    .note { margin: .4rem 0 0; color: var(--muted); }
    .error { margin: .4rem 0 0; color: var(--bad); }
    .warn { color: var(--warn); }
    table { width: 100%; border-collapse: collapse; }
    th, td { text-align: left; padding: .3rem .6rem .3rem 0; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { font-weight: 600; color: var(--muted); font-size: .85rem; }
    tr:last-child td { border-bottom: 0; }
    .state::before { content: "●"; margin-right: .35rem; }
    .state.alive::before { color: var(--ok); } .state.suspect::before { color: var(--warn); }
    .state.dead::before, .state.left::before { color: var(--muted); }
    .me { color: var(--accent); font-size: .8rem; margin-left: .4rem; }
    .mini { display: inline-block; width: 6rem; height: .5rem; margin-left: .5rem; vertical-align: middle; }
    .grid2 { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
    ul { margin: 0; padding-left: 1.1rem; }
    </style>
    </head>
    <body data-live="0">
    <header>
      <h1>Bundlecast fleet</h1>
      <span id="node" class="muted">connecting…</span>
      <span id="connection" data-state="down">connecting…</span>
    </header>
    <main>
      <noscript><p class="card">This page needs JavaScript. <span class="mono">bundlecast status --watch</span> shows the same in a terminal.</p></noscript>
      <div id="summary" class="card"><span id="member-count">–</span> <span id="member-note" class="muted">live members</span></div>
      <div id="apps"></div>
      <div class="grid2">
        <div class="card"><h2>Downloads in progress</h2><div id="downloads" class="empty">–</div></div>
        <div class="card"><h2>Refusals, bans and errors</h2><div id="problems" class="empty">–</div></div>
      </div>
      <div class="card"><h2>Members</h2><div id="members" class="empty">–</div></div>
    </main>
    <script>
    "use strict";
    const $ = (id) => document.getElementById(id);
    const token = new URLSearchParams(location.search).get("token");
    const source = "/v1/status/events" + (token ? "?token=" + encodeURIComponent(token) : "");

    // Elements from text only: the status carries other members' gossip, never trusted as HTML.
    function el(tag, attrs, ...children) {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") e.className = v; else e.setAttribute(k, String(v));
      }
      for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
      return e;
    }
    const short = (id) => String(id).slice(0, 8);
    const live = (m) => m.state === "alive" || m.state === "suspect";
    const percent = (n, of) => of > 0 ? Math.max(0, Math.min(100, Math.round(100 * n / of))) : 0;
    const plural = (n, one, many) => n + " " + (n === 1 ? one : many);
    function ago(unix) {
      const s = Math.max(0, Math.round(Date.now() / 1000 - unix));
      return s < 120 ? s + " s" : s < 7200 ? Math.floor(s / 60) + " min" : s < 172800 ? Math.floor(s / 3600) + " h" : Math.floor(s / 86400) + " d";
    }
    function bytes(n) {
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let i = 0;
      while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
      return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
    }
    function track(pct) {
      const fill = el("span", { class: "fill" });
      fill.style.width = pct + "%";
      return el("span", { class: "track" }, fill);
    }
    function row(cls, label, seq, nodes, pct, attrs) {
      return el("div", Object.assign({ class: cls }, attrs),
        el("span", { class: "version" }, label), " ", el("span", { class: "seq" }, seq), " ",
        track(pct), el("span", { class: "pct" }, pct + "%"), " ", el("span", { class: "nodes" }, plural(nodes, "node", "nodes")));
    }

    function renderApp(s, a, liveCount) {
      const newest = a.latest ? (a.latest.kind === "withdraw" ? "a withdrawal back to " + a.latest.version : a.latest.version)
        + " (#" + a.latest.sequence + "), accepted " + ago(a.latest.receivedAt) + " ago" : "no notice accepted yet";
      const section = el("section", { class: "card", "data-app": a.app },
        el("div", { class: "app-head" }, el("h2", {}, a.app), " ", el("span", { class: "muted" }, "newest notice " + newest),
          a.keyId ? " " : null, a.keyId ? el("span", { class: "muted mono" }, "key " + a.keyId + " (epoch " + (a.keyEpoch || 0) + ")") : null));
      for (const v of a.spread) {
        const pct = percent(v.nodes, liveCount);
        const newestVersion = a.latest && a.latest.kind !== "withdraw" && a.latest.version === v.version;
        section.append(row("bar", v.version, "#" + v.sequence, v.nodes, pct,
          { "data-version": v.version, "data-percent": pct, "data-newest": newestVersion ? "" : null }));
      }
      if (a.without > 0) section.append(row("none", "not installed", "", a.without, percent(a.without, liveCount)));
      if (!a.spread.length && !a.without) section.append(el("p", { class: "note" }, "No live member reports this app."));
      const notes = [];
      if (a.downloading > 0) notes.push(a.downloading + " downloading");
      if (a.failed > 0) notes.push(plural(a.failed, "member", "members") + " failed an install");
      if (a.accepted.length && a.accepted[0].nodes < liveCount) notes.push(a.accepted[0].nodes + " of " + liveCount + " have heard of #" + a.accepted[0].sequence);
      if (notes.length) section.append(el("p", { class: "note" }, notes.join(", ")));
      if (a.freshness) {
        const f = a.freshness, age = f.age === undefined || f.age === null ? "" : ", signed " + ago(Date.now() / 1000 - f.age) + " ago";
        const text = f.state === "confirmed" ? "freshness confirmed: the origin names #" + f.originSequence + " as the newest" + age
          : f.state === "behind" ? "BEHIND: the origin names #" + f.originSequence + age + ", this node holds #" + (a.latest ? a.latest.sequence : 0)
          : "freshness unconfirmed: no origin timestamp younger than " + ago(Date.now() / 1000 - f.threshold);
        section.append(el("p", { class: f.state === "confirmed" ? "note" : "note warn" }, text));
      }
      const error = s.errors && s.errors[a.app];
      if (error) section.append(el("p", { class: "error" }, "This node cannot update: " + error));
      return section;
    }

    function renderDownloads(s) {
      const rows = [];
      for (const m of s.members.filter(live)) {
        for (const a of m.apps) {
          if (a.progress === undefined || a.progress === null) continue;
          const pct = Math.max(0, Math.min(100, a.progress));
          rows.push(el("tr", {}, el("td", { class: "mono" }, short(m.id)), el("td", {}, a.app), el("td", {}, a.version),
            el("td", {}, pct + "%", " ", el("span", { class: "mini" }, track(pct)))));
        }
      }
      return rows.length ? el("table", {}, el("tr", {}, el("th", {}, "member"), el("th", {}, "app"), el("th", {}, "version"), el("th", {}, "progress")), ...rows)
        : el("p", { class: "empty" }, "None right now.");
    }

    function renderProblems(s) {
      const items = [];
      const counts = (o) => Object.keys(o || {}).sort().map((k) => k + " " + o[k]).join(", ");
      if (Object.keys(s.refusedNotices || {}).length) items.push(el("li", {}, "Refused notices: " + counts(s.refusedNotices)));
      if (Object.keys(s.refusedRotations || {}).length) items.push(el("li", {}, "Refused key rotations: " + counts(s.refusedRotations)));
      const t = s.self.transfer || {};
      for (const id of t.banned || []) items.push(el("li", {}, "Banned peer ", el("span", { class: "mono" }, id)));
      if (t.badChunks) items.push(el("li", {}, plural(t.badChunks, "chunk", "chunks") + " failed their digest"));
      if (t.badFrames) items.push(el("li", {}, plural(t.badFrames, "transfer frame", "transfer frames") + " refused"));
      const g = s.gossip || {};
      const dropped = { unauthenticated: g.droppedUnauthenticated, oversized: g.droppedOversized, malformed: g.droppedMalformed };
      if (Object.values(dropped).some((n) => n > 0)) items.push(el("li", {}, "Gossip packets dropped: " + counts(Object.fromEntries(Object.entries(dropped).filter(([, n]) => n > 0)))));
      for (const app of Object.keys(s.errors || {}).sort()) items.push(el("li", { class: "error" }, app + ": " + s.errors[app]));
      return items.length ? el("ul", {}, ...items) : el("p", { class: "empty" }, "Nothing refused, nobody banned.");
    }

    function renderMembers(s) {
      const rows = s.members.map((m) => {
        const apps = m.apps.map((a) => {
          let text = a.app + " " + (a.installed || "–");
          if (a.progress !== undefined && a.progress !== null) text += " ↓" + a.progress + "%";
          if (a.failed) text += " (failed " + a.failed + ")";
          if (a.installed !== a.version) text += " (notice " + a.version + ")";
          return text;
        }).join(", ");
        const me = m.id === s.self.id;
        return el("tr", { "data-member": m.id },
          el("td", { class: "mono", title: m.id }, short(m.id), me ? " " : null, me ? el("span", { class: "me" }, "this node") : null),
          el("td", { class: "mono" }, m.address), el("td", {}, m.zone || "–"), el("td", {}, el("span", { class: "state " + m.state }, m.state)),
          el("td", {}, apps || "–"), el("td", {}, m.fromPeers === undefined || m.fromPeers === null ? "–" : m.fromPeers + "%"));
      });
      return el("table", {}, el("tr", {}, ...["id", "address", "zone", "state", "installed", "from peers"].map((h) => el("th", {}, h))), ...rows);
    }

    function render(s) {
      const liveCount = s.members.filter(live).length;
      const count = (state) => s.members.filter((m) => m.state === state).length;
      $("member-count").textContent = String(liveCount);
      $("member-note").textContent = (liveCount === 1 ? "live member" : "live members") + ", this node included · "
        + count("suspect") + " suspect · " + count("dead") + " dead · " + count("left") + " left";
      const t = s.self.transfer || {};
      $("node").textContent = "seen from " + short(s.self.id) + " (" + s.self.address + "), channel " + s.channel
        + " · in " + bytes(t.bytesIn || 0) + ", out " + bytes(t.bytesOut || 0);
      document.title = "Bundlecast fleet · " + liveCount + " live · " + short(s.self.id);
      $("apps").replaceChildren(...(s.apps.length ? s.apps.map((a) => renderApp(s, a, liveCount))
        : [el("p", { class: "card empty" }, "This node trusts no app.")]));
      $("downloads").replaceChildren(renderDownloads(s));
      $("problems").replaceChildren(renderProblems(s));
      $("members").replaceChildren(renderMembers(s));
    }

    function connection(text, state) {
      $("connection").textContent = text;
      $("connection").dataset.state = state;
      document.body.dataset.live = state === "live" ? "1" : "0";
    }

    function connect() {
      const events = new EventSource(source);
      events.onopen = () => connection("live", "live");
      events.addEventListener("status", (e) => render(JSON.parse(e.data)));
      events.onerror = () => {
        if (events.readyState === EventSource.CLOSED) {
          // Refused (a wrong token, too many streams): the browser gives up; try again later.
          connection("refused, retrying…", "down");
          setTimeout(connect, 5000);
        } else {
          connection("reconnecting…", "down");
        }
      };
    }
    connect();
    </script>
    </body>
    </html>
    """#
}
