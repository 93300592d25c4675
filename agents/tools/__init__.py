"""Market-data analytics for the specialists: plain typed functions over DataFrames that
return `Evidence`. Every threshold comes from `surveil.settings.Thresholds`."""
