// A session drawn for people: statistics, equity with drawdown, price with trade
// markers, the trade list. Shared by the dashboard and `backtest report` (which
// inlines this file), so it is a classic script with one global and no imports.
// Data is proto3 JSON as the API sends it (64-bit integers as strings, NaN as
// "NaN", defaults omitted). Text goes in with textContent only, never as HTML.
"use strict";
(function (global) {
  const DASH = "\u2014"; // NaN and missing values

  // proto3 JSON scalars: numbers, "NaN"/"Infinity" strings, int64 strings, omitted 0.
  function num(v) {
    if (v === undefined || v === null) return 0;
    if (typeof v === "number") return v;
    if (v === "NaN") return NaN;
    if (v === "Infinity") return Infinity;
    if (v === "-Infinity") return -Infinity;
    const n = Number(v);
    return Number.isNaN(n) ? NaN : n;
  }
  // A google.protobuf.Duration ("1.5s") in seconds; NaN when absent.
  function seconds(v) {
    if (typeof v !== "string" || !v.endsWith("s")) return NaN;
    return Number(v.slice(0, -1));
  }
  // A Timestamp (RFC 3339) in epoch milliseconds; NaN when absent.
  function millis(v) {
    return typeof v === "string" ? Date.parse(v) : NaN;
  }

  // Numbers as the CLI prints them (Format.swift): fixed decimals, thousands
  // separators, no "-0.00"; but NaN is an em dash here.
  function number(x, decimals = 2, grouping = true) {
    if (!Number.isFinite(x)) return Number.isNaN(x) ? DASH : x > 0 ? "inf" : "-inf";
    if (Math.abs(x) >= 1e15) return x.toPrecision(6);
    let text = x.toFixed(decimals);
    if (/^-[0.]*$/.test(text)) text = text.slice(1);
    if (!grouping) return text;
    const [whole, frac] = text.split(".");
    const sign = whole.startsWith("-") ? "-" : "";
    const digits = sign ? whole.slice(1) : whole;
    const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + grouped + (frac !== undefined ? "." + frac : "");
  }
  const money = (x) => number(x, 2);
  function signed(x, decimals = 2) {
    const s = number(x, decimals);
    return Number.isFinite(x) && x > 0 && /[1-9]/.test(s) ? "+" + s : s;
  }
  const percent = (x, decimals = 2) => (Number.isNaN(x) ? DASH : number(x, decimals, false) + "%");
  function compact(x) {
    if (!Number.isFinite(x)) return DASH;
    const a = Math.abs(x);
    if (a < 1000) return a < 10 && a !== Math.round(a) ? x.toFixed(1) : x.toFixed(0);
    if (a < 1e6) return (x / 1e3).toFixed(1) + "k";
    if (a < 1e9) return (x / 1e6).toFixed(1) + "M";
    return (x / 1e9).toFixed(1) + "G";
  }
  const two = (n) => String(n).padStart(2, "0");
  function duration(s) {
    if (!Number.isFinite(s)) return DASH;
    if (s < 0) return "-" + duration(-s);
    if (s < 10 && s !== Math.round(s)) return s.toFixed(2) + "s";
    const t = Math.round(s);
    if (t < 60) return t + "s";
    if (t < 3600) return Math.floor(t / 60) + "m " + two(t % 60) + "s";
    if (t < 86400) return Math.floor(t / 3600) + "h " + two(Math.floor(t / 60) % 60) + "m";
    return Math.floor(t / 86400) + "d " + two(Math.floor(t / 3600) % 24) + "h";
  }
  // `2004-08-19` at midnight, `2004-08-19 09:30:05` otherwise, in UTC (TimeDisplay.compact).
  function time(ms) {
    if (!Number.isFinite(ms)) return DASH;
    const iso = new Date(ms).toISOString();
    const day = iso.slice(0, 10);
    const clock = iso.slice(11, 19);
    return clock === "00:00:00" && iso.slice(20, 23) === "000" ? day : day + " " + clock;
  }
  const STATUS = {
    SESSION_STATUS_STARTED: "STARTED", SESSION_STATUS_RUNNING: "RUNNING", SESSION_STATUS_COMPLETED: "COMPLETED",
    SESSION_STATUS_FAILED: "FAILED", SESSION_STATUS_STOPPED: "STOPPED",
  };
  const statusName = (s) => STATUS[s] || "UNSPECIFIED";
  const strategyName = (spec) =>
    spec && spec.builtin ? spec.builtin.name : spec && spec.rules ? spec.rules.name || "rules" : DASH;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "scope") e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  // backtesting.py's names, in the CLI's order (SessionView.statistics).
  function statisticsTable(s) {
    const pct = (k) => percent(num(s[k]));
    const fixed = (k, d) => number(num(s[k]), d);
    const rows = [
      ["Start", time(millis(s.start))], ["End", time(millis(s.end))], ["Duration", duration(seconds(s.duration))],
      ["Exposure Time [%]", pct("exposureTimePct")], ["Equity Final [$]", fixed("equityFinal", 2)],
      ["Equity Peak [$]", fixed("equityPeak", 2)], ["P&L [$]", signed(num(s.finalPnl))],
      ["Commissions [$]", fixed("commissions", 2)], ["Return [%]", pct("returnPct")],
      ["Buy & Hold Return [%]", pct("buyAndHoldReturnPct")], ["Return (Ann.) [%]", pct("returnAnnualizedPct")],
      ["Volatility (Ann.) [%]", pct("volatilityAnnualizedPct")], ["CAGR [%]", pct("cagrPct")],
      ["Sharpe Ratio", fixed("sharpeRatio", 3)], ["Sortino Ratio", fixed("sortinoRatio", 3)],
      ["Calmar Ratio", fixed("calmarRatio", 3)], ["Alpha [%]", pct("alphaPct")], ["Beta", fixed("beta", 3)],
      ["Max. Drawdown [%]", pct("maxDrawdownPct")], ["Avg. Drawdown [%]", pct("avgDrawdownPct")],
      ["Max. Drawdown Duration", duration(seconds(s.maxDrawdownDuration))],
      ["Avg. Drawdown Duration", duration(seconds(s.avgDrawdownDuration))],
      ["# Trades", String(num(s.totalTrades))], ["Win Rate [%]", pct("winRatePct")],
      ["Best Trade [%]", pct("bestTradePct")], ["Worst Trade [%]", pct("worstTradePct")],
      ["Avg. Trade [%]", pct("avgTradePct")], ["Max. Trade Duration", duration(seconds(s.maxTradeDuration))],
      ["Avg. Trade Duration", duration(seconds(s.avgTradeDuration))], ["Profit Factor", fixed("profitFactor", 3)],
      ["Expectancy [%]", pct("expectancyPct")], ["SQN", fixed("sqn", 3)], ["Kelly Criterion", fixed("kellyCriterion", 4)],
    ];
    const body = el("tbody");
    for (const [k, v] of rows) body.append(el("tr", {}, el("th", { scope: "row" }, k), el("td", { class: "num" }, v)));
    return el("table", { class: "stats" }, el("caption", {}, "Statistics"), body);
  }

  function sessionHeader(session) {
    const r = session.request || {};
    const rows = [
      ["Session", session.sessionId], ["Status", statusName(session.status)],
      ["Symbol", (r.symbol || "") + " " + (r.timeframe || "")],
      ["Range", time(millis(r.startTime)) + " .. " + time(millis(r.endTime))],
      ["Strategy", strategyText(r.strategy)], ["Initial capital", money(num(r.initialCapital))],
      ["Progress", percent(num(session.progressPct), 1)],
    ];
    const labels = Object.entries(r.labels || {}).sort().map(([k, v]) => k + "=" + v).join(" ");
    if (labels) rows.push(["Labels", labels]);
    if (session.errorMessage) rows.push(["Error", session.errorMessage]);
    if (session.stopReason) rows.push(["Stop reason", session.stopReason]);
    const body = el("tbody");
    for (const [k, v] of rows) body.append(el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, v)));
    return el("table", { class: "header" }, body);
  }

  function strategyText(spec) {
    if (spec && spec.builtin) {
      const p = Object.entries(spec.builtin.params || {}).sort().map(([k, v]) => k + "=" + num(v));
      return p.length ? spec.builtin.name + " (" + p.join(", ") + ")" : spec.builtin.name;
    }
    if (spec && spec.rules) return (spec.rules.name || "rules") + " (" + (spec.rules.rules || []).length + " rules)";
    return DASH;
  }

  const SIDE = { TRADE_SIDE_LONG: "long", TRADE_SIDE_SHORT: "short" };
  function tradesTable(trades) {
    const head = el("tr");
    for (const h of ["#", "Side", "Quantity", "Entry time", "Entry price", "Exit time", "Exit price", "P&L",
      "Return [%]", "Commission", "Rules"])
      head.append(el("th", { scope: "col" }, h));
    const body = el("tbody");
    for (const t of trades) {
      const pnl = num(t.pnl);
      const open = !t.exitTime;
      body.append(el("tr", { "data-trade": String(num(t.tradeNumber)) },
        el("td", { class: "num" }, String(num(t.tradeNumber))), el("td", {}, SIDE[t.side] || DASH),
        el("td", { class: "num" }, String(num(t.quantity))), el("td", {}, time(millis(t.entryTime))),
        el("td", { class: "num" }, money(num(t.entryPrice))), el("td", {}, open ? "open" : time(millis(t.exitTime))),
        el("td", { class: "num" }, open ? DASH : money(num(t.exitPrice))),
        el("td", { class: "num " + (pnl > 0 ? "up" : pnl < 0 ? "down" : "") }, open ? DASH : signed(pnl)),
        el("td", { class: "num" }, open ? DASH : percent(num(t.returnPct))),
        el("td", { class: "num" }, money(num(t.commission))),
        el("td", {}, (t.entryRule || "") + (t.exitRule ? " \u2192 " + t.exitRule : ""))));
    }
    return el("table", { class: "trades", id: "trade-table", "data-count": String(trades.length) },
      el("caption", {}, trades.length + " trades"), el("thead", {}, head), body);
  }

  const hasCharts = () => typeof global.Dygraph === "function";
  const missing = () => el("p", { class: "missing", role: "note" },
    "The chart library is missing: this binary was built without Debian's libjs-dygraphs " +
    "(apt-get install libjs-dygraphs, then rebuild).");

  // Dygraph options shared by every chart: UTC axes, values formatted as above,
  // and a mark on the container once drawn (tests and screenshots wait on it).
  function baseOptions(container, yFormat) {
    return {
      labelsUTC: true, height: 220, legend: "follow", connectSeparatedPoints: false,
      axes: { y: { valueFormatter: yFormat, axisLabelFormatter: (v) => compact(v), axisLabelWidth: 60 },
        x: { valueFormatter: (ms) => time(ms) } },
      drawCallback: (g, initial) => {
        if (!initial) return;
        container.dataset.series = g.getLabels().slice(1).join("|");
        container.dataset.drawn = "true";
      },
    };
  }

  // GetMarketData's candle batches (columns, int64 times as strings) as rows.
  function candles(batches) {
    const out = [];
    for (const b of batches || []) {
      const times = b.timeUs || [];
      for (let i = 0; i < times.length; i++) {
        out.push({ ms: Number(times[i]) / 1000, open: num(b.open[i]), high: num(b.high[i]), low: num(b.low[i]),
          close: num(b.close[i]) });
      }
    }
    return out;
  }

  // Equity over simulated time with buy and hold beside it: the capital in the
  // instrument at the first close (backtesting.py's benchmark, whose end is the
  // Buy & Hold Return statistic), drawn from the bars; without bars, only its end
  // value as a dashed line. The drawdown goes below.
  function equityChart(container, points, session, bars) {
    const stats = session.statistics || {};
    const capital = num((session.request || {}).initialCapital);
    const bh = num(stats.buyAndHoldReturnPct);
    const bhEquity = capital > 0 && Number.isFinite(bh) ? capital * (1 + bh / 100) : NaN;
    const opts = baseOptions(container, money);
    opts.title = "Equity";
    if (bars.length > 0 && capital > 0 && bars[0].close > 0) {
      const first = bars[0].close;
      const byTime = new Map(points.map((p) => [millis(p.time), [new Date(millis(p.time)), num(p.equity), null]]));
      for (const b of bars) {
        const row = byTime.get(b.ms) || [new Date(b.ms), null, null];
        row[2] = capital * b.close / first;
        byTime.set(b.ms, row);
      }
      opts.labels = ["time", "equity", "buy & hold"];
      opts.colors = ["#1f6feb", "#9a6700"];
      opts.connectSeparatedPoints = true;
      opts.series = { "buy & hold": { strokePattern: [6, 4], strokeWidth: 1 } };
      return new global.Dygraph(container, [...byTime.values()].sort((a, b) => a[0] - b[0]), opts);
    }
    const rows = points.map((p) => [new Date(millis(p.time)), num(p.equity)]);
    opts.labels = ["time", "equity"];
    opts.colors = ["#1f6feb"];
    if (Number.isFinite(bhEquity)) {
      opts.underlayCallback = (ctx, area, g) => {
        const y = g.toDomYCoord(bhEquity);
        if (y < area.y || y > area.y + area.h) return;
        ctx.save();
        ctx.strokeStyle = "#9a6700";
        ctx.setLineDash([6, 4]);
        ctx.beginPath(); ctx.moveTo(area.x, y); ctx.lineTo(area.x + area.w, y); ctx.stroke();
        ctx.fillStyle = "#9a6700";
        ctx.fillText("buy & hold at end: " + money(bhEquity) + " (" + percent(bh) + ")", area.x + 6, y - 4);
        ctx.restore();
      };
      opts.valueRange = [Math.min(...rows.map((r) => r[1]), bhEquity) * 0.98, Math.max(...rows.map((r) => r[1]), bhEquity) * 1.02];
    }
    return new global.Dygraph(container, rows, opts);
  }

  function drawdownChart(container, points) {
    const rows = points.map((p) => [new Date(millis(p.time)), num(p.drawdownPct)]);
    const opts = baseOptions(container, (v) => percent(v));
    opts.labels = ["time", "drawdown %"];
    opts.colors = ["#cf222e"];
    opts.fillGraph = true;
    opts.height = 140;
    opts.title = "Drawdown [%]";
    return new global.Dygraph(container, rows, opts);
  }

  // The bars' close with their high-low range as a band (GetMarketData), entries and
  // exits as markers at their fill prices. Without bars (a tick session, or data
  // deleted since), the price where the equity curve gives it: equity = cash +
  // position x price, so while a position is open price = (equity - cash) / position.
  function priceChart(container, points, trades, bars) {
    const band = bars.length > 0;
    const byTime = new Map();
    const row = (ms) => {
      if (!byTime.has(ms)) byTime.set(ms, [new Date(ms), null, null, null]);
      return byTime.get(ms);
    };
    // With the band on, every value is a [low, middle, high] triple.
    const mark = (v) => (band ? [v, v, v] : v);
    if (band) {
      for (const b of bars) row(b.ms)[1] = [b.low, b.close, b.high];
    } else {
      for (const p of points) {
        const size = num(p.positionSize);
        if (size !== 0) row(millis(p.time))[1] = (num(p.equity) - num(p.cash)) / size;
      }
    }
    for (const t of trades) {
      if (t.entryTime) row(millis(t.entryTime))[2] = mark(num(t.entryPrice));
      if (t.exitTime) row(millis(t.exitTime))[3] = mark(num(t.exitPrice));
    }
    const rows = [...byTime.values()].sort((a, b) => a[0] - b[0]);
    if (rows.length === 0) rows.push([new Date(0), null, null, null]);
    const opts = baseOptions(container, money);
    opts.customBars = band;
    opts.labels = ["time", band ? "close (high-low)" : "price (in position)", "entry", "exit"];
    opts.colors = ["#57606a", "#1a7f37", "#cf222e"];
    opts.title = "Price and trades";
    opts.series = {
      // A reversal exits and enters at one fill: the larger entry rings the exit.
      entry: { strokeWidth: 0, drawPoints: true, pointSize: 5 },
      exit: { strokeWidth: 0, drawPoints: true, pointSize: 3 },
    };
    return new global.Dygraph(container, rows, opts);
  }

  // The whole session into `root`: header, statistics, charts, trades.
  function renderSession(root, data) {
    const { session, trades, points } = data;
    const bars = candles(data.bars);
    root.replaceChildren();
    root.append(el("h2", {}, "Session " + session.sessionId));
    const grid = el("div", { class: "session-grid" });
    const left = el("div", {}, sessionHeader(session));
    if (session.statistics) left.append(statisticsTable(session.statistics));
    else left.append(el("p", {}, "No statistics yet (" + statusName(session.status) + ")."));
    const charts = el("div", { class: "charts" });
    grid.append(left, charts);
    root.append(grid, tradesTable(trades));
    const ids = ["equity-chart", "drawdown-chart", "price-chart"];
    const boxes = ids.map((id) => el("div", { class: "chart", id, role: "img", "aria-label": id.replace("-", " ") }));
    charts.append(...boxes);
    if (!hasCharts()) {
      charts.replaceChildren(missing());
      return;
    }
    if (points.length === 0) {
      charts.replaceChildren(el("p", {}, "No equity points."));
      return;
    }
    equityChart(boxes[0], points, session, bars);
    drawdownChart(boxes[1], points);
    priceChart(boxes[2], points, trades, bars);
  }

  // Sessions over more bars than this are drawn without them (the equity curve's
  // price and buy and hold's end value instead): a page is not a data export.
  // DashboardSite.maxBars, which `backtest report` uses, is the same number.
  const MAX_BARS = 500000;

  global.BacktestView = {
    num, seconds, millis, number, money, signed, percent, compact, duration, time, statusName, strategyName,
    el, renderSession, hasCharts, candles, DASH, MAX_BARS,
  };
})(window);
