"""gunicorn's settings for the gateway (`gunicorn -c python:gateway.gunicorn_conf`),
shared by scripts/run and the Procfile; `--bind` is given on the command line.

- The asyncio worker with `gateway.serve`: a request gets a thread only once its body
  has arrived whole, so slow or stalled clients cannot take the web tier's threads.
- The access log names the path without its query string, where Africa's Talking
  and Kannel callbacks carry their `token`, and without the referrer.
"""

from __future__ import annotations

import os

wsgi_app = "gateway.serve:buffered_app()"
worker_class = "asgi"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_connections = 1000
timeout = 30
graceful_timeout = 10
keepalive = 5
limit_request_line = 8190
# No control socket: it lives in ~/.gunicorn, shared by every gunicorn of the user.
control_socket_disable = True
# %(U)s is the path alone; %(r)s, %(q)s and %(f)s would write the token.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
