"""The floor's one URL: GET /hello answers a small JSON body (no auth, no SQL, no cache)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path("hello", hello)]
