"""The baseline of scripts/bench_ingest.py: a bare Flask app with one POST endpoint
that inserts one row into a one-table database with SQLAlchemy and answers 200.
Served by gunicorn exactly like the gateway:

    DATABASE_URL=sqlite:////tmp/x.db gunicorn "scripts.bench_baseline_app:create_app()"

The engine is built the way the gateway builds its own (gateway.db.make_engine: WAL
and a busy timeout on SQLite, a pre-pinged pool on PostgreSQL), so the comparison
measures the gateway's work per request, not a different database setup.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from flask import Flask, Response, request
from sqlalchemy import Column as C
from sqlalchemy import DateTime, Integer, MetaData, String, Table, Text, insert, inspect, select
from sqlalchemy.exc import DatabaseError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.db import make_engine

metadata = MetaData()
messages = Table(
    "baseline_messages",
    metadata,
    C("id", Integer, primary_key=True),
    C("provider_id", String(100), nullable=False),
    C("body", Text, nullable=False),
    C("received_at", DateTime, nullable=False),
)


def create_app() -> Flask:
    engine = make_engine(os.environ["DATABASE_URL"])
    try:
        metadata.create_all(engine)
    except DatabaseError:
        # gunicorn's workers start together: on PostgreSQL two CREATE TABLEs race and
        # the loser fails (a duplicate pg_type row), which stopped the whole server.
        if not inspect(engine).has_table(messages.name):
            raise
    app = Flask("bench_baseline")

    @app.get("/healthz")
    def healthz() -> Response:
        with engine.connect() as conn:
            conn.execute(select(1))
        return Response("ok", mimetype="text/plain")

    @app.post("/ingest")
    def ingest() -> Response:
        with engine.begin() as conn:
            conn.execute(
                insert(messages).values(
                    provider_id=request.form.get("id", ""),
                    body=request.form.get("text", ""),
                    received_at=dt.datetime.now(dt.UTC),
                )
            )
        return Response("ok", mimetype="text/plain")

    return app


def buffered_app() -> object:
    """The baseline on the Procfile's stack (bench_ingest --stack procfile): the same
    wrapper as the gateway's `gateway.serve:buffered_app()`."""
    from gateway.serve import BufferedWsgi

    return BufferedWsgi(create_app(), threads=int(os.environ.get("WEB_THREADS") or 4))
