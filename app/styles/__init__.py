"""Style catalog (data) and the procedural painter."""
