-- 0004 credential events: a change to a person that weakens their credentials
-- (deactivation, a lower role) ends their web sessions that now carry too much and
-- is announced on the tesla_credentials channel, so open websockets check their
-- credentials again and close. People are changed by SQL today (there is no API
-- for it), so only a trigger sees every such change. Token revocation and
-- sign-out announce themselves in Go (internal/auth). The payload is the person's
-- id, never anything secret.

CREATE FUNCTION person_credentials_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ranks CONSTANT text[] := ARRAY['VIEWER', 'BU_ADMIN', 'OPERATOR', 'ADMIN'];
BEGIN
    DELETE FROM web_session
     WHERE person_id = NEW.id
       AND (NOT NEW.active OR array_position(ranks, role) > array_position(ranks, NEW.role));
    PERFORM pg_notify('tesla_credentials', NEW.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER person_credentials_changed
    AFTER UPDATE OF role, active ON person
    FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION person_credentials_changed();
