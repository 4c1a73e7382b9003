UPDATE config_git_outbox o SET pushed_at = now(), commit_hash = u.h, last_error = ''
    FROM unnest($1::bigint[], $2::text[]) AS u(id, h) WHERE o.id = u.id
