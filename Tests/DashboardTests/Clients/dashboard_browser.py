"""Drives the dashboard in headless Chromium (Debian's chromium and chromium-driver)
against a real backtestd, as a user would: the checks the Swift test makes, and
screenshots saved as artifacts. The last line printed is a JSON object of findings.

  dashboard_browser.py dashboard URL OUT_DIR   the page served by backtestd: the whole tour
  dashboard_browser.py smoke URL OUT_DIR       the page loads and reads the API (for TLS)
  dashboard_browser.py token URL OUT_DIR       a server with --token: refused, then the token typed in
  dashboard_browser.py nocharts URL OUT_DIR    the chart library blocked: the page says so, tables work
  dashboard_browser.py report FILE OUT_DIR     a `backtest report` file, from disk

Waits are on conditions with generous timeouts (a busy 2-core machine), never sleeps.
"""

import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

TIMEOUT = 120


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--ignore-certificate-errors", "--window-size=1400,1000", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def wait(driver, condition, what):
    try:
        return WebDriverWait(driver, TIMEOUT, poll_frequency=0.1).until(lambda d: condition(d))
    except Exception as error:
        raise AssertionError(f"waited {TIMEOUT}s for {what}: {type(error).__name__}") from None


def console_errors(driver):
    """Script errors and CSP violations the page logged."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def row(driver, session_id):
    return driver.find_element(By.CSS_SELECTOR, f'#sessions tr[data-session-id="{session_id}"]')


def row_status(driver, session_id):
    try:
        return row(driver, session_id).get_attribute("data-status")
    except Exception:
        return None


def progress(driver, session_id):
    try:
        return float(row(driver, session_id).find_element(By.CSS_SELECTOR, ".col-progress").get_attribute("data-progress"))
    except Exception:
        return -1.0


def start_from_form(driver, strategy, acceleration, labels=""):
    Select(driver.find_element(By.ID, "strategy")).select_by_value(strategy)
    for field, value in (("acceleration", str(acceleration)), ("labels", labels)):
        box = driver.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    before = driver.find_element(By.ID, "start-form").get_attribute("data-last-session")
    driver.find_element(By.ID, "start").click()
    return wait(driver, lambda d: (lambda s: s if s and s != before else None)(
        d.find_element(By.ID, "start-form").get_attribute("data-last-session")), f"{strategy} to start")


def screenshot(driver, out_dir, name, height):
    driver.set_window_size(1400, height)
    path = os.path.join(out_dir, name)
    driver.save_screenshot(path)
    return path


def dashboard(url, out_dir):
    driver = browser()
    found = {"screenshots": []}
    try:
        driver.get(url)
        wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", "the page")
        found["title"] = driver.title
        found["series"] = len(driver.find_elements(By.CSS_SELECTOR, "#series option"))
        found["chart_library"] = driver.execute_script("return window.BacktestView.hasCharts()")
        # The page's number formatting, run by the browser on API-shaped values.
        found["formats"] = driver.execute_script("""
            const V = window.BacktestView;
            return [V.percent(V.num("NaN")), V.money(V.num(1234567.891)), V.signed(-0.001), V.signed(70964.98),
                    V.money(-1234.5), V.duration(V.seconds("273600s")), V.duration(V.seconds("0.25s")),
                    V.time(V.millis("2004-08-19T00:00:00Z")), V.time(V.millis("2024-01-01T09:30:05Z")),
                    V.compact(V.num("12345")), String(V.num("94"))];""")

        # A rule that does not compile: the server's message, with a caret at its position.
        Select(driver.find_element(By.ID, "strategy")).select_by_value("rules")
        area = driver.find_element(By.ID, "rule-entry_long")
        area.clear()
        area.send_keys("close > sma(close, 10")
        driver.find_element(By.ID, "start").click()
        caret = wait(driver, lambda d: d.find_elements(By.ID, "rule-error-position"), "the rule error")[0]
        found["rule_error"] = driver.find_element(By.ID, "start-error").text
        found["rule_error_caret"] = caret.text
        found["rule_error_invalid"] = area.get_attribute("aria-invalid")

        # A session run as fast as possible, to completion.
        completed = start_from_form(driver, "sma_cross", 0, "suite=dashboard")
        wait(driver, lambda d: row_status(d, completed) == "COMPLETED", "the sma_cross session to complete")
        found["completed"] = completed

        # A paced one (about three minutes end to end): its progress moves over the stream.
        paced = start_from_form(driver, "default", 1500000, "suite=dashboard paced=yes")
        found["paced"] = paced
        first = wait(driver, lambda d: (lambda p: p if p > 0 else None)(progress(d, paced)), "progress above 0")
        later = wait(driver, lambda d: (lambda p: p if p >= first + 5 else None)(progress(d, paced)),
                     "progress to advance 5 points")
        found["progress_seen"] = [first, later]
        speed = row(driver, paced).find_element(By.CSS_SELECTOR, ".col-speed").text
        found["speed_text"] = speed
        found["screenshots"].append(screenshot(driver, out_dir, "dashboard-running.png", 1000))

        # Stopped from its button.
        row(driver, paced).find_element(By.CSS_SELECTOR, "button.stop").click()
        wait(driver, lambda d: row_status(d, paced) == "STOPPED", "the paced session to stop")
        found["stopped_progress"] = progress(driver, paced)

        # The completed session: statistics, charts drawn, the trade list.
        row(driver, completed).find_element(By.CSS_SELECTOR, "button.open").click()
        wait(driver, lambda d: d.find_element(By.ID, "detail").get_attribute("data-state") == "loaded", "the detail")
        if found["chart_library"]:
            for chart in ("equity-chart", "drawdown-chart", "price-chart"):
                wait(driver, lambda d: d.find_element(By.ID, chart).get_attribute("data-drawn") == "true", chart)
                found[chart] = len(driver.find_elements(By.CSS_SELECTOR, f"#{chart} canvas"))
                found[chart + "-series"] = driver.find_element(By.ID, chart).get_attribute("data-series")
        table = driver.find_element(By.ID, "trade-table")
        found["trades"] = int(table.get_attribute("data-count"))
        found["trade_rows"] = len(table.find_elements(By.CSS_SELECTOR, "tbody tr"))
        found["stats_trades"] = driver.execute_script(
            "return [...document.querySelectorAll('table.stats tr')]"
            ".find(r => r.cells[0] && r.cells[0].textContent === '# Trades').cells[1].textContent")
        found["pnl_text"] = driver.execute_script(
            "return [...document.querySelectorAll('table.stats tr')]"
            ".find(r => r.cells[0] && r.cells[0].textContent === 'P&L [$]').cells[1].textContent")
        driver.execute_script("document.getElementById('detail').scrollIntoView()")
        found["screenshots"].append(screenshot(driver, out_dir, "dashboard-completed.png", 1600))
        driver.execute_script("window.scrollTo(0, 0)")

        # The list filtered by status.
        Select(driver.find_element(By.ID, "filter-status")).select_by_value("SESSION_STATUS_COMPLETED")
        driver.find_element(By.CSS_SELECTOR, "#filter-form button").click()
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'#sessions tr[data-session-id="{paced}"]') == [],
             "the stopped session to leave the completed filter")
        found["filtered_statuses"] = sorted({r.get_attribute("data-status") for r in
                                             driver.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-status]")})
        found["console_errors"] = console_errors(driver)
    finally:
        driver.quit()
    return found


def smoke(url, out_dir):
    driver = browser()
    try:
        driver.get(url)
        wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", "the page")
        return {"title": driver.title, "series": len(driver.find_elements(By.CSS_SELECTOR, "#series option")),
                "sessions": len(driver.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]")),
                "chart_library": driver.execute_script("return window.BacktestView.hasCharts()"),
                "screenshots": [screenshot(driver, out_dir, "dashboard-tls.png", 1000)],
                "console_errors": console_errors(driver)}
    finally:
        driver.quit()


def token(url, out_dir):
    driver = browser()
    try:
        driver.get(url)
        notice = driver.find_element(By.ID, "notice")
        wait(driver, lambda d: notice.is_displayed() and notice.text, "the refusal")
        found = {"refused": notice.text}
        box = driver.find_element(By.ID, "token")
        box.send_keys(os.environ["DASHBOARD_TOKEN"])
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", "the page")
        found["series"] = len(driver.find_elements(By.CSS_SELECTOR, "#series option"))
        found["notice_after"] = notice.text if notice.is_displayed() else ""
        # Kept for the next visit.
        driver.refresh()
        wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", "a reload")
        found["kept"] = driver.find_element(By.ID, "token").get_attribute("value") == os.environ["DASHBOARD_TOKEN"]
        return found
    finally:
        driver.quit()


def nocharts(url, out_dir):
    driver = browser()
    try:
        # As a binary built without libjs-dygraphs would serve it: no Dygraph.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/dygraph.min.js"]})
        driver.get(url)
        wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", "the page")
        found = {"notice": driver.find_element(By.ID, "notice").text}
        driver.find_element(By.CSS_SELECTOR, '#sessions tr[data-status="COMPLETED"] button.open').click()
        wait(driver, lambda d: d.find_element(By.ID, "detail").get_attribute("data-state") == "loaded", "the detail")
        found["missing"] = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#detail .missing")]
        found["trades"] = int(driver.find_element(By.ID, "trade-table").get_attribute("data-count"))
        return found
    finally:
        driver.quit()


def report(path, out_dir):
    driver = browser()
    found = {"screenshots": []}
    try:
        driver.get("file://" + os.path.abspath(path))
        wait(driver, lambda d: d.find_element(By.ID, "report").get_attribute("data-state") == "loaded", "the report")
        found["chart_library"] = driver.execute_script("return window.BacktestView.hasCharts()")
        if found["chart_library"]:
            for chart in ("equity-chart", "drawdown-chart", "price-chart"):
                wait(driver, lambda d: d.find_element(By.ID, chart).get_attribute("data-drawn") == "true", chart)
                found[chart] = len(driver.find_elements(By.CSS_SELECTOR, f"#{chart} canvas"))
                found[chart + "-series"] = driver.find_element(By.ID, chart).get_attribute("data-series")
        found["trades"] = int(driver.find_element(By.ID, "trade-table").get_attribute("data-count"))
        found["screenshots"].append(screenshot(driver, out_dir, "report.png", 1600))
        found["console_errors"] = console_errors(driver)
    finally:
        driver.quit()
    return found


def main():
    mode, target, out_dir = sys.argv[1:4]
    os.makedirs(out_dir, exist_ok=True)
    found = {"dashboard": dashboard, "smoke": smoke, "token": token, "nocharts": nocharts, "report": report}[mode](target, out_dir)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
