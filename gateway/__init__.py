"""SMS and USSD trust and early-warning gateway for Mali."""

from gateway.app import create_app

__all__ = ["create_app"]
