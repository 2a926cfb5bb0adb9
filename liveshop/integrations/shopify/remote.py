"""A connected store's answers read as the CSV import's drafts. Pure: no SQL, no HTTP.

The GraphQL documents the sync sends are here too, next to the code that reads their
answers. A product node becomes the same ``ProductDraft`` a CSV's rows become, through the
same rules (``without_default_title``, ``former_price``, ``counted``, the body sanitiser,
the price parser), so a store pulled and its CSV export imported give the same products.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from liveshop.catalog.model import ProductStatus, parse_major
from liveshop.core.errors import InvalidInput
from liveshop.integrations.shopify import body_html
from liveshop.integrations.shopify.model import (
    MAX_HANDLE_LENGTH,
    ImageDraft,
    Problem,
    ProductDraft,
    VariantDraft,
    counted,
    former_price,
    without_default_title,
)
from liveshop.markets.model import MARKETS

PAGE_SIZE = 50
VARIANTS_PER_PRODUCT = 100
IMAGES_PER_PRODUCT = 10
GRAMS_PER_UNIT = {"GRAMS": Decimal(1), "KILOGRAMS": Decimal(1000),
                  "OUNCES": Decimal("28.349523125"), "POUNDS": Decimal("453.59237")}

_PRODUCT_FIELDS = f"""
  id handle title descriptionHtml tags status updatedAt
  options {{ name }}
  media(first: {IMAGES_PER_PRODUCT}) {{
    nodes {{ ... on MediaImage {{ image {{ url altText }} }} }}
  }}
  variants(first: {VARIANTS_PER_PRODUCT}) {{
    nodes {{
      id sku barcode price compareAtPrice
      selectedOptions {{ name value }}
      inventoryItem {{
        id tracked
        measurement {{ weight {{ unit value }} }}
        inventoryLevel(locationId: $location) {{
          quantities(names: ["available"]) {{ name quantity }}
        }}
      }}
    }}
  }}
"""

LOCATIONS = """
query Locations {
  shop { name currencyCode }
  locations(first: 20) { nodes { id name isActive } }
}"""

PRODUCTS = f"""
query Products($first: Int!, $after: String, $location: ID!) {{
  products(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {_PRODUCT_FIELDS} }}
  }}
}}"""

PRODUCT = f"""
query Product($id: ID!, $location: ID!) {{
  product(id: $id) {{ {_PRODUCT_FIELDS} }}
}}"""

# An order and the stock its variants have left at the location, read with the time
# Shopify counted it: the push learns the count its order left behind.
_ORDER_FIELDS = """
  id name
  lineItems(first: 100) {
    nodes {
      variant {
        id
        inventoryItem {
          id
          inventoryLevel(locationId: $location) {
            updatedAt
            quantities(names: ["available"]) { name quantity }
          }
        }
      }
    }
  }
"""

ORDER_BY_TAG = f"""
query OrderByTag($query: String!, $location: ID!) {{
  orders(first: 1, query: $query) {{ nodes {{ {_ORDER_FIELDS} }} }}
}}"""

ORDER_CREATE = f"""
mutation OrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput,
                     $location: ID!) {{
  orderCreate(order: $order, options: $options) {{
    order {{ {_ORDER_FIELDS} }}
    userErrors {{ field message }}
  }}
}}"""

# The cost Shopify asks for a page of products (first * (variants + images) roughly): the
# client waits for that much in the bucket before asking.
PAGE_COST = 1 + PAGE_SIZE * (2 + VARIANTS_PER_PRODUCT // 10)


def numeric_id(gid: str) -> str:
    """``gid://shopify/Order/450789469`` -> ``450789469`` (webhooks' REST payloads use it)."""
    return gid.rsplit("/", 1)[-1]


def gid(kind: str, number: object) -> str:
    return f"gid://shopify/{kind}/{number}"


def _price(text: object, currency: str, where: str, draft: ProductDraft) -> int | None:
    if text is None or text == "":
        return None
    try:
        return parse_major(str(text), currency, where)
    except InvalidInput:
        draft.problems.append(Problem(0, f"{draft.handle}: {where}",
                                      f'"{text}" is not a price'))
        return None


def _grams(weight: dict[str, Any] | None) -> int:
    if not weight:
        return 0
    try:
        value = Decimal(str(weight.get("value") or 0))
    except InvalidOperation:
        return 0
    return int((value * GRAMS_PER_UNIT.get(str(weight.get("unit")), Decimal(1)))
               .to_integral_value())


def available_at_location(item: dict[str, Any]) -> int | None:
    """Units available at the synced location; None when Shopify does not track them."""
    if not item.get("tracked"):
        return None
    level = item.get("inventoryLevel") or {}
    for quantity in level.get("quantities") or []:
        if quantity.get("name") == "available":
            return counted(int(quantity.get("quantity") or 0))
    return 0


def draft_of(node: dict[str, Any], market: str) -> ProductDraft:
    """A product node of the Products or Product query as the import's draft; prices are
    in ``market``'s currency (the store's)."""
    handle = str(node.get("handle") or "")[:MAX_HANDLE_LENGTH]
    draft = ProductDraft(handle=handle, row=0, last_row=0, remote_id=str(node["id"]),
                         remote_updated_at=str(node.get("updatedAt") or ""))
    draft.title = str(node.get("title") or "")
    html = node.get("descriptionHtml") or ""
    draft.description = body_html.as_text(html) if html else ""
    draft.tags = [str(tag) for tag in node.get("tags") or [] if str(tag).strip()]
    try:
        draft.status = ProductStatus(str(node.get("status") or "ACTIVE").lower())
    except ValueError:
        draft.status = ProductStatus.DRAFT
    draft.option_names = without_default_title(
        [str(option.get("name") or "") for option in node.get("options") or []])
    currency = MARKETS[market].currency
    for variant in (node.get("variants") or {}).get("nodes") or []:
        item = variant.get("inventoryItem") or {}
        selected = {str(option.get("name")): str(option.get("value"))
                    for option in variant.get("selectedOptions") or []}
        amount = _price(variant.get("price"), currency, "price", draft)
        prices: dict[str, tuple[int, int | None]] = {}
        if amount is not None:
            compare = _price(variant.get("compareAtPrice"), currency, "compareAtPrice", draft)
            prices[market] = (amount, former_price(amount, compare))
        else:
            draft.problems.append(Problem(0, f"{draft.handle}: price",
                                          "A variant needs a price"))
        draft.variants.append(VariantDraft(
            row=0, sku=str(variant.get("sku") or ""),
            options=tuple(selected.get(name, "") for name in draft.option_names),
            grams=_grams((item.get("measurement") or {}).get("weight")), prices=prices,
            quantity=available_at_location(item), barcode=str(variant.get("barcode") or "")[:64],
            remote_id=str(variant.get("id") or ""),
            inventory_item_id=str(item.get("id") or "")))
    for position, media in enumerate((node.get("media") or {}).get("nodes") or [], start=1):
        image = media.get("image") if isinstance(media, dict) else None
        if image and str(image.get("url", "")).lower().startswith(("http://", "https://")):
            draft.images.append(ImageDraft(0, str(image["url"])[:2000], position,
                                           str(image.get("altText") or "")[:200]))
    if not draft.title:
        draft.problems.append(Problem(0, f"{draft.handle}: title",
                                      "The product has no title"))
    if not draft.variants:
        draft.problems.append(Problem(0, f"{draft.handle}: variants",
                                      "The product has no variants: nothing to sell"))
    return draft


def order_levels(order: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(inventory item id, units available, Shopify's updatedAt) of an order node's
    variants at the location."""
    levels = []
    for line in (order.get("lineItems") or {}).get("nodes") or []:
        item = (line.get("variant") or {}).get("inventoryItem") or {}
        level = item.get("inventoryLevel")
        if not item.get("id") or not level:
            continue
        available = next((int(q.get("quantity") or 0) for q in level.get("quantities") or []
                          if q.get("name") == "available"), None)
        if available is not None:
            levels.append((str(item["id"]), available, str(level.get("updatedAt") or "")))
    return levels
