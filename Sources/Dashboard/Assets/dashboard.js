// The dashboard: sessions with live progress, the start form, stop buttons and a
// session's results. Everything goes through api.js; drawing is view.js's.
import { APIError, stream, token, unary } from "./api.js";

const V = window.BacktestView;
const { el, num, millis } = V;
const $ = (id) => document.getElementById(id);

// Built-in strategies and their parameters with the service's defaults (DESIGN 6.1).
const BUILTINS = {
  default: { momentum: 0.001, volume_period: 20, volume_ratio: 1.5 },
  sma_cross: { n1: 10, n2: 20 },
};
const RULE_KINDS = ["entry_long", "exit_long", "entry_short", "exit_short"];
const ACTIVE = new Set(["SESSION_STATUS_STARTED", "SESSION_STATUS_RUNNING"]);

let series = [];
const watchers = new Map(); // session id -> AbortController of its WatchProgress
const latest = new Map(); // session id -> its last ProgressEvent
let openSession = null;

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

function describe(error) {
  return error instanceof APIError ? `${error.code}: ${error.message}` : String(error.message || error);
}

// ---- The start form ----

async function loadMarketData() {
  const response = await unary("ListMarketData", {});
  series = response.series || [];
  const select = $("series");
  select.replaceChildren();
  series.forEach((s, i) => {
    const kind = s.kind === "DATA_KIND_TICKS" ? "ticks" : "candles";
    const range = V.time(millis(s.firstTime)) + " .. " + V.time(millis(s.lastTime));
    select.append(el("option", { value: String(i) }, `${s.symbol} ${s.timeframe || kind} (${num(s.rows)} rows, ${range})`));
  });
  if (series.length === 0) select.append(el("option", { value: "" }, "no market data: import some first"));
  fillRange();
}

function fillRange() {
  const s = series[Number($("series").value)];
  if (!s) return;
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  $("from").value = day(millis(s.firstTime));
  // The range is half-open: the day after the last data includes it.
  $("to").value = day(millis(s.lastTime) + 86400000);
}

function showParams() {
  const name = $("strategy").value;
  const box = $("params");
  box.replaceChildren();
  for (const [key, value] of Object.entries(BUILTINS[name] || {})) {
    const input = el("input", { type: "number", step: "any", value: String(value), id: "param-" + key });
    input.dataset.param = key;
    box.append(el("label", {}, key, input));
  }
  $("rules").hidden = name !== "rules";
}

function startRequest() {
  const s = series[Number($("series").value)];
  if (!s) throw new Error("choose market data first");
  const name = $("strategy").value;
  let strategy;
  if (name === "rules") {
    const rules = RULE_KINDS.map((kind) => ({
      name: kind, kind: "RULE_KIND_" + kind.toUpperCase(), expression: $("rule-" + kind).value.trim(),
    })).filter((r) => r.expression);
    strategy = { rules: { name: "dashboard", rules, stopLossPct: Number($("stop-loss").value) || 0,
      takeProfitPct: Number($("take-profit").value) || 0, trailingStopPct: Number($("trailing-stop").value) || 0 } };
  } else {
    const params = {};
    for (const input of $("params").querySelectorAll("input")) params[input.dataset.param] = Number(input.value);
    strategy = { builtin: { name, params } };
  }
  const labels = {};
  for (const pair of $("labels").value.split(/\s+/).filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`labels: '${pair}' is not key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    symbol: s.symbol, timeframe: s.timeframe, startTime: $("from").value + "T00:00:00Z",
    endTime: $("to").value + "T00:00:00Z", initialCapital: Number($("capital").value) || 0, strategy,
    accelerationFactor: Number($("acceleration").value) || 0, labels,
  };
}

// The server's message, and for a rule that does not compile (`rule "NAME" at N:`)
// its text with a caret under position N, and the cursor put there.
function showStartError(message) {
  const box = $("start-error");
  box.replaceChildren(el("span", {}, message));
  box.hidden = false;
  for (const kind of RULE_KINDS) $("rule-" + kind).removeAttribute("aria-invalid");
  const match = /rule "([^"]+)" at (\d+)/.exec(message);
  const area = match && $("rule-" + match[1]);
  if (!area) return;
  const at = Number(match[2]) - 1;
  const text = area.value.trim();
  box.append(el("pre", { id: "rule-error-position" }, text + "\n" + " ".repeat(Math.max(0, at)) + "^"));
  area.setAttribute("aria-invalid", "true");
  area.focus();
  const offset = area.value.indexOf(text);
  area.setSelectionRange(offset + at, offset + at + 1);
}

async function start(event) {
  event.preventDefault();
  $("start-error").hidden = true;
  let request;
  try {
    request = startRequest();
  } catch (error) {
    return showStartError(describe(error));
  }
  $("start").disabled = true;
  try {
    const response = await unary("StartBacktest", request);
    $("start-form").dataset.lastSession = response.sessionId;
    await loadSessions();
    watch(response.sessionId);
  } catch (error) {
    showStartError(describe(error));
  } finally {
    $("start").disabled = false;
  }
}

// ---- Sessions and live progress ----

function filterRequest() {
  const request = { pageSize: 100 };
  const status = $("filter-status").value;
  if (status) request.statuses = [status];
  const symbol = $("filter-symbol").value.trim();
  if (symbol) request.symbol = symbol;
  const label = $("filter-label").value.trim();
  if (label) {
    const at = label.indexOf("=");
    request.labels = at > 0 ? { [label.slice(0, at)]: label.slice(at + 1) } : { [label]: "" };
  }
  return request;
}

async function loadSessions() {
  const response = await unary("ListSessions", filterRequest());
  const body = $("sessions").tBodies[0];
  const existing = new Map([...body.rows].map((tr) => [tr.dataset.sessionId, tr]));
  const rows = (response.sessions || []).map((s) => {
    const tr = existing.get(s.sessionId) || newRow(s.sessionId);
    fillRow(tr, s);
    if (ACTIVE.has(s.status)) watch(s.sessionId);
    return tr;
  });
  body.replaceChildren(...rows);
  if (rows.length === 0) body.append(el("tr", {}, el("td", { colSpan: 14 }, "No sessions.")));
}

const COLUMNS = ["id", "symbol", "strategy", "status", "progress", "simTime", "equity", "pnl", "drawdown", "trades",
  "speed", "eta", "created", "actions"];

// A row's cells and buttons are made once and then updated in place, so a refresh
// never replaces what a user (or a test) is about to click.
function newRow(id) {
  const tr = el("tr", { "data-session-id": id });
  for (const c of COLUMNS) tr.append(el("td", { class: "col-" + c }));
  const open = el("button", { type: "button", class: "open", "aria-label": "Open session " + id }, "Open");
  open.addEventListener("click", () => openDetail(id));
  const stop = el("button", { type: "button", class: "stop", "aria-label": "Stop session " + id }, "Stop");
  stop.addEventListener("click", () => stopSession(id, stop));
  cell(tr, "actions").append(open, " ", stop);
  return tr;
}

function cell(tr, column) {
  return tr.querySelector(".col-" + column);
}

function fillRow(tr, s) {
  const r = s.request || {};
  const status = V.statusName(s.status);
  tr.dataset.status = status;
  cell(tr, "id").textContent = s.sessionId.slice(0, 8);
  cell(tr, "id").title = s.sessionId;
  cell(tr, "symbol").textContent = `${r.symbol || ""} ${r.timeframe || ""}`;
  cell(tr, "strategy").textContent = V.strategyName(r.strategy);
  const st = cell(tr, "status");
  st.textContent = status;
  st.className = "col-status status-" + status;
  const progress = latest.get(s.sessionId);
  if (progress && ACTIVE.has(s.status)) {
    fillProgress(tr, progress);
  } else {
    setProgress(tr, num(s.progressPct));
    cell(tr, "simTime").textContent = V.time(millis(s.simTime));
    const pnl = num(s.finalPnl);
    cell(tr, "equity").textContent = s.statistics ? V.money(num(s.statistics.equityFinal)) : V.DASH;
    cell(tr, "pnl").textContent = s.statistics || pnl ? V.signed(pnl) : V.DASH;
    cell(tr, "pnl").className = "col-pnl num " + (pnl > 0 ? "up" : pnl < 0 ? "down" : "");
    cell(tr, "drawdown").textContent = s.statistics ? V.percent(num(s.statistics.maxDrawdownPct)) : V.DASH;
    cell(tr, "drawdown").title = "maximum drawdown";
    cell(tr, "trades").textContent = String(num(s.totalTrades));
    cell(tr, "speed").textContent = V.DASH;
    cell(tr, "eta").textContent = V.DASH;
  }
  for (const c of ["equity", "pnl", "drawdown", "trades", "speed", "eta"]) cell(tr, c).classList.add("num");
  cell(tr, "created").textContent = V.time(millis(s.createdAt));
  tr.querySelector("button.stop").hidden = !ACTIVE.has(s.status);
  tr.classList.toggle("selected", openSession === s.sessionId);
}

function setProgress(tr, pct) {
  const c = cell(tr, "progress");
  c.dataset.progress = String(pct);
  c.replaceChildren(el("progress", { max: 100, value: pct, "aria-label": "progress" }), " " + V.percent(pct, 1));
}

// One WatchProgress event into its row: %, simulated time, equity, P&L, drawdown,
// speed and ETA.
function fillProgress(tr, e) {
  setProgress(tr, num(e.progressPct));
  cell(tr, "simTime").textContent = V.time(millis(e.simTime));
  cell(tr, "equity").textContent = V.money(num(e.equity));
  const pnl = num(e.realizedPnl) + num(e.unrealizedPnl);
  cell(tr, "pnl").textContent = V.signed(pnl);
  cell(tr, "pnl").className = "col-pnl num " + (pnl > 0 ? "up" : pnl < 0 ? "down" : "");
  cell(tr, "drawdown").textContent = V.percent(num(e.drawdownPct));
  cell(tr, "drawdown").title = "current drawdown (maximum " + V.percent(num(e.maxDrawdownPct)) + ")";
  cell(tr, "trades").textContent = String(num(e.trades));
  cell(tr, "speed").textContent = V.compact(num(e.eventsPerSecond)) + "/s";
  cell(tr, "eta").textContent = V.duration(V.seconds(e.eta));
  const st = cell(tr, "status");
  st.textContent = V.statusName(e.status);
  st.className = "col-status status-" + V.statusName(e.status);
}

function rowOf(id) {
  return document.querySelector(`#sessions tr[data-session-id="${CSS.escape(id)}"]`);
}

function watch(id) {
  if (watchers.has(id)) return;
  const controller = new AbortController();
  watchers.set(id, controller);
  let ended = false;
  stream("WatchProgress", { sessionId: id, minInterval: "0.25s" }, (e) => {
    latest.set(id, e);
    const tr = rowOf(id);
    if (tr) fillProgress(tr, e);
    if (e.kind === "PROGRESS_EVENT_KIND_TERMINAL") ended = true;
  }, controller.signal)
    .catch((error) => {
      if (!controller.signal.aborted) notice(`WatchProgress ${id.slice(0, 8)}: ${describe(error)}`);
    })
    .finally(async () => {
      watchers.delete(id);
      latest.delete(id);
      if (!ended) return;
      await refreshRow(id);
      if (openSession === id) openDetail(id);
    });
}

async function refreshRow(id) {
  try {
    const { session } = await unary("GetSession", { sessionId: id });
    const tr = rowOf(id);
    if (tr && session) fillRow(tr, session);
  } catch (error) {
    notice(describe(error));
  }
}

async function stopSession(id, button) {
  button.disabled = true;
  try {
    await unary("StopBacktest", { sessionId: id, reason: "stopped from the dashboard" });
    await refreshRow(id);
  } catch (error) {
    notice(describe(error));
    button.disabled = false;
  }
}

// ---- One session's results ----

async function openDetail(id) {
  openSession = id;
  for (const tr of $("sessions").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.sessionId === id);
  const detail = $("detail");
  detail.dataset.state = "loading";
  detail.dataset.sessionId = id;
  try {
    const { session } = await unary("GetSession", { sessionId: id });
    const trades = [];
    await stream("GetTrades", { sessionId: id }, (m) => trades.push(...(m.trades || [])));
    const points = [];
    await stream("GetEquityCurve", { sessionId: id }, (m) => points.push(...(m.points || [])));
    const bars = await sessionBars(session);
    if (openSession !== id) return;
    V.renderSession(detail, { session, trades, points, bars });
    detail.dataset.state = "loaded";
  } catch (error) {
    detail.replaceChildren(el("p", { class: "error" }, describe(error)));
    detail.dataset.state = "error";
  }
}

// The candles the session ran over (GetMarketData), for the price chart and buy and
// hold; none for tick sessions, very long ones, or data deleted since (the charts
// then fall back to what the equity curve gives).
async function sessionBars(session) {
  const r = session.request || {};
  if (!r.timeframe || r.timeframe === "tick" || V.num(session.eventsProcessed) > V.MAX_BARS) return [];
  const batches = [];
  try {
    await stream("GetMarketData", { symbol: r.symbol, timeframe: r.timeframe, startTime: r.startTime,
      endTime: r.endTime }, (m) => { if (m.candles) batches.push(m.candles); });
  } catch (error) {
    return [];
  }
  return batches;
}

// ---- Start-up ----

async function main() {
  $("token").value = token.get();
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token.set($("token").value.trim());
    reload();
  });
  $("series").addEventListener("change", fillRange);
  $("strategy").addEventListener("change", showParams);
  $("start-form").addEventListener("submit", start);
  $("filter-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadSessions().catch((error) => notice(describe(error)));
  });
  showParams();
  await reload();
  // Sessions others start appear within a few seconds; rows are updated in place.
  setInterval(() => loadSessions().catch(() => {}), 5000);
}

async function reload() {
  try {
    await loadMarketData();
    await loadSessions();
    notice(V.hasCharts() ? "" : "The chart library is missing: this binary was built without Debian's libjs-dygraphs.");
    document.body.dataset.ready = "true";
  } catch (error) {
    notice(describe(error) + (error.code === "unauthenticated" ? " (set the bearer token above)" : ""));
  }
}

main();
