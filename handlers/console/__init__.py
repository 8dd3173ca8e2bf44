"""Provider package."""
