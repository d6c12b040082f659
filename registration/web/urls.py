"""Registration's pages outside the API: the notifier's tell-us-once status page.

hub/urls.py includes this module by name, so hub never imports registration's views.
"""

from django.urls import path

from registration.web.status_page import status_page

urlpatterns = [
    path("tell-us-once/", status_page, name="registration-status-page"),
]
