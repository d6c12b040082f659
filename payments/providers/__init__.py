"""Payment providers: plugins behind a small registry (see registry.py and base.py)."""
