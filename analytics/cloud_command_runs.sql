-- cloud_command_runs: one row per command run on one instance, on AWS or Tencent Cloud.
--
-- Built on the tables meltanolabs-target-postgres loads from tap-cloudcommands (the
-- API's field names as quoted columns). Run it in the schema the target loads into:
--
--   PGOPTIONS='-c search_path=cloudcommands' psql "$WAREHOUSE_URL" -f analytics/cloud_command_runs.sql
--
-- Needs the streams ssm_commands, ssm_command_invocations, tat_invocations and
-- tat_invocation_tasks. SSM started/finished times and exit codes come from
-- CommandPlugins, which the tap fills only with ssm_invocation_details on; without it
-- those columns are null for AWS rows. Fields a stream map dropped (ssm_commands.Parameters,
-- tat_invocation_tasks.CommandDocument, as the hashed-secrets extractor does) are read
-- through to_jsonb(row), so the view still builds and command_text is then null.
--
-- status is one vocabulary for both clouds: pending, running, success, failed,
-- timed_out, cancelling, cancelled (unknown for a status this file does not know);
-- raw_status keeps the API's own value.

CREATE OR REPLACE FUNCTION cloud_command_text(encoded text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- TAT sends command text as base64; binary or malformed content gives null.
    RETURN convert_from(decode(encoded, 'base64'), 'UTF8');
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;

CREATE OR REPLACE VIEW cloud_command_runs AS
WITH status_map (cloud, raw_status, status) AS (
    VALUES
        ('aws', 'Pending', 'pending'),
        ('aws', 'Delayed', 'pending'),
        ('aws', 'InProgress', 'running'),
        ('aws', 'Success', 'success'),
        ('aws', 'Failed', 'failed'),
        ('aws', 'TimedOut', 'timed_out'),
        ('aws', 'Cancelling', 'cancelling'),
        ('aws', 'Cancelled', 'cancelled'),
        ('tencent', 'PENDING', 'pending'),
        ('tencent', 'DELIVERING', 'pending'),
        ('tencent', 'DELIVER_DELAYED', 'pending'),
        ('tencent', 'RUNNING', 'running'),
        ('tencent', 'SUCCESS', 'success'),
        ('tencent', 'FAILED', 'failed'),
        ('tencent', 'DELIVER_FAILED', 'failed'),
        ('tencent', 'START_FAILED', 'failed'),
        ('tencent', 'TIMEOUT', 'timed_out'),
        ('tencent', 'TASK_TIMEOUT', 'timed_out'),
        ('tencent', 'CANCELLING', 'cancelling'),
        ('tencent', 'CANCELLED', 'cancelled'),
        ('tencent', 'TERMINATED', 'cancelled')
),
aws_plugins AS (
    -- Per invocation: first start; last finish once every plugin finished; once the
    -- invocation is final, the exit code of the first plugin that failed, else of the
    -- last plugin (SSM reports -1 for a plugin that has not finished).
    SELECT
        i."Region",
        i."CommandId",
        i."InstanceId",
        min((plugin.value ->> 'ResponseStartDateTime')::timestamptz) AS started_at,
        CASE
            WHEN count(*) = count(plugin.value ->> 'ResponseFinishDateTime')
                THEN max((plugin.value ->> 'ResponseFinishDateTime')::timestamptz)
        END AS finished_at,
        CASE
            WHEN i."Status" IN ('Success', 'Failed', 'TimedOut', 'Cancelled')
                THEN (array_agg(
                    (plugin.value ->> 'ResponseCode')::integer
                    ORDER BY
                        coalesce((plugin.value ->> 'ResponseCode')::integer, 0) = 0,
                        CASE
                            WHEN coalesce((plugin.value ->> 'ResponseCode')::integer, 0) <> 0
                                THEN plugin.position
                        END,
                        plugin.position DESC
                ))[1]
        END AS exit_code
    FROM ssm_command_invocations AS i
    CROSS JOIN LATERAL jsonb_array_elements(to_jsonb(i."CommandPlugins"))
        WITH ORDINALITY AS plugin (value, position)
    GROUP BY i."Region", i."CommandId", i."InstanceId", i."Status"
),
aws_runs AS (
    SELECT
        'aws'::text AS cloud,
        i."Region" AS region,
        i."CommandId" AS command_id,
        i."CommandId" AS invocation_id,
        i."CommandId" || ':' || i."InstanceId" AS run_id,
        i."InstanceId" AS instance_id,
        i."DocumentName" AS command_name,
        -- AWS-RunShellScript and AWS-RunPowerShellScript carry the script in "commands".
        (
            SELECT string_agg(line, E'\n' ORDER BY position)
            FROM jsonb_array_elements_text(
                CASE
                    WHEN jsonb_typeof(to_jsonb(c) -> 'Parameters' -> 'commands') = 'array'
                        THEN to_jsonb(c) -> 'Parameters' -> 'commands'
                END
            )
                WITH ORDINALITY AS script (line, position)
        ) AS command_text,
        i."Status" AS raw_status,
        i."RequestedDateTime" AT TIME ZONE 'UTC' AS requested_at,
        p.started_at,
        p.finished_at,
        p.exit_code
    FROM ssm_command_invocations AS i
    LEFT JOIN ssm_commands AS c
        ON c."Region" = i."Region" AND c."CommandId" = i."CommandId"
    LEFT JOIN aws_plugins AS p
        ON p."Region" = i."Region" AND p."CommandId" = i."CommandId"
        AND p."InstanceId" = i."InstanceId"
),
tencent_runs AS (
    SELECT
        'tencent'::text AS cloud,
        t."Region" AS region,
        t."CommandId" AS command_id,
        t."InvocationId" AS invocation_id,
        t."InvocationTaskId" AS run_id,
        t."InstanceId" AS instance_id,
        coalesce(t."CommandName", v."CommandName") AS command_name,
        cloud_command_text(
            coalesce(to_jsonb(t) -> 'CommandDocument' ->> 'Content', to_jsonb(v) ->> 'CommandContent')
        ) AS command_text,
        t."TaskStatus" AS raw_status,
        t."CreatedTime" AT TIME ZONE 'UTC' AS requested_at,
        coalesce(
            (t."TaskResult" ->> 'ExecStartTime')::timestamptz, t."StartTime" AT TIME ZONE 'UTC'
        ) AS started_at,
        coalesce(
            (t."TaskResult" ->> 'ExecEndTime')::timestamptz, t."EndTime" AT TIME ZONE 'UTC'
        ) AS finished_at,
        -- TAT reports 0 before a task ends; an exit code exists only once it has.
        CASE
            WHEN t."TaskStatus" IN ('SUCCESS', 'FAILED', 'TIMEOUT')
                THEN (t."TaskResult" ->> 'ExitCode')::integer
        END AS exit_code
    FROM tat_invocation_tasks AS t
    LEFT JOIN tat_invocations AS v
        ON v."Region" = t."Region" AND v."InvocationId" = t."InvocationId"
)
SELECT
    runs.cloud,
    runs.region,
    runs.command_id,
    runs.invocation_id,
    runs.run_id,
    runs.instance_id,
    runs.command_name,
    runs.command_text,
    coalesce(status_map.status, 'unknown') AS status,
    runs.raw_status,
    runs.requested_at,
    runs.started_at,
    runs.finished_at,
    runs.exit_code
FROM (
    SELECT * FROM aws_runs
    UNION ALL
    SELECT * FROM tencent_runs
) AS runs
LEFT JOIN status_map
    ON status_map.cloud = runs.cloud AND status_map.raw_status = runs.raw_status;
