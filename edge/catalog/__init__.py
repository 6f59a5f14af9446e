"""Products, barcodes, categories and the CSV import."""
