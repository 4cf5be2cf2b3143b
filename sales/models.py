"""Sales models (tenant schema). Filled in by the sales workspace issue."""
