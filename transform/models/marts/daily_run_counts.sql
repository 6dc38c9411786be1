-- Runs per day (of requested_at, UTC), cloud, account, region and unified status.
select
    cast(requested_at as date) as day,
    cloud,
    account_id,
    region,
    status,
    count(*) as runs
from {{ ref('cloud_command_runs') }}
group by cast(requested_at as date), cloud, account_id, region, status
