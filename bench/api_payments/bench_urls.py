"""Every hub URL, plus ``POST /bench/baseline``: the benchmark's yardstick.

The baseline is the least a Django view can do for a "create" request on this server:
parse the JSON body, insert one row (raw SQL into ``bench_baseline``, a table run.py
creates) and answer 201 with JSON. It passes through the same middleware, gunicorn
worker and database connection as the hub's endpoints.
"""

import json

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hub.urls import handler404, handler500  # noqa: F401  (the root URLconf's handlers)

BASELINE_TABLE = "bench_baseline"
CREATE_BASELINE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    amount bigint NOT NULL,
    currency varchar(3) NOT NULL,
    reference varchar(255) NOT NULL
)
"""


@csrf_exempt
@require_POST
def baseline(request):
    data = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_baseline (amount, currency, reference) "
            "VALUES (%s, %s, %s) RETURNING id, created_at",
            [data["amount"], data["currency"], data["reference"]],
        )
        row_id, created_at = cursor.fetchone()
    return JsonResponse(
        {
            "id": row_id,
            "amount": data["amount"],
            "currency": data["currency"],
            "reference": data["reference"],
            "created_at": created_at,
        },
        status=201,
    )


urlpatterns = [
    path("bench/baseline", baseline, name="bench-baseline"),
    path("", include("hub.urls")),
]
