"""MapData → Scene: projection, framing, simplification, clipping."""
