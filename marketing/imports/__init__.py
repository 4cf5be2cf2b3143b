"""CSV import of contacts, companies, touchpoints and cost lines.

``columns`` recognises column names (Tandem's own and those of HubSpot, Pipedrive and Salesforce exports),
``reader`` decodes and parses the file without stopping at a bad row, ``runner`` holds the services that
create and run an ``ImportJob``, and ``tasks`` the Celery task that runs it in the worker.
"""
