from alembic import context

from espace_common.migrations import database_url_for, run_migrations
from childcare.orm import metadata

run_migrations(metadata, database_url_for(context.config, "childcare"))
