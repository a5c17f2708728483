from django.db import models


class ExactDecimalField(models.DecimalField):
    """An unconstrained PostgreSQL NUMERIC.

    numeric(p, s) would round a value with too many decimals silently; a plain numeric keeps
    what it is given, and CHECK constraints refuse what does not fit the commodity's scale.
    """

    def db_type(self, connection):  # type: ignore[no-untyped-def]
        return "numeric"
