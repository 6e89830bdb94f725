import os

from django.core.asgi import get_asgi_application

from chatops_site import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatops_site.settings")
# Before the application loads its middleware, which tracing's Django instrumentation adds to.
tracing.setup()
application = get_asgi_application()
