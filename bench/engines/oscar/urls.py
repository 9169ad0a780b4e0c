"""Oscar's own URL configuration, plus media and static files served by Django (benchmark only)."""

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include(apps.get_app_config("oscar").urls[0])),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
]

from django.http import HttpResponse  # noqa: E402


def robots(
    request,
):  # the deployment's robots.txt: keep crawlers out of the basket, checkout, accounts, search
    lines = ["User-agent: *"] + [
        f"Disallow: {p}" for p in ("/basket/", "/checkout/", "/accounts/", "/search/")
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


urlpatterns.insert(0, path("robots.txt", robots))
