"""Marketing writes. Views, API, imports, forms and tasks call these; nothing else writes models."""
