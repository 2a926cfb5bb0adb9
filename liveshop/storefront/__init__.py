"""The buyer's storefront: pages that compose several domains (catalogue, live shows)."""
