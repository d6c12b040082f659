"""Registration's pure rules: no database, no Django models (identifier schemes)."""
