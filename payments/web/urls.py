"""Payments' pages outside the API: the payer's hosted page, payment links' pages and
Stripe's webhook.

hub/urls.py includes this module by name, so hub never imports payments' views.
"""

from django.urls import path

from payments.web.payment_link_page import payment_link_page
from payments.web.payment_page import cancel_payment_page, payment_page
from payments.web.stripe_webhook import stripe_webhook

urlpatterns = [
    path("webhooks/stripe/<slug:tenant_slug>/", stripe_webhook, name="payments-stripe-webhook"),
    # Before the payment page's routes: "link" is not a payment token.
    path("pay/link/<slug:slug>/", payment_link_page, name="payments-link-page"),
    path("pay/<str:token>/", payment_page, name="payments-hosted-page"),
    path("pay/<str:token>/cancel/", cancel_payment_page, name="payments-hosted-page-cancel"),
]
