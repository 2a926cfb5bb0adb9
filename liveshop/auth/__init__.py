"""People's accounts over HTTP: sign-up, log-in and out (password or e-mailed link), the
account page (password, API tokens, addresses, saved cards, market), the token and
address API, and staff's user administration.

The accounts package below keeps the users, sessions and tokens; this is its web face,
apart from it because the web kit (liveshop/web) resolves who is acting through accounts
and these pages stand on the web kit (docs/decisions/0003-package-layers.md)."""
