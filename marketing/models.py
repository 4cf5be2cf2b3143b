"""Marketing models (tenant schema). Filled in by the marketing workspace issue."""
