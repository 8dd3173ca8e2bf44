"""One folder per SMS/USSD provider: the only code that knows a provider's wire format.

Adding a provider means a folder here and one line in each registry below.
"""

from __future__ import annotations

from flask import Flask


def register_webhooks(app: Flask) -> None:
    from handlers.africastalking.webhooks import bp as africastalking_bp
    from handlers.twilio.webhooks import bp as twilio_bp

    app.register_blueprint(africastalking_bp, url_prefix="/webhooks/africastalking")
    app.register_blueprint(twilio_bp, url_prefix="/webhooks/twilio")
