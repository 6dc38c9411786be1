-- Which commands (SSM document or TAT command) fail most: runs that ended failed or
-- timed out, out of the runs that ended.
select
    cloud,
    account_id,
    command_name,
    count(*) as runs,
    sum(case when status in ('success', 'failed', 'timed_out', 'cancelled') then 1 else 0 end)
        as finished_runs,
    sum(case when status in ('failed', 'timed_out') then 1 else 0 end) as failed_runs,
    cast(sum(case when status in ('failed', 'timed_out') then 1 else 0 end) as double precision)
    / nullif(sum(case when status in ('success', 'failed', 'timed_out', 'cancelled') then 1 else 0 end), 0)
        as failure_rate,
    count(distinct case when status in ('failed', 'timed_out') then instance_id end)
        as failed_instances,
    max(case when status in ('failed', 'timed_out') then requested_at end) as last_failed_at
from {{ ref('cloud_command_runs') }}
group by cloud, account_id, command_name
