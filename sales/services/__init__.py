"""Sales writes. Views, API, tasks and demo data call these; nothing else writes sales models."""
