"""The dashboard in a real browser: Debian's chromium, headless, driven by Selenium through chromium-driver.

  test_dashboard.py TASKGATE_BINARY SCREENSHOT

Starts `taskgate serve` with auth on (memory mode, a free port), opens /ui, is refused with a wrong token and gets
in with the right one, submits tasks through the API and waits for the page to show them appear and finish (and a
failure, the workers, the queues), opens a running task and cancels it from the page, checks that the page shows
the confirmed outcome and that the server agrees, and saves a screenshot. Exits non-zero with the reason on the
first failed check; always stops the browser and the server.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

TOKEN = "ui-test-" + os.urandom(6).hex()


def call(url, method, path, body=None, headers=None):
    request = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Authorization", "Bearer " + TOKEN)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    binary, screenshot = sys.argv[1], sys.argv[2]
    server = subprocess.Popen(
        [binary, "serve", "--durability", "memory", "--port", "0", "--workers", "2", "--token", TOKEN,
         "--worker-token", TOKEN + "-worker"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    driver = None
    try:
        line = server.stdout.readline()
        check(line.startswith("listening on "), f"the server did not start: {line!r}")
        url = line.split()[-1]
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1400",
                         "--disable-gpu"]:
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        wait = WebDriverWait(driver, 30)
        driver.get(url + "/ui")

        # Auth is on: the page asks for the token, refuses a wrong one, takes the right one.
        wait.until(ec.visibility_of_element_located((By.ID, "token-form")))
        driver.find_element(By.ID, "token-input").send_keys("wrong-token")
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait.until(lambda d: "refused" in d.find_element(By.ID, "token-error").text)
        field = driver.find_element(By.ID, "token-input")
        field.clear()
        field.send_keys(TOKEN)
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait.until(ec.visibility_of_element_located((By.ID, "board")))
        wait.until(lambda d: d.find_element(By.ID, "live").text == "live")
        wait.until(lambda d: "in-process-1" in d.find_element(By.ID, "workers").text)

        # Tasks submitted through the API appear and finish on the page.
        done = [call(url, "POST", "/tasks", {"function": "echo", "args": {"n": n}}, {"Prefer": "wait=10"})[1]["id"]
                for n in range(3)]
        failed = call(url, "POST", "/tasks", {"function": "fail", "args": "broken on purpose"},
                      {"Prefer": "wait=10"})[1]["id"]
        status, running = call(url, "POST", "/tasks", {"function": "sleep", "args": {"seconds": 60}})
        check(status == 202, f"submit answered {status}")
        running = running["id"]

        def row_state(d, task_id):
            rows = d.find_elements(By.CSS_SELECTOR, f'#tasks tbody tr[data-id="{task_id}"]')
            return rows[0].get_attribute("data-state") if rows else None

        wait.until(lambda d: all(row_state(d, task_id) == "succeeded" for task_id in done))
        wait.until(lambda d: row_state(d, failed) == "failed")
        wait.until(lambda d: row_state(d, running) == "running")
        wait.until(lambda d: "echo" in d.find_element(By.ID, "functions").text)
        driver.find_element(By.ID, "only-failed").click()
        wait.until(lambda d: row_state(d, failed) == "failed" and row_state(d, done[0]) is None)
        driver.find_element(By.ID, "only-failed").click()

        # The failed task's detail shows its error; the running one is cancelled from the page.
        driver.find_element(By.CSS_SELECTOR, f'#tasks tbody tr[data-id="{failed}"]').click()
        wait.until(lambda d: "broken on purpose" in d.find_element(By.ID, "detail-result").text)
        wait.until(lambda d: "in-process" in d.find_element(By.ID, "detail-attempts").text)
        driver.find_element(By.CSS_SELECTOR, f'#tasks tbody tr[data-id="{running}"]').click()
        wait.until(lambda d: d.find_element(By.ID, "detail-id").text == running)
        wait.until(lambda d: "running" in d.find_element(By.ID, "detail-state").text)
        driver.find_element(By.ID, "cancel").click()
        wait.until(lambda d: "canceled (confirmed" in d.find_element(By.ID, "cancel-outcome").text)
        check(driver.find_element(By.ID, "cancel-outcome").get_attribute("data-status") == "200",
              "the cancel was not answered 200")
        wait.until(lambda d: row_state(d, running) == "canceled")
        status, task = call(url, "GET", f"/tasks/{running}")
        check(status == 200 and task["state"] == "canceled" and task["cancel"]["confirm"] == "canceled",
              f"the server says {task}")
        time.sleep(1.2)  # one more chart tick
        os.makedirs(os.path.dirname(screenshot) or ".", exist_ok=True)
        driver.save_screenshot(screenshot)
        print(f"dashboard: ok: token prompt, {len(done)} tasks seen finishing, a failure shown, a cancel confirmed "
              f"from the page; screenshot {screenshot}")
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - report any failure as the test's reason
        print(f"dashboard: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
