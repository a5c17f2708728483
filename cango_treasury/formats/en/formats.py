"""Dates and times as the admin writes them (cango_treasury/formats/__init__.py). Only the
output formats: what a form accepts is Django's own, YYYY-MM-DD first."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = r"Y-m-d H:i \U\T\C"
SHORT_DATETIME_FORMAT = r"Y-m-d H:i \U\T\C"
TIME_FORMAT = r"H:i \U\T\C"
YEAR_MONTH_FORMAT = "Y-m"
MONTH_DAY_FORMAT = "m-d"
# Amounts are written by the pages at their commodity's scale, grouped in thousands
# (ledger.admin.base.amount, holdings.admin.base.units); other numbers (ids, counts) are
# written plainly, so that "#1234" stays the batch's number.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
