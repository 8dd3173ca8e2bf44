"""Webhooks (to be written)."""

from flask import Blueprint

bp = Blueprint(__name__.split(".")[1], __name__)
