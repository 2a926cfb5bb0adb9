"""The platform's incentives: market fees, new sellers' fee holiday, creator bonus
campaigns and platform-funded vouchers, each spending from a budget never exceeded."""
