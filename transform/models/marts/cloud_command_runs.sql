-- One row per command run on one instance, on AWS (SSM) or Tencent Cloud (TAT).
--
-- status is one vocabulary for both clouds (seed cloud_status_map; unknown for a status
-- the seed does not list yet); raw_status keeps the API's own value. Timestamps are UTC.
-- requested_by, source_ip and user_agent come from the audit streams (CloudTrail
-- SendCommand, CloudAudit RunCommand/InvokeCommand): the earliest such event of the run,
-- null when none was loaded.

with aws_plugins as (
    -- Per invocation: first start; last finish once every plugin finished; the exit code
    -- of the first plugin that failed, else of the last one (SSM reports -1 for a plugin
    -- that has not finished, so it is kept only once the invocation is final).
    select
        region,
        command_id,
        instance_id,
        min(started_at) as started_at,
        case when count(*) = count(finished_at) then max(finished_at) end as finished_at,
        min(case when failing_rank = 1 then response_code end) as first_failing_code,
        min(case when last_rank = 1 then response_code end) as last_code
    from (
        select
            region,
            command_id,
            instance_id,
            started_at,
            finished_at,
            response_code,
            case
                when coalesce(response_code, 0) <> 0
                    then row_number() over (
                        partition by region, command_id, instance_id, coalesce(response_code, 0) <> 0
                        order by position
                    )
            end as failing_rank,
            row_number() over (
                partition by region, command_id, instance_id order by position desc
            ) as last_rank
        from {{ ref('stg_ssm_command_plugins') }}
    ) as ranked
    group by region, command_id, instance_id
),

aws_runs as (
    select
        'aws' as cloud,
        coalesce(i.account_id, c.account_id) as account_id,
        i.region,
        i.command_id,
        i.command_id as invocation_id,
        i.command_id || ':' || i.instance_id as run_id,
        i.instance_id,
        coalesce(i.document_name, c.document_name) as command_name,
        -- AWS-RunShellScript and AWS-RunPowerShellScript carry the script in "commands".
        {{ json_lines('c.parameters', 'commands') }} as command_text,
        i.status as raw_status,
        i.requested_at,
        p.started_at,
        p.finished_at,
        case
            when i.status in ('Success', 'Failed', 'TimedOut', 'Cancelled')
                then coalesce(p.first_failing_code, p.last_code)
        end as exit_code
    from {{ ref('stg_ssm_command_invocations') }} as i
    left join {{ ref('stg_ssm_commands') }} as c
        on c.region = i.region and c.command_id = i.command_id
    left join aws_plugins as p
        on p.region = i.region and p.command_id = i.command_id and p.instance_id = i.instance_id
),

tencent_runs as (
    select
        'tencent' as cloud,
        coalesce(t.account_id, v.account_id) as account_id,
        t.region,
        t.command_id,
        t.invocation_id,
        t.invocation_task_id as run_id,
        t.instance_id,
        coalesce(t.command_name, v.command_name) as command_name,
        {{ base64_utf8(
            "coalesce(" ~ json_text('t.command_document', 'Content') ~ ", v.command_content)"
        ) }} as command_text,
        t.status as raw_status,
        t.created_at as requested_at,
        coalesce(
            {{ text_to_utc(json_text('t.task_result', 'ExecStartTime')) }}, t.start_time
        ) as started_at,
        coalesce(
            {{ text_to_utc(json_text('t.task_result', 'ExecEndTime')) }}, t.end_time
        ) as finished_at,
        -- TAT reports 0 before a task ends; an exit code exists only once it has.
        case
            when t.status in ('SUCCESS', 'FAILED', 'TIMEOUT')
                then cast({{ json_text('t.task_result', 'ExitCode') }} as {{ dbt.type_bigint() }})
        end as exit_code
    from {{ ref('stg_tat_invocation_tasks') }} as t
    left join {{ ref('stg_tat_invocations') }} as v
        on v.region = t.region and v.invocation_id = t.invocation_id
),

aws_requests as (
    -- The earliest SendCommand event per command (and account, once both carry one).
    select command_id, account_id, requested_by, source_ip, user_agent
    from (
        select
            *,
            row_number() over (
                partition by command_id, account_id order by event_time, event_id
            ) as event_rank
        from {{ ref('stg_aws_send_command_events') }}
        where event_name = 'SendCommand' and command_id is not null
    ) as events
    where event_rank = 1
),

tencent_requests as (
    select invocation_id, account_id, requested_by, source_ip, user_agent
    from (
        select
            *,
            row_number() over (
                partition by invocation_id, account_id order by event_time, event_id
            ) as event_rank
        from {{ ref('stg_tat_audit_events') }}
        where event_name in ('RunCommand', 'InvokeCommand') and invocation_id is not null
    ) as events
    where event_rank = 1
),

runs as (
    select
        r.*,
        e.requested_by,
        e.source_ip,
        e.user_agent
    from aws_runs as r
    left join aws_requests as e
        on e.command_id = r.command_id
        and (e.account_id = r.account_id or e.account_id is null or r.account_id is null)
    union all
    select
        r.*,
        e.requested_by,
        e.source_ip,
        e.user_agent
    from tencent_runs as r
    left join tencent_requests as e
        on e.invocation_id = r.invocation_id
        and (e.account_id = r.account_id or e.account_id is null or r.account_id is null)
)

select
    runs.cloud || ':' || coalesce(runs.account_id, '') || ':' || runs.region || ':'
    || runs.invocation_id || ':' || runs.instance_id as run_key,
    runs.cloud,
    runs.account_id,
    runs.region,
    runs.command_id,
    runs.invocation_id,
    runs.run_id,
    runs.instance_id,
    runs.command_name,
    runs.command_text,
    coalesce(status_map.status, 'unknown') as status,
    runs.raw_status,
    runs.requested_at,
    runs.started_at,
    runs.finished_at,
    cast(extract(epoch from (runs.finished_at - runs.started_at)) as double precision)
        as duration_seconds,
    runs.exit_code,
    runs.requested_by,
    runs.source_ip,
    runs.user_agent
from runs
left join {{ ref('cloud_status_map') }} as status_map
    on status_map.cloud = runs.cloud and status_map.raw_status = runs.raw_status
