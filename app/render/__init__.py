"""Scene → raster layers, and the crisp finishing overlay."""
