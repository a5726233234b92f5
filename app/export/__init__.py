"""PNG export with embedded metadata."""
