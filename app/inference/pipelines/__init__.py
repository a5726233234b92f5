"""One module per model family: `pipeline_key(plan)`, `build(manager, plan)`, `run(...)`."""
