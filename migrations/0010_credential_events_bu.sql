-- 0010 credential events follow a person's BU too: a BU admin moved to another BU
-- reads another subtree, so their open websockets must authenticate again (the
-- principal they hold carries the old subtree). Sessions need nothing: they read
-- the person's BU at every authentication. Re-parenting a BU is not announced;
-- open websockets pick it up at their periodic re-check.

DROP TRIGGER person_credentials_changed ON person;

CREATE TRIGGER person_credentials_changed
    AFTER UPDATE OF role, active, bu_id ON person
    FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.active IS DISTINCT FROM NEW.active
          OR OLD.bu_id IS DISTINCT FROM NEW.bu_id)
    EXECUTE FUNCTION person_credentials_changed();
