"""CSV export of the overview's aggregates at one level, suppression applied for
every role but admin; each export is written to the audit log."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, request

from gateway.console.access import actor, area_of, current_user, runtime
from gateway.console.blueprint import bp
from gateway.db import transaction
from gateway.models import Role
from gateway.services import audit
from gateway.services.figures.tables import LEVELS, RECORD_FIELDS, level_records

COLUMNS = RECORD_FIELDS


def to_csv(records: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        # A suppressed cell's figures are empty whatever its size ("<5" would be false
        # for cells hidden because subtraction would reveal them); `suppressed` says why.
        writer.writerow(record)
    return out.getvalue()


@bp.route("/export.csv")
def export_csv() -> Response:
    level = request.args.get("level", "region")
    if level not in LEVELS:
        abort(400)
    rt = runtime()
    user = current_user()
    show_small = user.role == Role.ADMIN
    with transaction(rt.sessions) as session:
        records = level_records(
            session, rt, level, show_small=show_small, area=area_of(user, session)
        )
        details = {"level": level, "rows": len(records), "suppression": not show_small}
        audit.record(session, actor(user), "export", f"aggregates:{level}", details, rt.now())
    stamp = rt.now().strftime("%Y%m%d")
    return Response(
        to_csv(records),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="trust-{level}-{stamp}.csv"'},
    )
