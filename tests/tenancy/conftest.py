"""Figures the tenancy harnesses report at the end of a run (how many cells they executed)."""

from __future__ import annotations

REPORT: dict[str, dict[str, int]] = {}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for title, figures in REPORT.items():
        terminalreporter.section(title)
        for name, value in figures.items():
            terminalreporter.write_line(f"{name:>40}: {value}")
