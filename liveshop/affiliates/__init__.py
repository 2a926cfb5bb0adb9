"""The creator storefront and the affiliate pages: a creator's public profile (/@handle), the
creator marketplace, the seller's affiliate page and sample approvals. They compose the
creators domain with the catalogue, live shows, orders and checkout, none of which knows
these pages."""
