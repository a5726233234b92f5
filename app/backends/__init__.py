"""Engines elsewhere: the same stages on another machine."""
