#!/usr/bin/env python3
"""The demo's app: a "bff" that needs its pod's database URL, its config file and the backend service.

Run plainly on a laptop it finds none of them; under `doppel exec -t pid/<bff>` it sees all three.
"""
import os
import urllib.error
import urllib.request

BACKEND = "http://backend.default.svc.cluster.local/"


def show(title, value):
    print(f"--- {title}")
    print(value.rstrip("\n"))


show("DATABASE_URL (environment)", os.environ.get("DATABASE_URL", "<not set>"))

try:
    with open("/app/config.json") as f:
        show("/app/config.json (file)", f.read())
except OSError as e:
    show("/app/config.json (file)", f"<cannot read: {e.strerror}>")

try:
    # No proxy: the request must leave through the pod's network.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(BACKEND, timeout=10) as response:
        show(f"GET {BACKEND} (network + cluster DNS)", response.read().decode())
except (urllib.error.URLError, OSError) as e:
    show(f"GET {BACKEND} (network + cluster DNS)", f"<failed: {getattr(e, 'reason', e)}>")
