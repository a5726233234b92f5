"""ComfyUI: graph building (graphs.py); no torch, no Qt."""
