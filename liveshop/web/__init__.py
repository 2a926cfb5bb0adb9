"""The web kit: what every pages.py and api.py stands on. The app context, who is acting
and in which market, CSRF, templates and the one error shape. It imports only accounts,
payments, markets and core; the app itself is built in liveshop/app.py."""
