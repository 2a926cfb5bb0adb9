"""What the demo sells: people, shops and products, as plain data.

Prices are written per currency and copied to every market of that currency the shop ships
to; they are set by the seller per market, never converted (see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_PASSWORD = "liveshop-demo"


@dataclass(frozen=True)
class PersonSpec:
    email: str
    name: str
    role: str
    # Buyers: (line1, city, postcode, country) of their saved default address.
    address: tuple[str, str, str, str] | None = None


@dataclass(frozen=True)
class ProductSpec:
    title: str
    description: str
    tags: tuple[str, ...]
    # Option name -> its values; the variants are every combination, in order.
    options: dict[str, tuple[str, ...]]
    # Currency -> price in minor units of the cheapest variant.
    prices: dict[str, int]
    # Added to the price for each step along the first option (bigger sizes cost more).
    step: int = 0
    # Percentage the struck-through "was" price is above the price, if on sale.
    sale_percent: int = 0


@dataclass(frozen=True)
class ShopSpec:
    owner: str
    slug: str
    name: str
    city: str
    description: str
    sku_prefix: str
    # Market -> flat shipping in that market's currency.
    shipping: dict[str, int]
    products: tuple[ProductSpec, ...] = field(default_factory=tuple)


SIZES = ("S", "M", "L", "XL")
TEE_COLOURS = ("Black", "Oat", "Navy")

PEOPLE: tuple[PersonSpec, ...] = (
    PersonSpec("admin@example.com", "Alex Admin", "admin"),
    PersonSpec("olivia@example.com", "Olivia Hart", "seller"),
    PersonSpec("jonas@example.com", "Jonas Weber", "seller"),
    PersonSpec("giulia@example.com", "Giulia Conti", "seller"),
    PersonSpec("lucia@example.com", "Lucía Romero", "seller"),
    PersonSpec("maya@example.com", "Maya Brooks", "seller"),
    PersonSpec("ben@example.com", "Ben Carter", "buyer",
               ("12 Camden Passage", "London", "N1 8ED", "GB")),
    PersonSpec("lena@example.com", "Lena Fischer", "buyer",
               ("Kastanienallee 41", "Berlin", "10435", "DE")),
    PersonSpec("nina@example.com", "Nina Live", "creator"),
)

SHOPS: tuple[ShopSpec, ...] = (
    ShopSpec(
        owner="olivia@example.com", slug="thames-and-thread", name="Thames & Thread",
        city="London", sku_prefix="TT",
        description="Small-batch knitwear and cotton basics, cut and sewn in East London.",
        shipping={"UK": 399, "DE": 899, "FR": 899, "IT": 899, "ES": 899, "US": 1499},
        products=(
            ProductSpec("Merino Crew Jumper", "Extra-fine merino, fully fashioned and "
                        "soft enough to wear next to the skin.", ("knitwear", "merino", "winter"),
                        {"Size": SIZES, "Colour": ("Charcoal", "Moss")},
                        {"GBP": 8999, "EUR": 10499, "USD": 11299}, step=0, sale_percent=20),
            ProductSpec("Heavyweight Pocket Tee", "240 gsm organic cotton with a boxy fit "
                        "and a chest pocket that keeps its shape.", ("tee", "organic", "cotton"),
                        {"Size": SIZES, "Colour": TEE_COLOURS},
                        {"GBP": 2999, "EUR": 3499, "USD": 3799}),
            ProductSpec("Fisherman Beanie", "Chunky rib beanie in British wool.",
                        ("hat", "wool", "winter"), {"Colour": ("Cream", "Navy", "Rust")},
                        {"GBP": 2499, "EUR": 2999, "USD": 3199}),
            ProductSpec("Waxed Canvas Tote", "Water-resistant waxed canvas with leather "
                        "handles; fits a laptop and a loaf.", ("bag", "canvas"),
                        {"Colour": ("Olive", "Tan")}, {"GBP": 5499, "EUR": 6499, "USD": 6899},
                        sale_percent=15),
            ProductSpec("Lambswool Scarf", "Brushed lambswool woven in the Scottish "
                        "Borders.", ("scarf", "wool", "winter"),
                        {"Colour": ("Heather", "Camel", "Black Watch")},
                        {"GBP": 3999, "EUR": 4699, "USD": 4999}),
            ProductSpec("Oxford Button-Down Shirt", "Garment-washed oxford cloth with a "
                        "soft-roll collar.", ("shirt", "cotton"),
                        {"Size": SIZES, "Colour": ("White", "Blue")},
                        {"GBP": 6499, "EUR": 7499, "USD": 8199}),
            ProductSpec("Ribbed Cotton Socks", "Three pairs of combed-cotton socks with a "
                        "reinforced heel.", ("socks", "cotton"),
                        {"Size": ("4-7", "8-11")}, {"GBP": 1599, "EUR": 1899, "USD": 1999}),
            ProductSpec("Quilted Liner Jacket", "Lightweight recycled fill for layering "
                        "under a coat or wearing alone in spring.", ("jacket", "recycled"),
                        {"Size": SIZES, "Colour": ("Olive", "Navy")},
                        {"GBP": 11999, "EUR": 13999, "USD": 14999}, sale_percent=25),
        ),
    ),
    ShopSpec(
        owner="jonas@example.com", slug="kiez-kollektiv", name="Kiez Kollektiv",
        city="Berlin", sku_prefix="KK",
        description="Prints, streetwear and home goods from a Neukölln studio.",
        # UK too: the demo creator's own show sells its products beside Thames & Thread's.
        shipping={"DE": 495, "FR": 795, "IT": 795, "ES": 795, "UK": 695},
        products=(
            ProductSpec("Risograph City Print", "Two-colour risograph of Berlin's U-Bahn "
                        "lines on 170 g recycled paper.", ("print", "art", "berlin"),
                        {"Size": ("A4", "A3", "A2")}, {"EUR": 2499}, step=1000),
            ProductSpec("Oversized Hoodie", "Brushed-back organic fleece, dropped "
                        "shoulders.", ("hoodie", "organic", "streetwear"),
                        {"Size": SIZES, "Colour": ("Ash", "Black")}, {"EUR": 7999},
                        sale_percent=20),
            ProductSpec("Enamel Camping Mug", "Speckled enamel mug, 350 ml, for the "
                        "balcony or the Brandenburg woods.", ("mug", "kitchen", "outdoor"),
                        {"Colour": ("Blue", "Green", "White")}, {"EUR": 1699}),
            ProductSpec("Canvas Bucket Hat", "Reversible bucket hat in heavy cotton "
                        "canvas.", ("hat", "streetwear"),
                        {"Size": ("S/M", "L/XL"), "Colour": ("Sand", "Black")}, {"EUR": 3499}),
            ProductSpec("Dot Grid Notebook", "Lay-flat notebook with a cloth spine.",
                        ("notebook", "stationery"),
                        {"Size": ("A5", "A6"), "Colour": ("Red", "Grey"),
                         "Paper": ("Dotted", "Lined")}, {"EUR": 1899}),
            ProductSpec("Recycled Sling Bag", "Made from offcuts of truck tarpaulin; "
                        "every one is different.", ("bag", "recycled"),
                        {"Colour": ("Yellow", "Black", "Orange")}, {"EUR": 4999}),
            ProductSpec("Logo Crew Tee", "Screen-printed by hand, water-based inks.",
                        ("tee", "streetwear", "cotton"), {"Size": SIZES, "Colour": TEE_COLOURS},
                        {"EUR": 3299}),
            ProductSpec("Concrete Plant Pot", "Hand-cast concrete pot with a cork base.",
                        ("home", "plants"), {"Size": ("Small", "Medium", "Large")},
                        {"EUR": 2299}, step=800),
        ),
    ),
    ShopSpec(
        owner="giulia@example.com", slug="bottega-lume", name="Bottega Lume",
        city="Milan", sku_prefix="BL",
        description="Leather goods and glassware made by artisans around Milan.",
        shipping={"IT": 590, "FR": 990, "DE": 990, "ES": 990},
        products=(
            ProductSpec("Vegetable-Tanned Wallet", "Full-grain Tuscan leather that darkens "
                        "beautifully with use.", ("leather", "wallet"),
                        {"Colour": ("Cognac", "Black", "Forest")}, {"EUR": 8999}),
            ProductSpec("Leather Card Holder", "Four slots, hand-stitched edges.",
                        ("leather", "wallet", "gift"), {"Colour": ("Cognac", "Black")},
                        {"EUR": 3999}, sale_percent=20),
            ProductSpec("Murano Glass Tumbler", "Mouth-blown glass with a swirl of "
                        "colour; sold as a pair.", ("glass", "kitchen", "gift"),
                        {"Colour": ("Amber", "Teal", "Rose")}, {"EUR": 5999}),
            ProductSpec("Silk Neck Scarf", "Printed in Como on pure silk twill.",
                        ("scarf", "silk"), {"Colour": ("Sky", "Terracotta")}, {"EUR": 7999}),
            ProductSpec("Leather Weekender", "A two-night bag with a brass zip and a "
                        "cotton lining.", ("leather", "bag", "travel"),
                        {"Colour": ("Cognac", "Dark Brown")}, {"EUR": 34999},
                        sale_percent=15),
            ProductSpec("Espresso Cup Set", "Four porcelain cups with saucers.",
                        ("coffee", "kitchen"), {"Colour": ("White", "Black")}, {"EUR": 4499}),
            ProductSpec("Linen Table Runner", "Stone-washed Italian linen.",
                        ("home", "linen"), {"Size": ("150 cm", "200 cm"),
                                            "Colour": ("Natural", "Sage")},
                        {"EUR": 3999}, step=1000),
            ProductSpec("Leather Belt", "Single-piece belt with a solid brass buckle.",
                        ("leather", "belt"), {"Size": ("85", "90", "95", "100"),
                                              "Colour": ("Cognac", "Black")}, {"EUR": 6999}),
        ),
    ),
    ShopSpec(
        owner="lucia@example.com", slug="casa-sol", name="Casa Sol",
        city="Madrid", sku_prefix="CS",
        description="Ceramics, espadrilles and olive wood from Spanish workshops.",
        shipping={"ES": 490, "IT": 890, "FR": 890},
        products=(
            ProductSpec("Handmade Espadrilles", "Jute soles stitched by hand in La Rioja.",
                        ("shoes", "summer"),
                        {"Size": ("37", "38", "39", "40", "41", "42"),
                         "Colour": ("Navy", "Natural")}, {"EUR": 4999}),
            ProductSpec("Talavera Serving Bowl", "Hand-painted glazed earthenware, 28 cm.",
                        ("ceramics", "kitchen"), {"Colour": ("Cobalt", "Yellow")},
                        {"EUR": 5499}, sale_percent=20),
            ProductSpec("Olive Wood Board", "Cut from a single piece of olive wood.",
                        ("kitchen", "wood"), {"Size": ("Small", "Large")},
                        {"EUR": 3499}, step=1500),
            ProductSpec("Terracotta Cazuela", "Traditional clay dish for the oven.",
                        ("ceramics", "kitchen"), {"Size": ("20 cm", "26 cm", "32 cm")},
                        {"EUR": 1999}, step=600),
            ProductSpec("Straw Market Basket", "Woven palm leaf with leather handles.",
                        ("bag", "summer"), {"Colour": ("Natural", "Black")}, {"EUR": 3999}),
            ProductSpec("Linen Summer Shirt", "Breezy linen in sun-faded colours.",
                        ("shirt", "linen", "summer"),
                        {"Size": SIZES, "Colour": ("Sand", "Sky")}, {"EUR": 5999}),
            ProductSpec("Saffron Gift Tin", "La Mancha saffron, 2 g, in a painted tin.",
                        ("food", "gift"), {"Size": ("2 g", "5 g")}, {"EUR": 1499},
                        step=1500),
            ProductSpec("Ceramic Tapas Plates", "A set of six small plates.",
                        ("ceramics", "kitchen", "gift"),
                        {"Colour": ("Terracotta", "Olive", "White")}, {"EUR": 3299}),
        ),
    ),
    ShopSpec(
        owner="maya@example.com", slug="brooklyn-roast-supply", name="Brooklyn Roast Supply",
        city="New York", sku_prefix="BR",
        description="Coffee, brewing gear and tees roasted and printed in Brooklyn.",
        shipping={"US": 599},
        products=(
            ProductSpec("House Espresso Beans", "Chocolate, cherry and a long caramel "
                        "finish. Roasted every Tuesday.", ("coffee", "beans"),
                        {"Size": ("12 oz", "2 lb"), "Grind": ("Whole bean", "Espresso")},
                        {"USD": 1899}, step=2000),
            ProductSpec("Pour-Over Kettle", "Gooseneck kettle with a built-in "
                        "thermometer.", ("coffee", "brewing"),
                        {"Colour": ("Matte Black", "Steel")}, {"USD": 6499}, sale_percent=20),
            ProductSpec("Ceramic Dripper", "Slow-pour dripper thrown in Red Hook.",
                        ("coffee", "brewing", "ceramics"),
                        {"Colour": ("White", "Speckled")}, {"USD": 3499}),
            ProductSpec("Roaster Crew Tee", "Soft tri-blend with our roaster printed on "
                        "the back.", ("tee", "cotton"), {"Size": SIZES, "Colour": TEE_COLOURS},
                        {"USD": 2999}),
            ProductSpec("Cold Brew Bottle", "One-litre glass bottle with a fine mesh "
                        "filter.", ("coffee", "brewing", "summer"),
                        {"Colour": ("Clear", "Smoke")}, {"USD": 3299}),
            ProductSpec("Burr Hand Grinder", "Stainless conical burrs, 40 clicks of "
                        "adjustment.", ("coffee", "brewing"), {"Colour": ("Black", "Silver")},
                        {"USD": 8999}, sale_percent=15),
            ProductSpec("Diner Mug", "Heavy 12 oz diner mug that keeps coffee hot.",
                        ("mug", "coffee", "kitchen"), {"Colour": ("White", "Jade", "Red")},
                        {"USD": 1599}),
            ProductSpec("Decaf Swiss Water Beans", "Decaf that still tastes like coffee.",
                        ("coffee", "beans"), {"Size": ("12 oz", "2 lb")}, {"USD": 1999},
                        step=2000),
        ),
    ),
)
