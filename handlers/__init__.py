"""One folder per SMS/USSD provider: the only code that knows a provider's wire format.
`registry.py` lists them; each folder's `__init__.py` says what it offers."""
