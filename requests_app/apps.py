from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Tracking value requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from requests_app import checks, signin  # noqa: F401  (registers checks, receivers)
        from requests_app.roles import ensure_roles, watch_team_changes
        from requests_app.search import ensure_index

        post_migrate.connect(ensure_roles, sender=self)
        post_migrate.connect(ensure_index, sender=self)
        watch_team_changes()
