import os

from django.core.wsgi import get_wsgi_application

from chatops_site import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatops_site.settings")
# Before the application loads its middleware, which tracing's Django instrumentation adds to.
tracing.setup()
application = get_wsgi_application()
