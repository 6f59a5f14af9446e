"""Sales: the cart, pricing, tenders, completion, voids and refunds."""
