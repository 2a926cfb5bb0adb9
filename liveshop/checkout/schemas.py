"""Cart, checkout and payment inputs and views (shared by the API and the pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from liveshop.checkout.model import MAX_QUANTITY, MIN_QUANTITY
from liveshop.core.inputs import Id, JsonInput, SingleLine, maximum_setting
from liveshop.markets.model import CountryCode
from liveshop.orders.schemas import OrderLineSummary

# Units of one variant: the business cap is LIVESHOP_MAX_UNITS_PER_VARIANT.
Quantity = Annotated[int, Field(ge=MIN_QUANTITY, le=MAX_QUANTITY,
                                json_schema_extra=maximum_setting("max_units_per_variant"))]


class CartItemIn(JsonInput):
    variant_id: Id
    quantity: Quantity = Field(default=1, description=(
        "adding a variant again adds up; 1 to LIVESHOP_MAX_UNITS_PER_VARIANT (10 by default) "
        "in all"))


class CartItemUpdate(JsonInput):
    quantity: Quantity = Field(description="1 to LIVESHOP_MAX_UNITS_PER_VARIANT (10 by default)")


class CartLineView(BaseModel):
    item_id: int
    variant_id: int
    product_id: int
    product_title: str
    variant_title: str
    sku: str
    image_url: str | None
    quantity: int
    unit_price: int | None = Field(description="None when no longer sold in this market")
    line_total: int
    tax: int
    available: int
    problem: str | None = Field(description="Why this line cannot be bought as it is")


class CartShopView(BaseModel):
    shop_id: int
    shop_name: str
    lines: list[CartLineView]
    subtotal: int
    shipping: int
    tax: int
    total: int


class CartView(BaseModel):
    market: str
    currency: str
    tax_inclusive: bool
    tax_note: str
    shops: list[CartShopView]
    item_count: int
    subtotal: int
    shipping: int
    tax: int
    total: int
    has_problems: bool


class ShippingAddress(JsonInput):
    full_name: Annotated[str, SingleLine(min_length=1, max_length=120)]
    line1: Annotated[str, SingleLine(min_length=1, max_length=200)]
    line2: Annotated[str, SingleLine(max_length=200)] = ""
    city: Annotated[str, SingleLine(min_length=1, max_length=100)]
    postcode: Annotated[str, SingleLine(min_length=1, max_length=20)]
    region: Annotated[str, SingleLine(max_length=60)] = Field(
        "", description="State, province or county, where the post uses one (US: \"TX\")")
    country: CountryCode = Field(description="ISO 3166-1 alpha-2")


class CheckoutIn(JsonInput):
    """Either a saved ``address_id`` or a new ``address`` (optionally saved for next time)."""

    address_id: Id | None = None
    address: ShippingAddress | None = None
    save_address: bool = False
    voucher_code: str | None = Field(None, max_length=40, description=(
        "A platform voucher code (3 to 32 letters, digits or dashes). Without one, the best "
        "automatic discount the basket qualifies for applies, if any."))


class CardIn(JsonInput):
    # repr=False keeps card data out of logs and tracebacks that print the model.
    number: str = Field(min_length=1, max_length=30, repr=False)
    # Calendar bounds; whether the card is still valid is the payment provider's answer.
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=0, le=9999)
    cvc: str = Field(min_length=1, max_length=4, repr=False)


class PayIn(JsonInput):
    """Either a saved ``payment_method_id`` or a new ``card``."""

    payment_method_id: Id | None = None
    card: CardIn | None = None
    save_card: bool = False


class BuyNowIn(JsonInput):
    variant_id: Id
    quantity: Quantity = Field(default=1, description=(
        "1 to LIVESHOP_MAX_UNITS_PER_VARIANT (10 by default)"))


class QuoteAmounts(BaseModel):
    """The amounts of a quote written in the market's currency and language ("£33.98")."""

    subtotal: str
    shipping: str
    tax: str
    total: str


class OneTapQuoteView(BaseModel):
    """What buying ``quantity`` units at ``unit_price`` from one shop charges in one tap:
    one order, priced by the rule every checkout uses (checkout/model.py ``price_order``)."""

    market: str
    currency: str
    tax_inclusive: bool = Field(description=(
        "True: prices and shipping contain the tax (VAT); False: tax is added to the total"))
    unit_price: int
    quantity: int
    subtotal: int
    shipping: int
    tax: int
    total: int
    formatted: QuoteAmounts


class PaymentMethodIn(JsonInput):
    card: CardIn
    make_default: bool = False


class PaymentMethodView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool


class OrderSummary(BaseModel):
    id: int
    number: str
    shop_id: int
    shop_name: str
    status: str
    subtotal: int
    shipping: int
    tax: int
    discount: int = 0
    total: int
    show_id: int | None
    lines: list[OrderLineSummary]


class PaymentView(BaseModel):
    status: str
    amount: int
    currency: str
    last4: str
    decline_code: str | None


class CheckoutView(BaseModel):
    id: int
    status: str
    market: str
    currency: str
    tax_inclusive: bool
    tax_note: str
    subtotal: int
    shipping: int
    tax: int
    discount: int = Field(0, description=(
        "What a platform voucher took off the goods, paid by the platform; already taken "
        "off total"))
    voucher_code: str | None = Field(None, description="The voucher used, if any")
    total: int
    ship_to: dict[str, Any]
    reserved_until: datetime | None
    created_at: datetime
    orders: list[OrderSummary]
    payment: PaymentView | None
