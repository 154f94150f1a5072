"""`field__any_of=ids`: a list of ids as one parameter.

A chunk filters by its 2,000 delivery or subscriber ids several times. With `__in`, each id is a
placeholder that Django prepares one by one and the Postgres driver parses and binds one by one
(psycopg binds on the client); on Postgres, `field = ANY(%s)` sends the whole list as one array,
written here as Postgres's array literal (`{1,2,3}`): psycopg dumps a Python list element by
element, five times the CPU of one join. On other databases it is the same SQL as `__in`.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import BigAutoField, ForeignKey, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet  # matches nothing, as `__in=[]` does
        if connection.vendor == "postgresql":
            # The project's keys are bigint; the values are ints (get_prep_lookup).
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, bigint_array(self.rhs)]
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*lhs_params, *self.rhs]


def bigint_array(ids) -> str:
    """Postgres's array literal for integer ids, for a `%s::bigint[]` parameter."""
    return "{" + ",".join(map(str, map(int, ids))) + "}"


BigAutoField.register_lookup(AnyOf)
ForeignKey.register_lookup(AnyOf)
