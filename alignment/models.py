"""Alignment models (tenant schema). Filled in by the alignment workspace issue."""
