"""Shopify: a seller brings a store's products in from Shopify's product export CSV.

The adapter maps Shopify's format onto the catalog's use cases (liveshop/catalog/service.py
building blocks) and keeps its own links (handle -> product, SKU or options -> variant) in
its own tables; docs/shopify.md says which columns are used and how.
"""
