"""crisis resources by country: clinic.country, clinic.crisis_lines, clinic.emergency_numbers

Revision ID: 0003_clinic_country
Revises: 0002_alert_cause
Create Date: 2026-12-01 11:00:00.000000

CLINICAL.md §3: a clinic's crisis resources follow its country (ISO 3166-1 alpha-2). The clinics already
stored get the country of their time zone from the tz database's country table (tracker/countries.py), or
none where it names none (UTC, an alias): their admin enters it. crisis_lines and emergency_numbers stay
empty: the built-in resources of the country.

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tracker.countries import country_of_zone

# revision identifiers, used by Alembic.
revision = "0003_clinic_country"
down_revision = "0002_alert_cause"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
CLINIC = sa.table("clinic", sa.column("id", sa.Uuid()), sa.column("timezone", sa.String()), sa.column("country"))


def upgrade():
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("crisis_lines", JSON, nullable=True))
        batch_op.add_column(sa.Column("emergency_numbers", JSON, nullable=True))

    connection = op.get_bind()
    for clinic_id, zone in connection.execute(sa.select(CLINIC.c.id, CLINIC.c.timezone)).tuples():
        country = country_of_zone(zone)
        if country is not None:
            connection.execute(sa.update(CLINIC).where(CLINIC.c.id == clinic_id).values(country=country))


def downgrade():
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("emergency_numbers")
        batch_op.drop_column("crisis_lines")
        batch_op.drop_column("country")
