"""Pool, price and statement parsers (pure) and the pools' HTTP clients."""
