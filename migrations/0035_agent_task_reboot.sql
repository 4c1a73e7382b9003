-- 0035 agent_task: a task may be a REBOOT (agenttask.ActionReboot), which a
-- SELF_HEAL's HEAL_REPAIR sends to a silent or sick host's agent; the action
-- check listed only the service actions.
ALTER TABLE agent_task DROP CONSTRAINT agent_task_action_check;
ALTER TABLE agent_task ADD CONSTRAINT agent_task_action_check
    CHECK (action IN ('DEPLOY', 'START', 'STOP', 'RESTART', 'CHECK', 'CONFIGURE', 'REBOOT'));
