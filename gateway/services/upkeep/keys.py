"""Key rotation: re-encrypt every stored secret under the current DATA_KEY."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from gateway.db import transaction
from gateway.models import CommitteeMember, InboundMessage, Incident, OutboxMessage, Subscription
from gateway.runtime import Runtime

# Every column that holds ciphertext.
ENCRYPTED: tuple[tuple[Any, str], ...] = (
    (InboundMessage, "payload_enc"),
    (Incident, "text_enc"),
    (OutboxMessage, "recipient_enc"),
    (CommitteeMember, "phone_enc"),
    (Subscription, "phone_enc"),
)


def rotate_data_key(rt: Runtime, batch: int = 500) -> int:
    """Re-encrypt every ciphertext with the current DATA_KEY (reading old ones with
    DATA_KEY_PREVIOUS); after this, DATA_KEY_PREVIOUS can be removed. Returns how many
    values were rewritten."""
    done = 0
    for model, name in ENCRYPTED:
        key, column = model.id, getattr(model, name)
        last = 0
        while True:
            with transaction(rt.sessions) as session:
                rows = session.execute(
                    select(key, column)
                    .where(key > last, column.is_not(None))
                    .order_by(key)
                    .limit(batch)
                ).all()
                for row_id, token in rows:
                    session.execute(
                        update(key.class_)
                        .where(key == row_id)
                        .values({column: rt.vault.rotate(token)})
                    )
            if not rows:
                break
            last = rows[-1][0]
            done += len(rows)
    return done
