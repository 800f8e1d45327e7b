from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "requests_app.sandbox"
    label = "sandbox"
    verbose_name = "impact.com sandbox"
    default_auto_field = "django.db.models.BigAutoField"
