#!/usr/bin/python3
"""A page served by a node follows a release live, in headless Chromium.

Starts an origin and three nodes with --serve (real processes, loopback, ports from
ready.json), releases hello-fleet 1.0.0, opens the sample page from node 2, releases
1.1.0 and waits until the page's DOM shows 1.1.0 with nobody reloading it (the page
reloads itself from the new version's address); then opens node 2's /ui and waits for
three members and 100% on 1.1.0. Screenshots of both pages go to --out.

Every wait has a deadline; every process started is killed by its pid, pass or fail.
Needs Debian's chromium, chromium-driver and python3-selenium (scripts/install-deps.sh).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

APP = "hello-fleet"


class Failed(Exception):
    pass


def wait_for(what, seconds, condition):
    """Polls `condition` until it returns something true; fails naming `what` at the deadline."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (OSError, ValueError, KeyError, WebDriverException) as error:
            last = error
        time.sleep(0.1)
    raise Failed(f"timed out after {seconds} s waiting for {what}" + (f" (last error: {str(last).strip().splitlines()[0]})" if last else ""))


class Processes:
    """Everything started, killed by pid at the end whatever happened."""

    def __init__(self, binary, directory):
        self.binary = binary
        self.directory = directory
        self.started = []

    def spawn(self, name, arguments):
        log = open(os.path.join(self.directory, name + ".log"), "wb")
        process = subprocess.Popen([self.binary] + arguments, stdout=log, stderr=subprocess.STDOUT)
        self.started.append((name, process))
        return process

    def ready(self, name, process, path):
        def read():
            if process.poll() is not None:
                raise Failed(f"{name} exited at start (code {process.returncode}); see {self.directory}/{name}.log")
            with open(path) as f:
                return json.load(f)
        return wait_for(f"{name} to write {path}", 30, read)

    def stop(self):
        for _, process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for _, process in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def installed(admin, version):
    status = get_json(f"http://127.0.0.1:{admin}/v1/status")
    return any(app.get("app") == APP and app.get("installed") == version for app in status["self"]["apps"])


def release(binary, root, directory, version, origin, admin):
    run = subprocess.run([binary, "release", os.path.join(root, "Samples", APP, version), "--app", APP, "--version", version,
                          "--key", os.path.join(root, "Keys/demo-test-only.key"), "--manifests", os.path.join(directory, "Manifests"),
                          "--origin", origin, "--node", f"127.0.0.1:{admin}"], capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise Failed(f"release {version} failed: {run.stderr.strip()}")


def browser():
    options = Options()
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,760",
                 "--no-first-run", "--disable-extensions"]:
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the bundlecast binary")
    parser.add_argument("--out", required=True, help="folder for the screenshots and logs")
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    binary = os.path.abspath(args.bin)
    os.makedirs(args.out, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="bundlecast-browser.")
    processes = Processes(binary, directory)
    driver = None
    trust = f"{APP}=" + os.path.join(root, "Keys/demo-test-only.pub")
    try:
        origin_process = processes.spawn("origin", ["origin", "--listen", "127.0.0.1:0", "--db", directory + "/origin.sqlite",
                                                    "--ready-file", directory + "/origin.json", "--trust", trust])
        origin = "http://127.0.0.1:%d" % processes.ready("origin", origin_process, directory + "/origin.json")["http"]
        nodes = []
        for i in range(1, args.nodes + 1):
            data = f"{directory}/node{i}"
            os.makedirs(data)
            arguments = ["node", "--data", data, "--gossip", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--transfer", "127.0.0.1:0",
                         "--serve", "127.0.0.1:0", "--trust", trust, "--origin", origin, "--stagger", "0s"]
            if nodes:
                arguments += ["--join", f"127.0.0.1:{nodes[0]['gossip']}"]
            nodes.append(processes.ready(f"node{i}", processes.spawn(f"node{i}", arguments), data + "/ready.json"))
        first, second = nodes[0], nodes[1]
        wait_for("every node to see the whole fleet", 30, lambda: all(
            sum(m["state"] == "alive" for m in get_json(f"http://127.0.0.1:{n['admin']}/v1/status")["members"]) == len(nodes)
            for n in nodes))

        release(binary, root, directory, "1.0.0", origin, first["admin"])
        wait_for("1.0.0 installed on every node", 60, lambda: all(installed(n["admin"], "1.0.0") for n in nodes))

        driver = browser()
        page = f"http://127.0.0.1:{second['serve']}/apps/{APP}/"
        driver.get(page)
        wait_for("the page to show 1.0.0 and follow the node", 20, lambda: driver.find_element(By.ID, "version").text == "1.0.0"
                 and driver.find_element(By.ID, "state").text.startswith("live"))
        if not driver.current_url.endswith(f"/apps/{APP}/1.0.0/"):
            raise Failed(f"the page was not redirected to its version: {driver.current_url}")
        # Gone if anything but the page itself reloads it before it shows the new version.
        driver.execute_script("window.loadedOnce = true;")

        release(binary, root, directory, "1.1.0", origin, first["admin"])
        wait_for("the open page's DOM to show 1.1.0", 60, lambda: driver.find_element(By.ID, "version").text == "1.1.0")
        in_place = driver.execute_script("return window.loadedOnce === true;")
        wait_for("the page to reload itself from 1.1.0", 20, lambda: driver.current_url.endswith(f"/apps/{APP}/1.1.0/")
                 and driver.find_element(By.ID, "state").text.startswith("live"))
        driver.save_screenshot(os.path.join(args.out, "hello-fleet-page.png"))
        print(f"page: showed 1.1.0 {'in place, then reloaded itself' if in_place else 'after reloading itself'}; now at {driver.current_url}")

        wait_for("1.1.0 installed on every node", 60, lambda: all(installed(n["admin"], "1.1.0") for n in nodes))
        driver.get(f"http://127.0.0.1:{second['admin']}/ui")
        wait_for("/ui to show three members", 30, lambda: driver.find_element(By.ID, "member-count").text.strip() == str(len(nodes)))
        bar = f'section[data-app="{APP}"] .bar[data-version="1.1.0"]'
        wait_for("/ui to show 100% on 1.1.0", 30, lambda: driver.find_element(By.CSS_SELECTOR, bar).get_attribute("data-percent") == "100")
        wait_for("/ui's stream to be live", 10, lambda: driver.find_element(By.ID, "connection").text.strip() == "live")
        driver.save_screenshot(os.path.join(args.out, "fleet-ui.png"))
        print(f"ui: {len(nodes)} members, 100% on 1.1.0; screenshots in {args.out}")
        return 0
    except Failed as failure:
        print(f"browser test failed: {failure}; logs in {directory}", file=sys.stderr)
        if driver is not None:
            try:
                driver.save_screenshot(os.path.join(args.out, "failure.png"))
            except WebDriverException:
                pass
        return 1
    finally:
        if driver is not None:
            driver.quit()
        processes.stop()


if __name__ == "__main__":
    sys.exit(main())
