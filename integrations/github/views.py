"""POST /github/webhook: thin; the rules live in `webhooks` (receiving) and `events` (handling)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chatops_site import metrics
from integrations.github import webhooks


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> JsonResponse:
    try:
        delivery, created = webhooks.receive(request.body, request.headers)
    except webhooks.Refused as exc:
        metrics.webhook_delivery("github", "bad_signature" if exc.status == 401 else "invalid")
        return JsonResponse({"ok": False, "error": str(exc)}, status=exc.status)
    metrics.webhook_delivery("github", "accepted" if created else "duplicate")
    answer = {"ok": True, "event": delivery.event, "delivery": delivery.delivery_id, "duplicate": not created}
    return JsonResponse(answer)
