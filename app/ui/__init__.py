"""The desktop window (PySide6). The only package that imports Qt; it observes app.jobs, never the reverse."""
