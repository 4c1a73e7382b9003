INSERT INTO config_blob (sha256, content)
    SELECT h, c FROM unnest($1::bytea[], $2::text[]) AS u(h, c) WHERE c IS NOT NULL
    ON CONFLICT (sha256) DO NOTHING
