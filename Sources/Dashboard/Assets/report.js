// `backtest report`'s page: the session inlined as JSON beside this script, drawn
// by view.js exactly as the dashboard draws it.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.getElementById("report");
  window.BacktestView.renderSession(root, data);
  root.dataset.state = "loaded";
})();
