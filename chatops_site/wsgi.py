import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from chatops_site import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatops_site.settings")
# Before the application loads its middleware, which tracing's Django instrumentation adds to.
tracing.setup()
application = get_wsgi_application()
# Every view module is imported now, as the worker boots, rather than by its first request (a fifth of a
# second, more on a busy machine: a chat command must be answered within three).
import_module(settings.ROOT_URLCONF)
