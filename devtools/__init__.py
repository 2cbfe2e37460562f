"""Development tools of the repository (scripts/develop's demo launcher)."""
