"""Use cases: small verb functions over the database, each given what it needs."""
