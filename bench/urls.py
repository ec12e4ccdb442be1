"""The bench server's URLs: every production URL plus two baselines the intake is compared with —
``bench/bare`` (a view that does nothing) and ``bench/insert`` (a view that inserts one row: one
``INSERT`` statement, committed by itself, as the intake stores an event). Mounted only by
``bench.settings``."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import handler404, handler500, urlpatterns as production_urlpatterns  # noqa: F401

BENCH_TABLE = "bench_insert_row"


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


@csrf_exempt
def insert(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BENCH_TABLE} (body) VALUES (%s) RETURNING id", [request.body])
        row_id = cursor.fetchone()[0]
    return JsonResponse({"id": row_id})


urlpatterns = [
    path("bench/bare", bare),
    path("bench/insert", insert),
    *production_urlpatterns,
]
