from django.urls import path

from operations.web.metrics import metrics_view

urlpatterns = [path("metrics", metrics_view, name="metrics")]
