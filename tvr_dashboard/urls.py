"""URL configuration. In sandbox mode the simulated impact.com API is served here too."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from requests_app.impact import uses_sandbox
from requests_app.signin import ThrottledAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("requests_app.urls")),
]
if uses_sandbox():
    urlpatterns.append(path("", include("requests_app.sandbox.urls")))
