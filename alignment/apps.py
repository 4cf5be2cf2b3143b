from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Alignment"

    def ready(self) -> None:
        from sales.panels import register_deal_panel

        from . import personal_data  # noqa: F401 - registers this app's share of a contact's personal data
        from .views.objections import deal_objections_panel

        register_deal_panel(deal_objections_panel)
