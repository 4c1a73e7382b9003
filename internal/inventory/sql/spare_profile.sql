-- The worker profile of cluster $1, as spare_install.sql computes it (keep the
-- two in step): every (service, component) found on at least half of the
-- cluster's live hosts, at the version most of them run. Hosts held by
-- operation $2 (those it is adding; 0 matches none) are left out, as the
-- install leaves out the hosts it installs.
WITH others AS (
    SELECT id FROM host
    WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED' AND held_by_operation IS DISTINCT FROM $2
)
SELECT c.service, c.component, mode() WITHIN GROUP (ORDER BY c.version) AS version
FROM others o JOIN host_component c ON c.host_id = o.id
GROUP BY c.service, c.component
HAVING count(*) * 2 >= (SELECT count(*) FROM others)
ORDER BY c.service, c.component
