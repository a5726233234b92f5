"""Long-running work: progress, cancellation and the one render chain."""
