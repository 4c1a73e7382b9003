-- subjects adds the jobs of lb_job up per person (the job's owner) and per BU
-- (the job's effective BU: its own, else its owner's; not the BU's subtree),
-- beside the jobs themselves, with the health scores loaded into lb_health.
-- A person's or BU's efficiency is Σ used ÷ Σ requested over its jobs (cost
-- weighted), its cost per unit Σ cost ÷ Σ core-hours of its billed jobs, its
-- failure rate Σ failed ÷ Σ finished, its findings the mean score of its
-- analysed jobs.
CREATE TEMP TABLE lb_subject ON COMMIT DROP AS
SELECT a.*, h.score AS health
FROM (
    SELECT 'JOB'::text AS level, job_id AS subject_id, person_id, bu_id, volume, eff_num, eff_den,
           cost, cost_volume, finished, failed, findings
    FROM lb_job
    UNION ALL
    SELECT 'PERSON', person_id, person_id, NULL, sum(volume), sum(eff_num), sum(eff_den),
           sum(cost), sum(cost_volume), sum(finished), sum(failed), avg(findings)
    FROM lb_job WHERE person_id IS NOT NULL GROUP BY person_id
    UNION ALL
    SELECT 'BU', bu_id, NULL, bu_id, sum(volume), sum(eff_num), sum(eff_den),
           sum(cost), sum(cost_volume), sum(finished), sum(failed), avg(findings)
    FROM lb_job WHERE bu_id IS NOT NULL GROUP BY bu_id
) a
LEFT JOIN lb_health h ON h.level = a.level AND h.subject_id = a.subject_id
