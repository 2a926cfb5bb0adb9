"""Money moving: the payment provider (an interface, with a test provider following Stripe's
test cards), the records of charges and refunds, and saved cards.

Below orders and checkout, which both use it: checkout charges, orders refund. It knows
checkouts, orders and users only by id."""
