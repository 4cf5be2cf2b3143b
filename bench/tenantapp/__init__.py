"""A tenant app of the tenant benchmark only (``bench/settings_tenants.py`` installs it): one small table and
an additive second migration (a column and an index) to run over every workspace."""
