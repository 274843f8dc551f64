"""Output components, one module each; ``streams.catalog`` lists them."""
