from django.urls import re_path

from . import views

app_name = "sandbox"
urlpatterns = [
    re_path(r"^(?P<path>Advertisers/.*)$", views.endpoint, name="endpoint"),
]
