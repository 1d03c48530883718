import { createHash } from 'node:crypto';

// The page is plain HTML, CSS and browser JavaScript in strings: no frontend build, nothing loaded from
// elsewhere. The script renders every value with textContent / createElement (never innerHTML), so
// agent, topic and sink names and error messages cannot inject markup; the Content-Security-Policy
// below allows only this exact script and style (by hash), so even injected markup could not run code.

const STYLE = `
:root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --card: #fff; --ok: #12805c;
  --bad: #c4320a; --bad-bg: #fef3f2; --warn: #b54708; --accent: #2e6bd6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
header { display: flex; align-items: center; gap: 12px; padding: 12px 24px; background: var(--card);
  border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header .meta { margin-left: auto; color: var(--muted); font-size: 12px; }
main { padding: 16px 24px; max-width: 1280px; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 20px 0 8px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  background: #ecfdf3; color: var(--ok); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.idle { background: #f2f4f7; color: var(--muted); }
.failure { color: var(--bad); margin: 8px 0 0; }
.agent { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
  margin-bottom: 12px; }
.agent-head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.agent-head .name { font-size: 16px; font-weight: 600; }
.agent-head .topic { color: var(--muted); }
.counters { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 10px 0; }
.counter .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.counter .l { color: var(--muted); font-size: 12px; }
.counter.warn .v { color: var(--warn); }
.group { color: var(--muted); font-size: 12px; margin: -4px 0 10px; }
.group .badge { margin-left: 6px; }
.sparks { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; margin-bottom: 10px; }
.spark { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
.spark .l { color: var(--muted); font-size: 12px; display: flex; justify-content: space-between; }
.spark svg { display: block; width: 100%; height: 40px; }
.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.spark polygon { fill: var(--accent); opacity: .08; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 4px 10px; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
tr.stuck td, tr.failing td { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.tag { font-size: 11px; font-weight: 700; margin-left: 6px; color: var(--bad); text-transform: uppercase; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 6px 6px; }
.empty { color: var(--muted); padding: 8px 10px; }
td.error { color: var(--bad); font-family: ui-monospace, monospace; font-size: 12px; }
`;

const SCRIPT = `
'use strict';
(function () {
  var NS = 'http://www.w3.org/2000/svg';
  var root = document.getElementById('root');
  var meta = document.getElementById('meta');

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function num(n) { return n === null || n === undefined ? '\\u2013' : Math.round(n).toLocaleString('en-US'); }
  function rate(n) {
    if (n === null || n === undefined) return '\\u2013';
    return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
  }
  function age(ms) {
    if (ms < 1000) return Math.round(ms) + ' ms';
    var s = ms / 1000;
    if (s < 60) return s.toFixed(1) + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + Math.floor(s % 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function clock(ms) {
    var d = new Date(ms);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function field(node, name) { node.setAttribute('data-field', name); return node; }

  function counter(label, value, name, warn) {
    var box = el('div', 'counter' + (warn ? ' warn' : ''));
    box.appendChild(field(el('div', 'v', value), name));
    box.appendChild(el('div', 'l', label));
    return box;
  }

  function sparkline(label, times, values, current, name) {
    var box = el('div', 'spark');
    box.setAttribute('data-series', name);
    var head = el('div', 'l');
    var reach = times.length > 1 ? ' \u00b7 last ' + age(times[times.length - 1] - times[0]) : '';
    head.appendChild(el('span', null, label + reach));
    head.appendChild(field(el('span', null, current), name));
    box.appendChild(head);
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 300 40');
    svg.setAttribute('preserveAspectRatio', 'none');
    var end = times.length ? times[times.length - 1] : 0;
    var span = Math.max(1, times.length ? end - times[0] : 0);
    var max = 0;
    values.forEach(function (v) { if (v !== null && v > max) max = v; });
    var runs = [], run = [];
    values.forEach(function (v, i) {
      if (v === null) { if (run.length) runs.push(run); run = []; return; }
      var x = 300 - ((end - times[i]) / span) * 300;
      var y = 38 - (max > 0 ? (v / max) * 34 : 0);
      run.push(x.toFixed(1) + ',' + y.toFixed(1));
    });
    if (run.length) runs.push(run);
    runs.forEach(function (points) {
      if (points.length === 1) points.push((Number(points[0].split(',')[0]) + 1) + ',' + points[0].split(',')[1]);
      var area = document.createElementNS(NS, 'polygon');
      var first = points[0].split(',')[0], last = points[points.length - 1].split(',')[0];
      area.setAttribute('points', first + ',40 ' + points.join(' ') + ' ' + last + ',40');
      svg.appendChild(area);
      var line = document.createElementNS(NS, 'polyline');
      line.setAttribute('points', points.join(' '));
      svg.appendChild(line);
    });
    box.appendChild(svg);
    return box;
  }

  function row(cells, cls) {
    var tr = el('tr', cls);
    cells.forEach(function (cell) { tr.appendChild(cell); });
    return tr;
  }
  function cell(text, name, cls) {
    var td = el('td', cls, text);
    if (name) field(td, name);
    return td;
  }
  function headRow(labels, textColumns) {
    var tr = el('tr');
    labels.forEach(function (label, i) {
      tr.appendChild(el('th', textColumns && textColumns.indexOf(i) >= 0 ? 'text' : null, label));
    });
    var thead = el('thead');
    thead.appendChild(tr);
    return thead;
  }

  function stateBadge(state) {
    return field(el('span', 'badge' + (state === 'running' ? '' : state === 'idle' ? ' idle' : ' bad'), state), 'state');
  }

  function partitions(agent) {
    if (!agent.partitions.length) return el('div', 'empty', 'no partition assigned');
    var table = el('table', 'partitions');
    table.appendChild(headRow(['partition', 'committed', 'in flight', 'end', 'lag', 'oldest unsettled']));
    var body = el('tbody');
    agent.partitions.forEach(function (p) {
      var first = cell('p' + p.partition, 'partition');
      if (p.stuck) first.appendChild(el('span', 'tag', 'stuck'));
      var tr = row([
        first,
        cell(p.committed < 0 ? 'none' : num(p.committed), 'committed'),
        cell(num(p.inFlight), 'inFlight'),
        cell(num(p.end), 'end'),
        cell(num(p.lag), 'lag'),
        cell(p.inFlight > 0 ? age(p.oldestUnsettledMs) : '\\u2013', 'oldestUnsettled'),
      ], p.stuck ? 'stuck' : '');
      tr.setAttribute('data-partition', String(p.partition));
      if (p.stuck) tr.title = 'oldest unsettled message older than the stall timeout (' + age(agent.stallTimeoutMs) + ')';
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }

  function membership(agent, at) {
    var g = agent.membership;
    var line = el('div', 'group');
    line.setAttribute('data-membership', '');
    function part(label, value, name) {
      line.appendChild(document.createTextNode(label));
      line.appendChild(field(el('span', null, value), name));
    }
    part('group generation ', g.generation < 0 ? '\u2013' : String(g.generation), 'generation');
    part(' \u00b7 partitions ', num(g.partitions), 'groupPartitions');
    part(' \u00b7 rebalances ', num(g.rebalances), 'rebalances');
    part(' \u00b7 gained ', num(g.partitionsGained), 'gained');
    part(' \u00b7 lost ', num(g.partitionsLost), 'lost');
    part(' \u00b7 rebalancing ', age(g.rebalanceMs), 'rebalanceTime');
    part(' in all, last ', g.lastRebalanceMs === undefined ? '\u2013' : age(g.lastRebalanceMs), 'lastRebalance');
    if (g.state !== 'stable') {
      var since = g.rebalancingSince ? ' for ' + age(Math.max(0, at - g.rebalancingSince)) : '';
      line.appendChild(field(el('span', 'badge' + (g.state === 'left' ? ' idle' : ' bad'), g.state + since), 'groupState'));
    }
    return line;
  }

  function agentCard(agent, at) {
    var card = el('section', 'agent');
    card.setAttribute('data-agent', agent.name);
    var head = el('div', 'agent-head');
    head.appendChild(field(el('span', 'name', agent.name), 'name'));
    head.appendChild(el('span', 'topic', agent.topic + ' \\u2192 group ' + agent.group));
    head.appendChild(stateBadge(agent.state));
    card.appendChild(head);
    var counters = el('div', 'counters');
    counters.appendChild(counter('msg/s', rate(agent.ratePerSecond), 'rate'));
    counters.appendChild(counter('received', num(agent.received), 'received'));
    counters.appendChild(counter('settled', num(agent.settled), 'settled'));
    counters.appendChild(counter('in flight', num(agent.inFlight), 'inFlight'));
    counters.appendChild(counter('lag', num(agent.lag), 'lag'));
    counters.appendChild(counter('retried', num(agent.retried), 'retried', agent.retried > 0));
    counters.appendChild(counter('dead-lettered', num(agent.deadLettered), 'deadLettered', agent.deadLettered > 0));
    counters.appendChild(counter('held (sink down)', num(agent.held), 'held', agent.held > 0));
    counters.appendChild(counter('restarts', num(agent.restarts), 'restarts', agent.restarts > 0));
    card.appendChild(counters);
    if (agent.membership) card.appendChild(membership(agent, at));
    var sparks = el('div', 'sparks');
    var s = agent.series;
    sparks.appendChild(sparkline('throughput (msg/s)', s.at, s.rate, rate(agent.ratePerSecond), 'rateNow'));
    sparks.appendChild(sparkline('lag', s.at, s.lag, num(agent.lag), 'lagNow'));
    sparks.appendChild(sparkline('in flight', s.at, s.inFlight, num(agent.inFlight), 'inFlightNow'));
    card.appendChild(sparks);
    card.appendChild(partitions(agent));
    return card;
  }

  function sinks(list, at) {
    var panel = el('div', 'panel');
    if (!list.length) { panel.appendChild(el('div', 'empty', 'no sink has written yet')); return panel; }
    var table = el('table', 'sinks');
    table.appendChild(headRow(['sink', 'agent', 'state', 'failed attempts', 'last success', 'last error'], [1, 2, 5]));
    var body = el('tbody');
    list.forEach(function (sink) {
      var failing = sink.state === 'failing';
      var state = el('td', 'text');
      state.appendChild(field(el('span', 'badge' + (failing ? ' bad' : ''), sink.state), 'state'));
      state.appendChild(field(el('span', null, ' since ' + clock(sink.since) + ' (' + age(Math.max(0, at - sink.since)) + ')'), 'since'));
      var tr = row([
        cell(sink.name, 'name'),
        cell(sink.agent, 'agent', 'text'),
        state,
        cell(num(sink.failedAttempts), 'failedAttempts'),
        cell(sink.lastSuccessAt ? clock(sink.lastSuccessAt) : '\\u2013', 'lastSuccess'),
        cell(failing && sink.lastError ? sink.lastError : '', 'lastError', 'text error'),
      ], failing ? 'failing' : '');
      tr.setAttribute('data-sink', sink.name);
      tr.setAttribute('data-sink-agent', sink.agent);
      body.appendChild(tr);
    });
    table.appendChild(body);
    panel.appendChild(table);
    return panel;
  }

  function tables(list) {
    var panel = el('div', 'panel');
    var table = el('table', 'tables');
    table.appendChild(headRow(['table', 'state', 'store', 'keys', 'partitions (keys)', 'recovery'], [1, 2, 4, 5]));
    var body = el('tbody');
    list.forEach(function (t) {
      var recovery = t.recovery ? num(t.recovery.done) + ' / ' + num(t.recovery.total) + ' replayed' : '\u2013';
      if (t.stalledMs) recovery += ', no progress for ' + age(t.stalledMs);
      var parts = (t.partitions || []).map(function (p) {
        var restoring = ' (restoring ' + num(p.read) + ' / ' + num(p.toRead) + ')';
        return 'p' + p.partition + ' ' + num(p.keys) + (p.state === 'recovering' ? restoring : '');
      }).join(' \u00b7 ');
      var standbys = (t.standbys || []).map(function (s) {
        return 'standby p' + s.partition + ' ' + num(s.keys) + (s.lag ? ' (' + num(s.lag) + ' behind)' : '');
      }).join(' \u00b7 ');
      if (standbys) parts = (parts ? parts + ' \u00b7 ' : '') + standbys;
      var tr = row([
        cell(t.name, 'name'),
        cell(t.state, 'state', 'text'),
        cell(t.store || '', 'store', 'text'),
        cell(num(t.keys), 'keys'),
        cell(parts || 'none owned', 'partitions', 'text'),
        cell(recovery, 'recovery', 'text'),
      ], t.stalledMs ? 'failing' : '');
      tr.setAttribute('data-table', t.name);
      body.appendChild(tr);
    });
    table.appendChild(body);
    panel.appendChild(table);
    return panel;
  }

  function render(snapshot) {
    document.title = snapshot.app + ' \\u2013 rivulet';
    var page = el('div');
    page.setAttribute('data-snapshot-at', String(snapshot.at));
    var top = document.getElementById('app');
    top.textContent = snapshot.app;
    var status = document.getElementById('status');
    status.className = 'badge' + (snapshot.status === 'ok' ? '' : ' bad');
    status.textContent = snapshot.status;
    if (snapshot.failure) page.appendChild(el('p', 'failure', snapshot.failure));
    page.appendChild(el('h2', null, 'Agents'));
    if (!snapshot.agents.length) page.appendChild(el('div', 'empty', 'no agent declared'));
    snapshot.agents.forEach(function (agent) { page.appendChild(agentCard(agent, snapshot.at)); });
    page.appendChild(el('h2', null, 'Sinks'));
    page.appendChild(sinks(snapshot.sinks, snapshot.at));
    if (snapshot.tables && snapshot.tables.length) {
      page.appendChild(el('h2', null, 'Tables'));
      page.appendChild(tables(snapshot.tables));
    }
    root.replaceChildren(page);
    meta.textContent = 'updated ' + clock(snapshot.at);
  }

  function onData(text) {
    try { render(JSON.parse(text)); } catch (error) { meta.textContent = 'cannot render: ' + error; }
  }

  if (window.EventSource) {
    var source = new EventSource('events');
    source.onmessage = function (event) { onData(event.data); };
    source.onerror = function () { meta.textContent = 'disconnected, retrying\\u2026'; };
  } else {
    var poll = function () {
      fetch('stats.json', { cache: 'no-store' })
        .then(function (response) { return response.text(); })
        .then(onData, function () { meta.textContent = 'disconnected, retrying\\u2026'; })
        .then(function () { setTimeout(poll, 2000); });
    };
    poll();
  }
})();
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The Content-Security-Policy of the live page: nothing from elsewhere, only its own script and style
 * (by hash), requests only to the worker itself. @internal
 */
export const LIVE_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The worker's live page: one self-contained HTML document that renders the snapshots of `/events`
 * (or polls `/stats.json` where server-sent events are missing).
 *
 * @example
 * ```ts
 * response.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': LIVE_PAGE_CSP });
 * response.end(LIVE_PAGE_HTML);
 * ```
 */
export const LIVE_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rivulet worker</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="app">rivulet worker</h1><span id="status" class="badge idle">connecting</span><span class="meta" id="meta">connecting\u2026</span></header>
<main id="root"><p class="empty">waiting for the first sample\u2026</p></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
