"""The live viewer shows a crash's restart within two seconds.

Starts viewer_probe (a supervisor with one child behind the admin endpoint), opens GET / in
headless Chromium and drives the page over the DevTools protocol: once the page shows the child,
the probe crashes it, and the page must show the restart (the tree's restart count and the
restart event from /events) within two seconds. Then it saves a screenshot of the page.

usage: viewer_restart_test.py <viewer_probe> <browser> <screenshot.png>
"""
import base64
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # Debian: python3-websocket

WITHIN_S = 2.0


class Page:
    """One page's DevTools connection: commands by id, events ignored."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=15)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            answer = json.loads(self.ws.recv())
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


SHOWN = """(() => {
  const child = document.querySelector('[data-child="victim"]');
  const events = [...document.querySelectorAll('#events li')].map((li) => li.dataset.kind);
  return {child: child ? child.textContent : "", events};
})()"""


def wait_until(page, predicate, seconds):
    deadline = time.monotonic() + seconds
    while True:
        shown = page.evaluate(SHOWN)
        if predicate(shown):
            return shown
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def restarts(shown):
    found = re.search(r"restarts (\d+)", shown["child"])
    return int(found.group(1)) if found else -1


def main():
    probe_path, browser_path, screenshot = sys.argv[1:4]
    probe = subprocess.Popen([probe_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    browser = None
    try:
        url = probe.stdout.readline().split()[-1]
        profile = tempfile.mkdtemp()
        browser = subprocess.Popen(
            [browser_path, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "--window-size=1000,640", url],
            stderr=subprocess.PIPE, text=True)
        port = None
        for line in browser.stderr:
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if found:
                port = found.group(1)
                break
        if port is None:
            print("the browser printed no DevTools endpoint", file=sys.stderr)
            return 1
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page_target = next(t for t in targets if t.get("type") == "page")
        page = Page(page_target["webSocketDebuggerUrl"])

        shown = wait_until(page, lambda s: restarts(s) == 0, 20)
        if shown is None:
            print(f"the page never showed the running child: {page.evaluate(SHOWN)}",
                  file=sys.stderr)
            return 1
        probe.stdin.write("crash\n")
        probe.stdin.flush()
        if probe.stdout.readline().strip() != "crashed":
            print("the probe did not crash its child", file=sys.stderr)
            return 1
        crashed_at = time.monotonic()
        shown = wait_until(
            page, lambda s: restarts(s) == 1 and "supervisor.child_restarted" in s["events"],
            WITHIN_S)
        took = time.monotonic() - crashed_at
        if shown is None:
            print(f"after {took:.2f} s the page shows {page.evaluate(SHOWN)}, not the restart",
                  file=sys.stderr)
            return 1
        print(f"the page showed the restart {took:.2f} s after the crash: {shown}")
        shot = page.call("Page.captureScreenshot", format="png")
        with open(screenshot, "wb") as out:
            out.write(base64.b64decode(shot["data"]))
        print(f"screenshot: {screenshot}")
        return 0
    finally:
        if browser:
            browser.terminate()
            browser.wait()
        probe.stdin.close()
        probe.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
