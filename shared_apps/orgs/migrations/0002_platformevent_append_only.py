from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION platform_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'platform events are append-only (% rejected)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER platform_event_append_only
    BEFORE UPDATE OR DELETE ON orgs_platformevent
    FOR EACH ROW EXECUTE FUNCTION platform_event_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS platform_event_append_only ON orgs_platformevent;
DROP FUNCTION IF EXISTS platform_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("orgs", "0001_initial")]
    operations = [migrations.RunSQL(APPEND_ONLY, DROP)]
